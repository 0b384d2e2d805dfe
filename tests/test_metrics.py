"""Tests of gandemo.metrics: the binned JSD against known cases and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gandemo import data, metrics


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
