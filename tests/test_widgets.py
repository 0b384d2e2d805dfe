"""Tests of gandemo.widgets: Explorer and MultiExplorer (a live widget and a frame player), the
controls, LiveImage and live_view."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import gandemo as gd  # noqa: E402


def small_figure():
    fig, ax = plt.subplots(figsize=(2.0, 1.5), dpi=40)
    (line,) = ax.plot([0, 1], [0, 0])
    ax.set_ylim(-1, 5)
    return fig, ax, line


def test_explorer_offers_a_live_widget_and_a_frame_player():
    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 0])
    ax.set_ylim(0, 4)
    seen = []

    def update(v):
        seen.append(v)
        line.set_ydata([v, v])

    explorer = gd.widgets.explore(fig, update, [1, 2, 3], description="v")
    bundle = explorer._repr_mimebundle_()
    assert "<script" in bundle["text/html"] and "anim" in bundle["text/html"].lower()
    assert set(seen) == {1, 2, 3}
    widget = explorer.widget()
    before = bytes(explorer.image.value)
    explorer.slider.value = 3  # moving the live slider redraws the image
    assert bytes(explorer.image.value) != before
    assert widget is explorer.widget()
    with pytest.raises(ValueError, match="values"):
        gd.widgets.explore(fig, update, [1])


def test_explorer_renders_one_frame_per_value_and_html_in_its_bundle():
    fig, ax, line = small_figure()
    seen = []

    def update(v):
        seen.append(v)
        line.set_ydata([v, v])
        ax.set_title(f"v = {v}")

    values = [0.0, 1.0, 2.0, 3.0]
    explorer = gd.widgets.Explorer(fig, update, values, description="v", start=2.0, dpi=40)
    pngs = gd.widgets.frame_pngs(explorer.html)
    assert len(pngs) == len(values) and len(set(pngs)) == len(values)
    assert all(p[:4] == b"\x89PNG" for p in pngs) and set(seen) == set(values)
    assert explorer.values == values and explorer.start == 2.0
    assert explorer.png(1.0) == pngs[1]  # the player's frame, not a second redraw
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/html"] == explorer.html and "<script" in bundle["text/html"]
    assert bundle["text/plain"] == "<Explorer>"
    with pytest.raises(ValueError, match="start"):
        gd.widgets.Explorer(fig, update, values, start=9.0)


def test_multi_explorer_renders_one_frame_per_combination():
    fig, ax, line = small_figure()
    drawn = []

    def update(height, style):
        drawn.append((height, style))
        line.set_ydata([height, height])
        line.set_linestyle(style)

    controls = {"height": gd.widgets.Slider(0, 4, 1, 1), "style": gd.widgets.Choice(("-", ":"))}
    frames = [{"height": h, "style": s} for h in (1, 3) for s in ("-", ":")]
    board = gd.widgets.MultiExplorer(fig, update, controls, frames, dpi=40)
    pngs = gd.widgets.frame_pngs(board.html)
    assert len(pngs) == 4 and len(set(pngs)) == 4
    assert set(drawn) == {(1, "-"), (1, ":"), (3, "-"), (3, ":")}
    assert board.start == {"height": 1, "style": "-"}
    assert board.png(height=3, style="-") == pngs[2]
    bundle = board._repr_mimebundle_()
    assert "<script" in bundle["text/html"] and bundle["text/plain"] == "<MultiExplorer>"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    board.widget()
    assert set(board.inputs) == {"height", "style"}
    before = bytes(board.image.value)
    board.inputs["height"].value = 4  # a combination not precomputed is redrawn live
    assert bytes(board.image.value) != before and drawn[-1] == (4, "-")


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: gd.widgets.Slider(0.0, 1.0, 0.1, 2.0), "Slider"),
        (lambda: gd.widgets.Slider(0.0, 1.0, 0.0, 0.5), "Slider"),
        (lambda: gd.widgets.Choice(("a",)), "Choice"),
        (lambda: gd.widgets.Choice(("a", "b"), "c"), "Choice value"),
        (lambda: gd.widgets.MultiExplorer(plt.figure(), print, {}, []), "controls"),
        (
            lambda: gd.widgets.MultiExplorer(
                plt.figure(), print, {"a": gd.widgets.Choice((1, 2))}, [{"a": 1}]
            ),
            "frames",
        ),
        (
            lambda: gd.widgets.MultiExplorer(
                plt.figure(), print, {"a": gd.widgets.Choice((1, 2))}, [{"a": 1}, {"b": 2}]
            ),
            "frames",
        ),
        (lambda: gd.widgets.MultiExplorer(plt.figure(), print, {"a": (1, 2)}, []), "controls"),
    ],
)
def test_bad_controls_and_frames_raise_value_error(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
    plt.close("all")


def test_live_view_redraws_at_every_frame_and_shows_a_note_in_html():
    made = []

    def make_figure(frames):
        fig, ax, line = small_figure()
        made.append(frames)

        def update(i):
            line.set_ydata([frames[i], frames[i]])

        return fig, update

    view, show = gd.widgets.live_view(make_figure)
    assert isinstance(view, gd.widgets.LiveImage) and view.updates == 0
    first = None
    for value in (0.0, 2.0, 4.0):
        show(value)
        first = first or bytes(view.widget().value)
    assert len(made) == 1 and made[0] == [0.0, 2.0, 4.0]  # one figure, fed the growing list
    assert view.updates == 3 and view.widget().value[:4] == b"\x89PNG"
    assert bytes(view.widget().value) != first
    bundle = view._repr_mimebundle_()
    assert "JupyterLab" in bundle["text/html"] and bundle["text/plain"] == "<LiveImage>"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    note = gd.widgets.LiveImage("replayed below")
    assert "replayed below" in note._repr_mimebundle_()["text/html"]
    plt.close("all")
