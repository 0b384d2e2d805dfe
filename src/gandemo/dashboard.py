"""A live training dashboard for JupyterLab: controls, Start / Pause / Reset, single steps.

The dashboard drives a :class:`gandemo.training.Trainer` in a background thread and shows a
:class:`gandemo.plots.training.TrainingFigure`, updated in place. Redraws are throttled by a time
budget: after each redraw the next one waits until the redraw's own cost is at most
``redraw_budget`` (default 8 %) of the wall time, so the live view slows training by about that
much whatever the machine (:func:`measure_overhead` measures it).

In the HTML book there is no kernel to train with; the dashboard then shows a note and its
current figure, and the chapters add a frame player over recorded snapshots.
"""

from __future__ import annotations

import base64
import threading
import time

from . import widgets
from .data import TARGETS
from .plots.training import TrainingFigure, metric_text
from .training import LOSSES, Callback, Trainer, TrainingDiverged
from .utils import check_positive, check_positive_int

__all__ = ["TARGETS", "TrainingDashboard", "measure_overhead"]

#: Training threads of the dashboard. It trains in a background thread; there PyTorch's default
#: CPU thread pool makes these small networks about four times slower than in the main thread
#: (the pool's threads of the two Python threads compete for the cores), while one intra-op
#: thread is as fast as the main thread's default or faster.
THREADS = 1


class _LiveView(Callback):
    """The dashboard's hook into the engine's loop: redraw on a time budget, stop on Pause."""

    def __init__(self, board: TrainingDashboard) -> None:
        self.board = board
        self.every_seconds = board._interval()

    def on_start(self, trainer) -> None:
        if self.board._pause.is_set():
            trainer.should_stop = True

    def on_progress(self, trainer) -> None:
        self.board.redraw()
        self.every_seconds = self.board._interval()
        if self.board._pause.is_set():
            trainer.should_stop = True


