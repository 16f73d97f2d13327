"""Every runbook notebook follows the conventions papermill, nbval and Times Square rely on."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path
from typing import Any

import nbformat
import pytest

from cmrunbook.runbooks import notebooks_dir
from cmrunbook.sidecar import PYTHON_TYPES, read_repository_settings, read_sidecar

NOTEBOOKS = sorted(notebooks_dir().glob("*.ipynb"))
ANNOTATIONS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
JINJA_OPENERS = ("{{", "{%", "{#")
"""Jinja's expression, statement and comment delimiters: Times Square renders Markdown cells
with Jinja, so any of these in prose would be read as a template."""


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def literal_parameters(source: str) -> dict[str, tuple[str, Any]]:
    """name -> (annotation, value) for a cell of annotated literal assignments, else fail."""
    parameters = {}
    for statement in ast.parse(source).body:
        assert isinstance(statement, ast.AnnAssign), (
            f"not an annotated assignment: {ast.unparse(statement)}"
        )
        assert isinstance(statement.target, ast.Name)
        assert isinstance(statement.annotation, ast.Name)
        assert statement.value is not None
        parameters[statement.target.id] = (statement.annotation.id, ast.literal_eval(statement.value))
    return parameters


def commented_lines(source: str) -> set[int]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {token.start[0] for token in tokens if token.type == tokenize.COMMENT}


def test_there_is_a_notebook_for_every_runbook_so_far() -> None:
    assert {path.stem for path in NOTEBOOKS} >= {"campaign_status", "triage"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_tagged_parameters_and_holds_only_commented_literals(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    first = code_cells(notebook)[0]
    assert "parameters" in first.metadata.get("tags", [])
    parameters = literal_parameters(first.source)
    assert parameters, "the parameters cell is empty"
    assert len(commented_lines(first.source)) == len(first.source.strip().splitlines())
    for name, (annotation, value) in parameters.items():
        assert annotation in ANNOTATIONS, f"{name}: unsupported annotation {annotation}"
        assert isinstance(value, PYTHON_TYPES[ANNOTATIONS[annotation]]), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_sidecar_is_valid_and_names_exactly_the_parameters_with_types_and_defaults(path: Path) -> None:
    sidecar = read_sidecar(path.with_suffix(".yaml"))
    first = code_cells(nbformat.read(path, as_version=4))[0]
    parameters = literal_parameters(first.source)
    assert list(sidecar.parameters) == list(parameters)
    for name, (annotation, value) in parameters.items():
        schema = sidecar.parameters[name]
        assert schema.type == ANNOTATIONS[annotation], name
        assert schema.default == value, name
        assert type(schema.default) is type(value), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_a_python3_kernelspec(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in code_cells(notebook):
        assert cell.outputs == []
        assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_header_cell_and_markdown_safe_for_times_square_jinja(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    header = notebook.cells[0]
    assert header.cell_type == "markdown"
    assert header.source.startswith("# ")
    assert "Last verified" in header.source
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            assert not [opener for opener in JINJA_OPENERS if opener in cell.source], cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_imports_the_installed_helper_package_not_sibling_files(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    sources = "\n".join(cell.source for cell in code_cells(notebook))
    assert "from cmrunbook" in sources
    assert "sys.path" not in sources


def test_times_square_repository_settings_are_valid() -> None:
    settings = read_repository_settings(notebooks_dir() / "times-square.yaml")
    assert settings.enabled
