"""What each lever of issue 21 gives: the engine's step and the chapters' runs, each against a
reference measured in the same run.

Run it with ``python benchmarks/bench_levers.py`` (options: ``--repeats``, ``--steps``,
``--threads``, ``--skip-zoo``). On an idle machine; nothing else should run.

* **backward by hand**: one discriminator forward and backward at the ring zoo's shapes (25
  models, 2 x 128 examples, 4 x 64 ReLU units), :meth:`MLPStack.forward_saved` +
  :meth:`MLPStack.backward_into` against :meth:`MLPStack.forward` + autograd; and the same for
  one model. Both give the same gradients to the bit (``tests/test_models.py``).
* **gradient penalty by hand**: WGAN-GP's penalty and its weight gradient for 5 critics on 128
  points, :meth:`MLPStack.penalty_into` against :func:`gandemo.losses.gradient_penalty` and
  autograd's double backward.
* **one rate per model**: chapter 8's hinge and WGAN-GP at their published settings (5 critic
  steps, rates 2e-4 and 1e-4, 5 seeds each) as one batched run of 10 models against two runs
  of 5, ``--steps`` generator steps.
* **one thread for small work**: one small model (chapter 5's size: 2 x 32 units, batch 64,
  500 steps) on one thread against two, quiet and with one competing CPU-bound process; the
  engine now picks one thread for such models, and ``theory.fit_discriminator`` and the
  saturation measurements run on one.
* **the zoo**: chapter 8's ring zoo (``gd.experiments.compare("ring")``: 5 losses x 5 seeds,
  3000 steps), its wall time against the target of 30 s.

Times are medians over ``--repeats`` interleaved repeats; ratios are per repeat, then the
median. The continued double-budget run of chapter 8 needs no benchmark: it skips exactly the
first 3000 steps of 10 models.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time

import torch

import gandemo as gd
from gandemo.models import Discriminator, MLPStack


def per_call(fn, calls: int) -> float:
    """Seconds per call of ``fn`` (after two warm-up calls)."""
    fn()
    fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def interleaved(cases: dict, repeats: int, calls: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            out[name].append(per_call(fn, calls))
    return out


def report(title: str, times: dict[str, list[float]], ref: str, new: str, unit=1e3, what="ms"):
    ratios = [r / n for r, n in zip(times[ref], times[new], strict=True)]
    print(
        f"{title}: {ref} {statistics.median(times[ref]) * unit:.3f} {what}, {new} "
        f"{statistics.median(times[new]) * unit:.3f} {what}; {new} is "
        f"{statistics.median(ratios):.2f}x as fast (per-repeat ratios "
        f"{', '.join(f'{r:.2f}' for r in sorted(ratios))})"
    )


def critic_stack(models: int, width: int = 64, depth: int = 4) -> MLPStack:
    return MLPStack([Discriminator(2, width, depth, seed=s, slope=0.0) for s in range(models)])


def bench_backward(repeats: int) -> None:
    for models, calls in ((25, 40), (1, 400)):
        _backward_case(models, calls, repeats)


def _backward_case(models: int, calls: int, repeats: int) -> None:
    stack = critic_stack(models)
    x = torch.randn(models, 256, 2, generator=torch.Generator().manual_seed(0))
    upstream = torch.randn(models, 256, 1, generator=torch.Generator().manual_seed(1))

    def autograd_step():
        stack.zero_grad()
        out = stack(x)
        out.backward(upstream, inputs=stack.weights())

    def by_hand():
        stack.zero_grad()
        _, saved = stack.forward_saved(x)
        stack.backward_into(saved, upstream)

    times = interleaved({"autograd": autograd_step, "by hand": by_hand}, repeats, calls)
    report(f"D forward + backward, {models} model(s)", times, "autograd", "by hand")


def bench_penalty(repeats: int) -> None:
    stack = critic_stack(5)
    gen = torch.Generator().manual_seed(2)
    real, fake = torch.randn(5, 128, 2, generator=gen), torch.randn(5, 128, 2, generator=gen)
    u = torch.rand(5, 128, 1, generator=gen)

    def double_backward():
        stack.zero_grad()
        pen = gd.losses.gradient_penalty(lambda p: stack(p)[..., 0], real, fake, u)
        pen.sum().backward(inputs=stack.weights())

    def by_hand():
        stack.zero_grad()
        stack.penalty_into(real + u * (fake - real))

    times = interleaved({"double backward": double_backward, "by hand": by_hand}, repeats, 80)
    report("WGAN-GP penalty and its gradient, 5 critics", times, "double backward", "by hand")


def bench_rates(repeats: int, steps: int) -> None:
    ex = gd.experiments
    group = ["hinge", "wasserstein-gp"]

    def one_run():
        ex.compare("ring", group, range(5), recipe=ex.published_recipe("ring", group, steps))

    def two_runs():
        for loss in group:
            ex.compare("ring", [loss], range(5), recipe=ex.published_recipe("ring", loss, steps))

    times = interleaved({"two runs": two_runs, "one run": one_run}, repeats, 1)
    report(
        f"hinge + WGAN-GP as published, 5 seeds each, {steps} steps",
        times,
        "two runs",
        "one run",
        unit=1,
        what="s",
    )


def _burn(stop) -> None:
    x = 0
    while not stop.is_set():
        x += 1


def bench_threads(repeats: int) -> None:
    target = gd.data.Gaussian1D(3.0, 0.5)

    def train(threads):  # a chapter-4-sized model: 2 x 32 units, batch 64
        def go():
            t = gd.Trainer(target, latent_dim=1, width=32, batch_size=64, threads=threads)
            t.run(500, progress=False)

        return go

    for label, busy in (("quiet", False), ("one competing process", True)):
        stop = multiprocessing.Event()
        burner = multiprocessing.Process(target=_burn, args=(stop,)) if busy else None
        if burner:
            burner.start()
        try:
            times = interleaved({"2 threads": train(2), "1 thread": train(1)}, repeats, 1)
        finally:
            if burner:
                stop.set()
                burner.join()
        report(f"one small model, 500 steps, {label}", times, "2 threads", "1 thread", 1, "s")


def bench_zoo() -> None:
    start = time.perf_counter()
    result = gd.experiments.compare("ring")
    total = time.perf_counter() - start
    print(
        f"ring zoo (25 models x {result.trainer.step} steps): {total:.1f} s in all, "
        f"{result.seconds:.1f} s training; target <= 30 s"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200, help="steps of the published runs")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--skip-zoo", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; " + " ".join(sys.argv))
    bench_backward(args.repeats)
    bench_penalty(args.repeats)
    bench_rates(max(1, args.repeats // 2), args.steps)
    bench_threads(max(1, args.repeats // 2))
    if not args.skip_zoo:
        bench_zoo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
