"""The lake engine's per-day partials (gantry_gradio/lake/day_partials.py):
answers from them equal the SQL store's, a changed day is scanned again and
only it, a restarted process answers from the kept ones without scanning, a
partial computed while its day changed is never kept, and partials a kept file
got from code that does not keep them are dropped."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from gantry_gradio.lake import day_partials
from gantry_gradio.lake.day_partials import TABLE
from gantry_gradio.store.contract import Selection
from tests.test_lake import (
    APRIL,
    FULL,
    MEDIUM,
    _assert_reads_equal,
    _fixed_records,
    _lake_client,
    _log,
)

APP = "partials"
DAY_US = 86_400_000_000


def _kept(client) -> dict[int, int]:
    """Kept partials per day (statements with a partial for it)."""
    cursor = client.store._db.cursor()
    try:
        rows = cursor.execute(
            f"SELECT day_us, count(*) FROM {TABLE} GROUP BY day_us ORDER BY day_us"
        ).fetchall()
    finally:
        cursor.close()
    return dict(rows)


class _Scans:
    """The statements DuckDB runs on the records table."""

    def __init__(self, client) -> None:
        self.statements: list[str] = []
        sa.event.listen(client.store.duck, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if "gantry_records_" in statement:
            self.statements.append(statement)


def _day_of(stamp: pd.Timestamp) -> int:
    return int(stamp.floor("D").value // 1000)


@pytest.fixture
def exported(tmp_path):
    client = _lake_client(None, tmp_path)
    records = _fixed_records(range(6), 9)
    keys = _log(client, APP, records)
    assert not client.export_lake(APP)[0].failed
    client.create_view(APP, "saved", "2022-04-02", None, ["tags.num < 10"])
    yield client, records, keys
    client.close()


@pytest.mark.slow
def test_reads_from_partials_equal_sql_and_a_changed_day_alone_is_scanned(exported):
    client, records, keys = exported
    assert _assert_reads_equal(client, APP, view="saved", depth=FULL, around=MEDIUM) > 50
    kept = _kept(client)
    assert sorted(kept) == [_day_of(APRIL + pd.Timedelta(days=d)) for d in range(6)]

    scans = _Scans(client)
    _assert_reads_equal(client, APP, view="saved", depth=FULL, around=MEDIUM)
    aggregates = [s for s in scans.statements if "GROUP BY" in s or "count(" in s]
    # every aggregation answered from partials: only unaligned window edges are scanned
    assert all("gantry_day" in s for s in aggregates), aggregates[:2]

    # late feedback on day 2 and a late prediction on day 4: those days only
    client.log_record(APP, feedback={"ok": False, "note": "late"}, join_key=keys[2 * 9 + 1])
    _log(client, APP, [dict(records[4 * 9], timestamp=APRIL + pd.Timedelta(days=4, hours=3))])
    assert client.flush(60)
    client.store.compile_selection(Selection(APP))  # brings the copy up to date, reads nothing
    changed = {_day_of(APRIL + pd.Timedelta(days=d)) for d in (2, 4)}
    assert set(_kept(client)) == set(kept) - changed
    scans.statements.clear()
    client.store.percent_true(Selection(APP), "feedback.ok", "day")
    (scan,) = [s for s in scans.statements if "gantry_day" in s]
    assert scan.count("hour_us >=") == 2  # two one-day ranges, not the month
    _assert_reads_equal(client, APP, view="saved", depth=FULL, around=MEDIUM)
    assert set(_kept(client)) == set(kept)

    client.delete_records(APP, [keys[5 * 9 + 2]])
    assert _day_of(APRIL + pd.Timedelta(days=5)) in _kept(client)
    client.store.compile_selection(Selection(APP))
    assert _day_of(APRIL + pd.Timedelta(days=5)) not in _kept(client)
    _assert_reads_equal(client, APP, view="saved", depth=FULL, around=MEDIUM)


@pytest.mark.slow
def test_a_restarted_process_answers_from_kept_partials_without_scanning(tmp_path):
    client = _lake_client(None, tmp_path)
    _log(client, APP, _fixed_records(range(6), 9))
    assert not client.export_lake(APP)[0].failed
    _assert_reads_equal(client, APP, depth=FULL)
    kept = _kept(client)
    client.close()

    again = _lake_client(None, tmp_path)
    try:
        assert again.store._file.kept and _kept(again) == kept
        scans = _Scans(again)
        _assert_reads_equal(again, APP, depth=FULL)
        # (the unaligned window's first and last partial days are always scanned)
        assert not [s for s in scans.statements if "hour_us >=" in s]
    finally:
        again.close()


def test_a_partial_computed_while_its_day_changed_is_not_kept(exported):
    """A sync committing during the scan (simulated inside `run`) bumps the
    day's generation: the answer is returned, the partial is not kept."""
    client, _, _ = exported
    store = client.store
    compiled = store.compile_selection(Selection(APP))
    table = compiled.table
    stmt = sa.select(table.c.hour_us, sa.func.count()).group_by(table.c.hour_us)
    changed = _day_of(APRIL + pd.Timedelta(days=3))

    def run(statement):
        if "gantry_day" in str(statement):
            with store._lock:
                store._cursor.begin()
                store._partials.invalidate(store._cursor, compiled.app_id, [changed])
                store._cursor.commit()
        return sa_run(statement)

    def sa_run(statement):
        with compiled.engine.connect() as conn:
            result = conn.execute(statement)
            return result.fetchall(), list(result.keys())

    before = set(_kept(client))
    rows, _ = store._partials.answer(compiled.app_id, table, (None, None), stmt, run)
    assert sum(count for _, count in rows) == 54
    after = set(_kept(client)) - before
    assert changed not in after
    assert len(after) == 5  # the other days are kept


