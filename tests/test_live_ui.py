"""The in-page GAN Lab's UI, ``book/_static/gd_live_ui.js``, in headless Chromium.

A standalone page (no book build) loads ``gd_live.js``, ``gd_live_ui.js`` (the controller),
``gd_live_draw.js`` (the drawing) and ``gd_settings.js`` with plain ``<script src>``, and
``gd_live.css``, from ``file://`` and holds one ``<div data-gd-live>``; every request that is not
``file://`` is blocked. The widget must mount without errors, offer every loss of the package,
train while playing and stop on pause, step each player on demand, take new rates, losses, ``k``
and each player's optimiser (Adam or SGD) in place, explain its abbreviations, reach the ring's
modes with its default recipe, let the reader draw the data (counting modes by cluster), and
stay out of pages without a trainer element, stop on a divergence the core reports, say which
script is missing, and use the core only through its public methods. Screenshots go to
``/tmp/live_ui_*.png``.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
import time

import pytest
from book_utils import BOOK, REPORT

import gandemo as gd
from gandemo import losses

pytestmark = pytest.mark.browser

LIVE_JS = BOOK / "_static" / "gd_live.js"
UI_JS = BOOK / "_static" / "gd_live_ui.js"
DRAW_JS = BOOK / "_static" / "gd_live_draw.js"
SETTINGS_JS = BOOK / "_static" / "gd_settings.js"
CSS = BOOK / "_static" / "gd_live.css"
NAMES = list(losses.LOSSES)
SHOT = "/tmp/live_ui_{}.png"
# the controller before the drawing and the settings: it must wait for them
FILE_SRC = (LIVE_JS.as_uri(), UI_JS.as_uri(), DRAW_JS.as_uri(), SETTINGS_JS.as_uri())
FILE_CSS = CSS.as_uri()


def page_html(widget: str, src=FILE_SRC, css=FILE_CSS) -> str:
    """A page of text holding ``widget``, loading the scripts from ``src`` and the style sheet
    ``css`` (None: none, as a page outside the book)."""
    scripts = "".join(f'<script src="{s}"></script>' for s in src)
    link = f'<link rel="stylesheet" href="{css}">' if css else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"{link}{scripts}</head><body style='margin:0;padding:10px;max-width:800px'>"
        f"<p>Some text of a chapter.</p>{widget}</body></html>"
    )


class Opened:
    """A page and what it logged: console errors, page errors and blocked requests."""

    def __init__(self, browser, url: str, allowed: str = "file://", width: int = 840):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.blocked: list[str] = []

        def route(r):
            if r.request.url.startswith(allowed):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.goto(url)

    def close(self):
        self.context.close()
        assert self.errors == [], self.errors
        assert self.blocked == [], self.blocked


@pytest.fixture
def widget(browser, tmp_path):
    """The ring widget, opened from file://."""
    html = tmp_path / "live.html"
    html.write_text(page_html('<div data-gd-live data-gd-target="ring"></div>'))
    opened = Opened(browser, html.as_uri())
    opened.page.wait_for_selector("[data-gd-live] [data-gd-step]")
    yield opened
    opened.close()


def text(page, sel: str) -> str:
    return page.locator(f"[data-gd-live] {sel}").inner_text()


def step(page) -> int:
    return int(text(page, "[data-gd-step]"))


def dsteps(page) -> int:
    return int(text(page, "[data-gd-dsteps]"))


def state(page) -> dict:
    return page.evaluate("() => document.querySelector('[data-gd-live]').gdLive.state()")


def click(page, action: str) -> None:
    page.click(f'[data-gd-live] [data-gd-action="{action}"]')


def control(page, name: str):
    return page.locator(f'[data-gd-live] [data-gd-control="{name}"]')


# Distinct colours in a canvas (a blank canvas has one).
COLOURS_JS = """(c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, seen = new Set();
  for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  return seen.size;
}"""


