"""Tests of gandemo.recording: the frame steps, FrameRecorder/record_frames (the live figure's
snapshots) and SampleRecorder/record_samples (samples and their metrics)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gandemo as gd  # noqa: E402

SMALL = dict(
    width=16, depth=1, batch_size=32, metric_every=20, metric_samples=200, device="cpu", threads=1
)
ZOO = dict(width=16, depth=2, batch_size=32, device="cpu", metric_samples=300, metric_every=20)


def test_frame_steps_are_even_plus_log_spaced_early_steps():
    assert gd.recording.frame_steps(40, 4) == [0, 10, 20, 30, 40]
    early = [0, 5, 22, 106]  # log-spaced from 1 to the first even step, 500
    assert gd.recording.frame_steps(3000, 6, early=3) == early + list(range(500, 3001, 500))
    assert gd.recording.frame_steps(40, 4, start=100) == [100, 110, 120, 130, 140]
    # early steps that round to the same integer count once
    assert gd.recording.frame_steps(8, 4, early=5) == [0, 1, 2, 4, 6, 8]
    with pytest.raises(ValueError, match="frames"):
        gd.recording.frame_steps(10, 0)


def test_recorder_keeps_due_steps_of_chosen_models_with_evaluation_metrics():
    ring = gd.data.ring()
    t = gd.Trainer(ring, loss=["saturating", "non-saturating"], seed=[0, 0], **SMALL)
    rec = gd.recording.FrameRecorder(t, [0, 5, 20, 40], models={"sat": 0, "ns": 1})
    rec(t, 30)
    rec(t, 10)  # a second call continues; step 30 is not due, 40 is
    for label in ("sat", "ns"):
        assert [f.snapshot.step for f in rec.frames[label]] == [0, 5, 20, 40]
        assert all(f.p_g is None for f in rec.frames[label])
    # a frame at a metric step shows exactly the metric curve's value there
    h = t.history
    i = list(h.metric_step).index(20)
    for label, e in (("sat", 0), ("ns", 1)):
        snap = rec.frames[label][2].snapshot
        assert snap.metrics["high_quality"] == pytest.approx(h.metrics["high_quality"][i, e])


def test_record_on_a_1d_target_carries_the_generator_density():
    target = gd.data.Gaussian1D(2.0, 0.5)
    t = gd.Trainer(target, latent_dim=1, seed=0, **SMALL)
    frames = gd.recording.record_frames(t, 20, frames=2, early=2)
    assert [f.snapshot.step for f in frames] == [0, 2, 5, 10, 20]
    points = gd.metrics.evaluation_points(target)  # the default, a TrainingFigure's points
    assert all(f.p_g.shape == points.shape for f in frames)


def test_record_samples_keeps_seeded_samples_and_their_metrics_and_continues():
    t = gd.Trainer(gd.data.ring(), loss=["hinge", "least-squares"], seed=[0, 1], **ZOO)
    seen = []
    frames = gd.recording.record_samples(t, 40, frames=4, n=200, live=seen.append)
    assert [f.step for f in frames] == [0, 10, 20, 30, 40] and len(seen) == 5
    assert frames[-1].samples.shape == (2, 200, 2)
    assert set(frames[-1].metrics) == {"modes", "high_quality", "reverse_kl"}
    # the frames are the trainer's samples from seeded codes, their metrics those of the samples
    np.testing.assert_array_equal(frames[-1].samples, t.samples(200, seed=0))
    ring_metrics = gd.training.target_metrics(gd.data.ring(), frames[-1].samples[1])
    assert frames[-1].metrics["modes"][1] == ring_metrics["modes"]
    # a second call goes on from where the first stopped, starting with a frame of that step
    more = gd.recording.record_samples(t, 20, frames=2, n=200)
    assert [f.step for f in more] == [40, 50, 60] and t.step == 60
    np.testing.assert_array_equal(more[0].samples, frames[-1].samples)


def test_record_one_model_on_a_1d_target():
    t = gd.Trainer(gd.data.Gaussian1D(2.0, 0.5), loss="hinge", seed=3, latent_dim=1, **ZOO)
    frames = gd.recording.record_samples(t, 20, frames=2, n=300)
    assert [f.step for f in frames] == [0, 10, 20]
    assert frames[-1].samples.shape == (1, 300, 1) and set(frames[-1].metrics) == {"jsd"}
    jsd = gd.training.target_metrics(t.data, frames[-1].samples[0, :, 0])["jsd"]
    assert frames[-1].metrics["jsd"][0] == pytest.approx(jsd)
