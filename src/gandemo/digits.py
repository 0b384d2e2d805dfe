r"""Handwritten digits (chapter 8): the data, a classifier trained on the fly, and the metrics.

The data are the 1797 handwritten digits that scikit-learn ships inside its package
(``sklearn.datasets.load_digits``, 8 x 8 pixels with values 0..16; no download). They are
scaled to :math:`[-1, 1]` (``x / 8 - 1``) to match a generator whose last activation is
:math:`\tanh`.

Quality is measured, not eyeballed, with a classifier trained on the real digits (a multinomial
logistic regression on 75 % of them; its accuracy on the other 25 % is reported). For a set of
generated images it gives

* the class histogram :math:`h` of the predicted labels, and how many of the 10 classes are
  *covered*: a class is covered when at least ``min_share`` (1 %) of the images are confidently
  (probability :math:`\ge` ``threshold``, 0.9) predicted as that class, the analogue of the toy
  benchmarks' modes covered by high-quality samples;
* how evenly they are spread: the reverse KL of the histogram to the uniform one,
  :math:`\mathrm{KL}(h \,\|\, U) = \log 10 - H(h)` (0 when every class gets a tenth);
* the classifier's mean confidence (mean of the largest predicted probability) and the fraction
  of confident images, the analogue of the high-quality fraction.

The same numbers for held-out real digits are the reference a generator should be read against
(:func:`real_reference`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from .utils import check_positive_int

__all__ = ["Digits", "DigitMetrics", "classifier", "digit_metrics", "load", "real_reference"]

NUM_CLASSES = 10
SIDE = 8


@functools.lru_cache(maxsize=1)
def load() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits as ``(images, labels)``: images ``(1797, 64)`` float32 in [-1, 1]
    (``x / 8 - 1`` of scikit-learn's 0..16 pixel values), labels ``(1797,)`` in 0..9."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.data.astype(np.float32) / 8.0 - 1.0).reshape(-1, SIDE * SIDE)
    images.setflags(write=False)
    labels = bunch.target.astype(np.int64)
    labels.setflags(write=False)
    return images, labels


class Digits:
    """The digits as a training target: ``sample(n, generator)`` draws ``n`` images uniformly
    with replacement, ``(n, 64)`` in [-1, 1], on the generator's device.

    The training engine (:class:`gandemo.training.Trainer`, one model or many) calls
    :meth:`metrics` on generated images for its quality records.
    """

    dim = SIDE * SIDE

    def __init__(self) -> None:
        images, labels = load()
        self.images = torch.from_numpy(np.array(images))
        self.labels = labels
        self._on: dict[str, torch.Tensor] = {}

    def __repr__(self) -> str:
        return f"Digits(n={len(self.labels)})"

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        n = check_positive_int(n, "n")
        device = generator.device if generator is not None else torch.device("cpu")
        key = str(device)
        if key not in self._on:
            self._on[key] = self.images.to(device)
        idx = torch.randint(0, len(self.labels), (n,), generator=generator, device=device)
        return self._on[key][idx]

    def metrics(self, fake: np.ndarray) -> dict:
        """The classifier metrics of generated images (see :func:`digit_metrics`) as a dict
        (NaN, and 0 classes, if some pixel is not finite)."""
        if not np.all(np.isfinite(fake)):
            nan = float("nan")
            return dict(classes=0, reverse_kl=nan, confidence=nan, confident=nan)
        m = digit_metrics(fake)
        return dict(
            classes=m.classes,
            reverse_kl=m.reverse_kl,
            confidence=m.confidence,
            confident=m.confident,
        )


@functools.lru_cache(maxsize=1)
def classifier(seed: int = 0):
    """A multinomial logistic regression trained on 75 % of the digits (seeded split).

    Returns:
        The fitted scikit-learn ``LogisticRegression``; its attribute
        ``test_accuracy`` holds the accuracy on the other 25 %.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    images, labels = load()
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=0.25, random_state=seed, stratify=labels
    )
    clf = LogisticRegression(C=0.5, max_iter=5000)
    clf.fit(x_tr, y_tr)
    clf.test_accuracy = float(clf.score(x_te, y_te))
    clf.test_images = x_te
    return clf


@dataclass(frozen=True)
class DigitMetrics:
    """What :func:`digit_metrics` measured on a set of images.

    Attributes:
        classes: classes covered (0..10).
        histogram: share of the images predicted as each class, ``(10,)``.
        reverse_kl: :math:`\\log 10 - H(h)` of that histogram (nats; 0 = perfectly even).
        confidence: mean largest predicted probability.
        confident: fraction of images predicted with probability >= the threshold.
    """

    classes: int
    histogram: np.ndarray
    reverse_kl: float
    confidence: float
    confident: float


def digit_metrics(images, *, threshold: float = 0.9, min_share: float = 0.01) -> DigitMetrics:
    """Classifier-based quality of ``images`` (``(n, 64)`` or ``(n, 8, 8)``, values in [-1, 1]).

    Args:
        images: the images to score.
        threshold: probability above which a prediction counts as confident.
        min_share: share of all images a class needs among the confident ones to be covered.

    Raises:
        ValueError: for a wrong shape, NaN or infinite pixels, or thresholds outside (0, 1).
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 3 and x.shape[1:] == (SIDE, SIDE):
        x = x.reshape(len(x), -1)
    if x.ndim != 2 or x.shape[1] != SIDE * SIDE or len(x) == 0:
        raise ValueError(f"images must have shape (n, 64) or (n, 8, 8); got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("images contain NaN or infinite pixels")
    for value, name in ((threshold, "threshold"), (min_share, "min_share")):
        if not 0 < value < 1:
            raise ValueError(f"{name} must lie in (0, 1); got {value}")
    probs = classifier().predict_proba(x)
    best = probs.max(axis=1)
    pred = probs.argmax(axis=1)
    hist = np.bincount(pred, minlength=NUM_CLASSES) / len(x)
    confident = best >= threshold
    shares = np.bincount(pred[confident], minlength=NUM_CLASSES) / len(x)
    nz = hist[hist > 0]
    return DigitMetrics(
        classes=int(np.sum(shares >= min_share)),
        histogram=hist,
        reverse_kl=float(np.log(NUM_CLASSES) + np.sum(nz * np.log(nz))),
        confidence=float(best.mean()),
        confident=float(confident.mean()),
    )


def real_reference() -> DigitMetrics:
    """:func:`digit_metrics` of the held-out real digits: what a perfect generator would score."""
    return digit_metrics(classifier().test_images)
