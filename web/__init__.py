"""Yimen's web platform: pages for staff, supervisors and applicants (Flask)."""
from .app import create_app

__all__ = ["create_app"]
