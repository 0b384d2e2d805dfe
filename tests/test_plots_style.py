"""Tests of gandemo.plots.style: the book's style, the colours per role and per loss, helpers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import gandemo as gd  # noqa: E402

style = gd.plots.style


def test_use_style_sets_the_books_rcparams():
    with mpl.rc_context():
        mpl.rcParams["axes.grid"] = False
        mpl.rcParams["figure.figsize"] = (3.0, 2.0)
        style.use_style()
        assert mpl.rcParams["axes.grid"] is True
        assert tuple(mpl.rcParams["figure.figsize"]) == (7.0, 3.6)
        assert mpl.rcParams["axes.spines.top"] is False and mpl.rcParams["legend.frameon"] is False


def test_one_colour_per_loss_and_none_per_loss_among_the_roles():
    assert set(style.LOSS_COLORS) == set(gd.losses.LOSSES)
    assert len(set(style.LOSS_COLORS.values())) == len(style.LOSS_COLORS)  # all distinct
    assert set(style.COLORS) == {"data", "gen", "disc", "ref"}
    assert not set(style.COLORS) & set(gd.losses.LOSSES)
    for color in [*style.COLORS.values(), *style.LOSS_COLORS.values(), *style.MODE_COLORS]:
        assert mcolors.is_color_like(color), color
    # the package re-exports them
    assert gd.plots.LOSS_COLORS is style.LOSS_COLORS and gd.plots.COLORS is style.COLORS


def test_helpers():
    np.testing.assert_array_equal(style.log_grid(0, 3), [1, 2, 4, 8])
    assert style.plural(1, "mode") == "1 mode" and style.plural(3, "mode") == "3 modes"
    assert style.plural(0, "class") == "0 classes" and style.plural(float("nan"), "mode") == (
        "n/a modes"
    )
    fig, ax = plt.subplots()
    assert style.get_ax(ax) is ax and style.get_ax().figure is not fig
    style.freeze_layout(fig)
    assert fig.get_layout_engine() is None
    plt.close("all")
