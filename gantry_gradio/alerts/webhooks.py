"""Where an alert's notifications go, and how they are signed.

Webhook URLs (a Slack incoming-webhook URL is itself a secret) and signing
secrets may be given as the names of environment variables, so a stored
rule holds no secret and each process reads its own. Signatures follow the
Stripe/Slack pattern: HMAC-SHA256 over "<timestamp>.<body>", sent as
`X-Gantry-Signature: v1=<hex>` with `X-Gantry-Timestamp`, so a receiver can
check both who sent it and that it is fresh."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
from typing import Any

from .destinations import DestinationError, check_url

FORMATS = ("json", "slack")


@dataclasses.dataclass(frozen=True)
class Webhook:
    url: str | None = None
    url_env: str | None = None
    format: str = "json"
    secret_env: str | None = None

    def __post_init__(self) -> None:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("a webhook needs exactly one of url= or url_env=")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"a webhook url must start with http:// or https://: {self.url!r}")
        if self.format not in FORMATS:
            raise ValueError(f"webhook format must be one of {', '.join(FORMATS)}")

    @staticmethod
    def parse(value: Any) -> Webhook:
        """A Webhook from a URL string, a dict of its fields, or a Webhook."""
        if isinstance(value, Webhook):
            return value
        if isinstance(value, str):
            return Webhook(url=value)
        if isinstance(value, dict):
            return Webhook(**value)
        raise ValueError(f"notify= takes URLs or webhook dicts, not {value!r}")

    def target(self) -> str:
        """The URL to post to, read from the environment when configured so
        (and checked to be one: an error must never echo a value that may be
        a secret put in the wrong variable)."""
        if self.url is not None:
            return self.url
        url = os.environ.get(self.url_env or "")
        if not url:
            raise DestinationError(
                f"environment variable {self.url_env} (the webhook URL) is not set"
            )
        return check_url(url, f"environment variable {self.url_env}")

    def request(self, payload: dict[str, Any], timestamp: int) -> tuple[bytes, dict[str, str]]:
        """The body and headers to post for one notification."""
        document = slack_message(payload) if self.format == "slack" else payload
        body = json.dumps(document, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "gantry-gradio-alerts",
            "X-Gantry-Notification-Id": payload["id"],
            "X-Gantry-Timestamp": str(timestamp),
        }
        if self.secret_env is not None:
            secret = os.environ.get(self.secret_env)
            if not secret:
                raise DestinationError(f"environment variable {self.secret_env} is not set")
            headers["X-Gantry-Signature"] = "v1=" + signature(secret, timestamp, body)
        return body, headers


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """What a receiver recomputes to verify a notification."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def slack_message(payload: dict[str, Any]) -> dict[str, Any]:
    """Slack's incoming-webhook shape: one line of text, linking the tab."""
    icon = ":rotating_light:" if payload["transition"] == "fired" else ":white_check_mark:"
    what = "FIRING" if payload["transition"] == "fired" else "resolved"
    text = (
        f"{icon} [{payload['severity']}] {payload['alert']} {what}: {payload['metric']}"
        f"{' of ' + payload['field'] if payload['field'] else ''} = {_number(payload['value'])} "
        f"({payload['condition']}) over {payload['records']} records of "
        f"{payload['application']}, {payload['window_start']} to {payload['window_end']}"
    )
    if payload.get("link"):
        text += f" <{payload['link']}|open the monitoring tab>"
    return {"text": text}


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
