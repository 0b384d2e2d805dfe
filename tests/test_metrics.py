"""Tests of gandemo.metrics: the binned JSD against known cases and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gandemo import data, metrics, training

TRAIN = dict(
    width=16, depth=1, batch_size=32, metric_every=20, metric_samples=200, device="cpu", threads=1
)


def test_binned_target_matches_the_normal_cdf():
    from scipy import stats

    target = data.Gaussian1D(0.5, 1.5)
    edges, probs = metrics.binned_target(target, -3.0, 4.0, 14)
    exact = np.diff(stats.norm.cdf(edges, 0.5, 1.5))
    assert np.max(np.abs(probs - exact)) < 1e-9


def test_jsd_of_good_samples_is_near_its_sampling_bias():
    target = data.GaussianMixture1D((-2.0, 2.0), (0.5, 0.5))
    samples = target.sample(20000, torch.Generator().manual_seed(0))
    value = metrics.jsd_to_density(samples, target, bins=40)
    assert abs(value - 40 / (8 * 20000)) < 1e-3  # bias bins/(8n), up to noise


def test_jsd_of_disjoint_samples_is_ln2():
    target = data.Gaussian1D(0.0, 1.0)
    far = np.full(1000, 50.0)  # inside the range, where the target has no mass at all
    assert abs(metrics.jsd_to_density(far, target, lo=-10, hi=60) - math.log(2)) < 1e-9


def test_jsd_half_the_mass_missing():
    # samples from one component of a two-component mixture: a closed form on the bin masses
    target = data.GaussianMixture1D((-4.0, 4.0), (0.5, 0.5))
    one_mode = data.Gaussian1D(-4.0, 0.5).sample(200000, torch.Generator().manual_seed(1))
    value = metrics.jsd_to_density(one_mode, target, bins=80)
    # target p = (q + r)/2 with disjoint q, r; samples ~ q; then m = 3q/4 + r/4 and
    # JSD = 1/2 [1/2 ln(2/3) + 1/2 ln 2] + 1/2 ln(4/3)
    expected = 0.5 * (0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)) + 0.5 * (
        1.0 * math.log(1.0 / 0.75)
    )
    assert abs(value - expected) < 5e-3


def test_accepts_column_vectors_and_tensors():
    target = data.Gaussian1D(0.0, 1.0)
    s = target.sample(500, torch.Generator().manual_seed(2))
    a = metrics.jsd_to_density(s, target)
    b = metrics.jsd_to_density(s.unsqueeze(1).numpy(), target)
    assert abs(a - b) < 1e-12


@pytest.mark.parametrize(
    "samples, kwargs, message",
    [
        (np.array([]), {}, "samples"),
        (np.zeros((3, 2)), {}, "samples"),
        (np.array([0.0, np.nan]), {}, "samples"),
        (np.zeros(5), dict(bins=0), "bins"),
        (np.zeros(5), dict(lo=1.0, hi=0.0), "lo < hi"),
    ],
)
def test_bad_input(samples, kwargs, message):
    with pytest.raises(ValueError, match=message):
        metrics.jsd_to_density(samples, data.Gaussian1D(), **kwargs)


# ---------------------------------------------------------------------------------------------
# mode_coverage
# ---------------------------------------------------------------------------------------------


def test_all_samples_on_the_centres_cover_every_mode():
    ring = data.ring()
    samples = ring.centers.repeat(10, 1)  # 10 samples exactly on each of the 8 centres
    mc = metrics.mode_coverage(samples, ring.centers, ring.std)
    assert mc.modes == 8 and mc.num_modes == 8
    assert abs(mc.high_quality - 1.0) < 1e-12 and abs(mc.reverse_kl) < 1e-12


def test_all_samples_on_one_mode():
    grid = data.grid()
    samples = np.tile(grid.centers[3].numpy(), (50, 1))
    mc = metrics.mode_coverage(samples, grid.centers, grid.std)
    assert mc.modes == 1 and abs(mc.high_quality - 1.0) < 1e-12
    assert abs(mc.reverse_kl - math.log(25)) < 1e-12


def test_high_quality_threshold_is_three_standard_deviations():
    centers = np.array([[0.0, 0.0], [10.0, 0.0]])
    samples = np.array([[0.29, 0.0], [0.31, 0.0], [10.0, 0.2], [5.0, 5.0]])  # std 0.1
    mc = metrics.mode_coverage(samples, centers, 0.1)
    assert abs(mc.high_quality - 0.5) < 1e-12 and mc.modes == 2
    assert abs(mc.reverse_kl) < 1e-12  # one HQ sample per mode: balanced


def test_unbalanced_histogram_reverse_kl():
    centers = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    samples = np.repeat(centers[:2], [3, 1], axis=0)  # h = (3/4, 1/4, 0, 0)
    mc = metrics.mode_coverage(samples, centers, 0.01)
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert mc.modes == 2 and abs(mc.reverse_kl - (math.log(4) - entropy)) < 1e-12


def test_no_high_quality_sample():
    ring = data.ring()
    mc = metrics.mode_coverage(np.full((20, 2), 5.0), ring.centers, ring.std)
    assert mc.modes == 0 and mc.high_quality == 0.0 and math.isnan(mc.reverse_kl)
    assert set(mc.as_dict()) == {"modes", "num_modes", "high_quality", "reverse_kl"}


def test_samples_from_the_target_score_well():
    ring = data.ring()
    x = ring.sample(2500, torch.Generator().manual_seed(0))
    mc = metrics.mode_coverage(x, ring.centers, ring.std)
    # within 3 std in 2-D: P(chi2_2 < 9) = 1 - exp(-4.5) = 0.9889
    assert mc.modes == 8 and abs(mc.high_quality - (1 - math.exp(-4.5))) < 0.01
    assert abs(mc.reverse_kl) < 0.01


def test_the_linspace_ring_has_only_seven_modes():
    angles = np.linspace(0, 2 * np.pi, 8)  # the copied bug: first and last angle coincide
    bad = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    ring = data.ring()
    mc = metrics.mode_coverage(bad, ring.centers, ring.std)
    assert mc.modes < 8


@pytest.mark.parametrize(
    "samples, centers, std, message",
    [
        (np.zeros((0, 2)), np.zeros((2, 2)), 0.1, "samples"),
        (np.zeros((3, 3)), np.zeros((2, 2)), 0.1, "samples"),
        (np.array([[np.nan, 0.0]]), np.zeros((2, 2)), 0.1, "samples"),
        (np.zeros((3, 2)), np.zeros(2), 0.1, "centers"),
        (np.zeros((3, 2)), np.array([[np.inf, 0.0]]), 0.1, "centers"),
        (np.zeros((3, 2)), np.zeros((2, 2)), 0.0, "std"),
        (np.zeros((3, 2)), np.zeros((2, 2)), "wide", "std"),
        ("abc", np.zeros((2, 2)), 0.1, "samples"),
    ],
)
def test_mode_coverage_bad_input(samples, centers, std, message):
    with pytest.raises(ValueError, match=message):
        metrics.mode_coverage(samples, centers, std)


def test_a_mode_needs_a_tenth_of_its_fair_share():
    grid = data.grid()  # 25 modes: with 2500 samples a mode needs 10 high-quality ones
    centers = grid.centers.numpy()
    samples = np.concatenate([np.tile(centers[0], (2491, 1)), np.tile(centers[1], (9, 1))])
    assert metrics.mode_coverage(samples, centers, grid.std).modes == 1
    assert metrics.mode_coverage(samples, centers, grid.std, min_share=0).modes == 2  # PacGAN
    samples = np.concatenate([np.tile(centers[0], (2490, 1)), np.tile(centers[1], (10, 1))])
    assert metrics.mode_coverage(samples, centers, grid.std).modes == 2


def test_uniform_noise_covers_no_mode_by_default_but_most_by_pacgans_rule():
    grid = data.grid()
    noise = np.random.default_rng(0).uniform(-4.15, 4.15, size=(2500, 2))
    assert metrics.mode_coverage(noise, grid.centers, grid.std).modes == 0
    assert metrics.mode_coverage(noise, grid.centers, grid.std, min_share=0).modes >= 18


@pytest.mark.parametrize("bad", [-0.1, 1.5, "half", float("nan")])
def test_mode_coverage_bad_min_share(bad):
    ring = data.ring()
    with pytest.raises(ValueError, match="min_share"):
        metrics.mode_coverage(ring.centers, ring.centers, ring.std, min_share=bad)


# ---- the trainer-based metrics of the figures: p_g on a grid, the discriminator's lag ----


def test_generator_density_integrates_to_the_mass_inside_the_points():
    target = data.Gaussian1D(2.0, 0.5)
    t = training.Trainer(target, latent_dim=1, seed=0, **TRAIN)
    x = np.linspace(-3, 5, 801)
    p = metrics.generator_density(t, x, n=50_000)
    s = t.sample(50_000, seed=0).numpy().ravel()
    inside = np.mean((s > x[0]) & (s < x[-1]))
    assert p.min() >= 0 and np.sum(p) * (x[1] - x[0]) == pytest.approx(inside, abs=0.01)
    with pytest.raises(ValueError, match="evenly"):
        metrics.generator_density(t, x**3)
    ring = training.Trainer(data.ring(), seed=0, **TRAIN)
    with pytest.raises(ValueError, match="1-D"):
        metrics.generator_density(ring, x)


def test_discriminator_lag_of_an_untrained_discriminator():
    # the generator starts near 0, far from N(4, 0.5^2): D* is 0 or 1 where the mass is, an
    # untrained D is near 1/2, so the lag is near 1/2 and the relative lag near 1
    target = data.Gaussian1D(4.0, 0.5)
    t = training.Trainer(target, latent_dim=1, seed=0, **TRAIN)
    lag = metrics.discriminator_lag(t, n=20_000)
    rel = metrics.discriminator_lag(t, n=20_000, relative=True)
    assert 0.3 < lag < 0.7 and 0.7 < rel < 1.3
    with pytest.raises(ValueError, match="1-D"):
        metrics.discriminator_lag(training.Trainer(data.ring(), seed=0, **TRAIN))


def test_evaluation_points_of_1d_2d_and_image_targets():
    line = metrics.evaluation_points(data.Gaussian1D(2.0, 0.5), grid=11)
    assert line.shape == (44,) and np.all(np.diff(line) > 0)
    ring = data.ring()
    mesh = metrics.evaluation_points(ring, grid=5)
    c = np.asarray(ring.centers)
    assert mesh.shape == (25, 2) and np.all(mesh[0] < c.min(0)) and np.all(mesh[-1] > c.max(0))
    assert mesh[1, 0] > mesh[0, 0] and mesh[1, 1] == mesh[0, 1]  # row by row from the lower left

    class Images:
        dim = 64

    assert metrics.evaluation_points(Images()).shape == (0, 64)
    with pytest.raises(ValueError, match="grid"):
        metrics.evaluation_points(ring, grid=0)
