"""The page's generated settings (``book/_static/gd_settings.js``, :mod:`gandemo.page`)."""

from __future__ import annotations

import json

from book_utils import ROOT

import gandemo as gd
from gandemo.__main__ import main


def test_the_generated_settings_file_is_current():
    path = ROOT / gd.page.SETTINGS_FILE
    assert path.read_text() == gd.page.settings_js(), (
        f"{gd.page.SETTINGS_FILE} is stale: run `make page-settings`"
    )


def test_the_settings_are_the_live_recipe_and_the_package_colours():
    s = gd.page.settings()
    recipe = gd.experiments.LIVE_RECIPE
    assert s["schedule"] == [list(e) for e in recipe.schedule] and s["steps"] == recipe.steps
    live = s["live"]
    assert (live["latentDim"], live["width"], live["depth"]) == (
        recipe.settings["latent_dim"],
        recipe.settings["width"],
        recipe.settings["depth"],
    )
    assert live["loss"] in gd.losses.LOSSES
    assert s["colors"]["real"] == gd.plots.style.COLORS["data"]
    assert s["colors"]["fake"] == gd.plots.style.COLORS["gen"]
    text = gd.page.settings_js()
    body = text[text.index("{") : text.rindex("}") + 1]
    assert json.loads(body) == s  # the file is plain JSON after its assignment


def test_the_command_prints_the_file(capsys):
    assert main(["page-settings"]) == 0
    assert capsys.readouterr().out == gd.page.settings_js()
