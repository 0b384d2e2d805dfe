r"""The model part of the live dashboard: a :class:`TrainingSession` holds the settings, the
target's recipe (its defaults and learning-rate schedule), the trainer and the figure, applies a
change in place or keeps it for a rebuild, and trains in a background thread.

It imports no ipywidgets: a view (:class:`gandemo.dashboard.TrainingPanel`) registers with
:meth:`TrainingSession.on_change` and is told which keys changed, so the session never calls
into it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from ..data import TARGETS
from ..experiments import RECIPES, recipe_for
from ..plots.latent import latent_lines
from ..plots.live import TrainingFigure, metric_text
from ..training import Callback, Trainer, TrainerConfig, TrainingDiverged
from ..utils import check_positive, check_positive_int

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

#: The settings that are :class:`gandemo.training.Trainer` settings: the engine checks them.
ENGINE = ("loss", "lr_g", "lr_d", "d_steps", "batch_size", "seed")

#: The trainer method that changes each in-place engine setting (both rates: one call).
SETTERS = {
    "loss": "set_loss",
    "d_steps": "set_d_steps",
    "lr_g": "set_learning_rates",
    "lr_d": "set_learning_rates",
}

#: Generated examples that get an arrow of the generator loss's push.
ARROWS = 64

#: Lines per direction of the latent grid drawn as the generator manifold.
MANIFOLD_LINES = 15

#: The latent grid's extent, :math:`[-\text{lim}, \text{lim}]^2`.
MANIFOLD_LIM = 3.0


class _LiveView(Callback):
    """The session's hook into the engine's loop, called after every step: apply pending
    changes and the schedule, stop on Pause, redraw on a time budget."""

    every = 1

    def __init__(self, session: TrainingSession) -> None:
        self.session = session
        self.next_redraw = time.perf_counter() + session._interval()

    def on_start(self, trainer) -> None:
        self.session._between_steps()
        if self.session._pause.is_set():
            trainer.should_stop = True

    def on_progress(self, trainer) -> None:
        session = self.session
        if session._pause.is_set():
            trainer.should_stop = True
            return
        session._between_steps()
        session._notify("step")
        if time.perf_counter() >= self.next_redraw:
            session.redraw()
            self.next_redraw = time.perf_counter() + session._interval()


class TrainingSession:
    """A small GAN trained live: settings, model, figure and a training thread, with no view.

    Observers registered with :meth:`on_change` are called with the keys that changed: setting
    names (``"lr_g"``, ``"schedule"``, ...), ``"status"`` (:attr:`status_text`), ``"step"`` (the
    trainer's step), ``"figure"`` (a new :attr:`png`) and ``"model"`` (Reset built a new
    trainer). While training runs they are called from the training thread.

    Args:
        target: a name in :data:`gandemo.data.TARGETS` (ring, grid, gaussian, mixture, digits);
            the target's recipe (:data:`gandemo.experiments.RECIPES`: architecture, Adam's
            betas, the generator's moving average, ...) or, without one, its own settings are
            applied.
        loss: a name in :data:`gandemo.training.LOSSES` (default: the engine's).
        steps: generator steps that Start trains (Start again continues).
        lr_g, lr_d: the two Adam learning rates (default: the recipe's first ones, else the
            engine's).
        d_steps: discriminator updates per generator update (default: the recipe's, else the
            engine's).
        batch_size: examples of each kind per minibatch (default: the recipe's, else the
            engine's).
        seed: seed of the weights and the data stream (Reset rebuilds from it; default: the
            engine's).
        schedule: follow the recipe's learning-rate schedule (default: when the target has a
            recipe and the rates are its first ones); moving a rate's slider turns it off.
        manifold, arrows: draw the generator manifold and the generator loss's push on a 2-D
            target's samples panel.
        device: ``"auto"`` or a torch device (default: the engine's).
        redraw_budget: the share of wall time that redraws may take (0 < budget < 1).
        **trainer_kwargs: more :class:`gandemo.training.Trainer` arguments (they win over the
            recipe's).

    The engine's settings (loss, rates, k, batch size, seed) are checked by the engine
    (:class:`gandemo.training.TrainerConfig`); a bad one raises its ValueError.
    """

    def __init__(
        self,
        target: str = "ring",
        loss: str | None = None,
        *,
        steps: int = 3000,
        lr_g: float | None = None,
        lr_d: float | None = None,
        d_steps: int | None = None,
        batch_size: int | None = None,
        seed: int | None = None,
        schedule: bool | None = None,
        manifold: bool = True,
        arrows: bool = True,
        device: str | None = None,
        redraw_budget: float = 0.08,
        **trainer_kwargs,
    ) -> None:
        _check_target(target)
        check_positive_int(steps, "steps")
        self.redraw_budget = check_positive(redraw_budget, "redraw_budget")
        if self.redraw_budget >= 1:
            raise ValueError(f"redraw_budget must be below 1; got {redraw_budget!r}")
        base = self._base(target)
        given = dict(
            loss=loss, lr_g=lr_g, lr_d=lr_d, d_steps=d_steps, batch_size=batch_size, seed=seed
        )
        engine = {k: base[k] if v is None else v for k, v in given.items()}
        if schedule is None:  # the recipe's, unless other rates are asked for
            first = RECIPES[target].schedule[0][1:] if target in RECIPES else None
            schedule = first is not None and (engine["lr_g"], engine["lr_d"]) == tuple(first)
        #: the settings by name (in place, rebuild and view ones; see :meth:`configure`)
        self.settings = dict(target=target, steps=steps, **engine)
        self.settings.update(schedule=bool(schedule), manifold=bool(manifold), arrows=bool(arrows))
        self.device, self.trainer_kwargs = device, trainer_kwargs
        self._observers: list[Callable] = []
        self._thread: threading.Thread | None = None
        self._pause = threading.Event()
        self._lock = threading.Lock()  # one redraw at a time
        self._pending_lock = threading.Lock()
        self._pending: dict = {}
        self._built: dict = {}  # the rebuild settings of the current model
        self.redraw_seconds = 0.0
        self.redraws = 0
        #: the last line said (observers get ``"status"``)
        self.status_text = ""
        #: the last figure drawn as a PNG (observers get ``"figure"``)
        self.png = b""
        self.reset()  # the engine checks its settings here

    # -- observers ---------------------------------------------------------------------------

    def on_change(self, callback: Callable[[tuple[str, ...]], object]) -> Callable:
        """Call ``callback(keys)`` after each change, ``keys`` a tuple of the changed names
        (see the class); returns ``callback``."""
        self._observers.append(callback)
        return callback

    def _notify(self, *keys: str) -> None:
        if keys:
            for callback in list(self._observers):
                callback(keys)

    # -- the model ---------------------------------------------------------------------------

    @staticmethod
    def _base(target: str) -> dict:
        """The target's recipe settings (or the engine's), with the first learning rates."""
        recipe = recipe_for(target)
        _, lr_g, lr_d = recipe.schedule[0]
        return dict(TrainerConfig.defaults(), **recipe.settings, lr_g=lr_g, lr_d=lr_d)

    def _options(self) -> dict:
        """The :class:`Trainer` arguments of the current settings."""
        s = self.settings
        options = dict(self._base(s["target"]), threads=THREADS)
        options.update({k: s[k] for k in ENGINE})
        if self.device is not None:
            options["device"] = self.device
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
        self._notify("model", "step")
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
            self._notify("lr_g", "lr_d")

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

        A bad value raises the engine's ValueError (:class:`gandemo.training.TrainerConfig`)
        and changes nothing.
        """
        known = IN_PLACE + REBUILD + VIEW
        for key in changes:
            if key not in known:
                raise ValueError(f"settings must be among {list(known)}; got {key!r}")
        if "target" in changes:
            _check_target(changes["target"])
        if "steps" in changes:
            changes["steps"] = check_positive_int(changes["steps"], "steps")
        s = self.settings
        changes = {k: v for k, v in changes.items() if v != s[k]}
        if ("lr_g" in changes or "lr_d" in changes) and "schedule" not in changes:
            changes["schedule"] = False
        kept = {}  # engine settings kept for the next build
        if "target" in changes:  # the new target's recipe, unless given too
            base = self._base(changes["target"])
            kept = {k: changes.pop(k, base[k]) for k in ("lr_g", "lr_d", "d_steps", "batch_size")}
        kept.update({k: changes.pop(k) for k in ("batch_size", "seed") if k in changes})
        in_place = {k: v for k, v in changes.items() if k in IN_PLACE}
        # One check per change, by the engine: a change that one trainer setter applies at once
        # is checked by that setter (a bad value changes nothing); the rest (kept for a
        # rebuild, queued while training runs, or spread over several setters) is checked here.
        setters = {SETTERS[k] for k in in_place if k in SETTERS}
        at_once = set(changes) <= set(IN_PLACE) and len(setters) <= 1 and not kept
        if self.running or not at_once:
            ahead = {**kept, **{k: v for k, v in in_place.items() if k in SETTERS}}
            if ahead:
                checked = self.trainer.config.replace(**ahead).to_dict()
                kept = {k: checked[k] for k in kept}
                in_place = {k: checked[k] if k in SETTERS else v for k, v in in_place.items()}
        if "target" in changes:
            for key in ("lr_g", "lr_d", "d_steps", "batch_size"):
                s[key] = kept.pop(key)
            self._notify("lr_g", "lr_d", "d_steps", "batch_size")
        view = [key for key in VIEW if key in changes]
        for key in view:
            s[key] = changes[key]
        self._notify(*view)
        if in_place:
            if self.running:
                with self._pending_lock:
                    self._pending.update(in_place)
            else:
                self._apply_now(in_place)
        rebuild = {k: v for k, v in {**changes, **kept}.items() if k in REBUILD}
        s.update(rebuild)
        self._notify(*rebuild)
        if self._stale:
            names = ", ".join(sorted(self._stale))
            self.set_status(f"{names} changed: Reset (or Start) rebuilds the model from step 0")
        if not self.running and (in_place or "manifold" in changes or "arrows" in changes):
            self.redraw()
        return self._stale

    def _apply_now(self, changes: dict) -> None:
        """Apply in-place changes to the trainer (between two steps); its setters check them."""
        t, s = self.trainer, self.settings
        said = []
        if "loss" in changes:
            t.set_loss(changes["loss"])
            said.append(f"loss {t.models[0][0]} from step {t.step + 1}")
        if "d_steps" in changes:
            t.set_d_steps(changes["d_steps"])
            said.append(f"k = {t.config.d_steps}")
        if "lr_g" in changes or "lr_d" in changes:
            rates = {**s, **changes}
            t.set_learning_rates(rates["lr_g"], rates["lr_d"])
            said.append(f"lr G {t.config.lr_g:.2g}, lr D {t.config.lr_d:.2g}")
        checked = t.config.to_dict()  # the values as the engine holds them
        s.update({k: checked[k] if k in SETTERS else v for k, v in changes.items()})
        if "schedule" in changes:
            said.append("the recipe's lr schedule" + (" on" if s["schedule"] else " off"))
            self._apply_schedule()
        self._notify(*changes)
        if said:
            self.set_status("; ".join(said) + " (weights kept)")

    def _between_steps(self) -> None:
        """Called by the training thread between two steps."""
        if self._pending:
            with self._pending_lock:
                changes, self._pending = self._pending, {}
            self._apply_now(changes)
        if self.settings["schedule"]:
            self._apply_schedule()

    def redraw(self, snapshot=None) -> bytes:
        """Draw the trainer's current state (or ``snapshot``) and return the PNG (observers:
        ``"figure"``)."""
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
        self.png = png
        self._notify("figure")
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
        self.set_status(note + "training...")
        self._thread = threading.Thread(target=self._train, args=(steps,), daemon=True)
        self._thread.start()

    def pause(self, wait: bool = True) -> None:
        """Stop training after the current step; the history and the models are kept."""
        self._pause.set()
        trainer = getattr(self, "trainer", None)
        if trainer is not None and self.running:
            trainer.should_stop = True
        if wait:
            self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the training run ends (at most ``timeout`` seconds); returns whether it
        has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _single(self, what: str, action) -> None:
        if self.running:
            return
        self._between_steps()
        try:
            action()
            self.set_status(what)
        except TrainingDiverged as exc:
            self.set_status(f"stopped: {exc}")
        self._notify("step")
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
            self._notify("step")
            self.redraw()
            done = self.trainer.step >= end
            self.set_status("done" if done else f"paused at step {self.trainer.step}")
        except TrainingDiverged as exc:
            self.set_status(f"stopped: {exc}")
            self._notify("step")
            self.redraw()

    def set_status(self, text: str) -> None:
        """Say ``text`` (:attr:`status_text`; observers: ``"status"``)."""
        self.status_text = text
        self._notify("status")


def _check_target(target) -> str:
    if target not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}; got {target!r}")
    return target
