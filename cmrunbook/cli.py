"""The ``cmrunbook`` command: a thin shell over the library, one function call per command.

Every command turns a :class:`~cmrunbook.errors.RunbookError` into its one-paragraph message
on stderr and exit status 2; a runbook that ran but failed exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import report, runbooks
from .errors import RunbookError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Executable runbooks for CM Service pilots.",
)


def _fail(error: RunbookError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(2)


@app.command("list")
def list_command() -> None:
    """List the runbooks and what each is for."""
    for runbook in runbooks.list_runbooks():
        marker = " (can change things; needs confirm)" if runbook.mutates else ""
        typer.echo(f"{runbook.name:22} {runbook.title}{marker}")


@app.command("show")
def show_command(name: Annotated[str, typer.Argument(help="Runbook name")]) -> None:
    """Show a runbook's parameters: type, default and description."""
    try:
        runbook = runbooks.get_runbook(name)
    except RunbookError as error:
        raise _fail(error) from None
    typer.echo(f"{runbook.name}: {runbook.title}\n")
    typer.echo(runbook.sidecar.description.strip() + "\n")
    for key, schema in runbook.parameters.items():
        typer.echo(f"  {key}: {runbooks.describe(schema)}, default {schema.default!r}")
        typer.echo(f"      {schema.description}")


@app.command("run")
def run_command(
    name: Annotated[str, typer.Argument(help="Runbook name (see 'cmrunbook list')")],
    parameter: Annotated[
        list[tuple[str, str]] | None,
        typer.Option("-p", "--parameter", help="KEY VALUE: set a parameter (repeatable)"),
    ] = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Where run folders are written")
    ] = report.DEFAULT_RUNS_DIR,
) -> None:
    """Run a runbook headless; write the executed notebook, report.html and summary.json."""
    try:
        runbook = runbooks.get_runbook(name)
        values = runbook.validate(dict(parameter or []))
    except RunbookError as error:
        raise _fail(error) from None
    result = report.execute(runbook, values, runs_dir=output_dir)
    typer.echo(f"notebook: {result.notebook}")
    typer.echo(f"summary:  {result.directory / 'summary.json'}")
    typer.echo(f"report:   {result.html}")
    if not result.ok:
        failure = result.summary["failure"]
        cell = failure.get("cell_index")
        where = f"cell {cell} (In [{failure.get('execution_count')}])" if cell is not None else "the run"
        typer.echo(f"error: {where} failed: {failure['error']}: {failure['message']}", err=True)
        raise typer.Exit(1)


@app.command(
    "sandbox",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def sandbox_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: a free one)")] = 8080,
    scenario: Annotated[str, typer.Option(help="demo, recorded, or scale:N")] = "demo",
    db: Annotated[
        str | None, typer.Option("--db", help="SQLAlchemy URL (default: a private SQLite file)")
    ] = None,
) -> None:
    """Serve the local CM Service stand-in; with '-- COMMAND', run COMMAND against it and stop."""
    from .sandbox.server import serve

    command = list(ctx.args)
    try:
        code = serve(host=host, port=port, scenario=scenario, db_url=db, command=command or None)
    except RunbookError as error:
        raise _fail(error) from None
    raise typer.Exit(code)