def test_mounts_with_every_loss(widget):
    """One widget, no error, no request outside file://, the package's losses by name, the
    mode readout k/8, every control there."""
    page = widget.page
    assert page.locator(".gd-live").count() == 1
    values = page.eval_on_selector_all(
        '[data-gd-control="loss"] option', "os => os.map(o => o.value)"
    )
    assert values == NAMES
    assert control(page, "loss").input_value() == "non-saturating"
    for name in ("lr-d", "lr-g", "opt-d", "opt-g", "k", "target", "seed", "speed"):
        assert control(page, name).count() == 1, name
    for action in ("play", "pause", "step-d", "step-g", "step", "reset"):
        assert page.locator(f'[data-gd-action="{action}"]').count() == 1, action
    assert re.fullmatch(r"\d+/8", text(page, "[data-gd-modes]"))
    assert step(page) == 0
    s = state(page)
    live = gd.page.settings()
    _, lr_g, lr_d = live["schedule"][0]
    assert (s["lrD"], s["lrG"], s["k"], s["loss"]) == (lr_d, lr_g, 1, live["live"]["loss"])
    assert (s["optD"], s["optG"]) == ("adam", "adam")


def test_play_and_pause(widget):
    """Play trains (the counter grows, canvases are drawn), pause stops it at once."""
    page = widget.page
    click(page, "play")
    page.wait_for_timeout(4000)
    rate = float(text(page, "[data-gd-rate]"))
    n = step(page)
    assert n > 10
    click(page, "pause")
    page.wait_for_timeout(100)
    a = step(page)
    page.wait_for_timeout(500)
    assert step(page) == a >= n
    assert not state(page)["playing"]
    for canvas in page.query_selector_all("[data-gd-live] canvas"):
        assert canvas.evaluate(COLOURS_JS) > 3
    REPORT.append(f"gd_live_ui.js playing in headless Chromium: {rate:.0f} steps/s (normal speed)")
    print(f"playing: {rate:.0f} steps/s, {a} steps in ~4 s")
    assert rate > 0


def test_slow_motion(widget):
    """Slow motion: a few steps a second, every one drawn."""
    page = widget.page
    control(page, "speed").select_option("slow")
    click(page, "play")
    page.wait_for_timeout(2000)
    click(page, "pause")
    assert 1 <= step(page) <= 15, step(page)


def test_single_steps(widget):
    """Step D: one discriminator update (the step counter stays); Step G: one generator update
    (one more step); Step: k discriminator updates and one generator update."""
    page = widget.page
    click(page, "step-d")
    assert (step(page), dsteps(page)) == (0, 1)
    click(page, "step-g")
    assert (step(page), dsteps(page)) == (1, 1)
    control(page, "k").select_option("3")
    click(page, "step")
    assert (step(page), dsteps(page)) == (2, 4)
    assert state(page)["k"] == 3


def test_controls_change_in_place(widget):
    """Rates, loss and k changed while training do not reset the run; every loss trains."""
    page = widget.page
    click(page, "play")
    page.wait_for_timeout(800)
    seen = [step(page)]
    control(page, "lr-d").select_option("0.001")
    control(page, "lr-g").select_option("0.0003")
    seen.append(step(page))
    control(page, "k").select_option("2")
    seen.append(step(page))
    for name in NAMES:
        control(page, "loss").select_option(name)
        page.wait_for_timeout(400)
        seen.append(step(page))
        assert state(page)["loss"] == name
    click(page, "pause")
    s = state(page)
    assert seen == sorted(seen) and seen[-1] > seen[0] > 0, seen
    assert (s["lrD"], s["lrG"], s["k"]) == (1e-3, 3e-4, 2)
    assert control(page, "schedule").is_checked() is False
    assert all(abs(v) < 1e6 for v in (s["dLoss"], s["gLoss"]))  # finite (NaN fails too)


WIDGET = "document.querySelector('[data-gd-live]').gdLive"


