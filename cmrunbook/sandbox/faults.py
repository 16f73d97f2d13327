"""The exceptions CM Service raises inside a request, with the same base classes.

CM Service derives "missing row" and several handler errors from ``KeyError``, so their
``str()`` comes back quoted (``"\\"<class '...Script'> 99 not found\\""``); state-rule errors
derive from ``ValueError`` and print plainly. Keeping the same bases makes the sandbox's error
details byte-identical without special cases: a route turns an exception into a reply with
``str(exc)``, exactly as the service's routes do.
"""

from __future__ import annotations

DB_CLASSES = {
    "campaign": "lsst.cmservice.db.campaign.Campaign",
    "step": "lsst.cmservice.db.step.Step",
    "group": "lsst.cmservice.db.group.Group",
    "job": "lsst.cmservice.db.job.Job",
    "script": "lsst.cmservice.db.script.Script",
    "queue": "lsst.cmservice.db.queue.Queue",
    "script_error": "lsst.cmservice.db.script_error.ScriptError",
    "spec_block": "lsst.cmservice.db.spec_block.SpecBlock",
}
"""CM Service's ORM class for each table, as its "not found" messages print it."""


class MissingRowError(KeyError):
    """No row has the requested id or fullname (answered with 404 by the routes)."""

    def __init__(self, table: str, key: object) -> None:
        super().__init__(f"<class '{DB_CLASSES[table]}'> {key} not found")


class TransitionError(ValueError):
    """A state rule forbids the request in the node's current status."""


class MissingScriptInputError(KeyError):
    """A script cannot be written because a data or collection value is missing."""


class MissingNodeUrlError(ValueError):
    """A script lacks the URL (script, log or stamp) the next step needs."""


class BadExecutionMethodError(RuntimeError):
    """The script's method does not fit its handler (e.g. a function run as a shell script)."""


class SubmitError(RuntimeError):
    """Handing a script to the batch system failed (e.g. no ``condor_submit``)."""


class ResolveCollectionsError(KeyError):
    """A collection template names a value nobody defines."""
