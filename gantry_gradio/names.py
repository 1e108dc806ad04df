"""The one rule for names a user gives to stored things (datasets, curators,
automations, alerts, review queues).

Why one rule: these names become folder names on S3 and locally, and keys
in the store; identifier characters keep them the same everywhere and keep
`../` out of every path. Each caller raises its own error type, so a bad
alert name is a plain `ValueError` and a bad dataset name a `DatasetError`."""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")


def check_name(name: Any, what: str, error: type[ValueError] = ValueError) -> str:
    """`name` if it is valid for a `what` (said in the message), else `error`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise error(
            f"{what} name {name!r} is not valid: use letters, digits and underscores, "
            "starting with a letter or underscore, at most 100 characters "
            "(e.g. 'new_accounts')"
        )
    return name
