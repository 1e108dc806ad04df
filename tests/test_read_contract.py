"""The read contract is the only door: the tab's panels, baselines, curators and
the projector's reads give the same answers on a second implementation (an
in-memory pandas store) as on the SQL store, with the SQL internals locked."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from gantry_gradio import BoundedRangeCurator, StratifiedCurator, UniformCurator
from gantry_gradio.dashboard import panels
from gantry_gradio.dashboard.panels import Scope
from gantry_gradio.projections import resolve
from gantry_gradio.projections.projector import Projector
from tests.memory_store import MemoryRecordStore

APP = "contract"
START = pd.Timestamp("2022-04-04", tz="UTC")
ACCEPTED, FLAG = "feedback.accepted", "feedback.flag"
CHARS = "projections.entropy.chars"


class _Locked:
    """Stands in for the engine, catalog and view store: any use fails the test."""

    def __getattr__(self, name: str):
        raise AssertionError(f"went around the read contract (.{name})")


@pytest.fixture
def seeded(client):
    """10 days x 8 predictions with feedback, flags, a numeric tag; the first
    5 days projected; a baseline and a view."""
    n = 80
    client.log_records(
        APP,
        inputs=[{"text": f"t{i}"} for i in range(n)],
        outputs=[{"inference": "x" * (i % 13 + 1)} for i in range(n)],
        feedbacks=[
            {
                "accepted": i % 3 != 0,
                **({"flag": ["incorrect", "other"][i % 2]} if i % 5 == 0 else {}),
            }
            for i in range(n)
        ],
        tags=[{"account_age_days": (7 * i) % 40} for i in range(n)],
        timestamps=[START + pd.Timedelta(hours=3 * i) for i in range(n)],
    )
    assert client.flush(60)
    client.compute_projections(
        APP, None, START + pd.Timedelta(days=5), projections=["entropy"], progress=False
    )
    reference = pd.DataFrame({"outputs.inference": ["y" * (i % 7 + 3) for i in range(30)]})
    client.register_baseline(APP, reference, projections=["entropy"])
    client.create_view(
        APP, "young", START + pd.Timedelta(days=2), None, ["tags.account_age_days < 20"]
    )
    return client


def _everything(client, scope: Scope) -> dict:
    """What each reader of records computes, on whatever store `client.store` is."""
    shown = panels.snapshot(
        client,
        scope,
        accepted_field=ACCEPTED,
        flag_field=FLAG,
        tag="tags.account_age_days",
        projection=CHARS,
        page_size=7,
    )
    end = START + pd.Timedelta(days=10)
    curators = [
        BoundedRangeCurator("top", APP, START, "2D", 3, sort_by=CHARS),
        UniformCurator(
            "uniform", APP, START, "2D", 5, seed=3, filters=["tags.account_age_days > 5"]
        ),
        StratifiedCurator("strata", APP, START, "2D", 6, stratify_by=FLAG),
    ]
    entropy = resolve("entropy")
    projector = Projector(client.store, _Locked(), _Locked(), [entropy])
    snapshot = dataclasses.asdict(shown)
    # An open-ended window ends "now": a moment later on the second store.
    snapshot["window"] = snapshot["window"][0]
    return {
        "snapshot": snapshot,
        "curated": {c.name: _chosen(c, client, end) for c in curators},
        "pending": projector.pending(APP, entropy),
        "compare": client.compare_to_baseline(APP, CHARS, view="young"),
        "query": client.query(APP, view="young", newest_first=True, limit=5, offset=2),
        "histogram": client.histogram(APP, "tags.account_age_days", bins=4, view="young"),
        "keys": client.stored_join_keys(APP, ["nope", *client.query(APP, limit=3)["join_key"]]),
    }


def _chosen(curator, client, end) -> tuple[list[str], int]:
    chosen, total = curator.select(client, START, end)
    return list(chosen["join_key"]), total


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing as None: a column holding only missing values reads as None from
    one store and NaN from the other, and that is no difference to a reader."""
    frame = frame.reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None)


def _same(left, right) -> None:
    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(_plain(left), _plain(right), check_dtype=False)
    elif isinstance(left, dict):
        assert left.keys() == right.keys()
        for key in left:
            _same(left[key], right[key])
    elif dataclasses.is_dataclass(left):
        _same(dataclasses.asdict(left), dataclasses.asdict(right))
    elif isinstance(left, float):
        assert left == pytest.approx(right, nan_ok=True)
    else:
        assert left == right


@pytest.mark.parametrize(
    "scope",
    [
        Scope(APP, bucket="day"),
        Scope(APP, view="young", bucket="week"),
        Scope(
            APP,
            START + pd.Timedelta(days=3),
            START + pd.Timedelta(days=6),
            filters=["feedback.accepted == true"],
        ),
    ],
    ids=["all", "view", "window+filter"],
)
def test_every_reader_answers_alike_on_a_second_store(seeded, monkeypatch, scope):
    on_sql = _everything(seeded, scope)
    assert on_sql["snapshot"]["headline"]["predictions"] > 0
    assert on_sql["pending"] > 0 and on_sql["compare"].production_count > 0
    memory = MemoryRecordStore.copy_of(seeded.store)
    for internal in ("store", "engine", "catalog", "views"):
        monkeypatch.setattr(seeded, internal, memory if internal == "store" else _Locked())
    _same(on_sql, _everything(seeded, scope))


def test_a_store_changed_behind_the_contract_shows_in_every_reader(seeded, monkeypatch):
    """Not a cached copy: dropping records in the second store changes what
    the tab and the curators report."""
    memory = MemoryRecordStore.copy_of(seeded.store)
    frame = memory.records[APP]
    memory.records[APP] = frame[frame["timestamp"] < START + pd.Timedelta(days=1)]
    monkeypatch.setattr(seeded, "store", memory)
    monkeypatch.setattr(seeded, "catalog", _Locked())
    headline = panels.headline(seeded, Scope(APP), ACCEPTED, FLAG)
    assert headline["predictions"] == 8
    chosen, total = UniformCurator("u", APP, START, "1D", 100).select(
        seeded, START, START + pd.Timedelta(days=10)
    )
    assert total == len(chosen) == 8
