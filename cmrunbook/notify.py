"""Tell a chat channel when a campaign turns: a Slack-compatible incoming webhook.

The webhook URL is a credential (whoever has it can post to the channel), so it travels as a
:class:`~cmrunbook.config.Secret` and is never logged, printed or written. A webhook that fails
is logged and otherwise ignored: a chat outage must never cost the report itself.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .config import Secret
from .errors import ParameterError

if TYPE_CHECKING:
    from .changes import Change

logger = logging.getLogger(__name__)

NOTIFY_URL_ENV = "CMRUNBOOK_NOTIFY_URL"
_TIMEOUT_S = 10.0


def webhook(url: str | None) -> Secret | None:
    """The webhook as given (``--notify``, or ``$CMRUNBOOK_NOTIFY_URL`` through the option), or none.

    Checked before any report runs, so a mistyped setting is one clear error rather than a
    warning after every report; the message does not repeat the value.
    """
    value = (url or "").strip()
    if not value:
        return None
    if not value.startswith(("https://", "http://")):
        raise ParameterError(
            f"The notification webhook (--notify or {NOTIFY_URL_ENV}) is not an http(s) URL.",
            hint="Give the full incoming-webhook URL, e.g. https://hooks.slack.com/services/..., "
            f"preferably through {NOTIFY_URL_ENV} from a secret store; or leave both unset.",
        )
    return Secret(value)


def message(change: Change, link: str) -> str:
    """The short message: campaign, verdict, what changed, and the report to read (Slack's
    ``<url>`` link; ``&``, ``<`` and ``>`` in the text escaped as Slack requires)."""
    text = f"cmrunbook: {change.campaign} is {change.verdict.upper()}: {change.text}."
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"{escaped} Report: <{link}>"


def post(url: Secret, text: str) -> bool:
    """Send ``text`` as Slack's ``{"text": ...}``; True when the webhook accepted it.

    Only the kind of failure is logged (an HTTP status or an exception's type), never the URL
    or an exception's message, which can quote the URL.
    """
    import httpx  # here, not at the top: the command line imports this module for its option

    try:
        response = httpx.post(url.reveal(), json={"text": text}, timeout=_TIMEOUT_S)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        logger.warning("The notification webhook could not be reached (%s).", type(error).__name__)
        return False
    if not response.is_success:
        logger.warning("The notification webhook refused the message (HTTP %s).", response.status_code)
        return False
    return True
