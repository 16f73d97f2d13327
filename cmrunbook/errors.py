"""Every failure the runbook reports, as one small tree of named exception types.

Each exception's ``str()`` is the one paragraph a pilot reads: what went wrong and what to do
next. The facts travel as attributes (HTTP status, URL, the server's cleaned message) so callers
never parse messages. No exception ever holds the CM_TOKEN.
"""

from __future__ import annotations


class RunbookError(Exception):
    """Base of every error raised by cmrunbook; carries a one-paragraph explanation."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for this error in a notebook: its paragraph, not a traceback."""
        return [f"{type(self).__name__}: {self}"]


class ConfigurationError(RunbookError):
    """A setting (environment variable or ``~/.cm-client`` entry) cannot be used as given."""


class ParameterError(RunbookError):
    """A runbook parameter is unknown, of the wrong type or out of range."""


class ServiceError(RunbookError):
    """CM Service could not do what was asked; base of the HTTP failure kinds."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status_code: int | None = None,
        detail: str = "",
        request_id: str = "",
        hint: str = "",
    ) -> None:
        self.url = url
        self.status_code = status_code
        self.detail = detail
        self.request_id = request_id
        super().__init__(message, hint=hint)


class ServiceUnreachableError(ServiceError):
    """No HTTP answer at all: wrong URL, service down, network or timeout."""


class V1DisabledError(ServiceError):
    """``/healthz`` answers but the v1 routes are a bare 404: ``FEATURE_API_V1`` is off."""


class AuthenticationError(ServiceError):
    """The ingress in front of CM Service refused the credentials (401/403)."""


class NotFoundError(ServiceError):
    """The row (campaign, script, job, queue) does not exist: CM Service's quoted 404."""


class NotAllowedError(ServiceError):
    """CM Service refused the action because of the target's current status."""


class InvalidRequestError(ServiceError):
    """CM Service rejected the request itself (FastAPI validation, 422 with a list)."""


class ServerError(ServiceError):
    """CM Service failed while handling the request (5xx)."""


class ActionRefusedError(RunbookError):
    """The runbook itself refused to act: report mode, wrong confirmation, or state changed."""
