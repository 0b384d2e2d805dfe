"""Tests of gandemo.plots.dirac: the Dirac-GAN explorer, one run's panels and the eigenvalues."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gandemo as gd  # noqa: E402


def _frames(**fixed):
    base = {"loss": "saturating", "scheme": "simultaneous", "step": 0.1, "gamma": 0.0, "steps": 50}
    return [dict(base, **fixed), dict(base, gamma=1.0, **fixed)]


def test_dirac_dashboard_has_a_frame_player_and_live_controls():
    board = gd.plots.dirac.dirac_explorer(frames=_frames())
    bundle = board._repr_mimebundle_()
    assert "<script" in bundle["text/html"] and "anim" in bundle["text/html"].lower()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert set(board.inputs) == {"loss", "scheme", "step", "gamma", "steps"}
    before = bytes(board.image.value)
    board.inputs["gamma"].value = 1.0  # moving a live slider redraws the image
    after_gamma = bytes(board.image.value)
    assert after_gamma != before
    board.inputs["loss"].value = "non-saturating"
    assert bytes(board.image.value) != after_gamma
    assert board.values()["loss"] == "non-saturating"


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: gd.plots.dirac.dirac_explorer(frames=_frames()[:1]), "frames"),
        (lambda: gd.plots.dirac.dirac_explorer(frames=[{"loss": "saturating"}] * 2), "frames"),
    ],
)
def test_dirac_explorer_bad_frames_raise_value_error(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_draw_dirac_draws_the_trajectory_and_its_distance_to_the_equilibrium():
    _, axes = plt.subplots(1, 2)
    traj = gd.plots.dirac.draw_dirac(axes, "non-saturating", "simultaneous", steps=40)
    ax_f, ax_r = axes
    want = gd.dirac.trajectory(1.0, 1.0, "non-saturating", "simultaneous", 0.1, 0.0, 40)
    np.testing.assert_array_equal(traj, want)
    path = ax_f.get_lines()[0]
    np.testing.assert_array_equal(path.get_xdata(), want[:, 0])
    measured = ax_r.get_lines()[0]
    np.testing.assert_allclose(measured.get_ydata(), np.hypot(want[:, 0], want[:, 1]))
    assert ax_r.get_yscale() == "log" and ax_f.get_title().startswith("non-saturating, simult")
    plt.close("all")


def test_eigenvalue_plot_starts_on_the_imaginary_axis_and_marks_rho_one():
    gammas = np.linspace(0.0, 2.0, 5)
    ax_e, ax_r = gd.plots.dirac.plot_dirac_eigenvalues(gammas)
    first = ax_e.collections[0].get_offsets()[0]
    assert abs(first[0]) < 1e-9 and abs(abs(first[1]) - 0.5) < 1e-9  # gamma = 0: +-i/2
    sim, alt = (ln for ln in ax_r.get_lines() if ln.get_label() in ("simultaneous", "alternating"))
    np.testing.assert_allclose(
        sim.get_ydata(), [gd.dirac.spectral_radius("simultaneous", 0.1, g) for g in gammas]
    )
    assert sim.get_ydata()[0] > 1  # simultaneous updates spiral out without the penalty
    assert "rho < 1" in ax_r.get_title()
    plt.close("all")


def test_eigenvalue_plot_zooms_on_the_simultaneous_crossing_at_h_over_4():
    """The inset shows what the coarse grid hides: simultaneous steps need gamma > h/4."""
    step = 0.1
    _, ax_r = gd.plots.dirac.plot_dirac_eigenvalues(np.linspace(0.0, 2.0, 5), step=step)
    (ins,) = ax_r.child_axes
    sim, alt = ins.get_lines()[:2]
    gammas, rho = sim.get_xdata(), sim.get_ydata()
    assert gammas[0] == 0 and gammas[-1] == pytest.approx(0.1)
    crossing = gammas[np.argmax(rho < 1 - 1e-12)]
    assert crossing == pytest.approx(step / 4, abs=1.01 * (gammas[1] - gammas[0]))
    np.testing.assert_allclose(rho[gammas <= 1], np.sqrt(1 - step * gammas + step**2 / 4))
    assert np.all(alt.get_ydata()[1:] < 1)  # alternating steps: rho < 1 for every gamma > 0
    assert ax_r.get_ylim()[1] > 1  # room above rho = 1 for the inset
    _, ax_plain = gd.plots.dirac.plot_dirac_eigenvalues(np.linspace(0.0, 2.0, 5), zoom=None)
    assert not ax_plain.child_axes
    plt.close("all")
