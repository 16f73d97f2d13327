"""The ``cmrunbook`` command: a thin shell over the library, one function call per command.

A :class:`~cmrunbook.errors.RunbookError` becomes its one-paragraph message on stderr and exit
status 2; a runbook that ran but failed exits 1.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from . import notify, report, runbooks
from .errors import RunbookError


def _clear_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Show a RunbookError as its paragraph, never as a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RunbookError as error:
            click.echo(f"error: {error}", err=True)
            raise SystemExit(2) from None

    return wrapper


output_dir_option = click.option(
    "--output-dir",
    type=click.Path(path_type=Path),
    default=report.DEFAULT_RUNS_DIR,
    show_default=True,
    help="Where run folders (and the report's index.html) are written.",
)


@click.group(help="Executable runbooks for CM Service pilots.")
def app() -> None:
    pass


@app.command("list")
def list_command() -> None:
    """List the runbooks and what each is for."""
    for runbook in runbooks.list_runbooks():
        marker = " (can change things; needs confirm)" if runbook.mutates else ""
        click.echo(f"{runbook.name:22} {runbook.title}{marker}")


@app.command("show")
@click.argument("name")
@_clear_errors
def show_command(name: str) -> None:
    """Show a runbook's parameters: type, default and description."""
    runbook = runbooks.get_runbook(name)
    click.echo(f"{runbook.name}: {runbook.title}\n")
    click.echo(runbook.sidecar.description.strip() + "\n")
    for key, schema in runbook.parameters.items():
        click.echo(f"  {key}: {runbooks.describe(schema)}, default {schema.default!r}")
        click.echo(f"      {schema.description}")


@app.command("run")
@click.argument("name")
@click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="KEY VALUE",
    help="Set a parameter (repeatable).",
)
@output_dir_option
@_clear_errors
def run_command(name: str, parameters: tuple[tuple[str, str], ...], output_dir: Path) -> None:
    """Run a runbook headless; write the executed notebook, report.html and summary.json."""
    runbook = runbooks.get_runbook(name)
    values = runbook.validate(dict(parameters))
    result = report.execute(runbook, values, runs_dir=output_dir)
    click.echo(f"notebook: {result.notebook}")
    click.echo(f"summary:  {result.directory / 'summary.json'}")
    click.echo(f"report:   {result.html}")
    if not result.ok:
        click.echo(f"error: {report.failure_line(result.summary)}", err=True)
        raise SystemExit(1)


@app.command("report")
@click.argument("campaigns", nargs=-1)
@click.option("--all", "all_campaigns", is_flag=True, help="Every campaign not accepted or rescued.")
@output_dir_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds a campaign's run may take before it is stopped and reported failed.",
)
@click.option("--keep", type=click.IntRange(min=1), help="Keep only the newest N reports per campaign.")
@click.option(
    "--notify",
    "notify_url",
    envvar=notify.NOTIFY_URL_ENV,
    show_envvar=True,
    metavar="URL",
    help="Slack-compatible webhook, told when a verdict changes or a new red item appears "
    "(prefer the environment variable: it is a secret).",
)
@click.option(
    "--runs-url",
    envvar="CMRUNBOOK_RUNS_URL",
    show_envvar=True,
    default="",
    metavar="URL",
    help="URL where the output directory is published, for links in notifications "
    "(default: file:// paths).",
)
@_clear_errors
def report_command(
    campaigns: tuple[str, ...],
    all_campaigns: bool,
    output_dir: Path,
    timeout: float,
    keep: int | None,
    notify_url: str | None,
    runs_url: str,
) -> None:
    """Scheduled status report: run campaign_status in report mode (it cannot change anything)
    for each CAMPAIGN or --all, record what changed since each campaign's previous report,
    regenerate OUTPUT_DIR/index.html, and exit non-zero if any report could not be produced."""
    from . import scheduled  # here: the other commands need neither the client nor the history

    logging.basicConfig(format="%(levelname)s: %(message)s")
    # Jupyter's kernel clients of earlier runs warn when collected; a run's failure is in its summary.
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    request = scheduled.ReportRequest(
        campaigns, all_campaigns, output_dir, timeout, keep, notify.webhook(notify_url), runs_url
    )
    outcome = scheduled.run(request)
    for item in outcome.reports:
        click.echo(item.line)
    click.echo(f"index: {outcome.index}")
    raise SystemExit(outcome.exit_code)


@app.command(
    "sandbox", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port (0: a free one).")
@click.option("--scenario", default="demo", show_default=True, help="demo, recorded or scale:N.")
@click.option("--db", "db_url", default=None, help="SQLAlchemy URL (default: a private SQLite file).")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@_clear_errors
def sandbox_command(
    host: str, port: int, scenario: str, db_url: str | None, command: tuple[str, ...]
) -> None:
    """Serve the local CM Service stand-in. With '-- COMMAND ...', start it on a free port, run
    COMMAND with CM_SERVICE pointing at it, stop it, and exit with COMMAND's status."""
    from .sandbox.server import serve

    raise SystemExit(
        serve(host=host, port=port, scenario=scenario, db_url=db_url, command=list(command) or None)
    )
