"""What the live dashboard costs: training speed with and without its redraws.

Runs the same seeded training twice on the CPU, once plain and once driven by
``gandemo.dashboard.TrainingDashboard`` (figure redrawn on the dashboard's throttle, PNG sent to
an image widget that no browser displays), and prints the two rates and their ratio. The
dashboard waits between redraws until a redraw costs at most ``redraw_budget`` (8 %) of the wall
time, so the overhead should stay below 10 %.

    python benchmarks/bench_dashboard.py [--steps 4000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics

import matplotlib

matplotlib.use("Agg")

import gandemo as gd  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target", default="ring", choices=sorted(gd.dashboard.TARGETS))
    args = parser.parse_args()
    gd.plots.use_style()
    rows = [
        gd.dashboard.measure_overhead(args.target, steps=args.steps, seed=seed)
        for seed in range(args.repeats)
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