def test_optimiser_per_player(widget):
    """Each player's optimiser, Adam or SGD, switches in place while training: the run goes on
    with the same weights and the other player's optimiser, and the switched player's optimiser
    starts afresh at its current rate (an SGD step is then -lr times the gradient)."""
    page = widget.page
    for name in ("opt-g", "opt-d"):
        values = page.eval_on_selector_all(
            f'[data-gd-control="{name}"] option', "os => os.map(o => [o.value, o.text])"
        )
        assert values == [["adam", "Adam"], ["sgd", "SGD"]]
    page.evaluate(RUN_JS, 50)
    before = page.evaluate(
        f"""() => {{ const t = {WIDGET}.trainer;
        window.gdOptD = t.optD;  // D's optimiser object: kept when G's is switched
        return {{g: Array.from(t.G.params), d: Array.from(t.D.params), dT: t.optD.t}}; }}"""
    )
    control(page, "opt-g").select_option("sgd")
    after = page.evaluate(
        f"""() => {{ const t = {WIDGET}.trainer;
        return {{g: Array.from(t.G.params), d: Array.from(t.D.params), dT: t.optD.t,
                 sameD: t.optD === window.gdOptD, kind: t.optG.constructor === GdLive.SGD,
                 lr: t.optG.lr, tG: t.optG.t}}; }}"""
    )
    assert after["g"] == before["g"] and after["d"] == before["d"]  # weights kept
    assert after["sameD"] and after["dT"] == before["dT"] == 50
    assert after["kind"] and after["lr"] == 5e-3 and after["tG"] == 0
    s = state(page)
    assert (s["step"], s["optG"], s["optD"]) == (50, "sgd", "adam")
    # one generator update is now plain gradient descent
    err = page.evaluate(
        f"""() => {{ const t = {WIDGET}.trainer, z = t.zBatch(), g0 = Float64Array.from(t.G.params);
        const grad = t.gGradient(z).grad; t.gUpdate(z); let e = 0;
        for (let i = 0; i < grad.length; i++) e = Math.max(e, Math.abs(t.G.params[i] -
                                                            (g0[i] - t.optG.lr * grad[i])));
        return e; }}"""
    )
    assert err == 0.0
    # while playing: switching D to SGD does not reset the run
    click(page, "play")
    page.wait_for_timeout(500)
    a = step(page)
    control(page, "opt-d").select_option("sgd")
    page.wait_for_timeout(500)
    click(page, "pause")
    s = state(page)
    assert s["step"] > a > 50 and (s["optG"], s["optD"]) == ("sgd", "sgd")
    assert all(abs(v) < 1e6 for v in (s["dLoss"], s["gLoss"]))
    # Reset keeps the choice: new networks, SGD for both
    click(page, "reset")
    s = state(page)
    assert (s["step"], s["optG"], s["optD"]) == (0, "sgd", "sgd")


def test_hints_explain_terms(widget):
    """The abbreviations are explained in text the reader sees (k, lr, schedule, HQ, modes
    covered, Adam or SGD), and by tooltips on the controls and readouts; no bare '(?)'."""
    page = widget.page
    root = page.locator("[data-gd-live]")
    hints = page.locator("[data-gd-live] [data-gd-hint]")
    assert hints.count() == 2
    for i in range(2):
        assert hints.nth(i).is_visible()
    seen = root.inner_text()
    (_, g0, _), (s1, g1, _) = gd.page.settings()["schedule"]
    for phrase in (
        "k: discriminator updates per generator update",
        "lr: learning rate",
        f"schedule: both rates {g0:g}, dropping to {g1:g} at step {s1}",
        "Adam or SGD per player",
        "HQ: share of 2500 generated samples within 3 standard deviations of a mode",
        "A mode is covered when",
    ):
        assert phrase in seen, phrase
    assert "(?)" not in seen
    titles = page.eval_on_selector_all("[data-gd-live] [title]", "es => es.map(e => e.title)")
    for start in ("k: ", "schedule: ", "HQ: ", "slow motion: ", "The generator's optimiser"):
        assert any(t.startswith(start) for t in titles), start
    assert page.locator('[data-gd-chart="gnorm"]').get_attribute("title").startswith("\u2016")


