r"""A live training dashboard for JupyterLab: controls, Start / Pause / Reset, single steps.

The dashboard drives a :class:`gandemo.training.Trainer` in a background thread and shows a
:class:`gandemo.plots.live.TrainingFigure`, updated in place. Redraws are throttled by a time
budget: after each redraw the next one waits until the redraw's own cost is at most
``redraw_budget`` (default 8 %) of the wall time, so the live view slows training by about that
much whatever the machine (:func:`measure_overhead` measures it).

As in GAN Lab, the loss, the two learning rates and :math:`k` (discriminator updates per
generator update) change the running model in place, between two steps, keeping its weights and
optimiser state (:meth:`TrainingDashboard.configure`); the target, the batch size and the seed
define a new model, built from step 0 by Reset (or by the next Start). On a 2-D target the
samples panel also shows the generator manifold (a latent grid pushed through :math:`G`) and,
at generated examples, the push :math:`-\partial \ell_G / \partial x` of the chosen loss
(:meth:`gandemo.training.Trainer.generator_gradient`).

The defaults are the book's recipe (:data:`gandemo.experiments.RECIPES`) where the target has
one (the ring, the grid, the digits), its learning-rate schedule included, so that the live runs
and the chapters' comparisons train the same models.

In the HTML book there is no kernel to train with; the dashboard then shows a note and its
current figure, and the chapters add a frame player over recorded snapshots.
"""

from __future__ import annotations

import base64
import inspect
import threading
import time

import numpy as np

from . import widgets
from .data import TARGETS
from .experiments import RECIPES, recipe_for
from .plots.latent import latent_lines
from .plots.live import TrainingFigure, metric_text
from .training import LOSSES, Callback, Trainer, TrainingDiverged
from .utils import check_nonnegative_int, check_positive, check_positive_int

__all__ = ["TARGETS", "TrainingDashboard", "measure_overhead"]

#: Training threads of the dashboard. It trains in a background thread; there PyTorch's default
#: CPU thread pool makes these small networks about four times slower than in the main thread
#: (the pool's threads of the two Python threads compete for the cores), while one intra-op
#: thread is as fast as the main thread's default or faster.
THREADS = 1

#: Settings that change the running model in place (weights and optimiser state kept).
IN_PLACE = ("loss", "lr_g", "lr_d", "d_steps", "schedule")

#: Settings that define a new model: Reset (or the next Start) rebuilds it from step 0.
REBUILD = ("target", "batch_size", "seed")

#: Settings of the view only.
VIEW = ("steps", "manifold", "arrows")

#: Generated examples that get an arrow of the generator loss's push.
ARROWS = 64

#: Lines per direction of the latent grid drawn as the generator manifold.
MANIFOLD_LINES = 15

#: The latent grid's extent, :math:`[-\text{lim}, \text{lim}]^2`.
MANIFOLD_LIM = 3.0


class _LiveView(Callback):
    """The dashboard's hook into the engine's loop, called after every step: apply pending
    changes and the schedule, stop on Pause, redraw on a time budget."""

    every = 1

    def __init__(self, board: TrainingDashboard) -> None:
        self.board = board
        self.next_redraw = time.perf_counter() + board._interval()

    def on_start(self, trainer) -> None:
        self.board._between_steps()
        if self.board._pause.is_set():
            trainer.should_stop = True

    def on_progress(self, trainer) -> None:
        board = self.board
        if board._pause.is_set():
            trainer.should_stop = True
            return
        board._between_steps()
        if time.perf_counter() >= self.next_redraw:
            board.redraw()
            self.next_redraw = time.perf_counter() + board._interval()


