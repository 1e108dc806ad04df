"""Curators: which production records of one interval go into a dataset.

A curator selects and stores one interval as a new dataset version; when and
over which windows it runs is its automation's business (gantry_gradio.automation,
whose action it is). Every curator is a plain dataclass so its definition
can be stored and re-created by `python -m gantry_gradio automations run`."""

from __future__ import annotations

import dataclasses
import json
import random
import tempfile
from abc import ABC, abstractmethod
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from .._timestamps import to_epoch_us, to_timestamp
from ..automation import ActionResult, Automation, IntervalTrigger, register_action
from ..automation.trigger import MIN_INTERVAL_US, duration_us
from ..datasets import DatasetError
from ..datasets.dataset import write_table
from ..names import check_name
from ..store import Selection
from ..store.filters import parse_filter

if TYPE_CHECKING:
    from ..handle import ClientHandle


@dataclasses.dataclass
class Curator(ABC):
    """Selects at most `limit` records of [start, end) matching `filters`."""

    name: str
    application: str
    start_on: Any
    curation_interval: Any
    limit: int
    filters: list = dataclasses.field(default_factory=list, kw_only=True)
    #: No intervals after this (e.g. the end of a month of history); None: run on forever.
    end_on: Any = dataclasses.field(default=None, kw_only=True)

    kind: ClassVar[str]
    action_type: ClassVar[str] = "curator"
    registry: ClassVar[dict[str, type[Curator]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Curator.registry[cls.kind] = cls

    def __post_init__(self) -> None:
        check_name(self.name, "curator", DatasetError)
        if not isinstance(self.limit, int) or isinstance(self.limit, bool) or self.limit < 1:
            raise ValueError(f"limit must be a positive integer, not {self.limit!r}")
        self.start_on = to_timestamp(to_epoch_us(self.start_on, what="start_on", allow_future=True))
        if self.end_on is not None:
            self.end_on = to_timestamp(to_epoch_us(self.end_on, what="end_on", allow_future=True))
        self.curation_interval = pd.Timedelta(
            microseconds=duration_us(self.curation_interval, at_least_us=MIN_INTERVAL_US)
        )
        self.filters = [parse_filter(f).to_dict() for f in self.filters or []]

    @abstractmethod
    def select(
        self, client: ClientHandle, start: pd.Timestamp, end: pd.Timestamp
    ) -> tuple[pd.DataFrame, int]:
        """(the chosen records, how many records the interval had)."""

    def to_dict(self) -> dict[str, Any]:
        fields = dataclasses.asdict(self)
        fields["start_on"] = self.start_on.isoformat()
        fields["end_on"] = None if self.end_on is None else self.end_on.isoformat()
        fields["curation_interval"] = self.curation_interval.isoformat()
        return {"kind": self.kind, **fields}

    @staticmethod
    def from_dict(definition: dict[str, Any]) -> Curator:
        fields = dict(definition)
        return Curator.registry[fields.pop("kind")](**fields)

    def automation(self) -> Automation:
        """This curator on its own interval, as an Automation."""
        trigger = IntervalTrigger(self.start_on, self.curation_interval, end_on=self.end_on)
        return Automation(self.name, trigger, self)

    def create(self, client: ClientHandle | None = None, *, now: Any = None) -> Automation:
        """Store this curator and backfill every interval already over;
        `Automation.create` explains the rest."""
        automation = self.automation()
        automation.create(client, now=now)
        return automation

    def prepare(self, client: ClientHandle) -> None:
        client.create_dataset(self.name, exist_ok=True)

    def run(self, client: ClientHandle, start: pd.Timestamp, end: pd.Timestamp) -> ActionResult:
        """Add the interval's selection to the dataset as one Parquet file in
        a new version. Versions are cumulative (each keeps the previous
        files), and a file already stored by a run that died before the
        ledger heard of it is not added twice."""
        dataset = client.get_dataset(self.name)
        file_name = f"interval_{start.strftime('%Y-%m-%dT%H-%M-%S')}Z.parquet"
        latest = dataset.latest_version()
        previous = latest.files if latest else ()
        if any(f.name == file_name for f in previous):  # stored before a crash
            return ActionResult(f"{file_name} was already stored", latest.version_id)
        chosen, total = self.select(client, start, end)
        message = (
            f"Added data from {self.application} from start time "
            f"{start.isoformat()} to end time {end.isoformat()} - {len(chosen)} records "
            f"added from interval of size {total}."
        )
        rows_before = latest.row_count if latest else 0
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / file_name
            write_table(_parquet_ready(chosen), path)
            version = dataset.add_files(
                [(file_name, path)],
                message,
                None if rows_before is None else rows_before + len(chosen),
                keep=previous,
            )
        return ActionResult(message, version.version_id, {"added": len(chosen), "total": total})

    def _keys(
        self, client: ClientHandle, start: pd.Timestamp, end: pd.Timestamp, field: str | None = None
    ) -> pd.DataFrame:
        return client.store.keys(Selection(self.application, start, end, None, self.filters), field)

    def _rows_for(
        self, client: ClientHandle, start: pd.Timestamp, end: pd.Timestamp, keys: list[str]
    ) -> pd.DataFrame:
        """Whole records for chosen keys, in time order."""
        selection = Selection(self.application, start, end, None, self.filters)
        return client.store.rows_for_keys(selection, keys)


@dataclasses.dataclass
class BoundedRangeCurator(Curator):
    """The `limit` records with the highest (or, `ascending`, lowest) value of
    `sort_by`, e.g. the most toxic outputs of each day. Records without the
    field are not candidates."""

    sort_by: str = ""
    ascending: bool = False
    kind: ClassVar[str] = "bounded_range"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.sort_by:
            raise ValueError(
                "BoundedRangeCurator needs sort_by, e.g. 'projections.entropy(outputs.inference)'"
            )

    def select(
        self, client: ClientHandle, start: pd.Timestamp, end: pd.Timestamp
    ) -> tuple[pd.DataFrame, int]:
        total = len(self._keys(client, start, end))
        present = [*self.filters, (self.sort_by, "is not null")]
        chosen = client.store.rows(
            Selection(self.application, start, end, None, present),
            limit=self.limit,
            newest_first=False,
            order_by=self.sort_by,
            ascending=self.ascending,
        )
        return chosen, total


@dataclasses.dataclass
class UniformCurator(Curator):
    """A uniform random sample of `limit` records; `seed` makes it reproducible."""

    seed: int = 0
    kind: ClassVar[str] = "uniform"

    def select(
        self, client: ClientHandle, start: pd.Timestamp, end: pd.Timestamp
    ) -> tuple[pd.DataFrame, int]:
        keys = list(self._keys(client, start, end)["join_key"])
        chosen = _interval_random(self.name, self.seed, start).sample(
            keys, min(self.limit, len(keys))
        )
        return self._rows_for(client, start, end, chosen), len(keys)


@dataclasses.dataclass
class StratifiedCurator(Curator):
    """A sample balanced over the values of `stratify_by` (e.g. the flag
    category): each value gets an equal share of `limit`; a value with fewer
    records gives its unused share to the others. Records without the field
    form a stratum of their own."""

    stratify_by: str = ""
    seed: int = 0
    kind: ClassVar[str] = "stratified"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.stratify_by:
            raise ValueError("StratifiedCurator needs stratify_by, e.g. 'feedback.flag'")

    def select(
        self, client: ClientHandle, start: pd.Timestamp, end: pd.Timestamp
    ) -> tuple[pd.DataFrame, int]:
        found = self._keys(client, start, end, self.stratify_by)
        strata: dict[Any, list[str]] = defaultdict(list)
        for key, value in zip(found["join_key"], found["value"], strict=True):
            strata[None if pd.isna(value) else value].append(key)
        rng = _interval_random(self.name, self.seed, start)
        chosen: list[str] = []
        for value, share in balanced_shares(
            {v: len(k) for v, k in strata.items()}, self.limit
        ).items():
            chosen.extend(rng.sample(strata[value], share))
        return self._rows_for(client, start, end, chosen), len(found)


def _parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Nested values (JSON fields) as JSON text: Parquet columns need one type."""
    ready = frame.copy()
    for column in ready.columns[ready.dtypes.map(pd.api.types.is_object_dtype)]:
        if ready[column].map(lambda v: isinstance(v, (dict, list))).any():
            ready[column] = ready[column].map(
                lambda v: json.dumps(v) if isinstance(v, (dict, list)) else v
            )
    return ready


def _interval_random(name: str, seed: int, start: pd.Timestamp) -> random.Random:
    """Per curator, seed and interval, so re-running an interval picks the same records."""
    return random.Random(f"{name}:{seed}:{start.isoformat()}")


def balanced_shares(sizes: dict[Any, int], limit: int) -> dict[Any, int]:
    """Water-filling: raise every stratum's share by one in turn (in a fixed
    order) until `limit` is reached or all strata are used up."""
    shares = dict.fromkeys(sizes, 0)
    order = sorted(sizes, key=lambda v: (v is None, str(v)))
    remaining = min(limit, sum(sizes.values()))
    while remaining:
        for value in order:
            if remaining and shares[value] < sizes[value]:
                shares[value] += 1
                remaining -= 1
    return shares


register_action("curator", Curator.from_dict)
