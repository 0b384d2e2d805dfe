"""What the live dashboard costs: training speed with and without its redraws.

Runs the same seeded training twice on the CPU, once plain and once driven by the dashboard's
session, ``gandemo.dashboard.TrainingSession`` (figure redrawn on the dashboard's throttle, with
no browser to send it to), and prints the two rates and their ratio. The dashboard waits between
redraws until a redraw costs at most ``redraw_budget`` (8 %) of the wall time, so the overhead
should stay below 10 %.

    python benchmarks/bench_dashboard.py [--steps 4000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import gandemo as gd  # noqa: E402
from gandemo.utils import check_positive_int  # noqa: E402


def measure_overhead(
    target: str = "ring", steps: int = 1500, redraw_budget: float = 0.08, seed: int = 0
) -> dict:
    """Steps per second with and without the live view, for the same seeded run.

    Both runs train ``steps`` generator steps of the dashboard's model from the same seed on the
    CPU with one intra-op thread, as the dashboard does: the plain one in this thread, the live
    one in the dashboard's training thread, redrawing the figure on the throttle it uses in
    JupyterLab (without a browser to send it to). Returns the two rates, the overhead
    (1 - live / plain) and the number of redraws.
    """
    steps = check_positive_int(steps, "steps")
    board = gd.dashboard.TrainingSession(
        target, seed=seed, device="cpu", redraw_budget=redraw_budget
    )
    plain = gd.Trainer(gd.data.TARGETS[target].make(), **board.trainer.config.to_dict())
    t0 = time.perf_counter()
    plain.run(steps, progress=False)
    plain_rate = steps / (time.perf_counter() - t0)

    board.redraws = 0
    board.redraw_seconds = 0.0
    t0 = time.perf_counter()
    board.start(steps)
    board.wait()
    live_rate = steps / (time.perf_counter() - t0)
    return {
        "plain_steps_per_s": plain_rate,
        "live_steps_per_s": live_rate,
        "overhead": 1 - live_rate / plain_rate,
        "redraws": board.redraws,
        "seconds_per_redraw": board.redraw_seconds / max(1, board.redraws),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target", default="ring", choices=sorted(gd.dashboard.TARGETS))
    args = parser.parse_args()
    gd.plots.use_style()
    rows = [
        measure_overhead(args.target, steps=args.steps, seed=seed) for seed in range(args.repeats)
    ]
    print(f"live dashboard overhead, {args.target}, {args.steps} steps, CPU")
    print(
        f"{'seed':>4} {'plain steps/s':>14} {'live steps/s':>13} {'redraws':>8} "
        f"{'ms/redraw':>10} {'overhead':>9}"
    )
    for seed, r in enumerate(rows):
        print(
            f"{seed:>4} {r['plain_steps_per_s']:>14.0f} {r['live_steps_per_s']:>13.0f} "
            f"{r['redraws']:>8} {1000 * r['seconds_per_redraw']:>10.0f} "
            f"{100 * r['overhead']:>8.1f}%"
        )
    median = statistics.median(r["overhead"] for r in rows)
    print(f"median overhead: {100 * median:.1f} % (target: at most 10 %)")


if __name__ == "__main__":
    main()