def test_default_recipe_reaches_the_ring(widget):
    """1200 steps of the defaults (run synchronously through the hook) cover >= 3 of 8 modes."""
    page = widget.page
    out = page.evaluate("() => document.querySelector('[data-gd-live]').gdLive.run(1200)")
    modes = text(page, "[data-gd-modes]")
    assert re.fullmatch(r"\d+/8", modes)
    assert out["step"] == 1200 and int(modes.split("/")[0]) == out["modes"] >= 3, out
    assert (out["lrD"], out["lrG"]) == (1e-3, 1e-3)  # the schedule's second phase
    assert control(page, "lr-d").input_value() == "0.001"
    rate = 1200 / out["seconds"]
    REPORT.append(
        f"gd_live_ui.js run(1200) in headless Chromium: {rate:.0f} steps/s, {modes} ring "
        f"modes, high quality {out['highQuality']:.2f}"
    )
    print(f"run(1200): {rate:.0f} steps/s, modes {modes}, hq {out['highQuality']:.2f}")
    page.locator(".gd-live").screenshot(path=SHOT.format("ring"))


RUN_JS = "(n) => document.querySelector('[data-gd-live]').gdLive.run(n)"


def mean_arrow(page) -> float:
    """The mean drawn arrow length (CSS pixels, before the 1.5 px cut)."""
    lens = state(page)["arrowLengths"]
    assert len(lens) == 64
    return sum(lens) / len(lens)


def test_arrow_scale(widget):
    """Arrows at a fixed scale by default (length proportional to the gradient: too short to draw
    at the untrained start, clearly drawn after 300 default steps); normalised, rescaled each
    frame, they are as long at the start as later."""
    page = widget.page
    assert control(page, "arrows").input_value() == "fixed"
    assert state(page)["arrows"] == "fixed"
    start_fixed = mean_arrow(page)
    control(page, "arrows").select_option("normalised")
    start_norm = mean_arrow(page)
    assert start_fixed < 1.5 < start_norm
    control(page, "arrows").select_option("fixed")
    page.evaluate(RUN_JS, 300)
    trained = mean_arrow(page)
    assert trained > 10 * start_fixed and trained > 5
    legend = page.locator("[data-gd-live] .gd-plot .gd-note").inner_text()
    assert "fixed scale" in legend
    for source in (UI_JS.read_text(), DRAW_JS.read_text()):
        assert "mean D(G(z))" in source and "\\u03c3(D(G(z)))" not in source  # the book's notation


def test_saturation_preset(widget):
    """The preset sets the saturating loss, D on Adam at 0.005 with k = 1, G on plain SGD at
    0.01, no schedule, fixed arrows and slow motion, on new networks. Step by step the reader
    can watch it: mean D(G(z)) stays above 0.25 for 10 steps, then falls below 0.05 (by step 60)
    and stays there; the arrows, too short to draw at the start, grow as D sharpens, then
    shrink to nothing (all under 1.5 px, the shortest drawn, by step 150) while the normalised
    ones are still drawn."""
    page = widget.page
    control(page, "arrows").select_option("normalised")
    page.evaluate(RUN_JS, 5)
    click(page, "preset-saturation")
    s = state(page)
    want = ("saturating", "adam", 5e-3, 1, "sgd", 0.01, "fixed", 0)
    got = (s["loss"], s["optD"], s["lrD"], s["k"], s["optG"], s["lrG"], s["arrows"], s["step"])
    assert got == want
    assert control(page, "schedule").is_checked() is False
    assert control(page, "speed").input_value() == "slow"
    assert "Saturation preset" in text(page, "[data-gd-message]")
    arrows, dgz = [mean_arrow(page)], []
    for _ in range(60):
        dgz.append(page.evaluate(RUN_JS, 1)["meanDGz"])
        arrows.append(mean_arrow(page))
        if len(dgz) in (15, 30):
            page.locator(".gd-live").screenshot(path=SHOT.format(f"saturation{len(dgz)}"))
    final = page.evaluate(RUN_JS, 90)
    late = mean_arrow(page)
    first = next(i for i, v in enumerate(dgz) if v < 0.05)
    assert min(dgz[:10]) > 0.25 and 15 <= first < 60, dgz
    assert max(dgz[first:]) < 0.05 and final["meanDGz"] < 0.05, (dgz, final["meanDGz"])
    peak = max(arrows)
    assert arrows[0] < 1.5 and peak > 3 and peak > 3 * arrows[0], arrows
    assert late < 0.05 * peak and max(state(page)["arrowLengths"]) < 1.5, late
    control(page, "arrows").select_option("normalised")
    assert mean_arrow(page) > 5  # the same gradients, rescaled: drawn
    control(page, "arrows").select_option("fixed")
    page.locator(".gd-live").screenshot(path=SHOT.format("saturation"))
    REPORT.append(
        f"live UI saturation preset: mean D(G(z)) {dgz[0]:.2f} at step 1, < 0.05 from step "
        f"{first + 1}, {final['meanDGz']:.1e} at step 150; mean fixed-scale arrow "
        f"{arrows[0]:.2f} px -> {peak:.1f} px (step {arrows.index(peak)}) -> {late:.1e} px"
    )


