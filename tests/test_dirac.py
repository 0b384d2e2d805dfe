"""Tests of gandemo.dirac: the Dirac-GAN field, its Jacobian, eigenvalues and trajectories."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gandemo as gd

D = gd.dirac


@pytest.mark.parametrize("loss", gd.losses.CLASSIC)
@pytest.mark.parametrize("gamma", [0.0, 0.7])
def test_field_matches_autograd_through_the_package_losses(loss, gamma):
    for theta, psi in [(0.7, -1.3), (-2.0, 0.4), (0.0, 1.5), (3.0, 3.0)]:
        v = D.field(theta, psi, loss, gamma)
        w = D.field_autograd(theta, psi, loss, gamma)
        assert abs(float(v[0]) - w[0]) < 1e-12 and abs(float(v[1]) - w[1]) < 1e-12


@pytest.mark.parametrize("loss", gd.losses.CLASSIC)
def test_jacobian_matches_finite_differences(loss):
    h = 1e-6
    for theta, psi, gamma in [(0.0, 0.0, 0.0), (0.8, -0.5, 0.3), (-1.2, 1.7, 1.0)]:
        j = D.jacobian(theta, psi, loss, gamma)
        for col, (dt, dp) in enumerate([(h, 0.0), (0.0, h)]):
            plus = np.array(D.field(theta + dt, psi + dp, loss, gamma), dtype=float)
            minus = np.array(D.field(theta - dt, psi - dp, loss, gamma), dtype=float)
            fd = (plus - minus) / (2 * h)
            assert np.max(np.abs(fd - j[:, col])) < 1e-7


@pytest.mark.parametrize("loss", gd.losses.CLASSIC)
def test_eigenvalues_are_purely_imaginary_without_penalty(loss):
    ev = np.sort_complex(D.eigenvalues(loss, 0.0))
    f_prime_0 = 0.5  # f(t) = -log(1 + e^-t), f'(0) = 1/2
    assert np.max(np.abs(ev.real)) < 1e-15
    assert abs(ev[0].imag + f_prime_0) < 1e-15 and abs(ev[1].imag - f_prime_0) < 1e-15


@pytest.mark.parametrize("loss", gd.losses.CLASSIC)
@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0, 3.0])
def test_r1_penalty_gives_eigenvalues_with_negative_real_part(loss, gamma):
    ev = D.eigenvalues(loss, gamma)
    assert np.all(ev.real < 0)
    closed = np.array(
        [
            (-gamma + np.sqrt(complex(gamma**2 - 1))) / 2,
            (-gamma - np.sqrt(complex(gamma**2 - 1))) / 2,
        ]
    )
    assert np.max(np.abs(np.sort_complex(ev) - np.sort_complex(closed))) < 1e-12


def test_discrete_updates_spiral_out_cycle_or_converge():
    h = 0.1
    assert abs(D.spectral_radius("simultaneous", h, 0.0) - math.sqrt(1 + h**2 / 4)) < 1e-12
    assert abs(D.spectral_radius("alternating", h, 0.0) - 1.0) < 1e-12
    assert D.spectral_radius("simultaneous", h, 0.5) < 1
    assert D.spectral_radius("alternating", h, 0.5) < 1


def test_trajectories_behave_as_the_linearisation_says():
    r0 = math.sqrt(2.0)
    sim = D.trajectory(1.0, 1.0, "saturating", "simultaneous", 0.1, 0.0, 1000)
    alt = D.trajectory(1.0, 1.0, "saturating", "alternating", 0.1, 0.0, 1000)
    assert sim.shape == (1001, 2)
    assert np.hypot(*sim[-1]) > 1.5 * r0  # spirals out
    radii = np.hypot(alt[:, 0], alt[:, 1])
    assert radii.max() < 2 * r0 and radii[-200:].min() > 0.3 * r0  # bounded, no convergence
    for loss in gd.losses.CLASSIC:
        for scheme in D.SCHEMES:
            end = D.trajectory(1.0, 1.0, loss, scheme, 0.1, 1.0, 2000)[-1]
            assert abs(np.hypot(*end)) < 1e-6


def test_trajectory_is_deterministic_and_starts_where_asked():
    a = D.trajectory(0.3, -0.2, "non-saturating", "alternating", 0.05, 0.2, 50)
    b = D.trajectory(0.3, -0.2, "non-saturating", "alternating", 0.05, 0.2, 50)
    assert np.array_equal(a, b)
    assert abs(a[0, 0] - 0.3) < 1e-15 and abs(a[0, 1] + 0.2) < 1e-15
    assert D.trajectory(0.3, -0.2, steps=0).shape == (1, 2)


@pytest.mark.parametrize("step", [0.1, 0.05])
def test_non_saturating_runs_follow_the_balance_laws(step):
    steps = 20_000
    for scheme in D.SCHEMES:
        traj = D.trajectory(1.0, 1.0, "non-saturating", scheme, step, 0.0, steps)
        dist = np.hypot(traj[:, 0], traj[:, 1])
        # average over the last few turns (one turn is about 4 pi / h steps)
        tail = dist[-int(4 * math.pi / step) :]
        law = D.ns_radius_law(scheme, step, steps)
        assert abs(tail.mean() / law - 1) < 0.05
    assert D.ns_radius_law("simultaneous", step, [10, 100]).tolist() == [math.sqrt(2 * step)] * 2
    assert abs(D.ns_radius_law("alternating", 0.1, 50_000) - 0.04) < 1e-12


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: D.field(0.0, 0.0, loss="wgan"), "loss"),
        (lambda: D.field(0.0, 0.0, gamma=-1.0), "gamma"),
        (lambda: D.field(float("nan"), 0.0), "theta"),
        (lambda: D.field(0.0, [1.0, float("inf")]), "psi"),
        (lambda: D.trajectory(scheme="sequential"), "scheme"),
        (lambda: D.trajectory(step=0.0), "step"),
        (lambda: D.trajectory(steps=-1), "steps"),
        (lambda: D.trajectory(theta0="a"), "theta0"),
        (lambda: D.update_matrix("simultaneous", step=-0.1), "step"),
        (lambda: D.player_losses(float("nan"), 0.0), "theta"),
        (lambda: D.ns_radius_law("alternating", 0.1, 0), "k"),
        (lambda: D.ns_radius_law("sequential", 0.1, 10), "scheme"),
    ],
)
def test_bad_input_raises_value_error(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
