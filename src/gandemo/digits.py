r"""Handwritten digits (chapter 9): the data, a classifier trained on the fly, and the metrics.

The data are the 1797 handwritten digits that scikit-learn ships inside its package
(``sklearn.datasets.load_digits``, 8 x 8 pixels with values 0..16; no download). They are
scaled to :math:`[-1, 1]` (``x / 8 - 1``) to match a generator whose last activation is
:math:`\tanh`.

Quality is measured, not eyeballed, with a classifier trained on the real digits, the *ruler*:
scikit-learn's ``MLPClassifier`` with one hidden layer of 64 ReLU units, fitted on a stratified
75 % of the digits (its accuracy on the other 25 % is reported). For a set of generated images
it gives

* the classifier's mean confidence (mean of the largest predicted probability) and the
  *confident* fraction, the images predicted with probability :math:`\ge` ``threshold`` (0.9),
  the analogue of the toy benchmarks' high-quality fraction;
* the class histogram :math:`h` of the confident predictions, and how many of the 10 classes
  are *covered*: a class is covered when at least ``min_share`` (1 %) of all the images are
  confident predictions of it, the analogue of the modes covered by high-quality samples;
* how evenly the confident images spread over the classes: the reverse KL of that histogram to
  the uniform one, :math:`\mathrm{KL}(h \,\|\, U) = \log 10 - H(h)` (0 when every class gets a
  tenth; NaN when no image is confident);
* the *Fréchet distance* between the images and the classifier's training digits in the
  classifier's feature space (the 64 hidden activations), the FID of Heusel et al. (2017, "GANs
  trained by a two time-scale update rule") with this small classifier in place of the Inception
  network:
  :math:`\lVert \mu_1 - \mu_2 \rVert^2 + \operatorname{tr}(\Sigma_1 + \Sigma_2 -
  2 (\Sigma_1 \Sigma_2)^{1/2})`. The first four numbers only ask whether each image looks like
  *some* digit; the Fréchet distance also compares the spread of the images with the spread of
  real digits, so a generator that draws one prototype per class, or blurred averages, scores
  badly on it.

The same numbers for held-out real digits, and for generators without any skill
(:func:`baseline_rows`), are what a generator should be read against.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from .utils import check_nonnegative_int, check_positive_int

__all__ = [
    "BASELINES",
    "Digits",
    "DigitMetrics",
    "baseline_rows",
    "baseline_samples",
    "classifier",
    "digit_metrics",
    "features",
    "frechet_distance",
    "load",
    "real_reference",
]

NUM_CLASSES = 10
SIDE = 8
HIDDEN = 64


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

    Introduced in :doc:`/chapters/09_digits`.

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
        ``{"classes", "reverse_kl", "confidence", "confident", "fid"}`` (NaN, and 0 classes, if
        some pixel is not finite)."""
        if not np.all(np.isfinite(fake)):
            nan = math.nan
            return dict(classes=0, reverse_kl=nan, confidence=nan, confident=nan, fid=nan)
        return digit_metrics(fake).as_dict()


@functools.lru_cache(maxsize=1)
def classifier(seed: int = 0):
    """The ruler: an ``MLPClassifier`` (64 ReLU units, L2 penalty ``alpha=0.3``, L-BFGS)
    trained on a stratified 75 % of the digits (seeded split and initial weights; under a
    second on one core).

    Returns:
        The fitted scikit-learn classifier. Its extra attributes are ``test_accuracy`` (on the
        other 25 %), ``test_images`` and ``test_labels`` (those 25 %), ``train_images`` and
        ``train_labels``, and ``reference``, the mean and covariance of the training digits'
        features (:func:`features`), against which :func:`frechet_distance` measures.
    """
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    seed = check_nonnegative_int(seed, "seed")
    images, labels = load()
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=0.25, random_state=seed, stratify=labels
    )
    clf = MLPClassifier(
        hidden_layer_sizes=(HIDDEN,), alpha=0.3, solver="lbfgs", max_iter=2000, random_state=seed
    )
    with threadpool_limits(1):  # a 1347 x 64 problem: threads only add contention
        clf.fit(x_tr, y_tr)
    clf.test_accuracy = float(clf.score(x_te, y_te))
    clf.test_images, clf.test_labels = x_te, y_te
    clf.train_images, clf.train_labels = x_tr, y_tr
    clf.reference = _moments(_hidden(clf, x_tr))
    return clf


def _hidden(clf, x: np.ndarray) -> np.ndarray:
    """The classifier's hidden ReLU activations of the rows of ``x``."""
    return np.maximum(np.asarray(x, dtype=np.float64) @ clf.coefs_[0] + clf.intercepts_[0], 0.0)


