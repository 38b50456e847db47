"""Fixtures for the browser tests: the app on 127.0.0.1, Debian's Chromium through Playwright, signed-in pages.

Import them into a test module (``from tests.web.browser_fixtures import browser, open_as, server``). This
module never skips itself, so a module with both browser and plain tests can use it; each browser test module
decides for itself what ``YIMEN_SKIP_BROWSER=1`` skips.
"""
from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from engine import demo

CHROMIUM = os.environ.get("YIMEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def server(app):
    """The app on a free port of 127.0.0.1, in a thread of this process (so YIMEN_NOW reaches it)."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.fail("no Chromium found: install Debian's chromium (scripts/test.sh does) or set YIMEN_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def open_as(browser, server):
    """A fresh signed-in browser page per user: ``open_as("wang")``; ``phone=True`` is a 390x844 viewport."""
    contexts = []

    def sign_in(user: str, lang: str = "zh", phone: bool = False):
        size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        context = browser.new_context(viewport=size, base_url=server)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"/lang/{lang}")
        page.goto("/login")
        page.fill("input[name=user]", user)
        page.fill("input[name=password]", demo.DEMO_PASSWORD)
        page.click("form button")
        page.wait_for_load_state()
        assert "/login" not in page.url, page.content()
        return page

    yield sign_in
    for context in contexts:
        context.close()
