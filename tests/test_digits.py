"""Tests of gandemo.digits: the data, the classifier-based metrics and training on digits."""

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
    assert clf.test_accuracy > 0.94
    real = digits.real_reference()
    assert real.classes == 10 and real.reverse_kl < 0.02 and real.confidence > 0.85
    assert abs(real.histogram.sum() - 1) < 1e-12


def test_metrics_expose_collapse_and_noise():
    images, labels = digits.load()
    only_threes = images[labels == 3][:100]
    m = digits.digit_metrics(only_threes)
    assert m.classes == 1 and m.histogram.argmax() == 3
    assert m.reverse_kl == pytest.approx(
        np.log(10) + np.sum(m.histogram[m.histogram > 0] * np.log(m.histogram[m.histogram > 0]))
    )
    assert m.reverse_kl > 1.5  # near log 10 for a single class
    noise = digits.digit_metrics(np.random.default_rng(0).uniform(-1, 1, (500, 64)))
    assert noise.confidence < digits.real_reference().confidence - 0.15
    m8 = digits.digit_metrics(only_threes.reshape(-1, 8, 8))  # (n, 8, 8) accepted
    assert m8.classes == 1


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        (np.zeros((5, 63)), {}, "shape"),
        (np.full((5, 64), np.nan), {}, "NaN"),
        (np.zeros((5, 64)), dict(threshold=1.0), "threshold"),
        (np.zeros((5, 64)), dict(min_share=0), "min_share"),
        (np.zeros((0, 64)), {}, "shape"),
    ],
)
def test_bad_images(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        digits.digit_metrics(images, **kwargs)


def test_tanh_generator_and_a_short_batched_digits_run():
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
    assert {"classes", "confidence", "reverse_kl", "confident"} <= set(h.metrics)
    conf = h.metrics["confidence"]
    assert h.metrics["classes"].shape == (3, 2) and np.all(np.isfinite(conf))
    assert list(h.metric_step) == [0, 100, 200]
    x = t.samples(20, seed=0)
    assert x.shape == (2, 20, 64) and np.all(np.abs(x) <= 1)
    assert np.all(conf[-1] > conf[0] - 0.05)
