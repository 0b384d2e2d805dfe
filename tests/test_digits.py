"""Tests of gandemo.digits: the data, the classifier-based metrics, the Frechet distance, the
baselines and training on digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gandemo import digits, models, training


def test_data_scaled_for_tanh_and_sampled_on_the_generators_device():
    images, labels = digits.load()
    assert images.shape == (1797, 64) and labels.shape == (1797,)
    assert images.min() == -1.0 and images.max() == 1.0 and set(labels) == set(range(10))
    d = digits.Digits()
    a = d.sample(50, torch.Generator().manual_seed(0))
    b = d.sample(50, torch.Generator().manual_seed(0))
    assert a.shape == (50, 64) and torch.equal(a, b)
    rows = {tuple(r) for r in images.tolist()}
    assert all(tuple(r) in rows for r in a.tolist())  # real images, unchanged


def test_classifier_reads_real_digits_as_a_perfect_generator():
    clf = digits.classifier()
    assert clf.test_accuracy > 0.95 and len(clf.test_images) == 450
    assert len(clf.train_images) + len(clf.test_images) == 1797
    real = digits.real_reference()
    assert real.classes == 10 and real.reverse_kl < 0.02 and real.confidence > 0.9
    assert real.confident > 0.85 and real.n == 450
    assert abs(real.histogram.sum() - 1) < 1e-12
    assert 0 < real.fid < 1
    assert digits.classifier() is clf  # cached
    f = digits.features(clf.test_images[:5])
    assert f.shape == (5, 64) and np.all(f >= 0)


def test_frechet_distance_matches_scipys_sqrtm_and_its_closed_forms():
    from scipy import linalg

    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6))
    b = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.5
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = a.mean(0) - b.mean(0)
    by_sqrtm = diff @ diff + np.trace(ca + cb - 2 * np.real(linalg.sqrtm(ca @ cb)))
    assert digits.frechet_distance(a, b) == pytest.approx(by_sqrtm, rel=1e-8)
    assert digits.frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    shift = np.full(6, 2.0)  # a pure shift adds |shift|^2
    assert digits.frechet_distance(a + shift, a) == pytest.approx(24.0, rel=1e-8)
    # a singular covariance (ten points repeated, rank 9) gives a finite distance
    ten = rng.normal(size=(10, 20))
    repeated = ten[np.arange(500) % 10]
    assert np.isfinite(digits.frechet_distance(repeated, rng.normal(size=(500, 20))))


@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.zeros((1, 3)), np.zeros((5, 3)), "n >= 2"),
        (np.zeros(5), np.zeros((5, 3)), "n >= 2"),
        (np.zeros((5, 3)), np.zeros((5, 4)), "dimensions"),
        (np.full((5, 3), np.inf), np.zeros((5, 3)), "NaN"),
        (np.zeros((5, 3)), np.full((5, 3), np.nan), "NaN"),
    ],
)
def test_bad_features(a, b, match):
    with pytest.raises(ValueError, match=match):
        digits.frechet_distance(a, b)


def test_metrics_expose_collapse_noise_and_prototypes():
    images, labels = digits.load()
    only_threes = images[labels == 3][:100]
    m = digits.digit_metrics(only_threes)
    assert m.classes == 1 and m.histogram.argmax() == 3
    h = m.histogram[m.histogram > 0]
    assert m.reverse_kl == pytest.approx(np.log(10) + np.sum(h * np.log(h)))
    assert m.reverse_kl > 2.0  # near log 10 for a single class
    real = digits.real_reference()
    assert m.fid > 10 * real.fid  # one class is far from all ten
    noise = digits.digit_metrics(digits.baseline_samples("noise", 1000, 0))
    assert noise.confidence < real.confidence - 0.2 and noise.fid > 50 * real.fid
    # the prototypes fool every per-image number, not the Frechet distance
    proto = digits.digit_metrics(digits.baseline_samples("prototypes", 1000))
    assert proto.classes == 10 and proto.reverse_kl < 1e-6 and proto.confident == 1.0
    assert proto.fid > 10 * real.fid
    m8 = digits.digit_metrics(only_threes.reshape(-1, 8, 8))  # (n, 8, 8) accepted
    assert m8.classes == 1 and m8.as_dict() == m.as_dict()


def test_histogram_counts_confident_images_only():
    images, labels = digits.load()
    sharp = images[labels == 0][:50]
    noise = digits.baseline_samples("noise", 50, 0)
    low = digits.digit_metrics(noise, threshold=0.999)
    mixed = digits.digit_metrics(np.concatenate([sharp, noise]), threshold=0.999)
    assert mixed.histogram.sum() == pytest.approx(1)
    assert mixed.histogram[0] > 0.9  # the noise images are (almost) never confident
    assert low.confident < 0.1
    blank = digits.digit_metrics(np.full((20, 64), -1.0))  # read with probability ~0.5
    assert blank.confident == 0 and blank.classes == 0 and blank.histogram.sum() == 0
    assert np.isnan(blank.reverse_kl)  # nothing confident: no histogram to compare


def test_baselines():
    assert digits.baseline_samples("real", 1000).shape == (450, 64)
    proto = digits.baseline_samples("prototypes", 25)
    assert proto.shape == (25, 64) and np.array_equal(proto[0], proto[10])
    avg = digits.baseline_samples("average", 30, seed=1)
    assert avg.shape == (30, 64) and np.all(np.abs(avg) <= 1)
    assert np.array_equal(avg, digits.baseline_samples("average", 30, seed=1))
    assert not np.array_equal(avg, digits.baseline_samples("average", 30, seed=2))
    for kind, n, match in (("cats", 10, "kind"), ("noise", 0, "n"), ("noise", 2.5, "n")):
        with pytest.raises(ValueError, match=match):
            digits.baseline_samples(kind, n)
    rows = digits.baseline_rows(draws=2, n=200)
    assert [r["name"] for r in rows] == list(digits.BASELINES.values())
    assert [r["runs"] for r in rows] == [1, 1, 2, 2]
    by = {r["kind"]: r for r in rows}
    assert by["real"]["fid"][0] < by["average"]["fid"][0] < by["noise"]["fid"][0]
    assert by["prototypes"]["confident"] == (1.0, 0.0)
    assert len(by["noise"]["values"]["fid"]) == 2
    with pytest.raises(ValueError, match="draws"):
        digits.baseline_rows(draws=0)


def test_target_metrics_of_non_finite_images():
    m = digits.Digits().metrics(np.full((10, 64), np.nan))
    assert m["classes"] == 0 and set(m) == {
        "classes",
        "reverse_kl",
        "confidence",
        "confident",
        "fid",
    }
    assert all(np.isnan(m[k]) for k in ("reverse_kl", "confidence", "confident", "fid"))


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        (np.zeros((5, 63)), {}, "shape"),
        (np.full((5, 64), np.nan), {}, "NaN"),
        (np.zeros((5, 64)), dict(threshold=1.0), "threshold"),
        (np.zeros((5, 64)), dict(min_share=0), "min_share"),
        (np.zeros((0, 64)), {}, "shape"),
        (np.zeros((1, 64)), {}, "at least 2"),
    ],
)
def test_bad_images(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        digits.digit_metrics(images, **kwargs)


def test_bad_feature_images():
    with pytest.raises(ValueError, match="shape"):
        digits.features(np.zeros((3, 8, 7)))


def test_tanh_generator_and_a_short_batched_digits_run_leaves_the_noise_behind():
    g = models.Generator(16, 64, 32, 2, seed=0, output="tanh")
    x = g(torch.randn(10, 16) * 100)
    assert x.abs().max() <= 1
    with pytest.raises(ValueError, match="output"):
        models.Generator(16, 64, 32, 2, output="sigmoid")
    t = training.Trainer(
        digits.Digits(),
        loss=["saturating", "non-saturating"],
        seed=[0, 0],
        latent_dim=16,
        width=64,
        batch_size=32,
        g_output="tanh",
        device="cpu",
        metric_every=100,
        metric_samples=300,
    )
    h = t.run(200, progress=False)
    assert {"classes", "confidence", "reverse_kl", "confident", "fid"} <= set(h.metrics)
    conf = h.metrics["confidence"]
    assert h.metrics["classes"].shape == (3, 2) and np.all(np.isfinite(conf))
    assert list(h.metric_step) == [0, 100, 200]
    x = t.samples(20, seed=0)
    assert x.shape == (2, 20, 64) and np.all(np.abs(x) <= 1)
    # both models start from the same generator and, in 200 steps, leave the noise behind:
    # the classifier grows surer (0.39 -> 0.71 and 0.84) and the FID halves (103 -> 59 and 48)
    fid = h.metrics["fid"]
    assert conf[0, 0] == conf[0, 1] and np.all(conf[-1] > conf[0] + 0.2), conf
    assert np.all(fid[-1] < 0.75 * fid[0]), fid
