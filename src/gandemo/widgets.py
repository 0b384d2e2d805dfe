"""One slider, two lives: a live ipywidgets slider in JupyterLab, a frame player in the HTML book.

A chapter builds a figure and an ``update(value)`` function that redraws it for one slider value,
then returns :func:`explore` from a cell. The object it returns carries two representations:

* a Jupyter widget (a slider and the figure as an image), which JupyterLab shows and which redraws
  the figure each time the slider moves, with the kernel;
* an HTML frame player (matplotlib's ``to_jshtml``) over the same values, precomputed, which the
  HTML book shows: the book is configured to drop the widget representation (see
  ``book/_config.yml``), so its pages need no kernel and no widget manager.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

__all__ = ["Explorer", "explore", "frame_player", "frame_pngs"]


def _check_values(values: Sequence) -> list:
    values = list(values)
    if len(values) < 2:
        raise ValueError(f"values needs at least two slider positions; got {len(values)}")
    return values


def frame_player(
    fig: Figure,
    update: Callable[[Any], Any],
    values: Sequence,
    *,
    interval_ms: int = 400,
    default_mode: str = "once",
) -> str:
    """Render ``update(v)`` for every ``v`` in ``values`` into a self-contained HTML frame player.

    The player (matplotlib's ``FuncAnimation.to_jshtml``) has a slider and play buttons and needs
    no kernel. The figure is left as ``update(values[0])`` drew it.

    Returns:
        The HTML as a string.
    """
    values = _check_values(values)
    anim = FuncAnimation(fig, update, frames=values, interval=interval_ms, blit=False, repeat=False)
    with plt.rc_context({"animation.embed_limit": 64.0}):
        html = anim.to_jshtml(default_mode=default_mode)
    update(values[0])
    # matplotlib links Font Awesome 4 from a CDN for the button icons; the book's theme already
    # serves Font Awesome itself, and a page must make no request outside the book.
    return re.sub(r'<link rel="stylesheet"\s+href="https://[^"]*font-awesome[^"]*">', "", html)


_FRAME_RE = re.compile(r'frames\[(\d+)\] = "data:image/png;base64,(.*?)"\n', re.DOTALL)


def frame_pngs(html: str) -> list[bytes]:
    """The PNG frames embedded in a frame player made by :func:`frame_player`, in order."""
    frames = sorted((int(i), data) for i, data in _FRAME_RE.findall(html))
    return [base64.b64decode(data.replace("\\\n", "")) for _, data in frames]


class Explorer:
    """A figure with a slider; see the module docstring for how it is displayed.

    The frames rendered for the HTML frame player are kept, so the live slider shows a value's
    figure as soon as the kernel receives the move (no second redraw); a value without a frame is
    redrawn on demand.

    Args:
        fig: the figure to redraw.
        update: called with one value of ``values``; redraws ``fig`` for it.
        values: the slider positions (at least two).
        description: the slider's label.
        start: the initial value (default: the first).
        dpi: resolution of figures redrawn on demand.
    """

    def __init__(
        self,
        fig: Figure,
        update: Callable[[Any], Any],
        values: Sequence,
        *,
        description: str = "value",
        start: Any = None,
        dpi: int = 100,
    ) -> None:
        self.fig = fig
        self.update = update
        self.values = _check_values(values)
        self.description = description
        if start is not None and start not in self.values:
            raise ValueError(f"start must be one of values; got {start!r}")
        self.start = self.values[0] if start is None else start
        self.dpi = dpi
        self.html = frame_player(fig, update, self.values)
        frames = frame_pngs(self.html)
        self._frames = frames if len(frames) == len(self.values) else []
        plt.close(fig)  # the inline backend must not print it a second time
        self._widget = None

    def png(self, value: Any) -> bytes:
        """The figure for ``value`` as PNG bytes (the frame player's frame when there is one)."""
        if self._frames and value in self.values:
            return self._frames[self.values.index(value)]
        self.update(value)
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=self.dpi)
        return buf.getvalue()

    def widget(self):
        """The live ipywidgets view: a selection slider above the figure."""
        if self._widget is None:
            import ipywidgets as widgets

            slider = widgets.SelectionSlider(
                options=[(_label(v), v) for v in self.values],
                value=self.start,
                description=self.description,
                continuous_update=True,
                layout=widgets.Layout(width="90%"),
                style={"description_width": "initial"},
            )
            image = widgets.Image(value=self.png(self.start), format="png")

            def on_change(change: dict) -> None:
                image.value = self.png(change["new"])

            slider.observe(on_change, names="value")
            self.slider, self.image = slider, image
            self._widget = widgets.VBox([slider, image])
        return self._widget

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {}
        try:
            bundle.update(self.widget()._repr_mimebundle_(include=include, exclude=exclude) or {})
        except ImportError:  # ipywidgets missing: the frame player still works
            pass
        bundle["text/html"] = self.html
        bundle["text/plain"] = f"<Explorer over {self.description}>"
        return bundle


def _label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return ", ".join(_label(v) for v in value)
    return str(value)


def explore(fig: Figure, update: Callable[[Any], Any], values: Sequence, **kwargs) -> Explorer:
    """Shorthand for :class:`Explorer`: return it from a notebook cell to display it."""
    return Explorer(fig, update, values, **kwargs)
