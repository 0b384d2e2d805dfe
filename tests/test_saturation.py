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


def test_pretrain_trains_d_in_place_and_leaves_g_alone():
    gen, disc = saturation.make_pair()
    fresh_gen, fresh_disc = saturation.make_pair()
    snaps = saturation.pretrain_discriminator(disc, gen, TARGET, 4, snapshots=[2, 4])
    for a, b in zip(gen.parameters(), fresh_gen.parameters(), strict=True):
        assert torch.equal(a, b)  # the generator is frozen
    for a, b in zip(disc.parameters(), snaps[4].parameters(), strict=True):
        assert torch.equal(a, b)  # the trained weights are copied back
    for a, b in zip(disc.parameters(), fresh_disc.parameters(), strict=True):
        assert not torch.equal(a, b)  # every layer of D has learned
    # a snapshot at step 2 of a longer run is the end of a run of 2 steps: one update per step
    _, short = saturation.make_pair()
    saturation.pretrain_discriminator(short, gen, TARGET, 2)
    for a, b in zip(short.parameters(), snaps[2].parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("lr", [1e-3, 1e-2])
def test_pretrain_first_step_is_one_adam_step_of_size_lr(lr):
    # Adam's first step moves each parameter by lr * g / (|g| + eps), i.e. by lr for any g != 0
    gen, disc = saturation.make_pair()
    _, fresh = saturation.make_pair()
    saturation.pretrain_discriminator(disc, gen, TARGET, 1, lr=lr)
    pairs = zip(disc.parameters(), fresh.parameters(), strict=True)
    step = torch.cat([(a - b).detach().abs().reshape(-1) for a, b in pairs])
    assert float(step.max()) < lr * (1 + 1e-4)
    assert float(step.median()) > lr * (1 - 1e-4)


def test_compare_runs_start_from_the_same_state():
    runs = saturation.compare_runs(TARGET, k=20, steps=4, record_every=2, metric_samples=500)
    sat, ns = runs["saturating"], runs["non-saturating"]
    assert sat.loss == "saturating" and ns.loss == "non-saturating"
    assert sat.seed == ns.seed  # the same minibatch stream
    # same D, same G, same first batch: the first D update is the same in both runs
    assert list(sat.step) == list(ns.step) == [2, 4]
    assert sat.d_real[0] == ns.d_real[0]
    assert sat.g_loss[0] < 0 < ns.g_loss[0]
    # a JSD and a generated mean at step 0 and at every record, identical at step 0
    assert list(sat.metric_step) == [0, 2, 4]
    for key in ("jsd", "mean"):
        assert sat.metrics[key].shape == ns.metrics[key].shape == (3,)
        assert sat.metrics[key][0] == ns.metrics[key][0]
    assert 0 <= sat.metrics["jsd"].min() and sat.metrics["jsd"].max() <= np.log(2) + 1e-12


def test_compare_runs_mean_is_the_mean_of_the_generated_samples():
    runs = saturation.compare_runs(TARGET, k=0, steps=0, record_every=5, metric_samples=300)
    gen, _ = saturation.make_pair()
    with torch.no_grad():
        x = gen(torch.randn(300, gen.latent_dim, generator=torch.Generator().manual_seed(0)))
    for h in runs.values():
        assert list(h.metric_step) == [0] and len(h.step) == 0
        assert abs(h.metrics["mean"][0] - float(x.mean())) < 1e-5


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


@pytest.fixture(scope="module")
def spread():
    return saturation.gradient_spread(TARGET, [0, 60], seeds=(0, 2), batches=4)


def test_gradient_spread_shapes_and_reproducible(spread):
    assert spread.sat.shape == spread.ns.shape == (2, 2, 4)
    assert spread.d_fake.shape == (2, 2)
    assert list(spread.ks) == [0, 60] and list(spread.seeds) == [0, 2]
    again = saturation.gradient_spread(TARGET, [60, 0], seeds=(0, 2), batches=4)
    assert np.array_equal(again.sat, spread.sat) and np.array_equal(again.ns, spread.ns)


def test_gradient_spread_measures_each_discriminator(spread):
    # seed 2's discriminator is the one pretrain_discriminator gives from make_pair(seed_d=3)
    gen, disc = saturation.make_pair(seed_d=3)
    snaps = saturation.pretrain_discriminator(disc, gen, TARGET, 60, seed=2, snapshots=[60])
    with torch.no_grad():
        z = gen.sample_latent(64, torch.Generator().manual_seed(0))
        d = float(snaps[60].prob(gen(z)).mean())
    assert abs(d - spread.d_fake[1, 1]) < 0.05  # another batch, the same discriminator
    # training makes D reject G(z): below 1/2, the non-saturating gradient is the larger one
    assert np.all(spread.d_fake[:, 1] < spread.d_fake[:, 0])
    assert np.all(spread.d_fake[:, 1] < 0.4)
    assert np.all(spread.ns[:, 1] > spread.sat[:, 1])
    # different seeds, different discriminators
    assert spread.d_fake[0, 1] != spread.d_fake[1, 1]


def test_gradient_spread_summaries(spread):
    for kind in ("saturating", "non-saturating"):
        n = spread.norms(kind)
        assert np.allclose(spread.median(kind), [np.median(n[:, j]) for j in range(2)])
        cv = spread.batch_cv(kind)
        assert cv.shape == (2, 2) and np.all(cv > 0)
        assert np.isclose(cv[0, 0], n[0, 0].std(ddof=1) / n[0, 0].mean())
        assert spread.seed_cv(kind).shape == (2,)
        assert np.all(spread.max_over_median(kind) >= 1)
    with pytest.raises(ValueError, match="batches"):
        saturation.gradient_spread(TARGET, [0], batches=1)
    with pytest.raises(ValueError, match="ks"):
        saturation.gradient_spread(TARGET, [])
    with pytest.raises(ValueError, match="kind"):
        spread.norms("minimax")
