"""One slider, two lives: a live ipywidgets slider in JupyterLab, a frame player in the HTML book.

A chapter builds a figure and an ``update(value)`` function that redraws it for one slider value,
then returns :func:`explore` from a cell. The object it returns carries two representations:

* a Jupyter widget (a slider and the figure as an image), which JupyterLab shows and which updates
  the figure each time the slider moves, through the kernel;
* an HTML frame player (matplotlib's ``to_jshtml``) over the same values, precomputed, which the
  HTML book shows: the book is configured to drop the widget representation (see
  ``book/_config.yml``), so its pages need no kernel and no widget manager.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

__all__ = [
    "Choice",
    "MultiExplorer",
    "explore",
    "Explorer",
    "figure_png",
    "frame_player",
    "frame_pngs",
    "live_bundle",
    "live_view",
    "LiveImage",
    "Slider",
]


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
    dpi: float | None = None,
    start_index: int = 0,
) -> str:
    """Render ``update(v)`` for every ``v`` in ``values`` into a self-contained HTML frame player.

    The player (matplotlib's ``FuncAnimation.to_jshtml``) has a slider and play buttons and needs
    no kernel; it opens on frame ``start_index``. The figure is left as ``update(values[0])``
    drew it.

    Returns:
        The HTML as a string.
    """
    values = _check_values(values)
    anim = FuncAnimation(fig, update, frames=values, interval=interval_ms, blit=False, repeat=False)
    rc = {"animation.embed_limit": 64.0}
    if dpi is not None:
        rc["savefig.dpi"] = dpi
    with plt.rc_context(rc):
        html = anim.to_jshtml(default_mode=default_mode)
    update(values[0])
    # matplotlib links Font Awesome 4 from a CDN for the button icons; the book's theme already
    # serves Font Awesome itself, and a page must make no request outside the book.
    html = re.sub(r'<link rel="stylesheet"\s+href="https://[^"]*font-awesome[^"]*">', "", html)
    if start_index:
        # the player object is created in a zero-delay timeout; show the start frame after it
        anim_id = re.search(r'id="_anim_img(\w+)"', html)[1]
        html += (
            f"<script>setTimeout(function() {{ anim{anim_id}.set_frame({int(start_index)}); }}"
            ", 50);</script>"
        )
    return html


_FRAME_RE = re.compile(r'frames\[(\d+)\] = "data:image/png;base64,(.*?)"\n', re.DOTALL)


def frame_pngs(html: str) -> list[bytes]:
    """The PNG frames embedded in a frame player made by :func:`frame_player`, in order."""
    frames = sorted((int(i), data) for i, data in _FRAME_RE.findall(html))
    return [base64.b64decode(data.replace("\\\n", "")) for _, data in frames]


def live_bundle(make_widget: Callable, html: str, plain: str, include=None, exclude=None) -> dict:
    """The two representations of a live view: the ipywidgets view that JupyterLab shows (left
    out when ipywidgets is missing) and the ``html`` that the HTML book shows instead (the book
    drops widget views, see ``book/_config.yml``), plus a ``plain`` text."""
    bundle = {}
    try:
        bundle.update(make_widget()._repr_mimebundle_(include=include, exclude=exclude) or {})
    except ImportError:  # ipywidgets missing: the HTML representation still works
        pass
    bundle["text/html"] = html
    bundle["text/plain"] = plain
    return bundle


class _LiveAndPlayer:
    """What every explorer shares: the frame player, its frames reused by the live view, and the
    two representations a notebook frontend chooses from."""

    fig: Figure
    dpi: int

    def _prepare(
        self,
        fig: Figure,
        draw: Callable[[Any], Any],
        frames: list,
        dpi: float | None,
        start_index: int = 0,
    ) -> None:
        self.fig, self._draw, self.dpi = fig, draw, dpi
        self.html = frame_player(fig, draw, frames, dpi=dpi, start_index=start_index)
        pngs = frame_pngs(self.html)
        self._cache = list(zip(frames, pngs, strict=True)) if len(pngs) == len(frames) else []
        plt.close(fig)  # the inline backend must not print it a second time
        self._widget = None

    def _png(self, frame: Any) -> bytes:
        """The figure for one frame: the frame player's PNG when it has one, else a redraw."""
        for known, png in self._cache:
            if known == frame:
                return png
        self._draw(frame)
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=self.dpi or "figure")
        return buf.getvalue()

    def widget(self):  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return live_bundle(self.widget, self.html, f"<{type(self).__name__}>", include, exclude)


