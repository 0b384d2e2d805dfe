"""Many models at once: the cost of E GANs in one batched run against one model.

Run it with ``python benchmarks/bench_batched.py`` (options: ``--models``, ``--steps``,
``--repeats``, ``--threads``, ``--width``, ``--depth``, ``--batch-size``, ``--device``).
In the same run it measures

* the reference: one model trained by :class:`gandemo.training.Trainer` (the single-model
  engine of chapter 6), non-saturating loss on the ring;
* :class:`gandemo.batched.BatchedTrainer` with E = 1, 2, 4, ... models (seeds 0..E-1), same
  architecture, batch and loss;
* E models one after another (E x the reference), the alternative batching replaces,

and prints, for each E, the time per step of the batched run as a multiple of the reference
("cost vs 1 model", the issue's target: at most 3x for E = 8 on the CPU) and the time per
model-step against sequential runs ("speed-up vs sequential"). Batching stops paying where the
per-model time stops falling: past that E the batched run costs E x as much as it does per
model, like sequential runs would, only without their overhead. Medians of ``--repeats``
repeats, the reference measured just before the batched runs in each repeat (the ratios are
medians of the per-repeat ratios); quality metrics are off inside the timed loops.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

import gandemo as gd
from gandemo.batched import BatchedTrainer
from gandemo.training import Trainer, resolve_device


def seconds_per_step(run, steps: int, device) -> float:
    run(20)  # warm-up (and the step-0 metric record)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    run(steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    ring = gd.data.ring()
    common = dict(
        width=args.width,
        depth=args.depth,
        batch_size=args.batch_size,
        device=device,
        metric_every=10**9,
        metric_samples=10,
    )

    def reference() -> float:
        t = Trainer(ring, seed=0, record_every=10, **common)
        return seconds_per_step(lambda n: t.run(n, progress=False), args.steps, device)

    def batched(e: int) -> float:
        bt = BatchedTrainer(ring, "non-saturating", list(range(e)), **common)
        return seconds_per_step(lambda n: bt.run(n, progress=False), args.steps, device)

    # interleaved: every repeat measures the reference and each E back to back, so that a slow
    # spell of the machine affects both sides of a ratio alike; medians over the repeats
    refs, times = [], {e: [] for e in args.models}
    for _ in range(args.repeats):
        refs.append(reference())
        for e in args.models:
            times[e].append(batched(e))
    ref = statistics.median(refs)
    rows = [(e, statistics.median(times[e])) for e in args.models]
    ratios = {
        e: statistics.median(t / r for t, r in zip(times[e], refs, strict=True)) for e in times
    }
    print(
        f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; ring, "
        f"non-saturating, width {args.width}, depth {args.depth}, batch {args.batch_size}; "
        f"{args.steps} steps x {args.repeats} repeats (median)"
    )
    print(f"reference: one model, Trainer.run: {1e3 * ref:.2f} ms/step")
    head = ("models", "ms/step", "cost vs 1 model", "ms/model-step", "speed-up vs sequential")
    print("{:>6} {:>9} {:>16} {:>14} {:>23}".format(*head))
    for e, sec in rows:
        print(
            f"{e:>6} {1e3 * sec:>9.2f} {ratios[e]:>15.2f}x {1e3 * sec / e:>14.3f} "
            f"{e / ratios[e]:>22.2f}x"
        )
    per_model = [sec / e for e, sec in rows]
    best = min(range(len(rows)), key=per_model.__getitem__)
    print(
        f"lowest time per model-step at E = {rows[best][0]} "
        f"({1e3 * per_model[best]:.3f} ms, {ref / per_model[best]:.1f}x fewer than one model "
        "alone); beyond it, more models per batch no longer pay"
    )
    print("command: python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
