"""Process designers: upload diagrams, see versions rendered, bind processes to service items."""
from __future__ import annotations







