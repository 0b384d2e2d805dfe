"""Steps per second of gandemo's training loop against a tutorial-style loop, same run.

Run it with ``python benchmarks/bench_speed.py`` (options: ``--threads``, ``--steps``,
``--batch-size``, ``--width``, ``--repeats``, ``--device``). Both loops train the same
architecture (gandemo's MLPs: ``depth`` hidden layers of ``width`` LeakyReLU(0.2) units, 2-D
latent) on the same target (the 8-Gaussian ring) with the same batch size, one discriminator
update then one generator update per step on fresh batches, under the same
``torch.set_num_threads``. They alternate ``--repeats`` times; the table gives the median.

The reference is written the way most tutorials write it: a ``nn.Sigmoid`` at the end of D and
``nn.BCELoss`` against label tensors built on every step, two separate forward passes of D for
the real and the generated batch, ``torch.optim.Adam`` with its default settings, a fresh call to
the data sampler and to ``torch.randn`` on every step, and ``.item()`` on both losses on every
step to keep a Python list of losses.

What makes :class:`gandemo.Trainer` faster, from most to least important on a CPU (all public
PyTorch; the benchmark also times the engine with the first lever off, in the same run):

* **One flat parameter per player** (:class:`gandemo.models.MLPStack`): every weight of a network
  lives in one tensor whose layer views are the leaves autograd differentiates, and their
  gradients are views of one buffer. Adam's update, the zeroing of the gradients, the gradient
  norms, the moving average and the finiteness checks are then one tensor operation each.
* **A shorter Adam step** (:class:`gandemo.training.FlatAdam`): ``torch.optim.Adam`` with the
  fused kernel, stepped through PyTorch's public functional ``torch.optim.adam.adam`` with the
  optimiser's own state, which skips ``Optimizer.step``'s per-call bookkeeping (hooks, profiling
  scope, regrouping tensors by device and type). Row "engine, Adam.step" turns it off.
* **Fewer, leaner operations**: the losses come straight from the logits (one ``softplus`` and a
  mean per term, no sigmoid, no label tensors); D sees the real and the generated batch in one
  concatenated forward pass; the generator's backward pass is restricted to the generator's
  weights (``backward(inputs=...)``); a layer is one ``baddbmm``.
* **Batched sampling**: real examples and latent codes are drawn 64 batches at a time from
  seeded generators and sliced, instead of a sampler call (several small ops) per batch.
* **No host synchronisation per step**: statistics stay on the device and come back once per
  record (every 10 steps). On a CPU the gain is small (a ``.item()`` there is cheap); on a GPU it
  is what keeps the device busy, since each ``.item()`` waits for the queue to drain.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from torch import nn

import gandemo as gd
from gandemo.training import Trainer, resolve_device


def tutorial_models(width: int, depth: int, seed: int):
    """The same MLPs as gandemo's, with the tutorial's final sigmoid on D."""
    g = gd.models.Generator(2, 2, width, depth, seed=seed).net
    d = nn.Sequential(gd.models.Discriminator(2, width, depth, seed=seed + 1).net, nn.Sigmoid())
    return g, d


def tutorial_loop(steps: int, batch_size: int, width: int, depth: int, device, seed: int = 0):
    """A GAN loop as tutorials write it; returns (seconds for ``steps`` steps, losses)."""
    ring = gd.data.ring()
    g, d = tutorial_models(width, depth, seed)
    g, d = g.to(device), d.to(device)
    criterion = nn.BCELoss()
    opt_g = torch.optim.Adam(g.parameters())
    opt_d = torch.optim.Adam(d.parameters())
    torch.manual_seed(seed)
    d_losses, g_losses = [], []

    def one_step():
        real = ring.sample(batch_size, device=device)
        z = torch.randn(batch_size, 2, device=device)
        fake = g(z)
        opt_d.zero_grad()
        loss_real = criterion(d(real), torch.ones(batch_size, 1, device=device))
        loss_fake = criterion(d(fake.detach()), torch.zeros(batch_size, 1, device=device))
        loss_d = loss_real + loss_fake
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        z = torch.randn(batch_size, 2, device=device)
        loss_g = criterion(d(g(z)), torch.ones(batch_size, 1, device=device))
        loss_g.backward()
        opt_g.step()
        d_losses.append(loss_d.item())
        g_losses.append(loss_g.item())

    for _ in range(50):  # warm-up
        one_step()
    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    return time.perf_counter() - start, g_losses


def gandemo_loop(
    steps: int, batch_size: int, width: int, depth: int, device, seed: int = 0, short=True
):
    """The same work through :meth:`gandemo.Trainer.run`; returns seconds. ``short=False``
    steps Adam through ``Optimizer.step`` instead of the functional call."""
    t = Trainer(
        gd.data.ring(),
        width=width,
        depth=depth,
        batch_size=batch_size,
        device=device,
        seed=seed,
        record_every=10,
        metric_every=10**9,  # no quality metric inside the timed loop (the tutorial has none)
        metric_samples=10,
        threads=torch.get_num_threads(),
    )
    for opt in (t.opt_g, t.opt_d):
        opt.short_step = short
    t.run(50, progress=False)  # warm-up (and the step-0 metric record)
    if t.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    t.run(steps, progress=False)
    if t.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)

    ref, ours, long = [], [], []
    shape = (args.steps, args.batch_size, args.width, args.depth, device)
    for _ in range(args.repeats):
        seconds, _ = tutorial_loop(*shape)
        ref.append(args.steps / seconds)
        ours.append(args.steps / gandemo_loop(*shape))
        long.append(args.steps / gandemo_loop(*shape, short=False))
    r, o, lo = statistics.median(ref), statistics.median(ours), statistics.median(long)
    # the speed of this machine drifts within seconds: each repeat's own ratio, then the median
    ratio = statistics.median(a / b for a, b in zip(ours, ref, strict=True))
    ratio_long = statistics.median(a / b for a, b in zip(long, ref, strict=True))
    spread = sorted(a / b for a, b in zip(ours, ref, strict=True))
    print(
        f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"batch {args.batch_size}, width {args.width}, depth {args.depth}, "
        f"{args.steps} steps x {args.repeats} repeats (median)"
    )
    print(f"{'loop (medians)':<40}{'steps/s':>10}")
    print(f"{'tutorial (sigmoid + BCELoss, .item())':<40}{r:>10.0f}")
    print(f"{'gandemo Trainer.run':<40}{o:>10.0f}")
    print(f"{'gandemo Trainer.run, Adam.step':<40}{lo:>10.0f}")
    print(f"{'speed-up (median of per-repeat ratios)':<40}{ratio:>9.2f}x")
    print(f"{'speed-up with Adam.step':<40}{ratio_long:>9.2f}x")
    print("per-repeat ratios: " + ", ".join(f"{x:.2f}" for x in spread))
    print("command: python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
