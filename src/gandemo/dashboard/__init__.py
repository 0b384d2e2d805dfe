r"""A live training dashboard for JupyterLab: controls, Start / Pause / Reset, single steps.

The dashboard drives a :class:`gandemo.training.Trainer` in a background thread and shows a
:class:`gandemo.plots.live.TrainingFigure`, updated in place. Redraws are throttled by a time
budget: after each redraw the next one waits until the redraw's own cost is at most
``redraw_budget`` (default 8 %) of the wall time, so the live view slows training by about that
much whatever the machine (``benchmarks/bench_dashboard.py`` measures it).

As in GAN Lab, the loss, the two learning rates and :math:`k` (discriminator updates per
generator update) change the running model in place, between two steps, keeping its weights and
optimiser state (:meth:`TrainingSession.configure`); the target, the batch size and the seed
define a new model, built from step 0 by Reset (or by the next Start). On a 2-D target the
samples panel also shows the generator manifold (a latent grid pushed through :math:`G`) and,
at generated examples, the push :math:`-\partial \ell_G / \partial x` of the chosen loss
(:meth:`gandemo.training.Trainer.generator_gradient`).

The defaults are the book's recipe (:data:`gandemo.experiments.RECIPES`) where the target has
one (the ring, the grid, the digits), its learning-rate schedule included, so that the live runs
and the chapters' comparisons train the same models.

In the HTML book there is no kernel to train with; the dashboard then shows a note and its
current figure, and the chapters add a frame player over recorded snapshots.

Two parts, as in the page's JavaScript (core and UI): :class:`TrainingSession` in
``gandemo.dashboard.session`` (the settings, the model, the schedule and the training thread,
without ipywidgets) and :class:`TrainingPanel` in ``gandemo.dashboard.panel`` (the ipywidgets
view), which observes the session; :class:`TrainingDashboard` joins them.
"""

from __future__ import annotations

import base64

from .. import widgets
from ..data import TARGETS
from .panel import TrainingPanel
from .session import ARROWS, MANIFOLD_LINES, TrainingSession

__all__ = [
    "ARROWS",
    "MANIFOLD_LINES",
    "TARGETS",
    "TrainingDashboard",
    "TrainingPanel",
    "TrainingSession",
]


class TrainingDashboard(TrainingSession):
    """Train a small GAN live in JupyterLab: a :class:`TrainingSession` (the settings, the model,
    the actions) shown by a :class:`TrainingPanel` (:meth:`widget`).

    Introduced in :doc:`/chapters/07_train_live`.

    The arguments are those of :class:`TrainingSession`: ``target``, ``loss``, ``steps``, the
    learning rates ``lr_g`` and ``lr_d``, ``d_steps`` (k), ``batch_size``, ``seed``,
    ``schedule``, ``manifold``, ``arrows``, ``device``, ``redraw_budget`` and more
    :class:`gandemo.training.Trainer` settings.
    """

    _panel: TrainingPanel | None = None

    def widget(self):
        """The ipywidgets view: controls, buttons, status line and the figure
        (:class:`TrainingPanel`, built once).

        Moving the loss, a learning rate or k changes the running model in place; changing the
        data, the batch size or the seed asks for Reset (Start also rebuilds then).
        """
        if self._panel is None:
            self._panel = TrainingPanel(self)
        return self._panel.widget

    @property
    def panel(self) -> TrainingPanel:
        """The view (built by the first :meth:`widget`)."""
        if self._panel is None:
            raise AttributeError("the dashboard has no view yet: call widget() first")
        return self._panel

    @property
    def controls(self) -> dict:
        """The view's controls, by setting name (:attr:`TrainingPanel.controls`)."""
        return self.panel.controls

    @property
    def status(self):
        """The view's status line (:attr:`TrainingPanel.status`)."""
        return self.panel.status

    @property
    def image(self):
        """The view's figure (:attr:`TrainingPanel.image`)."""
        return self.panel.image

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        img = base64.b64encode(self.figure.png()).decode("ascii")
        html = (
            "<p><em>The live dashboard needs a running kernel: open this chapter in JupyterLab "
            "(<code>make lab</code>) to train with it. Its starting picture:</em></p>"
            f'<img src="data:image/png;base64,{img}" alt="training dashboard" '
            'style="max-width:100%">'
        )
        return widgets.live_bundle(self.widget, html, "<TrainingDashboard>", include, exclude)
