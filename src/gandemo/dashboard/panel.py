"""The view part of the live dashboard: :class:`TrainingPanel`, the ipywidgets controls,
buttons, status line and figure of a :class:`~gandemo.dashboard.TrainingSession`.

A moved control calls the session's ``configure``, a button one of its actions; the panel
observes the session (``on_change``) to show what changed there: a setting moved by the session
itself (a new target's recipe, the schedule's rates), the status, a new figure or a new model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..data import TARGETS
from ..training import LOSSES

if TYPE_CHECKING:
    from .session import TrainingSession


class TrainingPanel:
    """The ipywidgets view of ``session``: :attr:`controls` (one per setting), the buttons, the
    :attr:`status` line and the figure (:attr:`image`), all in :attr:`widget`.

    Moving the loss, a learning rate or k changes the running model in place; changing the
    data, the batch size or the seed asks for Reset (Start also rebuilds then). A value the
    engine refuses is said in the status line and the control goes back.
    """

    def __init__(self, session: TrainingSession) -> None:
        import ipywidgets as w

        self.session = session
        self._syncing = False  # the panel itself moves a control
        s = session.settings
        style = {"description_width": "initial"}
        #: the settings' controls, by setting name
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
                disabled=session.recipe is None,
                style=style,
            ),
            "manifold": w.Checkbox(value=s["manifold"], description="manifold", style=style),
            "arrows": w.Checkbox(value=s["arrows"], description="arrows", style=style),
        }
        for key, control in self.controls.items():
            control.observe(lambda change, key=key: self._on_control(key, change["new"]), "value")
        buttons = {
            "Start": lambda _: session.start(),
            "Pause": lambda _: session.pause(wait=False),
            "Reset": self._on_reset,
            "step D": lambda _: session.update_d(),
            "step G": lambda _: session.update_g(),
            "step both": lambda _: session.step_both(),
        }
        button_row = []
        for label, handler in buttons.items():
            b = w.Button(description=label, layout=w.Layout(width="90px"))
            b.on_click(handler)
            button_row.append(b)
        #: the status line
        self.status = w.HTML(f"<b>{session.status_text or 'ready'}</b>")
        #: the figure
        self.image = w.Image(value=session.figure.png(), format="png")
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
        #: the whole view
        self.widget = w.VBox(rows)
        session.on_change(self._on_session_change)

    def _schedule_text(self) -> str:
        recipe = self.session.recipe
        if recipe is None or len(recipe.schedule) < 2:
            return "recipe's lr schedule"
        parts = [f"{lr_g:.0e}" + (f" from step {s}" if s else "") for s, lr_g, _ in recipe.schedule]
        return "lr schedule: " + ", ".join(parts)

    # -- from the session to the view ------------------------------------------------------

    def _on_session_change(self, keys: tuple[str, ...]) -> None:
        session = self.session
        if "status" in keys:
            self.status.value = f"<b>{session.status_text}</b>"
        if "figure" in keys:
            self.image.value = session.png
        if "model" in keys:  # a new target may have no recipe to follow
            box = self.controls["schedule"]
            box.description, box.disabled = self._schedule_text(), session.recipe is None
        self._sync(*keys)

    def _sync(self, *keys: str) -> None:
        """Show the settings ``keys`` in their controls (without reacting to the change)."""
        settings = self.session.settings
        moved = [k for k in keys if k in self.controls and self.controls[k].value != settings[k]]
        if not moved:
            return
        self._syncing = True
        try:
            for key in moved:
                self.controls[key].value = settings[key]
        finally:
            self._syncing = False

    # -- from the view to the session ------------------------------------------------------

    def _on_control(self, key: str, value) -> None:
        if self._syncing:
            return
        try:
            self.session.configure(**{key: value})
        except ValueError as exc:  # the engine's message; the control shows the setting again
            self.status.value = f"<b>{exc}</b>"
            self._sync(key)

    def _on_reset(self, _button) -> None:
        self.session.reset()
        self.session.set_status("reset")