class TrainingDashboard:
    """Train a small GAN live in JupyterLab.

    Introduced in :doc:`/chapters/07_train_live`.

    Args:
        target: a name in :data:`gandemo.data.TARGETS` (ring, grid, gaussian, mixture, digits);
            the target's recipe (:data:`gandemo.experiments.RECIPES`: architecture, Adam's
            betas, the generator's moving average, ...) or, without one, its own settings are
            applied.
        loss: a name in :data:`gandemo.training.LOSSES`.
        steps: generator steps that Start trains (Start again continues).
        lr_g, lr_d: the two Adam learning rates (default: the recipe's first ones, else 1e-3).
        d_steps: discriminator updates per generator update (default: the recipe's, else 1).
        batch_size: examples of each kind per minibatch (default: the recipe's, else 128).
        seed: seed of the weights and the data stream (Reset rebuilds from it).
        schedule: follow the recipe's learning-rate schedule (default: when the target has a
            recipe and the rates are its first ones); moving a rate's slider turns it off.
        manifold, arrows: draw the generator manifold and the generator loss's push on a 2-D
            target's samples panel.
        device: ``"auto"`` or a torch device.
        redraw_budget: the share of wall time that redraws may take (0 < budget < 1).
        **trainer_kwargs: more :class:`gandemo.training.Trainer` arguments (they win over the
            recipe's).
    """

    def __init__(
        self,
        target: str = "ring",
        loss: str = "non-saturating",
        *,
        steps: int = 3000,
        lr_g: float | None = None,
        lr_d: float | None = None,
        d_steps: int | None = None,
        batch_size: int | None = None,
        seed: int = 0,
        schedule: bool | None = None,
        manifold: bool = True,
        arrows: bool = True,
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
        base = self._base(target)
        if schedule is None:  # the recipe's, unless other rates are asked for
            first = RECIPES[target].schedule[0][1:] if target in RECIPES else None
            given = (base["lr_g"] if lr_g is None else lr_g, base["lr_d"] if lr_d is None else lr_d)
            schedule = first is not None and tuple(given) == tuple(first)
        self.settings = dict(
            target=target,
            loss=loss,
            steps=steps,
            lr_g=base["lr_g"] if lr_g is None else check_positive(lr_g, "lr_g"),
            lr_d=base["lr_d"] if lr_d is None else check_positive(lr_d, "lr_d"),
            d_steps=base["d_steps"]
            if d_steps is None
            else check_nonnegative_int(d_steps, "d_steps"),
            batch_size=base["batch_size"]
            if batch_size is None
            else check_positive_int(batch_size, "batch_size"),
            seed=seed,
            schedule=bool(schedule),
            manifold=bool(manifold),
            arrows=bool(arrows),
        )
        self.device, self.trainer_kwargs = device, trainer_kwargs
        self._thread: threading.Thread | None = None
        self._pause = threading.Event()
        self._lock = threading.Lock()  # one redraw at a time
        self._pending_lock = threading.Lock()
        self._pending: dict = {}
        self._built: dict = {}  # the rebuild settings of the current model
        self._syncing = False  # the dashboard itself moves a control
        self.redraw_seconds = 0.0
        self.redraws = 0
        self.status_text = ""
        self._widget = None
        self.reset()

    # -- the model ---------------------------------------------------------------------------

    @staticmethod
    def _base(target: str) -> dict:
        """The target's recipe settings (or its own), with the first learning rates."""
        recipe = recipe_for(target)
        _, lr_g, lr_d = recipe.schedule[0]
        defaults = inspect.signature(Trainer).parameters
        base = {k: defaults[k].default for k in ("d_steps", "batch_size")}
        return dict(base, **recipe.settings, lr_g=lr_g, lr_d=lr_d)

    def _options(self) -> dict:
        """The :class:`Trainer` arguments of the current settings."""
        s = self.settings
        options = dict(self._base(s["target"]), threads=THREADS)
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
        return options

    def reset(self) -> None:
        """Rebuild the trainer and the figure from the current settings (stops training)."""
        self.pause()
        s = self.settings
        with self._pending_lock:
            self._pending = {}
        self._built = {k: s[k] for k in REBUILD}
        self.trainer = Trainer(TARGETS[s["target"]].make(), **self._options())
        self.figure = TrainingFigure(self.trainer.data, s["loss"])
        self._apply_schedule()
        if self._widget is not None:
            box = self.controls["schedule"]
            box.description, box.disabled = self._schedule_text(), self.recipe is None
        self.redraw()

    @property
    def _stale(self) -> list[str]:
        """The settings changed since the model was built, which wait for a rebuild."""
        return [k for k in REBUILD if self.settings[k] != self._built.get(k)]

    @property
    def recipe(self):
        """The target's :class:`gandemo.experiments.Recipe`, or None."""
        return RECIPES.get(self.settings["target"])

    def scheduled_rates(self, step: int | None = None) -> tuple[float, float] | None:
        """The recipe's ``(lr_g, lr_d)`` for the update after ``step`` (default: the trainer's
        step), or None when the schedule is off or the target has no recipe."""
        recipe = self.recipe
        if not self.settings["schedule"] or recipe is None:
            return None
        return recipe.rates_at(self.trainer.step if step is None else step)

    def _apply_schedule(self) -> None:
        rates = self.scheduled_rates()
        if rates is None:
            return
        c = self.trainer.config
        if (c["lr_g"], c["lr_d"]) != rates:
            self.trainer.set_learning_rates(*rates)
            self.settings["lr_g"], self.settings["lr_d"] = rates
            self._sync_controls("lr_g", "lr_d")

    def configure(self, **changes) -> list[str]:
        """Change settings; returns the changed ones that wait for a rebuild.

        ``loss``, ``lr_g``, ``lr_d``, ``d_steps`` and ``schedule`` change the model in place
        (between two steps while training runs), keeping its weights, its optimisers' state and
        its history (:meth:`gandemo.training.Trainer.set_loss` lists loss changes in
        ``trainer.loss_changes``); a learning rate given here turns the schedule off.
        ``target``, ``batch_size`` and ``seed`` define a new model: they are kept and take effect
        at the next :meth:`reset` (the next :meth:`start` after a change resets first); a new
        target also brings its recipe's learning rates, k and batch size, unless they are given
        in the same call.
        ``steps``, ``manifold`` and ``arrows`` change only what Start trains and what is drawn.
        """
        known = IN_PLACE + REBUILD + VIEW
        for key in changes:
            if key not in known:
                raise ValueError(f"settings must be among {list(known)}; got {key!r}")
        changes = self._check(changes)
        s = self.settings
        changes = {k: v for k, v in changes.items() if v != s[k]}
        if ("lr_g" in changes or "lr_d" in changes) and "schedule" not in changes:
            changes["schedule"] = False
        if "target" in changes:  # the new target's recipe, unless given too
            base = self._base(changes["target"])
            for key in ("lr_g", "lr_d", "d_steps", "batch_size"):
                s[key] = changes.pop(key, base[key])
            self._sync_controls("lr_g", "lr_d", "d_steps", "batch_size")
        for key in VIEW:
            if key in changes:
                s[key] = changes[key]
        in_place = {k: v for k, v in changes.items() if k in IN_PLACE}
        if in_place:
            if self.running:
                with self._pending_lock:
                    self._pending.update(in_place)
            else:
                self._apply_now(in_place)
        for key in REBUILD:
            if key in changes:
                s[key] = changes[key]
        if self._stale:
            names = ", ".join(sorted(self._stale))
            self._set_status(f"{names} changed: Reset (or Start) rebuilds the model from step 0")
        if not self.running and (in_place or "manifold" in changes or "arrows" in changes):
            self.redraw()
        return self._stale

    @staticmethod
    def _check(changes: dict) -> dict:
        out = dict(changes)
        checks = dict(
            lr_g=lambda v: check_positive(v, "lr_g"),
            lr_d=lambda v: check_positive(v, "lr_d"),
            d_steps=lambda v: check_nonnegative_int(v, "d_steps"),
            batch_size=lambda v: check_positive_int(v, "batch_size"),
            steps=lambda v: check_positive_int(v, "steps"),
        )
        for key, check in checks.items():
            if key in out:
                out[key] = check(out[key])
        if "loss" in out and out["loss"] not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}; got {out['loss']!r}")
        if "target" in out and out["target"] not in TARGETS:
            raise ValueError(f"target must be one of {sorted(TARGETS)}; got {out['target']!r}")
        return out

    def _apply_now(self, changes: dict) -> None:
        """Apply in-place changes to the trainer (between two steps)."""
        t, s = self.trainer, self.settings
        said = []
        if "loss" in changes:
            t.set_loss(changes["loss"])
            said.append(f"loss {changes['loss']} from step {t.step + 1}")
        if "d_steps" in changes:
            t.set_d_steps(changes["d_steps"])
            said.append(f"k = {changes['d_steps']}")
        s.update(changes)
        if "lr_g" in changes or "lr_d" in changes:
            t.set_learning_rates(s["lr_g"], s["lr_d"])
            said.append(f"lr G {s['lr_g']:.2g}, lr D {s['lr_d']:.2g}")
        if "schedule" in changes:
            said.append("the recipe's lr schedule" + (" on" if s["schedule"] else " off"))
            self._apply_schedule()
        self._sync_controls(*changes)
        if said:
            self._set_status("; ".join(said) + " (weights kept)")

    def _between_steps(self) -> None:
        """Called by the training thread between two steps."""
        if self._pending:
            with self._pending_lock:
                changes, self._pending = self._pending, {}
            self._apply_now(changes)
        if self.settings["schedule"]:
            self._apply_schedule()

    def redraw(self, snapshot=None) -> bytes:
        """Draw the trainer's current state (or ``snapshot``) and return the PNG."""
        t0 = time.perf_counter()
        with self._lock:
            t = self.trainer
            loss = t.models[0][0]
            if self.figure.loss != loss:  # the curves' labels and equilibrium lines
                self.figure = TrainingFigure(t.data, loss)
            snap = t.snapshot() if snapshot is None else snapshot
            points = self.figure.points
            d = t.discriminator_on(points) if len(points) else points[:, 0]
            c = t.config
            title = (
                f"{self._built['target']}, {loss} loss, lr {c['lr_g']:.2g}/{c['lr_d']:.2g}, "
                f"k = {c['d_steps']}: step {snap.step}, {snap.wall_time:.1f} s" + metric_text(snap)
            )
            self.figure.draw(snap, d, title=title)
            if self.figure.two_d and t.dim == 2:
                self.figure.draw_generator_field(*self._field(snap))
            png = self.figure.png()
        if self._widget is not None:
            self.image.value = png
        cost = time.perf_counter() - t0
        self.redraw_seconds += cost
        self.redraws += 1
        # the first render of a figure also lays it out; later ones are cheaper
        self._last_redraw = cost if self.redraws > 1 else cost / 2
        return png

    def _field(self, snap) -> tuple:
        """The generator manifold's polylines and the arrows, as the settings ask."""
        t, s = self.trainer, self.settings
        manifold = arrows = None
        k = t.config["latent_dim"]
        if s["manifold"] and k >= 2:
            _, images = latent_lines(t, lim=MANIFOLD_LIM, lines=MANIFOLD_LINES, n=61)
            manifold = list(images)
        if s["arrows"] and len(snap.fake):
            pts = np.asarray(snap.fake[:ARROWS], dtype=float)
            arrows = (pts, t.generator_gradient(pts))
        return manifold, arrows

    # -- actions -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the training thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, steps: int | None = None) -> None:
        """Train ``steps`` (default: the steps setting) more generator steps in the background
        (after a change of the target, the batch size or the seed: from a new model)."""
        if self.running:
            return
        steps = check_positive_int(self.settings["steps"] if steps is None else steps, "steps")
        note = ""
        if self._stale:
            note = f"{', '.join(self._stale)} changed: rebuilt from step 0; "
            self.reset()
        self._pause.clear()
        self._set_status(note + "training...")
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

    def _single(self, what: str, action) -> None:
        if self.running:
            return
        self._between_steps()
        try:
            action()
            self._set_status(what)
        except TrainingDiverged as exc:
            self._set_status(f"stopped: {exc}")
        self.redraw()

    def update_d(self) -> None:
        """One discriminator update, then a redraw (ignored while training runs)."""
        self._single("one discriminator step", self.trainer.update_d)

    def update_g(self) -> None:
        """One generator update, then a redraw (ignored while training runs)."""
        self._single("one generator step", self.trainer.update_g)

    def step_both(self) -> None:
        """One full step, what Start trains per step: ``d_steps`` discriminator updates, then
        one generator update; then a redraw (ignored while training runs)."""
        k = self.trainer.config["d_steps"]
        self._single(
            f"one step: {k} D update{'s' if k != 1 else ''}, then one G update",
            lambda: self.trainer.run(1, progress=False),
        )

    def _interval(self) -> float:
        # wait long enough that the last redraw costs at most redraw_budget of the time
        return max(0.25, getattr(self, "_last_redraw", 0.1) / self.redraw_budget)

    def _train(self, steps: int) -> None:
        end = self.trainer.step + steps
        try:
            self.trainer.run(steps, callbacks=[_LiveView(self)], progress=False)
            self._between_steps()
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

    def _sync_controls(self, *keys: str) -> None:
        """Show the settings ``keys`` in their controls (without reacting to the change)."""
        if self._widget is None:
            return
        self._syncing = True
        try:
            for key in keys:
                if key in self.controls and self.controls[key].value != self.settings[key]:
                    self.controls[key].value = self.settings[key]
        finally:
            self._syncing = False

    def _schedule_text(self) -> str:
        recipe = self.recipe
        if recipe is None or len(recipe.schedule) < 2:
            return "recipe's lr schedule"
        parts = [f"{lr_g:.0e}" + (f" from step {s}" if s else "") for s, lr_g, _ in recipe.schedule]
        return "lr schedule: " + ", ".join(parts)

    def widget(self):
        """The ipywidgets view: controls, buttons, status line and the figure.

        Moving the loss, a learning rate or k changes the running model in place; changing the
        data, the batch size or the seed asks for Reset (Start also rebuilds then).
        """
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
            "batch_size": w.Dropdown(
                options=sorted({32, 64, 128, 256, 512, s["batch_size"]}),
                value=s["batch_size"],
                description="batch",
            ),
            "seed": w.BoundedIntText(
                value=s["seed"], min=0, max=2**31 - 1, description="seed", style=style
            ),
            **{
                key: w.FloatLogSlider(
                    value=s[key],
                    base=10,
                    min=-4.5,
                    max=-1.5,
                    step=0.05,
                    description=text,
                    readout_format=".1e",
                    style=style,
                )
                for key, text in (("lr_g", "lr G"), ("lr_d", "lr D"))
            },
            "d_steps": w.IntSlider(
                value=s["d_steps"], min=0, max=5, description="k (D steps)", style=style
            ),
            "steps": w.BoundedIntText(
                value=s["steps"], min=1, max=10**8, description="steps", style=style
            ),
            "schedule": w.Checkbox(
                value=s["schedule"],
                description=self._schedule_text(),
                disabled=self.recipe is None,
                style=style,
            ),
            "manifold": w.Checkbox(value=s["manifold"], description="manifold", style=style),
            "arrows": w.Checkbox(value=s["arrows"], description="arrows", style=style),
        }
        for key, control in self.controls.items():
            control.observe(lambda change, key=key: self._on_control(key, change["new"]), "value")
        buttons = {
            "Start": lambda _: self.start(),
            "Pause": lambda _: self.pause(wait=False),
            "Reset": self._on_reset,
            "step D": lambda _: self.update_d(),
            "step G": lambda _: self.update_g(),
            "step both": lambda _: self.step_both(),
        }
        button_row = []
        for label, handler in buttons.items():
            b = w.Button(description=label, layout=w.Layout(width="90px"))
            b.on_click(handler)
            button_row.append(b)
        self.status = w.HTML(f"<b>{self.status_text or 'ready'}</b>")
        self.image = w.Image(value=self.figure.png(), format="png")
        note = w.HTML(
            "<small>loss, lr and k apply in place (weights kept); data, batch and seed "
            "rebuild the model from step 0</small>"
        )
        rows = [
            w.HBox([self.controls[k] for k in ("target", "loss", "batch_size", "seed")]),
            w.HBox([self.controls[k] for k in ("lr_g", "lr_d", "d_steps", "steps")]),
            w.HBox([*button_row, self.status]),
            w.HBox([self.controls[k] for k in ("schedule", "manifold", "arrows")] + [note]),
            self.image,
        ]
        self._widget = w.VBox(rows)
        return self._widget

    def _on_control(self, key: str, value) -> None:
        if not self._syncing:
            self.configure(**{key: value})

    def _on_reset(self, _button) -> None:
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

    Both runs train ``steps`` generator steps of the dashboard's model from the same seed on the
    CPU with one intra-op thread, as the dashboard does: the plain one in this thread, the live
    one in the dashboard's training thread, redrawing the figure on the throttle it uses in
    JupyterLab (without a browser to send it to). Returns the two rates, the overhead
    (1 - live / plain) and the number of redraws.
    """
    steps = check_positive_int(steps, "steps")
    board = TrainingDashboard(target, seed=seed, device="cpu", redraw_budget=redraw_budget)
    plain = Trainer(TARGETS[target].make(), **board._options())
    t0 = time.perf_counter()
    plain.run(steps, progress=False)
    plain_rate = steps / (time.perf_counter() - t0)

    board.redraws = 0
    board.redraw_seconds = 0.0
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
