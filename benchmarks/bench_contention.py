"""A busy CPU: how much a training run slows down when another process competes for the cores.

Run it with ``python benchmarks/bench_contention.py`` (options: ``--models``, ``--steps``,
``--repeats``). It trains ``--models`` GANs on the ring in one engine run (chapter 8's shape of
work) three ways, on a quiet machine and with one competing CPU-bound process (a pure-Python
busy loop, started for the measurement and stopped after it):

* ``threads="auto"``, the engine's default: it times one record window with all threads and
  one with a single thread every few seconds and trains with the faster;
* 2 threads fixed (torch's default on this 2-core machine), the setting that collapses under
  contention because its worker threads wait on each other;
* 1 thread fixed.

It prints each time and the slowdown under contention against the quiet ``auto`` run. One
competing process takes half of two cores, so a slowdown up to 2x is the share of the CPU lost;
more than that is the thread pool's collapse.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import gandemo as gd

BUSY = "while True: pass"


def seconds(models: int, steps: int, threads) -> float:
    names = ["non-saturating"] * models
    t = gd.Trainer(
        gd.data.ring(),
        loss=names,
        seed=list(range(models)),
        device="cpu",
        metric_every=10**9,
        metric_samples=10,
        threads=threads,
    )
    t.run(20, progress=False)  # warm-up
    start = time.perf_counter()
    t.run(steps, progress=False)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=25)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    settings = ("auto", 2, 1)
    quiet = {s: [] for s in settings}
    busy = {s: [] for s in settings}
    for _ in range(args.repeats):
        for s in settings:
            quiet[s].append(seconds(args.models, args.steps, s))
        competitor = subprocess.Popen([sys.executable, "-c", BUSY])
        try:
            time.sleep(0.5)
            for s in settings:
                busy[s].append(seconds(args.models, args.steps, s))
        finally:
            competitor.kill()
            competitor.wait()
    ref = statistics.median(quiet["auto"])
    print(
        f"{args.models} models, ring, {args.steps} steps, median of {args.repeats} repeats; "
        "one competing process: a Python busy loop"
    )
    print(f"{'threads':>8} {'quiet s':>9} {'busy s':>9} {'busy / quiet auto':>18}")
    for s in settings:
        q, b = statistics.median(quiet[s]), statistics.median(busy[s])
        print(f"{s!s:>8} {q:>9.2f} {b:>9.2f} {b / ref:>17.2f}x")
    print("command: python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
