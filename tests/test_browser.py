"""The built HTML book in a real browser (headless Debian Chromium driven by Playwright).

Every request that leaves the book's own local server is blocked, so these tests prove that the
pages work offline. For every page in the toc: no console errors and no failed requests, typeset
math, loaded images, and frame players that respond to their slider. Screenshots of every page
are saved under ``artifacts/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import threading

import pytest
from book_utils import SHOTS, toc_files

pytestmark = pytest.mark.browser

# Text nodes outside code that still hold TeX delimiters mean MathJax did not typeset them.
RAW_TEX_JS = """() => {
  const body = document.querySelector('main') || document.body;
  const clone = body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .cell_output')
       .forEach(e => e.remove());
  const text = clone.innerText;
  return ['$$', '\\\\(', '\\\\[', '\\\\begin{'].filter(d => text.includes(d));
}"""

BROKEN_IMAGES_JS = """() => Array.from(document.images)
  .filter(img => !(img.complete && img.naturalWidth > 0))
  .map(img => img.src.slice(0, 80))"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def book_server(built_book):
    """Serve the built book on a free localhost port."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def open_page(browser, base: str, path: str):
    """Open ``path`` with every request outside ``base`` blocked; return the page and its log."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log = {"console": [], "failed": [], "blocked": []}

    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            log["blocked"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and log["console"].append(m.text))
    page.on("pageerror", lambda e: log["console"].append(f"page error: {e}"))
    page.on("requestfailed", lambda r: log["failed"].append(f"{r.url} {r.failure}"))
    page.on(
        "response", lambda r: r.status >= 400 and log["failed"].append(f"{r.url} HTTP {r.status}")
    )
    page.goto(f"{base}/{path}", wait_until="networkidle")
    return context, page, log


@pytest.mark.parametrize("name", toc_files())
def test_page_works_offline(browser, book_server, name):
    context, page, log = open_page(browser, book_server, f"{name}.html")
    try:
        has_math = page.evaluate("() => document.querySelectorAll('.math').length") > 0
        if has_math:
            page.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                timeout=20000,
            )
            page.evaluate("() => MathJax.startup.promise.then(() => true)")
            assert page.locator("mjx-container").count() > 0, f"{name}: no typeset math"
        assert page.evaluate(RAW_TEX_JS) == [], f"{name}: raw TeX left untypeset"
        assert page.evaluate(BROKEN_IMAGES_JS) == [], f"{name}: images that did not load"

        # Every kernel-free slider (matplotlib's frame player) must change the shown frame.
        players = page.locator("input[id^='_anim_slider']")
        for i in range(players.count()):
            slider = players.nth(i)
            anim_id = (slider.get_attribute("id") or "").removeprefix("_anim_slider")
            img = page.locator(f"#_anim_img{anim_id}")
            before = img.get_attribute("src")
            target = slider.get_attribute("max")
            if slider.input_value() == target:  # a player that opens on its last frame
                target = slider.get_attribute("min") or "0"
            slider.scroll_into_view_if_needed()
            slider.fill(target)  # sets the value and fires input + change
            page.wait_for_timeout(100)
            after = img.get_attribute("src")
            assert after != before, f"{name}: frame player {i} did not change its frame"

        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name.replace('/', '__')}.png"), full_page=True)
        assert log["console"] == [], f"{name}: console errors {log['console']}"
        assert log["failed"] == [], f"{name}: failed requests {log['failed']}"
        assert log["blocked"] == [], f"{name}: requests outside the book {log['blocked']}"
    finally:
        context.close()


LIVE_PAGES = ["chapters/05_saturating_vs_nonsaturating", "chapters/07_train_live"]


@pytest.mark.parametrize("name", LIVE_PAGES)
def test_live_trainer_trains_in_the_built_page(browser, book_server, name):
    """The in-page trainer (gd_live.js + gd_live_ui.js) trains in the built book with no kernel
    and nothing from outside the book: Play advances the step, Pause stops it, the loss menu
    offers the registry's losses, and 1200 steps of the default recipe reach the ring's modes."""
    from gandemo.losses import LOSSES

    context, page, log = open_page(browser, book_server, f"{name}.html")
    try:
        root = page.locator("[data-gd-live]").first
        root.scroll_into_view_if_needed()
        options = root.locator('[data-gd-control="loss"] option')
        values = [options.nth(i).get_attribute("value") for i in range(options.count())]
        assert values == list(LOSSES)
        root.locator('[data-gd-action="play"]').click()
        page.wait_for_function(
            "() => +document.querySelector('[data-gd-live] [data-gd-step]').textContent >= 50",
            timeout=30000,
        )
        root.locator('[data-gd-action="pause"]').click()
        page.wait_for_timeout(300)
        paused = root.locator("[data-gd-step]").inner_text()
        page.wait_for_timeout(500)
        assert root.locator("[data-gd-step]").inner_text() == paused
        root.locator('[data-gd-control="loss"]').select_option("non-saturating")
        root.locator('[data-gd-action="reset"]').click()
        page.evaluate("() => document.querySelector('[data-gd-live]').gdLive.run(1200)")
        page.wait_for_timeout(200)
        modes = root.locator("[data-gd-modes]").inner_text()
        k, total = (int(v) for v in modes.split("/"))
        assert total == 8 and k >= 3, f"{name}: {modes} ring modes after 1200 steps"
        SHOTS.mkdir(parents=True, exist_ok=True)
        root.screenshot(path=str(SHOTS / f"live__{name.replace('/', '__')}.png"))
        assert log["console"] == [], f"{name}: console errors {log['console']}"
        assert log["blocked"] == [], f"{name}: requests outside the book {log['blocked']}"
    finally:
        context.close()