class TrainingDashboard:
    """Train a small GAN live in JupyterLab.

    Args:
        target: a name in :data:`gandemo.data.TARGETS` (ring, grid, gaussian, mixture, digits);
            the target's own settings (e.g. a tanh generator for the digits) are applied.
        loss: a name in :data:`gandemo.training.LOSSES`.
        steps: generator steps that Start trains (Start again continues).
        lr_g, lr_d: the two Adam learning rates.
        d_steps: discriminator updates per generator update.
        batch_size: examples of each kind per minibatch.
        seed: seed of the weights and the data stream (Reset rebuilds from it).
        device: ``"auto"`` or a torch device.
        redraw_budget: the share of wall time that redraws may take (0 < budget < 1).
        **trainer_kwargs: more :class:`gandemo.training.Trainer` arguments.
    """

    def __init__(
        self,
        target: str = "ring",
        loss: str = "non-saturating",
        *,
        steps: int = 3000,
        lr_g: float = 1e-3,
        lr_d: float = 1e-3,
        d_steps: int = 1,
        batch_size: int = 128,
        seed: int = 0,
        device: str = "auto",
        redraw_budget: float = 0.08,
        **trainer_kwargs,
    ) -> None:
        if target not in TARGETS:
            raise ValueError(f"target must be one of {sorted(TARGETS)}; got {target!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}; got {loss!r}")
        check_positive_int(steps, "steps")
        self.redraw_budget = check_positive(redraw_budget, "redraw_budget")
        if self.redraw_budget >= 1:
            raise ValueError(f"redraw_budget must be below 1; got {redraw_budget!r}")
        self.settings = dict(
            target=target,
            loss=loss,
            steps=steps,
            lr_g=lr_g,
            lr_d=lr_d,
            d_steps=d_steps,
            batch_size=batch_size,
            seed=seed,
        )
        self.device, self.trainer_kwargs = device, trainer_kwargs
        self._thread: threading.Thread | None = None
        self._pause = threading.Event()
        self._lock = threading.Lock()
        self.redraw_seconds = 0.0
        self.redraws = 0
        self.status_text = ""
        self._widget = None
        self.reset()

    # -- the model ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Rebuild the trainer and the figure from the current settings (stops training)."""
        self.pause()
        s = self.settings
        target = TARGETS[s["target"]].make()
        options = dict(TARGETS[s["target"]].settings, threads=THREADS)
        options.update(
            loss=s["loss"],
            lr_g=s["lr_g"],
            lr_d=s["lr_d"],
            d_steps=s["d_steps"],
            batch_size=s["batch_size"],
            seed=s["seed"],
            device=self.device,
        )
        options.update(self.trainer_kwargs)
        self.trainer = Trainer(target, **options)
        self.figure = TrainingFigure(target, s["loss"])
        self.redraw()

    def redraw(self, snapshot=None) -> bytes:
        """Draw the trainer's current state (or ``snapshot``) and return the PNG."""
        t0 = time.perf_counter()
        with self._lock:
            snap = self.trainer.snapshot() if snapshot is None else snapshot
            points = self.figure.points
            d = self.trainer.discriminator_on(points) if len(points) else points[:, 0]
            title = (
                f"{self.settings['target']}, {self.settings['loss']} loss: step {snap.step}, "
                f"{snap.wall_time:.1f} s of training" + metric_text(snap)
            )
            self.figure.draw(snap, d, title=title)
            png = self.figure.png()
        if self._widget is not None:
            self.image.value = png
        cost = time.perf_counter() - t0
        self.redraw_seconds += cost
        self.redraws += 1
        # the first render of a figure also lays it out; later ones are cheaper
        self._last_redraw = cost if self.redraws > 1 else cost / 2
        return png

    # -- actions -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the training thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, steps: int | None = None) -> None:
        """Train ``steps`` (default: the steps setting) more generator steps in the background."""
        if self.running:
            return
        steps = check_positive_int(self.settings["steps"] if steps is None else steps, "steps")
        self._pause.clear()
        self._thread = threading.Thread(target=self._train, args=(steps,), daemon=True)
        self._thread.start()

    def pause(self, wait: bool = True) -> None:
        """Stop training after the current step; the history and the models are kept."""
        self._pause.set()
        trainer = getattr(self, "trainer", None)
        if trainer is not None and self.running:
            trainer.should_stop = True
        if wait and self._thread is not None:
            self._thread.join()

    def update_d(self) -> None:
        """One discriminator update, then a redraw (ignored while training runs)."""
        if not self.running:
            self.trainer.update_d()
            self._set_status("one discriminator step")
            self.redraw()

    def update_g(self) -> None:
        """One generator update, then a redraw (ignored while training runs)."""
        if not self.running:
            self.trainer.update_g()
            self._set_status("one generator step")
            self.redraw()

    def _interval(self) -> float:
        # wait long enough that the last redraw costs at most redraw_budget of the time
        return max(0.25, getattr(self, "_last_redraw", 0.1) / self.redraw_budget)

    def _train(self, steps: int) -> None:
        self._set_status("training...")
        end = self.trainer.step + steps
        try:
            self.trainer.run(steps, callbacks=[_LiveView(self)], progress=False)
            self.redraw()
            done = self.trainer.step >= end
            self._set_status("done" if done else f"paused at step {self.trainer.step}")
        except TrainingDiverged as exc:
            self._set_status(f"stopped: {exc}")
            self.redraw()

    def _set_status(self, text: str) -> None:
        self.status_text = text
        if self._widget is not None:
            self.status.value = f"<b>{text}</b>"

    # -- display -----------------------------------------------------------------------------

    def widget(self):
        """The ipywidgets view: controls, buttons, status line and the figure."""
        if self._widget is not None:
            return self._widget
        import ipywidgets as w

        s = self.settings
        style = {"description_width": "initial"}
        self.controls = {
            "target": w.Dropdown(
                options=[(f"{k}: {t.description}", k) for k, t in TARGETS.items()],
                value=s["target"],
                description="data",
            ),
            "loss": w.Dropdown(options=sorted(LOSSES), value=s["loss"], description="loss"),
            **{
                key: w.FloatLogSlider(
                    value=s[key],
                    base=10,
                    min=-4.5,
                    max=-1.5,
                    step=0.25,
                    description=text,
                    style=style,
                )
                for key, text in (("lr_g", "lr G"), ("lr_d", "lr D"))
            },
            "d_steps": w.IntSlider(
                value=s["d_steps"], min=0, max=5, description="k (D steps)", style=style
            ),
            "batch_size": w.Dropdown(
                options=[32, 64, 128, 256, 512], value=s["batch_size"], description="batch"
            ),
            "steps": w.IntText(value=s["steps"], description="steps", style=style),
        }
        buttons = {
            "Start": self._on_start,
            "Pause": lambda _: self.pause(wait=False),
            "Reset": self._on_reset,
            "step D": lambda _: self.update_d(),
            "step G": lambda _: self.update_g(),
        }
        button_row = []
        for label, handler in buttons.items():
            b = w.Button(description=label, layout=w.Layout(width="90px"))
            b.on_click(handler)
            button_row.append(b)
        self.status = w.HTML(f"<b>{self.status_text or 'ready'}</b>")
        self.image = w.Image(value=self.figure.png(), format="png")
        rows = [
            w.HBox([self.controls[k] for k in ("target", "loss", "batch_size")]),
            w.HBox([self.controls[k] for k in ("lr_g", "lr_d", "d_steps", "steps")]),
            w.HBox([*button_row, self.status]),
            self.image,
        ]
        self._widget = w.VBox(rows)
        return self._widget

    def _read_controls(self) -> bool:
        """Copy the controls into the settings; True when the model must be rebuilt."""
        new = {k: c.value for k, c in self.controls.items()}
        rebuild = any(new[k] != self.settings[k] for k in new if k != "steps")
        self.settings.update(new)
        return rebuild

    def _on_start(self, _button) -> None:
        if self._read_controls():
            self.reset()
        self.start()

    def _on_reset(self, _button) -> None:
        self._read_controls()
        self.reset()
        self._set_status("reset")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        img = base64.b64encode(self.figure.png()).decode("ascii")
        html = (
            "<p><em>The live dashboard needs a running kernel: open this chapter in JupyterLab "
            "(<code>make lab</code>) to train with it. Its starting picture:</em></p>"
            f'<img src="data:image/png;base64,{img}" alt="training dashboard" '
            'style="max-width:100%">'
        )
        return widgets.live_bundle(self.widget, html, "<TrainingDashboard>", include, exclude)


