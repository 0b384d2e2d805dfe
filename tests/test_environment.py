"""environment.yml, pyproject.toml and constraints.txt must describe the same environment."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {canonicalize_name(Requirement(r).name): Requirement(r) for r in reqs}


def constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def environment_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = {}
    for item in pip_section:
        if item.startswith("-e"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s]+)", item)
        assert match, f"environment.yml pins exact versions; got {item!r}"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_environment_yml_lists_exactly_the_pyproject_packages():
    assert set(environment_pins()) == set(pyproject_requirements())


def test_environment_yml_versions_match_constraints_and_bounds():
    pins, reqs, env = constraints(), pyproject_requirements(), environment_pins()
    for name, version in env.items():
        assert pins.get(name) == version, (
            f"{name}: environment.yml {version}, constraints {pins.get(name)}"
        )
        assert reqs[name].specifier.contains(version, prereleases=True), (name, version)


def test_constraints_pin_every_dependency_and_torch_exactly():
    pins = constraints()
    missing = set(pyproject_requirements()) - set(pins)
    assert not missing, f"constraints.txt lacks {sorted(missing)}"
    assert pins["torch"] == "2.13.0"
    assert pins["jupyter-book"].startswith("1.")


def test_environment_yml_declares_python_and_pip():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    plain = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(d.startswith("python") for d in plain) and "pip" in plain