def test_grid_target(widget):
    """The grid target resets the run onto 25 modes."""
    page = widget.page
    control(page, "target").select_option("grid")
    assert step(page) == 0 and re.fullmatch(r"\d+/25", text(page, "[data-gd-modes]"))
    page.evaluate("() => document.querySelector('[data-gd-live]').gdLive.run(300)")
    assert step(page) == 300
    page.locator(".gd-live").screenshot(path=SHOT.format("grid"))


def test_draw_your_own(widget):
    """With 'draw your own', dragging the mouse over the plot makes the target: a mixture
    around the drawn points, which are also the modes of the metric."""
    page = widget.page
    control(page, "target").select_option("draw")
    assert text(page, "[data-gd-modes]") == "n/a"
    assert page.locator('[data-gd-action="play"]').is_disabled()
    box = page.locator('[data-gd-canvas="samples"]').bounding_box()
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] * 0.3
    page.mouse.move(cx - r, cy + r * 0.6)
    page.mouse.down()
    for i in range(1, 25):  # a "V"
        f = i / 24
        x = cx - r + 2 * r * f
        y = cy + r * 0.6 - 1.2 * r * (1 - abs(2 * f - 1))
        page.mouse.move(x, y)
    page.mouse.up()
    s = state(page)
    assert s["target"] == "drawn" and s["points"] >= 10
    centers = page.evaluate(
        "() => Array.from(document.querySelector('[data-gd-live]').gdLive.trainer.target.centers)"
    )
    assert len(centers) == 2 * s["points"]
    assert max(centers[1::2]) > 0.5 and min(centers[1::2]) < -0.5  # the V spans the plot
    assert s["numModes"] == 1  # one stroke: its points are close, one cluster
    assert re.fullmatch(r"\d+/1", text(page, "[data-gd-modes]"))
    out = page.evaluate("() => document.querySelector('[data-gd-live]').gdLive.run(600)")
    assert out["step"] == 600 and out["modes"] >= 1, out
    page.locator(".gd-live").screenshot(path=SHOT.format("draw"))


