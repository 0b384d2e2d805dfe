"""Tests of gandemo.utils: the argument checks and the seeded random streams."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

from gandemo import utils


@pytest.mark.parametrize(
    "check, good, want",
    [
        (utils.check_nonnegative_int, np.int64(0), 0),
        (utils.check_positive_int, 3, 3),
        (utils.check_positive, "2.5", 2.5),
        (utils.check_seed, 2**62 - 1, 2**62 - 1),
    ],
)
def test_checks_return_good_values_converted(check, good, want):
    got = check(good, "x")
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize(
    "check, bad",
    [
        (utils.check_nonnegative_int, -1),
        (utils.check_nonnegative_int, True),
        (utils.check_nonnegative_int, 1.0),
        (utils.check_positive_int, 0),
        (utils.check_positive_int, "3"),
        (utils.check_positive, 0.0),
        (utils.check_positive, float("nan")),
        (utils.check_positive, float("inf")),
        (utils.check_positive, "fast"),
        (utils.check_seed, 2**62),
        (utils.check_seed, -3),
    ],
)
def test_checks_raise_value_error_naming_the_argument(check, bad):
    with pytest.raises(ValueError, match=r"^my_arg\b"):
        check(bad, "my_arg")


def test_check_writable_file_names_the_argument_and_the_problem(tmp_path):
    good = tmp_path / "out.pt"
    assert utils.check_writable_file(good, "path") == os.fspath(good)
    with pytest.raises(ValueError, match="path .* is a folder"):
        utils.check_writable_file(tmp_path, "path")
    with pytest.raises(ValueError, match="path .* does not exist"):
        utils.check_writable_file(tmp_path / "missing" / "out.pt", "path")


def test_seed_everything_makes_every_global_stream_reproducible():
    def draws(seed):
        g = utils.seed_everything(seed)
        return (
            random.random(),
            np.random.rand(),  # noqa: NPY002 (the legacy global stream is what it seeds)
            torch.rand(3),
            torch.rand(3, generator=g),
        )

    a, b, c = draws(5), draws(5), draws(6)
    assert a[:2] == b[:2] and torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])
    assert a[0] != c[0] and not torch.equal(a[2], c[2]) and not torch.equal(a[3], c[3])
    with pytest.raises(ValueError, match="seed"):
        utils.seed_everything(-1)


def test_torch_generator_is_seeded_on_its_device(device):
    a = torch.rand(4, generator=utils.torch_generator(3, device), device=device)
    b = torch.rand(4, generator=utils.torch_generator(3, device), device=device)
    c = torch.rand(4, generator=utils.torch_generator(4, device), device=device)
    assert a.device.type == device and torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError, match="seed"):
        utils.torch_generator(1.5)