def measure_overhead(
    target: str = "ring", steps: int = 1500, redraw_budget: float = 0.08, seed: int = 0
) -> dict:
    """Steps per second with and without the live view, for the same seeded run.

    Both runs train ``steps`` generator steps from the same seed on the CPU with one intra-op
    thread, as the dashboard does: the plain one in this thread, the live one in the dashboard's
    training thread, redrawing the figure on the throttle it uses in JupyterLab (without a
    browser to send it to). Returns the two rates, the overhead (1 - live / plain) and the number
    of redraws.
    """
    steps = check_positive_int(steps, "steps")
    plain = Trainer(TARGETS[target].make(), seed=seed, device="cpu", threads=THREADS)
    t0 = time.perf_counter()
    plain.run(steps, progress=False)
    plain_rate = steps / (time.perf_counter() - t0)

    board = TrainingDashboard(target, seed=seed, device="cpu", redraw_budget=redraw_budget)
    board.redraws = 0
    t0 = time.perf_counter()
    board.start(steps)
    board._thread.join()
    live_rate = steps / (time.perf_counter() - t0)
    return {
        "plain_steps_per_s": plain_rate,
        "live_steps_per_s": live_rate,
        "overhead": 1 - live_rate / plain_rate,
        "redraws": board.redraws,
        "seconds_per_redraw": board.redraw_seconds / max(1, board.redraws),
    }
