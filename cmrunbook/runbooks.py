"""The catalogue of runbooks: which notebooks exist, their titles, and their parameters.

Parameters are validated against the notebook's Times Square sidecar before any kernel starts,
so a typo or an out-of-range value costs a pilot one clear sentence instead of a kernel start
and a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ParameterError
from .sidecar import NotebookSidecar, ParameterSchema, read_sidecar

DEMO_CAMPAIGN = "HSC_RC2_w_2026_48"
"""The sandbox demo scenario's main campaign: the status runbook's last-resort default."""

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def notebooks_dir() -> Path:
    """The notebooks shipped with this installation (wheel) or this checkout (editable)."""
    override = os.environ.get("CMRUNBOOK_NOTEBOOKS")
    if override:
        return Path(override)
    packaged = Path(__file__).parent / "notebooks"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "notebooks"


def default_campaign(value: str = "") -> str:
    """A campaign parameter left empty means ``$CM_CAMPAIGN``, else the demo campaign."""
    return value or os.environ.get("CM_CAMPAIGN") or DEMO_CAMPAIGN


@dataclass(frozen=True)
class Runbook:
    """One notebook and its sidecar."""

    name: str
    path: Path
    sidecar: NotebookSidecar

    @property
    def title(self) -> str:
        return self.sidecar.title

    @property
    def parameters(self) -> dict[str, ParameterSchema]:
        return self.sidecar.parameters

    @property
    def mutates(self) -> bool:
        """Whether the runbook can change CM Service or a database (tagged in its sidecar)."""
        return "mutating" in self.sidecar.tags

    def validate(self, raw: dict[str, str]) -> dict[str, Any]:
        """Turn ``-p KEY VALUE`` strings into typed values, refusing anything the sidecar does not
        allow. Parameters not given keep the notebook's own defaults (not returned)."""
        unknown = sorted(set(raw) - set(self.parameters))
        if unknown:
            raise ParameterError(
                f"Runbook {self.name!r} has no parameter {', '.join(map(repr, unknown))}.",
                hint=f"It accepts: {', '.join(self.parameters)} (see 'cmrunbook show {self.name}').",
            )
        return {key: convert(key, value, self.parameters[key]) for key, value in raw.items()}


def convert(name: str, text: str, schema: ParameterSchema) -> Any:
    """One parameter value from its command-line text, checked against its schema."""
    accepts = describe(schema)
    value: Any
    try:
        if schema.type == "integer":
            value = int(text)
        elif schema.type == "number":
            value = float(text)
        elif schema.type == "boolean":
            lowered = text.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError(text)
            value = lowered in _TRUE
        else:
            value = text
    except ValueError:
        raise ParameterError(
            f"Parameter {name!r} got {text!r}, which is not {accepts}.",
            hint=f"Give {name} {accepts}.",
        ) from None
    if (schema.minimum is not None and value < schema.minimum) or (
        schema.maximum is not None and value > schema.maximum
    ):
        raise ParameterError(
            f"Parameter {name!r} got {value!r}, outside the allowed range: it accepts {accepts}.",
            hint=f"Give {name} {accepts}.",
        )
    return value


def describe(schema: ParameterSchema) -> str:
    """What a parameter accepts, in words: 'an integer from 1 to 720'."""
    noun = {
        "integer": "an integer",
        "number": "a number",
        "boolean": "true or false",
        "string": "a string",
    }[schema.type]
    if schema.minimum is not None and schema.maximum is not None:
        return f"{noun} from {schema.minimum} to {schema.maximum}"
    if schema.minimum is not None:
        return f"{noun} of at least {schema.minimum}"
    if schema.maximum is not None:
        return f"{noun} of at most {schema.maximum}"
    return noun


def list_runbooks(directory: Path | None = None) -> list[Runbook]:
    """Every notebook that has a sidecar, by name."""
    directory = directory or notebooks_dir()
    return [
        Runbook(path.stem, path, read_sidecar(path.with_suffix(".yaml")))
        for path in sorted(directory.glob("*.ipynb"))
        if path.with_suffix(".yaml").is_file()
    ]


def get_runbook(name: str, directory: Path | None = None) -> Runbook:
    """The runbook called ``name`` (the notebook's file name without ``.ipynb``)."""
    runbooks = {runbook.name: runbook for runbook in list_runbooks(directory)}
    if name not in runbooks:
        raise ParameterError(
            f"There is no runbook called {name!r}.",
            hint=f"Available runbooks: {', '.join(runbooks)} (see 'cmrunbook list').",
        )
    return runbooks[name]
