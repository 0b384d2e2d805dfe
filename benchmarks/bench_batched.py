"""Many models at once: the cost of E GANs in one engine run against one model.

Run it with ``python benchmarks/bench_batched.py`` (options: ``--models``, ``--steps``,
``--repeats``, ``--threads``, ``--width``, ``--depth``, ``--batch-size``, ``--device``).

It times ``gd.Trainer(ring, loss=..., seed=[0, ..., E-1])``, the engine chapters 8 and 9 use,
for E = 1, 2, 4, ... models (non-saturating loss, no metric records inside the timed steps),
interleaved over repeats so that a slow spell of the machine affects every E alike, and prints
for each E the time per step as a multiple of the one-model run of the same repeat (median of
the per-repeat ratios), the time per model-step, and the fraction of the machine's matrix-product
speed it reaches:

* the FLOPs of one model-step are counted from the layer shapes (a D update: G forward on m
  codes, D forward on 2m examples and its backward, about twice the forward; a G update: G and
  D forward on m, D's backward to its inputs, G's backward), multiply-adds counted as 2;
* the machine's matmul speed is measured in the same run: ``torch.bmm`` of 32 products of
  (512 x 512) matrices, the best of several, with the same thread count.

Past the E with the lowest time per model-step, more models per run no longer pay.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

import gandemo as gd
from gandemo.training import Trainer, resolve_device


def model_step_flops(width: int, depth: int, batch: int, latent: int = 2, dim: int = 2) -> float:
    """Floating-point operations of one training step of one model (see the docstring)."""

    def forward(sizes, n):
        return sum(2.0 * n * i * o for i, o in sizes)

    hidden = [(width, width)] * (depth - 1)
    g = [(latent, width), *hidden, (width, dim)]
    d = [(dim, width), *hidden, (width, 1)]
    d_input_grad = forward(d[1:], batch)  # D's backward to its inputs skips the first layer's
    d_update = forward(g, batch) + 3 * forward(d, 2 * batch)
    g_update = 3 * forward(g, batch) + forward(d, batch) + forward(d, batch) + d_input_grad
    return d_update + g_update


def matmul_flops_per_second(device, shape=(32, 512, 512, 512), repeats: int = 5) -> float:
    """Batched matrix-product speed (FLOP/s) for ``shape`` = (batch, n, k, out), best of
    ``repeats`` (each of at least 20 ms)."""
    e, n, k, o = shape
    a = torch.randn(e, n, k, device=device)
    b = torch.randn(e, k, o, device=device)
    flops = 2.0 * e * n * k * o
    calls = max(1, int(2e-2 * 1e11 / flops))
    best = float("inf")
    for _ in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(calls):
            torch.bmm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - t) / calls)
    return flops / best


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
    parser.add_argument("--threads", default="auto", help="CPU threads, or auto (the engine's)")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    threads = args.threads if args.threads == "auto" else int(args.threads)
    if threads != "auto":
        torch.set_num_threads(threads)
    device = resolve_device(args.device)
    ring = gd.data.ring()
    common = dict(
        width=args.width,
        depth=args.depth,
        batch_size=args.batch_size,
        device=device,
        metric_every=10**9,
        metric_samples=10,
        threads=threads,
    )

    def engine(e: int) -> float:
        t = Trainer(ring, loss="non-saturating", seed=list(range(e)), **common)
        return seconds_per_step(lambda n: t.run(n, progress=False), args.steps, device)

    # interleaved: every repeat measures one model and each E back to back, so that a slow
    # spell of the machine affects both sides of a ratio alike; medians over the repeats
    refs, times, peaks, layer_peaks = [], {e: [] for e in args.models}, [], []
    hidden = (32, 2 * args.batch_size, args.width, args.width)  # D's hidden layer, 32 models
    for _ in range(args.repeats):
        peaks.append(matmul_flops_per_second(device))
        layer_peaks.append(matmul_flops_per_second(device, hidden))
        refs.append(engine(1))
        for e in args.models:
            times[e].append(engine(e))
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
    peak, layer_peak = statistics.median(peaks), statistics.median(layer_peaks)
    flops = model_step_flops(args.width, args.depth, args.batch_size)
    print(f"reference: one model, Trainer.run: {1e3 * ref:.2f} ms/step")
    print(
        f"matmul speed of this machine (bmm 32 x 512^3, same threads): {peak / 1e9:.1f} GFLOP/s; "
        f"one model-step: {flops / 1e6:.2f} MFLOP, so at best {1e3 * flops / peak:.3f} ms"
    )
    print(
        f"bmm at the hidden layer's own shape {hidden}: {layer_peak / 1e9:.1f} GFLOP/s "
        f"({100 * layer_peak / peak:.0f} % of the large-matrix speed)"
    )
    head = ("models", "ms/step", "cost vs 1 model", "ms/model-step", "vs sequential", "of matmul")
    print("{:>6} {:>9} {:>16} {:>14} {:>14} {:>10}".format(*head))
    for e, sec in rows:
        frac = flops * e / sec / peak
        print(
            f"{e:>6} {1e3 * sec:>9.2f} {ratios[e]:>15.2f}x {1e3 * sec / e:>14.3f} "
            f"{e / ratios[e]:>13.2f}x {100 * frac:>9.0f}%"
        )
    per_model = [sec / e for e, sec in rows]
    best = min(range(len(rows)), key=per_model.__getitem__)
    print(
        f"lowest time per model-step at E = {rows[best][0]} "
        f"({1e3 * per_model[best]:.3f} ms, {ref / per_model[best]:.1f}x fewer than one model "
        f"alone, {100 * flops / per_model[best] / peak:.0f} % of the large-matrix matmul speed, "
        f"{100 * flops / per_model[best] / layer_peak:.0f} % of the speed of bmm at the layer's "
        "shape); beyond it, more models per run no longer pay"
    )
    print("command: python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
