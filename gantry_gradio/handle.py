"""What the parts a client runs need of it: its database engine and field
catalog, the read contract, logging and datasets. Review queues,
evaluations, automations, alerts and curators take this narrow handle
instead of importing `Client`, which makes them: the client depends on
them, never the other way round."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import sqlalchemy as sa

    from .datasets import Dataset
    from .store import Catalog, RecordStore


class ClientHandle(Protocol):
    engine: sa.Engine
    catalog: Catalog
    store: RecordStore
    closed: bool

    def close(self) -> None: ...

    def log_record(
        self, application: str, version: Any = None, *, feedback: dict | None = None,
        join_key: str | None = None, **record: Any,
    ) -> str: ...  # fmt: skip

    def log_records(self, application: str, version: Any = None, **columns: Any) -> list[str]: ...

    def get_dataset(self, name: str) -> Dataset: ...

    def create_dataset(self, name: str, *, exist_ok: bool = False) -> Dataset: ...

    def stored_join_keys(self, application: str, join_keys: Sequence[str]) -> set[str]: ...

    def check_application(self, application: Any) -> str: ...

    def flush(self, timeout: float | None = None) -> bool: ...