def test_drawn_clusters(widget):
    """Clicked points are counted by cluster: 3 clusters of 4 clicks (12 points) read k/3, not
    k/12, in the readout, the state, the chart and the legend; a 13th point far from the others
    makes a 4th cluster; training covers at most the 3 + 1."""
    page = widget.page
    control(page, "target").select_option("draw")
    box = page.locator('[data-gd-canvas="samples"]').bounding_box()
    cx, cy, unit = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] / 4
    heads = ((-1.1, 0.8), (1.1, 0.8), (0.0, -1.0))  # data units (the plot is [-2, 2]^2)
    for hx, hy in heads:
        for dx, dy in ((0, 0), (0.1, 0), (0, 0.1), (0.1, 0.1)):
            page.mouse.click(cx + (hx + dx) * unit, cy - (hy + dy) * unit)
    s = state(page)
    assert (s["points"], s["numModes"]) == (12, 3), s
    assert re.fullmatch(r"\d+/3", text(page, "[data-gd-modes]"))
    legend = page.locator("[data-gd-live] .gd-plot .gd-note").inner_text()
    assert "3 clusters of the 12 drawn points" in legend
    out = page.evaluate(RUN_JS, 600)
    assert out["numModes"] == 3 and 1 <= out["modes"] <= 3, out
    assert re.fullmatch(rf"{out['modes']}/3", text(page, "[data-gd-modes]"))
    page.locator(".gd-live").screenshot(path=SHOT.format("clusters"))
    page.mouse.click(cx + 1.6 * unit, cy + 1.6 * unit)  # (1.6, -1.6): far from every cluster
    s = state(page)
    assert (s["points"], s["numModes"]) == (13, 4) and s["step"] == 600  # training goes on
    assert re.fullmatch(r"\d+/4", text(page, "[data-gd-modes]"))
    REPORT.append(
        f"live UI drawn data: 3 clusters of 12 clicked points read {out['modes']}/3 after 600 "
        f"steps (high quality {out['highQuality']:.2f})"
    )


def test_narrow_page(browser, tmp_path):
    """At a phone's width the plot and the charts stack, nothing wider than the page; the data
    attributes set the loss, seed, speed and a step budget."""
    html = tmp_path / "narrow.html"
    html.write_text(
        page_html(
            '<div data-gd-live data-gd-loss="hinge" data-gd-seed="3" data-gd-steps="20"'
            ' data-gd-speed="fast"></div>'
        )
    )
    opened = Opened(browser, html.as_uri(), width=420)
    page = opened.page
    page.wait_for_selector("[data-gd-step]")
    assert control(page, "loss").input_value() == "hinge"
    assert control(page, "seed").input_value() == "3"
    assert control(page, "speed").input_value() == "fast"
    click(page, "play")  # the budget of 20 steps stops it
    page.wait_for_function("() => !document.querySelector('[data-gd-live]').gdLive.state().playing")
    assert step(page) == 20
    page.evaluate("() => document.querySelector('[data-gd-live]').gdLive.run(200)")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 420, width
    page.locator(".gd-live").screenshot(path=SHOT.format("narrow"))
    opened.close()


def test_page_without_widget(browser, tmp_path):
    """A page of the book without [data-gd-live]: both scripts load, nothing is added."""
    html = tmp_path / "plain.html"
    html.write_text(page_html(""))
    opened = Opened(browser, html.as_uri())
    page = opened.page
    page.wait_for_load_state("load")
    assert page.evaluate("() => typeof GdLive.Trainer") == "function"
    assert page.evaluate("() => typeof GdLiveDraw.plot") == "function"
    assert page.locator(".gd-live, canvas, #gd-live-ui-style").count() == 0
    opened.close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_from_a_local_server(browser, tmp_path):
    """Served over http (as the built book is), the scripts next to the page, the controller
    first; the page does not link gd_live.css, so the widget takes it from next to
    gd_live_ui.js, and it applies."""
    (tmp_path / "static").mkdir()
    for src in (LIVE_JS, UI_JS, DRAW_JS, SETTINGS_JS, CSS):
        shutil.copy(src, tmp_path / "static" / src.name)
    names = ("gd_live_ui.js", "gd_live.js", "gd_settings.js", "gd_live_draw.js")
    (tmp_path / "index.html").write_text(
        page_html("<div data-gd-live></div>", src=[f"static/{n}" for n in names], css=None)
    )
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        opened = Opened(browser, base + "index.html", allowed=base)
        page = opened.page
        page.wait_for_selector("[data-gd-step]")
        click(page, "step")
        t0 = time.monotonic()
        while step(page) < 1 and time.monotonic() - t0 < 5:
            page.wait_for_timeout(50)
        assert step(page) == 1
        href = page.get_attribute("#gd-live-ui-style", "href")
        assert href == base + "static/gd_live.css", href
        page.wait_for_function(
            "() => getComputedStyle(document.querySelector('.gd-live')).borderTopLeftRadius"
            " === '6px'"
        )
        opened.close()
    finally:
        server.shutdown()