def _as_images(images) -> np.ndarray:
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 3 and x.shape[1:] == (SIDE, SIDE):
        x = x.reshape(len(x), -1)
    if x.ndim != 2 or x.shape[1] != SIDE * SIDE or len(x) == 0:
        raise ValueError(f"images must have shape (n, 64) or (n, 8, 8); got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("images contain NaN or infinite pixels")
    return x


def features(images) -> np.ndarray:
    """The ruler's feature vectors of ``images`` (``(n, 64)`` or ``(n, 8, 8)``): its 64 hidden
    ReLU activations, ``(n, 64)``, the space in which :func:`frechet_distance` compares sets.

    Raises:
        ValueError: for a wrong shape or non-finite pixels.
    """
    return _hidden(classifier(), _as_images(images))


def _moments(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(a, b=None) -> float:
    r"""The Fréchet distance between two sets of feature vectors, each summarised by a Gaussian:
    :math:`\lVert \mu_a - \mu_b \rVert^2 + \operatorname{tr}(\Sigma_a + \Sigma_b -
    2 (\Sigma_a \Sigma_b)^{1/2})`; the trace of the matrix square root is computed from the
    eigenvalues of :math:`\Sigma_a^{1/2} \Sigma_b \Sigma_a^{1/2}` (``scipy.linalg.eigh``).

    Args:
        a: features ``(n, d)``, ``n >= 2`` (e.g. :func:`features` of generated images).
        b: features ``(m, d)``; default: the ruler's training digits (``classifier().reference``).

    The estimate depends on the number of rows (fewer rows give a larger distance on average),
    so compare sets of the same size.

    Raises:
        ValueError: for fewer than 2 rows, different feature dimensions or non-finite values.
    """
    from scipy import linalg

    def moments(f, name):
        f = np.asarray(f, dtype=np.float64)
        if f.ndim != 2 or len(f) < 2:
            raise ValueError(f"{name} must be features of shape (n, d) with n >= 2; got {f.shape}")
        if not np.all(np.isfinite(f)):
            raise ValueError(f"{name} contains NaN or infinite values")
        return _moments(f)

    mu_a, cov_a = moments(a, "a")
    mu_b, cov_b = classifier().reference if b is None else moments(b, "b")
    if mu_a.shape != mu_b.shape:
        raise ValueError(
            f"a and b have different feature dimensions: {mu_a.shape} and {mu_b.shape}"
        )
    # tr (S_a S_b)^(1/2) = tr (S_a^(1/2) S_b S_a^(1/2))^(1/2): a symmetric form whose
    # eigenvalues scipy.linalg.eigh computes stably even when a covariance is singular (ten
    # repeated prototypes, a dead hidden unit), where sqrtm of the product is inaccurate
    w, v = linalg.eigh(cov_a)
    half = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    lam = linalg.eigvalsh(half @ cov_b @ half)
    trace_root = float(np.sum(np.sqrt(np.clip(lam, 0.0, None))))
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_root)
    return max(value, 0.0)


@dataclass(frozen=True)
class DigitMetrics:
    """What :func:`digit_metrics` measured on a set of images.

    Attributes:
        classes: classes covered (0..10).
        histogram: share of the confident images predicted as each class, ``(10,)`` (sums to 1;
            all zeros when no image is confident).
        reverse_kl: :math:`\\log 10 - H(h)` of that histogram (nats; 0 = perfectly even; NaN
            when no image is confident).
        confidence: mean largest predicted probability.
        confident: fraction of images predicted with probability >= the threshold.
        fid: Fréchet distance to the ruler's training digits in its feature space.
        n: number of images measured.
    """

    classes: int
    histogram: np.ndarray
    reverse_kl: float
    confidence: float
    confident: float
    fid: float
    n: int

    def as_dict(self) -> dict:
        """The scalar metrics ``{"classes", "reverse_kl", "confidence", "confident", "fid"}``."""
        return dict(
            classes=self.classes,
            reverse_kl=self.reverse_kl,
            confidence=self.confidence,
            confident=self.confident,
            fid=self.fid,
        )


#: How far outside [-1, 1] a pixel of :func:`digit_metrics` may lie (float rounding of tanh).
PIXEL_SLACK = 1e-4


def digit_metrics(images, *, threshold: float = 0.9, min_share: float = 0.01) -> DigitMetrics:
    """Classifier-based quality of ``images`` (``(n, 64)`` or ``(n, 8, 8)``, values in [-1, 1]).

    Introduced in :doc:`/chapters/09_digits`.

    Args:
        images: the images to score (at least 2, for the Fréchet distance).
        threshold: probability above which a prediction counts as confident.
        min_share: share of all images a class needs among the confident ones to be covered.

    Raises:
        ValueError: for a wrong shape, fewer than 2 images, NaN or infinite pixels, pixels
            outside [-1, 1] (unscaled images, e.g. scikit-learn's 0..16), or thresholds that
            are not numbers in (0, 1).
    """
    x = _as_images(images)
    if len(x) < 2:
        raise ValueError(f"images must hold at least 2 images; got {len(x)}")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1 - PIXEL_SLACK or hi > 1 + PIXEL_SLACK:
        raise ValueError(
            f"images must hold pixels in [-1, 1] (the ruler's scale); got values in "
            f"[{lo:.4g}, {hi:.4g}]: scale them first (e.g. 0..16 to x / 8 - 1)"
        )
    for value, name in ((threshold, "threshold"), (min_share, "min_share")):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name} must be a number in (0, 1); got {value!r}")
        if not 0 < value < 1:
            raise ValueError(f"{name} must lie in (0, 1); got {value}")
    clf = classifier()
    probs = clf.predict_proba(x)
    best = probs.max(axis=1)
    pred = probs.argmax(axis=1)
    confident = best >= threshold
    counts = np.bincount(pred[confident], minlength=NUM_CLASSES)
    n_conf = int(counts.sum())
    hist = counts / n_conf if n_conf else np.zeros(NUM_CLASSES)
    nz = hist[hist > 0]
    return DigitMetrics(
        classes=int(np.sum(counts / len(x) >= min_share)),
        histogram=hist,
        reverse_kl=float(np.log(NUM_CLASSES) + np.sum(nz * np.log(nz))) if n_conf else math.nan,
        confidence=float(best.mean()),
        confident=float(confident.mean()),
        fid=frechet_distance(_hidden(clf, x)),
        n=len(x),
    )


