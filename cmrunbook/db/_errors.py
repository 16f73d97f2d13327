"""The ways a backup or a restore can fail, each a named type carrying its facts.

They extend :mod:`cmrunbook.errors`, so a notebook shows each as the one paragraph it carries
(what went wrong, what to do next) instead of a traceback.
"""

from __future__ import annotations

from ..errors import ActionRefusedError, ParameterError, RunbookError


class DatabaseUnreachableError(RunbookError):
    """No session with PostgreSQL: server down, wrong host or port, or the login was refused."""

    def __init__(self, message: str, *, endpoint: str, hint: str = "") -> None:
        self.endpoint = endpoint
        super().__init__(message, hint=hint)


class DatabasePermissionError(RunbookError):
    """The login works but the user may not read (or write) what the runbook needs."""


class UnknownDatabaseError(ParameterError):
    """The server answers but has no database (or schema) of the name given."""

    def __init__(self, message: str, *, name: str, available: list[str], hint: str = "") -> None:
        self.name = name
        self.available = available
        super().__init__(message, hint=hint)


class ClientToolError(RunbookError):
    """``pg_dump``/``pg_restore`` is missing, older than the server, or could not start."""


class NotEnoughSpaceError(RunbookError):
    """The output folder's disk has less room than the dump needs."""

    def __init__(self, message: str, *, needed_bytes: int, free_bytes: int, hint: str = "") -> None:
        self.needed_bytes = needed_bytes
        self.free_bytes = free_bytes
        super().__init__(message, hint=hint)


class DumpError(RunbookError):
    """A dump could not be made, or a dump file (or its manifest) is missing or unusable."""


class RestoreRefusedError(ActionRefusedError):
    """The restore was refused before anything was written; ``reasons`` lists why."""

    def __init__(self, reasons: list[str], *, hint: str = "Nothing was written to the target.") -> None:
        self.reasons = reasons
        super().__init__("Refused: " + " ".join(reasons), hint=hint)


class RestoreFailedError(RunbookError):
    """``pg_restore`` reported errors other than the known duplicates, or the row counts differ."""

    def __init__(
        self,
        message: str,
        *,
        errors: list[str],
        mismatches: dict[str, tuple[int, int]],
        hint: str = "",
    ) -> None:
        self.errors = errors
        self.mismatches = mismatches
        super().__init__(message, hint=hint)
