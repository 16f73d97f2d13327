"""The conda environment names the same dependencies, with the same lower bounds, as pyproject."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent
# conda-forge spells a few packages differently, or packages an extra as the package itself.
CONDA_NAMES = {"psycopg[binary]": "psycopg"}
CONDA_ONLY = {"python", "pip", "postgresql"}
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)$")


def _split(requirement: str) -> tuple[str, str]:
    match = _REQUIREMENT.match(requirement)
    assert match, requirement
    name, spec = match.groups()
    return CONDA_NAMES.get(name.lower(), name.lower()), spec.replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for group in project["optional-dependencies"].values():
        requirements.extend(group)
    return dict(_split(requirement) for requirement in requirements)


def conda_requirements() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    entries = [entry for entry in environment["dependencies"] if isinstance(entry, str)]
    return dict(_split(entry) for entry in entries)


def test_environment_yml_names_every_pyproject_dependency_with_the_same_bound() -> None:
    conda = {name: spec for name, spec in conda_requirements().items() if name not in CONDA_ONLY}
    assert conda == pyproject_requirements()


def test_environment_yml_uses_conda_forge_and_a_supported_python() -> None:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert environment["channels"] == ["conda-forge"]
    assert conda_requirements()["python"] == ">=3.11,<3.14"