def test_statements_with_too_many_groups_are_answered_directly(exported, monkeypatch):
    client, _, _ = exported
    monkeypatch.setattr(day_partials, "MAX_PARTIAL_ROWS", 5)
    before = _kept(client)
    counts = client.store.value_counts(Selection(APP), "outputs.score", None)
    assert counts["count"].sum() == 54 and len(counts) > 5
    reference = client.store._sql.value_counts(Selection(APP), "outputs.score", None)
    pd.testing.assert_frame_equal(counts, reference)
    assert _kept(client) == before


@pytest.mark.slow
def test_partials_of_a_state_saved_by_other_code_are_dropped(tmp_path):
    """A kept file whose table an older version changed (it does not keep
    partials): they no longer match its table, so they go at opening."""
    client = _lake_client(None, tmp_path)
    _log(client, APP, _fixed_records(range(4), 5))
    assert not client.export_lake(APP)[0].failed
    _assert_reads_equal(client, APP, depth=MEDIUM)
    path = client.store._file.path
    assert _kept(client)
    client.close()

    db = duckdb.connect(str(path))
    db.execute("UPDATE gantry_mirror_state SET seen_change = seen_change + 1")
    db.close()
    again = _lake_client(None, tmp_path)
    try:
        assert _kept(again) == {}
    finally:
        again.close()


def test_answers_that_cannot_be_kept_are_still_returned(exported, caplog):
    """Keeping is an optimisation: a DuckDB failure writing the partials (a
    full disk, say) leaves the read's answer right and logs a warning."""
    client, _, _ = exported
    partials = client.store._partials

    class FailingWriter:
        def __init__(self, cursor) -> None:
            self.cursor = cursor

        def execute(self, statement, *args):
            if statement.startswith("INSERT"):
                raise duckdb.IOException("No space left on device")
            return self.cursor.execute(statement, *args)

        def __getattr__(self, name):
            return getattr(self.cursor, name)

    partials._writer = FailingWriter(partials._writer)
    counts = client.store.value_counts(Selection(APP), "tags.txt", "day")
    reference = client.store._sql.value_counts(Selection(APP), "tags.txt", "day")
    pd.testing.assert_frame_equal(counts, reference)
    assert _kept(client) == {}
    assert "could not keep per-day answers" in caplog.text
