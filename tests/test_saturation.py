"""Tests of gandemo.saturation: the measured ratios follow the chain rule; runs are comparable."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gandemo import data, saturation

TARGET = data.Gaussian1D(3.0, 0.5)


@pytest.fixture(scope="module")
def measured():
    return saturation.measure_gradients(TARGET, [0, 150], samples=8, batches=6)


def test_per_sample_ratio_is_exp_minus_logit(measured):
    _, _, stats = measured
    for s in stats:
        rel = s.sample_ratio / s.predicted_sample_ratio - 1
        assert np.max(np.abs(rel)) < 1e-4


def test_batch_ratio_close_to_mean_prediction(measured):
    _, _, stats = measured
    for s in stats:
        q = s.batch_ratio / s.predicted_batch_ratio
        assert abs(q.mean() - 1) < 0.1


def test_pretraining_makes_d_reject_and_saturates_the_gradient(measured):
    _, snaps, stats = measured
    assert sorted(snaps) == [0, 150]
    early, late = stats
    assert early.d_fake > 0.3 and late.d_fake < 0.05
    assert late.batch_ratio.mean() > 10 * early.batch_ratio.mean()


def test_per_sample_norms_measured_by_autograd():
    gen, disc = saturation.make_pair()
    z = gen.sample_latent(3, torch.Generator().manual_seed(0))
    norms, logits = saturation.per_sample_grad_norms(gen, disc, z, "non-saturating")
    # batch of one: the batch norm and the per-sample norm are the same thing
    one = saturation.batch_grad_norm(gen, disc, z[:1], "non-saturating")
    assert abs(norms[0] - one) < 1e-6
    assert norms.shape == logits.shape == (3,)


def test_pretrain_snapshots_and_identical_seeds():
    gen, d1 = saturation.make_pair()
    _, d2 = saturation.make_pair()
    s1 = saturation.pretrain_discriminator(d1, gen, TARGET, 5, snapshots=[0, 5])
    s2 = saturation.pretrain_discriminator(d2, gen, TARGET, 5, snapshots=[5])
    for a, b in zip(s1[5].parameters(), s2[5].parameters(), strict=True):
        assert torch.equal(a, b)
    _, fresh = saturation.make_pair()
    for a, b in zip(s1[0].parameters(), fresh.parameters(), strict=True):
        assert torch.equal(a, b)


def test_compare_runs_start_from_the_same_state():
    runs = saturation.compare_runs(TARGET, k=20, steps=3, record_every=1)
    sat, ns = runs["saturating"], runs["non-saturating"]
    assert sat.loss == "saturating" and ns.loss == "non-saturating"
    assert sat.d_loss[0] == ns.d_loss[0]  # same D, same G, same first batch
    assert sat.g_loss[0] < 0 < ns.g_loss[0]


def test_bad_input():
    gen, disc = saturation.make_pair()
    z = gen.sample_latent(2)
    with pytest.raises(ValueError, match="kind"):
        saturation.batch_grad_norm(gen, disc, z, "minimax")
    with pytest.raises(ValueError, match="kind"):
        saturation.per_sample_grad_norms(gen, disc, z, "heuristic")
    with pytest.raises(ValueError, match="ks"):
        saturation.measure_gradients(TARGET, [])
    with pytest.raises(ValueError, match="snapshots"):
        saturation.pretrain_discriminator(disc, gen, TARGET, 3, snapshots=[4])
    with pytest.raises(ValueError, match="k must"):
        saturation.pretrain_discriminator(disc, gen, TARGET, -1)
