"""Where dumps live and the manifest written beside each one.

A manifest says what a dump holds (server, database, alembic revision, exact row counts), how
big it is and its SHA-256, so a restore can refuse a corrupted dump or one of another revision,
and can verify what it restored. It holds no password. Files appear under their final name only
when complete: they are written under a hidden temporary name, flushed, then renamed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ._connection import Fingerprint
from ._errors import DumpError
from ._tools import ClientTool

DUMP_DIR_ENV = "CMRUNBOOK_DUMP_DIR"
DEFAULT_DUMP_DIR = Path("~/cmrunbook-dumps")
MANIFEST_FORMAT = "cmrunbook-dump-manifest/1"
DUMP_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".manifest.json"
BACKUP_PREFIX = "dump"
SAFETY_PREFIX = "safety"


def dump_dir(output_dir: str = "") -> Path:
    """The dump folder: the parameter, else ``$CMRUNBOOK_DUMP_DIR``, else ``~/cmrunbook-dumps``."""
    chosen = output_dir.strip() or os.environ.get(DUMP_DIR_ENV) or str(DEFAULT_DUMP_DIR)
    return Path(chosen).expanduser()


def manifest_path(dump: Path) -> Path:
    """``dump-x-20261204153000.dump`` → ``dump-x-20261204153000.manifest.json``."""
    return dump.with_name(dump.name.removesuffix(DUMP_SUFFIX) + MANIFEST_SUFFIX)


def newest_dump(directory: Path) -> Path | None:
    """The newest backup (not a safety dump) in ``directory`` that has its manifest, if any."""
    if not directory.is_dir():
        return None
    dumps = [
        path
        for path in directory.glob(f"{BACKUP_PREFIX}-*{DUMP_SUFFIX}")
        if path.is_file() and manifest_path(path).is_file()
    ]
    return max(dumps, key=lambda path: (path.stat().st_mtime, path.name), default=None)


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


@dataclass(frozen=True)
class Manifest:
    """What a dump holds and how to check it; the JSON file beside the dump."""

    dump_file: str
    created_at: str
    host: str
    port: int
    database: str
    schema: str
    server_version: str
    server_major: int
    alembic_revision: str | None
    row_counts: dict[str, int]
    size_bytes: int
    sha256: str
    pg_dump_version: str
    pg_dump_major: int
    pg_dump_options: list[str] = field(default_factory=list)
    format: str = MANIFEST_FORMAT

    @classmethod
    def describe_dump(
        cls,
        dump: Path,
        name: str,
        source: Fingerprint,
        created_at: str,
        pg_dump: ClientTool,
        options: list[str],
    ) -> Manifest:
        """The manifest of the finished ``dump`` (still under its temporary path) that will be
        called ``name``, of ``source`` as read in the dump's own snapshot."""
        return cls(
            dump_file=name,
            created_at=created_at,
            host=source.host,
            port=source.port,
            database=source.database,
            schema=source.schema,
            server_version=source.server_version,
            server_major=source.server_major,
            alembic_revision=source.alembic_revision,
            row_counts=dict(source.row_counts),
            size_bytes=dump.stat().st_size,
            sha256=sha256_of(dump),
            pg_dump_version=pg_dump.version,
            pg_dump_major=pg_dump.major,
            pg_dump_options=options,
        )

    @property
    def source(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"


def write_manifest(manifest: Manifest, path: Path) -> Path:
    text = json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n"
    write_atomically(path, text.encode("utf-8"))
    return path


def read_manifest(dump: Path) -> Manifest:
    """The manifest beside ``dump``; a missing or unreadable one is a :class:`DumpError`."""
    path = manifest_path(dump)
    if not path.is_file():
        raise DumpError(
            f"The dump {dump} has no manifest ({path.name} is missing beside it), so its "
            "checksum, alembic revision and row counts cannot be checked.",
            hint="Restore only dumps made by the database_backup runbook, which writes the "
            "manifest; make a new one with it.",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {item.name for item in fields(Manifest)}
        return Manifest(**{key: value for key, value in data.items() if key in known})
    except (ValueError, TypeError) as error:
        raise DumpError(
            f"The manifest {path} cannot be read: {error}.",
            hint="Make a new dump with the database_backup runbook.",
        ) from None


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent or complete, never partial."""
    with partial_file(path) as temporary:
        temporary.write_bytes(data)
        publish(temporary, path)


@contextmanager
def partial_file(final: Path) -> Iterator[Path]:
    """A hidden temporary file beside ``final`` (same disk, so publishing is a rename), removed
    on the way out unless :func:`publish` gave it its final name."""
    descriptor, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".partial")
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
    finally:
        temporary.unlink(missing_ok=True)


def publish(temporary: Path, final: Path) -> None:
    """Flush the complete file ``temporary`` to disk and give it its final name, refusing to
    replace another file."""
    if final.exists():
        raise DumpError(
            f"{final} already exists; the runbook never overwrites a dump or a manifest.",
            hint="Wait a second and run again (names carry the time), or move the old file away.",
        )
    with temporary.open("rb") as stream:
        os.fsync(stream.fileno())
    os.replace(temporary, final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