class Explorer(_LiveAndPlayer):
    """A figure with one slider; see the module docstring for how it is displayed.

    The frames rendered for the HTML frame player are kept, so the live slider shows a value's
    figure as soon as the kernel receives the move (no second redraw).

    Args:
        fig: the figure to redraw.
        update: called with one value of ``values``; redraws ``fig`` for it.
        values: the slider positions (at least two).
        description: the slider's label.
        start: the live slider's initial value (default: the first).
        dpi: resolution of the frames (default: matplotlib's ``savefig.dpi``).
    """

    def __init__(
        self,
        fig: Figure,
        update: Callable[[Any], Any],
        values: Sequence,
        *,
        description: str = "value",
        start: Any = None,
        dpi: float | None = None,
    ) -> None:
        self.update = update
        self.values = _check_values(values)
        self.description = description
        if start is not None and start not in self.values:
            raise ValueError(f"start must be one of values; got {start!r}")
        self.start = self.values[0] if start is None else start
        self._prepare(fig, update, self.values, dpi, self.values.index(self.start))

    def png(self, value: Any) -> bytes:
        """The figure for ``value`` as PNG bytes."""
        return self._png(value)

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


MAX_FRAMES = 25


@dataclass(frozen=True)
class Slider:
    """A numeric control: a float slider, or an int slider when all four numbers are ints."""

    min: float
    max: float
    step: float
    value: float

    def __post_init__(self) -> None:
        if not self.min <= self.value <= self.max or self.step <= 0:
            raise ValueError(
                f"Slider needs min <= value <= max and step > 0; got {self.min}, {self.value}, "
                f"{self.max}, step {self.step}"
            )


@dataclass(frozen=True)
class Choice:
    """A dropdown over a few options (strings or numbers)."""

    options: tuple
    value: Any = None

    def __post_init__(self) -> None:
        options = tuple(self.options)
        if len(options) < 2:
            raise ValueError("Choice needs at least two options")
        value = options[0] if self.value is None else self.value
        if value not in options:
            raise ValueError(f"Choice value must be one of {options}; got {value!r}")
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "value", value)


