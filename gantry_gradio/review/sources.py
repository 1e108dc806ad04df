"""Which records a review queue holds: a selection of the store (saved view,
window, filters) or the rows of a dataset version, then an optional uniform
sample and an order. The join keys are fixed when the queue is made, so
"a uniform 200 of last week" stays the same 200 while reviewers work."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..store import Selection

if TYPE_CHECKING:
    from ..handle import ClientHandle

ORDERS = ("newest", "oldest", "random")
#: A queue is worked by people: a million items is already years of labeling.
MAX_ITEMS = 1_000_000


class ReviewError(ValueError):
    """A review queue or label that cannot be made; the message says why."""


@dataclass(frozen=True)
class QueueSource:
    """`dataset` (with `dataset_version`, default its latest) takes the
    version's join_key column; otherwise the application's records in
    [start, end) of `view` matching `filters`. `sample`: that many drawn
    uniformly (seeded by `seed`), then put in `order`."""

    view: str | None = None
    start: Any = None
    end: Any = None
    filters: list = field(default_factory=list)
    dataset: str | None = None
    dataset_version: str | None = None
    sample: int | None = None
    order: str = "newest"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ReviewError(f"order must be one of {', '.join(ORDERS)}, not {self.order!r}")
        if self.sample is not None and (
            not isinstance(self.sample, int) or isinstance(self.sample, bool) or self.sample < 1
        ):
            raise ReviewError(f"sample must be a positive integer, not {self.sample!r}")
        if self.dataset is not None and (self.view or self.filters or self.start or self.end):
            raise ReviewError("a queue takes its records from a dataset or a selection, not both")

    def to_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        for bound in ("start", "end"):
            if fields[bound] is not None:
                fields[bound] = str(fields[bound])
        fields["filters"] = [getattr(f, "to_dict", lambda f=f: f)() for f in self.filters]
        return fields

    def join_keys(self, client: ClientHandle, application: str) -> list[str]:
        """The queue's records, in the order reviewers will meet them."""
        timed = self._dataset_keys(client, application) if self.dataset else None
        if timed is None:
            selection = Selection(application, self.start, self.end, self.view, self.filters)
            frame = client.store.keys(selection)
            timed = list(zip(frame["join_key"], range(len(frame)), strict=True))
        if self.sample is not None and self.sample < len(timed):
            timed = sorted(random.Random(self.seed).sample(timed, self.sample), key=lambda t: t[1])
        if self.order == "newest":
            timed.reverse()
        elif self.order == "random":
            random.Random(self.seed).shuffle(timed)
        if len(timed) > MAX_ITEMS:
            raise ReviewError(
                f"the queue would hold {len(timed):,} records; at most {MAX_ITEMS:,}: "
                "narrow the selection or pass sample="
            )
        return [key for key, _ in timed]

    def _dataset_keys(self, client: ClientHandle, application: str) -> list[tuple[str, int]]:
        frame = client.get_dataset(self.dataset).get_pandas(self.dataset_version)
        if "join_key" not in frame.columns:
            raise ReviewError(
                f"dataset {self.dataset!r} has no join_key column; a queue needs to know "
                "which record each row is (curators' datasets have one)"
            )
        if "timestamp" in frame.columns:
            frame = frame.sort_values("timestamp", kind="stable")
        keys = list(dict.fromkeys(str(k) for k in frame["join_key"].dropna()))
        stored = client.stored_join_keys(application, keys)
        missing = len(keys) - len(stored)
        if missing:
            raise ReviewError(
                f"{missing:,} of the dataset's {len(keys):,} join keys are not records of "
                f"{application!r}; a queue reviews one application's records"
            )
        return [(key, i) for i, key in enumerate(keys)]