def real_reference() -> DigitMetrics:
    """:func:`digit_metrics` of the 450 held-out real digits (which the ruler never saw): what a
    perfect generator would score with a set of that size."""
    return digit_metrics(classifier().test_images)


#: The baseline generators of :func:`baseline_samples`, by kind: what each row is called.
BASELINES: dict[str, str] = {
    "real": "held-out real digits",
    "prototypes": "class-mean prototypes, repeated",
    "average": "pixel average of two random digits",
    "noise": "uniform noise",
}


def baseline_samples(kind: str, n: int = 1000, seed: int = 0) -> np.ndarray:
    """Images of a baseline generator, ``(n, 64)`` in [-1, 1] (``"real"``: at most 450):

    Introduced in :doc:`/chapters/09_digits`.

    * ``"real"``: the ruler's held-out digits (the first ``n`` of the 450; no randomness);
    * ``"prototypes"``: the ten class means of all digits, each repeated, a generator that is
      perfectly sharp in the classifier's eyes and has no variety within a class (no
      randomness);
    * ``"average"``: the pixel average of two digits drawn at random (not a digit at all);
    * ``"noise"``: every pixel uniform in [-1, 1].

    Raises:
        ValueError: for an unknown kind, or ``n`` not a positive integer.
    """
    n = check_positive_int(n, "n")
    seed = check_nonnegative_int(seed, "seed")
    images, labels = load()
    rng = np.random.default_rng([seed, 8])
    if kind == "real":
        return np.asarray(classifier().test_images[:n], dtype=np.float64)
    if kind == "prototypes":
        means = np.stack([images[labels == c].mean(axis=0) for c in range(NUM_CLASSES)])
        return means[np.arange(n) % NUM_CLASSES].astype(np.float64)
    if kind == "average":
        idx = rng.integers(0, len(images), size=(n, 2))
        return (images[idx[:, 0]].astype(np.float64) + images[idx[:, 1]]) / 2.0
    if kind == "noise":
        return rng.uniform(-1.0, 1.0, size=(n, SIDE * SIDE))
    raise ValueError(f"kind must be one of {sorted(BASELINES)}; got {kind!r}")


def baseline_rows(draws: int = 5, n: int = 1000) -> list[dict]:
    """The baseline rows of a table, one per kind of :data:`BASELINES`, scored with
    :func:`digit_metrics`: ``{"name", "kind", "runs", <metric>: (mean, std), "values":
    {<metric>: per-draw array}}`` with the sample standard deviation (``ddof=1``).

    Introduced in :doc:`/chapters/09_digits`.

    The random kinds (``"average"``, ``"noise"``) get ``draws`` draws of ``n`` images; the
    fixed ones one set (``"real"``: the 450 held-out digits, fewer than ``n``, which raises its
    Fréchet distance a little; ``"prototypes"``: ``n`` images).
    """
    draws = check_positive_int(draws, "draws")
    n = check_positive_int(n, "n")
    rows = []
    for kind, name in BASELINES.items():
        fixed = kind in ("real", "prototypes")
        scores = [
            digit_metrics(baseline_samples(kind, n, d)).as_dict()
            for d in range(1 if fixed else draws)
        ]
        values = {k: np.array([s[k] for s in scores], dtype=float) for k in scores[0]}
        row = {"name": name, "kind": kind, "runs": len(scores), "values": values}
        for k, v in values.items():
            ok = v[np.isfinite(v)]
            mean = float(ok.mean()) if len(ok) else math.nan
            row[k] = (mean, float(ok.std(ddof=1)) if len(ok) > 1 else 0.0)
        rows.append(row)
    return rows
