"""Hostile filters and field names get one answer on every engine: SQLite,
PostgreSQL, the lake engine (DuckDB) and Spark. No value or name reaches an
engine as SQL text it could reinterpret: quotes, backslashes, `%`, `_`,
Spark's `${env:…}` substitution, unicode, numbers beyond 64 bits."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gantry_gradio.lake import LakeRecordStore
from gantry_gradio.store import Filter, FilterError, Selection
from gantry_gradio.store.filters import OPERATORS

APP = "hostile-filters"
SECRET_VARIABLE = "GANTRY_TEST_SECRET"
SECRET = "wJalrXUtnFEMI-not-to-be-read"
#: Field names (input keys) a hostile user may log.
NAMES = [
    "text",
    f"${{env:{SECRET_VARIABLE}}}",
    "${system:user.home}",
    "it's",
    'q"uote',
    "back\\slash",
    "per%cent_",
    "`tick`",
    "名前",
    ":param",
]
HOSTILE = [
    "'",
    '"',
    "\\",
    "\\'",
    "%",
    "_",
    "%%",
    f"${{env:{SECRET_VARIABLE}}}",
    "${system:user.home}",
    "${hivevar:x}",
    "`",
    "é",
    "e\u0301",
    "ß",
    "SS",
    "\u2028",
    "😀",
    " ",
    "--",
    ";",
    ":p",
    "$1",
    "?",
    "\t",
    "\n",
    "\\n",
]
NUMBERS = [0, -1.5, 7, 2**53, 2**53 + 1.0, 1e300, -1e300, 1e-300, 123456789.125]
FIELDS = [f"inputs.{name}" for name in NAMES] + ["tags.n", "feedback.ok", "version", "join_key"]


def _text(i: int, j: int) -> str:
    return HOSTILE[(i * 7 + j) % len(HOSTILE)] + HOSTILE[(i + 3 * j) % len(HOSTILE)] * (i % 3)


STORED_TEXTS = sorted({_text(i, j) for i in range(36) for j in range(len(NAMES))})


@pytest.fixture
def engines(client, tmp_path, monkeypatch):
    """The same 36 records over three April 2022 days, exported to the lake;
    a reader per engine."""
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    start = pd.Timestamp("2022-04-01", tz="UTC")
    n = 36
    client.log_records(
        APP,
        inputs=[{name: _text(i, j) for j, name in enumerate(NAMES)} for i in range(n)],
        tags=[{"n": NUMBERS[i % len(NUMBERS)]} for i in range(n)],
        feedbacks=[{"ok": i % 3 == 0} for i in range(n)],
        timestamps=[start + pd.Timedelta(hours=2 * i) for i in range(n)],
        version=f"v'1\\%_${{env:{SECRET_VARIABLE}}}",
    )
    assert client.flush(60)
    client.export_lake(APP)
    lake = LakeRecordStore(client.store, client.blobs, tmp_path / "cache", exporter=client.lake)
    yield {"sql": client.store, "lake": lake}
    lake.close()


def _answer(store, filters: list) -> tuple:
    try:
        keys = store.keys(Selection(APP, filters=filters))["join_key"]
    except FilterError as error:
        return ("refused", str(error))
    return ("rows", tuple(sorted(keys)))


_VALUE = st.one_of(
    st.sampled_from(STORED_TEXTS),
    st.lists(
        st.one_of(
            st.sampled_from(HOSTILE),
            st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
        ),
        max_size=4,
    ).map("".join),
    st.sampled_from(NUMBERS),
    st.integers(-(2**80), 2**80),
    st.floats(),  # NaN and infinities too: refused alike everywhere
    st.booleans(),
)
_FILTER = st.one_of(
    st.builds(
        Filter,
        field=st.sampled_from(FIELDS),
        op=st.sampled_from(OPERATORS),
        value=st.one_of(_VALUE, st.lists(_VALUE, max_size=3)),
    ),
    # The same as text, as the tab's filter box takes it.
    st.builds(
        lambda field, op, value: f"{field} {op} {json.dumps(value, ensure_ascii=False)}",
        st.sampled_from([f for f in FIELDS if " " not in f]),
        st.sampled_from(OPERATORS),
        _VALUE,
    ),
)
_FILTERS = st.lists(_FILTER, min_size=1, max_size=2)


def _same_everywhere(stores: dict, examples: int) -> list[tuple]:
    """Runs `examples` random filter lists; returns the row answers seen."""
    seen: list[tuple] = []

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_FILTERS)
    def check(filters):
        answers = {name: _answer(store, filters) for name, store in stores.items()}
        first = next(iter(answers.values()))
        assert all(a == first for a in answers.values()), (filters, answers)
        assert SECRET not in repr(first)
        seen.append(first)

    check()
    return seen


@pytest.mark.slow
def test_a_thousand_hostile_filters_agree_on_sql_and_the_lake(engines):
    seen = _same_everywhere(engines, 1000)
    rows = [answer for answer in seen if answer[0] == "rows"]
    # Not vacuous: filters both match rows and refuse. (Hypothesis seeds its
    # derandomized examples from the test's location too: a clone elsewhere
    # draws other lists; one drew 284 of the 1,000 with rows.)
    assert len(rows) > 200 and any(answer[1] for answer in rows)
    assert len(seen) - len(rows) > 50


def test_hostile_filters_agree_on_spark(engines, spark, store_url):
    from gantry_gradio.lake import SparkRecordStore

    if not store_url.startswith("sqlite"):
        pytest.skip("Spark reads the lake files: one SQL store suffices")
    on_spark = SparkRecordStore(engines["sql"], spark, blobs=engines["lake"].blobs)
    stores = {"sql": engines["sql"], "spark": on_spark}
    seen = _same_everywhere(stores, 150)
    assert any(answer[0] == "rows" and answer[1] for answer in seen)


def test_spark_never_substitutes_variables(engines, spark, store_url):
    """A field named `${env:…}` is read as its name and a value compared as
    itself: no secret in an answer or an error, no different row count."""
    from gantry_gradio.lake import SparkRecordStore

    if not store_url.startswith("sqlite"):
        pytest.skip("Spark reads the lake files: one SQL store suffices")
    assert os.environ[SECRET_VARIABLE] == SECRET
    on_spark = SparkRecordStore(engines["sql"], spark, blobs=engines["lake"].blobs)
    selection = Selection(APP)
    frame = on_spark.rows(selection)
    assert SECRET not in frame.to_csv()
    assert frame[f"inputs.${{env:{SECRET_VARIABLE}}}"].tolist() == (
        engines["sql"].rows(selection)[f"inputs.${{env:{SECRET_VARIABLE}}}"].tolist()
    )
    for filters in (
        [("inputs.text", "<", f"${{env:{SECRET_VARIABLE}}}")],
        [("inputs.text", "==", "%")],
        [("inputs.text", "contains", "\\")],
        [("tags.n", "<", 10**23)],
    ):
        expected = _answer(engines["sql"], filters)
        assert _answer(on_spark, filters) == expected, filters
    # The caller's own session still substitutes as it was configured to.
    assert spark.conf.get("spark.sql.variable.substitute") == "true"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("tags.n < 100000000000000000000000000000000000000000000000000", None),
        ("tags.n < 1e999", "finite number"),
        ('tags.n < "NaN"', "holds number values"),
    ],
)
def test_numbers_beyond_64_bits_compare_or_are_refused_clearly(engines, spec, message):
    for store in engines.values():
        if message is None:
            below = [i for i in range(36) if NUMBERS[i % len(NUMBERS)] < 10**50]
            assert len(store.keys(Selection(APP, filters=[spec]))) == len(below) > 0
        else:
            with pytest.raises(FilterError, match=message):
                store.keys(Selection(APP, filters=[spec]))
