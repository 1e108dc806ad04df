"""Join keys: the one value that ties a prediction to feedback arriving later."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Any

MAX_JOIN_KEY_LENGTH = 256
#: Random bytes one thread draws at a time for new keys. os.urandom releases
#: the GIL, and with many threads logging each release waits up to the switch
#: interval to get it back: one draw per 4,096 keys instead of one per key.
_POOL_BYTES = 16 * 4096


class _RandomPool(threading.local):
    """Each thread's unread os.urandom bytes; a forked child starts a new pool
    (see below) so parent and child never hand out the same bytes."""

    def __init__(self) -> None:
        self.data = b""
        self.at = 0

    def take16(self) -> bytes:
        if self.at >= len(self.data):
            self.data, self.at = os.urandom(_POOL_BYTES), 0
        self.at += 16
        return self.data[self.at - 16 : self.at]


_pool = _RandomPool()


def _new_pool_in_child() -> None:
    global _pool
    _pool = _RandomPool()


os.register_at_fork(after_in_child=_new_pool_in_child)


class JoinKey:
    """Builds join keys exactly as the original Gantry SDK did, so keys computed by
    existing Gantry code (md5 of the sorted-keys JSON dump) still join here."""

    @staticmethod
    def from_dict(d: dict[str, Any]) -> str:
        if not isinstance(d, dict):
            raise TypeError(f"JoinKey.from_dict needs a dict, got {type(d).__name__}")
        return hashlib.md5(json.dumps(d, sort_keys=True).encode()).hexdigest()

    @staticmethod
    def new() -> str:
        """A fresh random key, for a prediction whose caller gave none."""
        return _pool.take16().hex()  # as random as uuid4, from os.urandom


def check_join_key(join_key: Any) -> str:
    """Join keys become primary keys, so reject what a database cannot index well."""
    if not isinstance(join_key, str):
        raise TypeError(f"join_key must be a str, got {type(join_key).__name__}")
    if not join_key or len(join_key) > MAX_JOIN_KEY_LENGTH:
        raise ValueError(f"join_key must be 1 to {MAX_JOIN_KEY_LENGTH} characters long")
    if "\x00" in join_key:
        raise ValueError("join_key must not contain NUL characters")
    return join_key