def test_linked_style_sheet_is_not_added_twice(widget):
    """A page that links gd_live.css (as every page of the book does) gets no second copy, and
    its rules apply to the widget (the look the style strings of the script gave before)."""
    page = widget.page
    assert page.locator("#gd-live-ui-style").count() == 0
    style = page.evaluate(
        """() => { const s = getComputedStyle(document.querySelector('.gd-live'));
        const b = getComputedStyle(document.querySelector('.gd-live button.gd-primary'));
        return [s.borderTopLeftRadius, s.maxWidth, s.paddingTop, b.backgroundColor]; }"""
    )
    assert style == ["6px", "820px", "8px", "rgb(44, 160, 44)"]


@pytest.mark.parametrize("missing", ["gd_live.js", "gd_live_draw.js", "gd_settings.js"])
def test_a_missing_script_is_named(browser, tmp_path, missing):
    """Without one of the scripts the widget says which one did not load (and throws nothing)."""
    src = [s for s in FILE_SRC if not s.endswith("/" + missing)]
    html = tmp_path / "missing.html"
    html.write_text(page_html("<div data-gd-live></div>", src=src))
    opened = Opened(browser, html.as_uri())
    page = opened.page
    page.wait_for_load_state("load")
    page.wait_for_function("() => document.querySelector('[data-gd-live]').textContent !== ''")
    assert page.locator("[data-gd-live]").inner_text() == (
        f"The live GAN needs {missing}, which did not load."
    )
    opened.close()


def test_divergence_stops_the_widget(widget):
    """When the core flags a divergence (here: a weight of D made NaN), the widget pauses,
    says what diverged at which step, and refuses to train until Reset."""
    page = widget.page
    page.evaluate(RUN_JS, 5)
    page.evaluate(f"() => {{ {WIDGET}.trainer.D.params[0] = NaN; }}")
    click(page, "step")
    s = state(page)
    assert s["diverged"] == {"step": 6, "what": "discriminator loss"}
    message = text(page, "[data-gd-message]")
    assert message.startswith("Training diverged (discriminator loss not finite at step 6)")
    for action in ("play", "step", "step-d", "step-g"):
        assert page.locator(f'[data-gd-action="{action}"]').is_disabled(), action
    assert page.evaluate(RUN_JS, 10)["ran"] == 0
    click(page, "reset")
    s = state(page)
    assert s["diverged"] is None and s["step"] == 0
    assert not page.locator('[data-gd-action="play"]').is_disabled()


# Writes into the trainer's state that the UI used to make (a monkeypatched gUpdate, the loss,
# k, the schedule, the step count, the target); the core's methods do them now.
REACHING_IN = [
    r"\.gUpdate\s*=[^=]",
    r"\.dUpdate\s*=[^=]",
    r"\.config\.\w+\s*=[^=]",
    r"\.spec\s*=[^=]",
    r"\.step\s*(\+=|-=|=[^=]|\+\+)",
    r"trainer\.target\s*=[^=]",
    r"\.G\.params\s*=[^=]",
    r"\.(optG|optD)\s*=[^=]",
]


def test_the_ui_uses_the_core_through_its_methods():
    """gd_live_ui.js and gd_live_draw.js change the trainer only through its methods (setLoss,
    setDSteps, setSchedule, setLearningRates, setOptimizer, setTarget, dStep, gStep,
    trainStep), read its statistics from trainer.last and trainer.diverged, and carry no copy
    of the schedule rule or of the style sheet."""
    for path in (UI_JS, DRAW_JS):
        source = path.read_text()
        for pattern in REACHING_IN:
            assert not re.search(pattern, source), (path.name, pattern)
        assert "SCHEDULE[j]" not in source and ".gd-live{" not in source
    draw = DRAW_JS.read_text()
    assert "trainer" not in draw.replace("the trainer", "")  # it draws what it is given