class MultiExplorer(_LiveAndPlayer):
    """A figure with several controls: live in JupyterLab, a frame player in the HTML book.

    In JupyterLab every control is live and any combination is redrawn on demand (the
    precomputed ones are shown at once); the HTML frame player steps through ``frames``.

    Args:
        fig: the figure to redraw.
        update: called as ``update(**params)``; redraws ``fig`` for one combination.
        controls: maps each parameter name to a :class:`Slider` or :class:`Choice`.
        frames: the combinations (dicts with every parameter) that the HTML frame player
            precomputes, at most 25; the figure's title should name the parameters, since the
            player shows only a frame number.
        dpi: resolution of figures redrawn on demand.
    """

    def __init__(
        self,
        fig: Figure,
        update: Callable[..., Any],
        controls: dict,
        frames: Sequence[dict],
        *,
        dpi: int = 90,
    ) -> None:
        if not controls:
            raise ValueError("controls is empty: a dashboard needs at least one control")
        for name, spec in controls.items():
            if not isinstance(spec, Slider | Choice):
                raise ValueError(f"controls[{name!r}] must be a Slider or a Choice")
        frames = [dict(f) for f in frames]
        if not 2 <= len(frames) <= MAX_FRAMES:
            raise ValueError(f"frames needs 2 to {MAX_FRAMES} combinations; got {len(frames)}")
        for f in frames:
            if set(f) != set(controls):
                raise ValueError(f"each of frames must set exactly {sorted(controls)}; got {f}")
        self.update, self.controls, self.frames = update, dict(controls), frames
        self.start = {name: spec.value for name, spec in controls.items()}
        self._prepare(fig, lambda params: update(**params), frames, dpi)

    def png(self, **params) -> bytes:
        """The figure for one combination of parameters as PNG bytes."""
        return self._png(params)

    def widget(self):
        """The live ipywidgets view: the controls above the figure."""
        if self._widget is None:
            import ipywidgets as ipw

            style = {"description_width": "initial"}
            self.inputs = {}
            for name, spec in self.controls.items():
                if isinstance(spec, Choice):
                    w = ipw.Dropdown(
                        options=list(spec.options), value=spec.value, description=name, style=style
                    )
                else:
                    is_int = all(
                        isinstance(v, int) for v in (spec.min, spec.max, spec.step, spec.value)
                    )
                    cls = ipw.IntSlider if is_int else ipw.FloatSlider
                    w = cls(
                        min=spec.min,
                        max=spec.max,
                        step=spec.step,
                        value=spec.value,
                        description=name,
                        continuous_update=False,
                        style=style,
                        layout=ipw.Layout(width="48%"),
                    )
                self.inputs[name] = w
            self.image = ipw.Image(value=self.png(**self.start), format="png")

            def on_change(_change: dict) -> None:
                self.image.value = self.png(**self.values())

            for w in self.inputs.values():
                w.observe(on_change, names="value")
            boxes = ipw.HBox(list(self.inputs.values()), layout=ipw.Layout(flex_flow="row wrap"))
            self._widget = ipw.VBox([boxes, self.image])
        return self._widget

    def values(self) -> dict:
        """The current values of the live controls."""
        return {name: w.value for name, w in self.inputs.items()}


def _label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return ", ".join(_label(v) for v in value)
    return str(value)


def explore(fig: Figure, update: Callable[[Any], Any], values: Sequence, **kwargs) -> Explorer:
    """Shorthand for :class:`Explorer`: return it from a notebook cell to display it."""
    return Explorer(fig, update, values, **kwargs)


class LiveImage:
    """An image that updates in place while a cell runs: an ``ipywidgets.Image`` in JupyterLab.

    The HTML book cannot run the models, so there it shows a short note instead (the frame
    player that follows the training replays the recorded frames).
    """

    def __init__(self, note: str = "") -> None:
        self.note = note or (
            "In JupyterLab this picture updates while the models train; the player below "
            "replays the frames recorded during the book's build."
        )
        self.updates = 0
        self._img = None

    def widget(self):
        if self._img is None:
            import ipywidgets

            self._img = ipywidgets.Image(format="png", layout=ipywidgets.Layout(max_width="100%"))
        return self._img

    def update(self, png: bytes) -> None:
        """Show ``png`` (the bytes of a PNG file)."""
        self.updates += 1
        try:
            self.widget().value = png
        except ImportError:  # no ipywidgets: nothing to update
            pass

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        html = f"<p><em>{self.note}</em></p>"
        return live_bundle(self.widget, html, "<LiveImage>", include, exclude)


def live_view(make_figure: Callable[[list], tuple[Figure, Callable[[int], None]]]):
    """A :class:`LiveImage` and a ``live`` callback for
    :func:`gandemo.recording.record_samples` that redraws a figure at every recorded frame.

    Introduced in :doc:`/chapters/08_loss_zoo`.

    Args:
        make_figure: ``make_figure(frames)`` returns ``(fig, update)`` like the figures above;
            it is called once with a list that grows as frames arrive.
    """
    view = LiveImage()
    frames: list = []
    state: dict = {}

    def show(frame) -> None:
        frames.append(frame)
        if "fig" not in state:
            state["fig"], state["update"] = make_figure(frames)
        state["update"](len(frames) - 1)
        view.update(figure_png(state["fig"], dpi=72))

    return view, show


def figure_png(fig: Figure, dpi: float = 72) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
