"""Poison, damage and hostile paths in real spool files: one bad entry is
rejected alone (with its reason, counted in stats()) and everything else is
delivered; a damaged offset file never stops the app from starting; a spool
line can never make delivery touch a file outside the spool and blob folders.

Spool files are written the way a dead process (or a hostile local user, or a
damaged disk) leaves them: a segment `<name>.log` of JSON lines plus its
`.offset`, adopted by the next Client started on the folder."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from gantry_gradio import Client

APP = "poison-app"


def _entry(join_key: str, **prediction) -> dict:
    now = int(time.time() * 1e6)
    return {
        "id": uuid.uuid4().hex,
        "application": APP,
        "version": None,
        "join_key": join_key,
        "timestamp": now,
        "logged_at": now,
        "prediction": {"inputs": prediction or {"text": join_key}, "outputs": None, "tags": None},
    }


def _line(value) -> bytes:
    return json.dumps(value).encode() + b"\n"


def _spool_folder(store: str, tmp_path: Path) -> Path:
    """The folder a Client on (store, blobs) spools to, made by opening one."""
    client = Client(store, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    folder = client.spool.directory
    client.close()
    return folder


def _dead_segment(folder: Path, lines: list[bytes], offset: bytes | None = None) -> Path:
    segment = folder / f"99999-{uuid.uuid4().hex[:12]}.log"
    segment.write_bytes(b"".join(lines))
    if offset is not None:
        segment.with_suffix(".offset").write_bytes(offset)
    return segment


def _deliver(store: str, tmp_path: Path) -> tuple[Client, dict]:
    client = Client(store, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    assert client.flush(60), f"delivery stalled: {client.stats()}"
    return client, client.stats()


def _rejections(stats: dict) -> list[dict]:
    path = Path(stats["rejected_file"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _stored_keys(client: Client) -> set[str]:
    return set(client.query(APP)["join_key"]) if APP in client.list_applications() else set()


@pytest.mark.parametrize(
    "poison, reason",
    [
        ({"k" * 3000: 1}, ""),  # a field name beyond PostgreSQL's index row limit
        ({"a.b": 1, "a": {"b": 2}}, "both named"),  # two values, one field name
        ({"bad\x00key": 1}, ""),  # NUL in a field name: PostgreSQL text refuses it
    ],
    ids=["3000-character key", "colliding dotted key", "NUL in a key"],
)
def test_one_poison_entry_is_dead_lettered_and_the_rest_delivered(
    store_url, tmp_path, poison, reason
):
    folder = _spool_folder(store_url, tmp_path)
    good = [f"good-{i}" for i in range(6)]
    lines = [_line(_entry(k)) for k in good[:3]]
    lines.append(_line(_entry("poison", **poison)))
    lines += [_line(_entry(k)) for k in good[3:]]
    _dead_segment(folder, lines)
    client, stats = _deliver(store_url, tmp_path)
    try:
        assert _stored_keys(client) == set(good)
        assert stats["rejected"] == 1
        (rejection,) = _rejections(stats)
        assert rejection["entry"]["join_key"] == "poison"
        assert reason in rejection["reason"]
        # delivery goes on after it: the app's next records arrive too
        client.log_record(APP, inputs={"text": "after"}, join_key="after")
        assert client.flush(30)
        assert "after" in _stored_keys(client)
    finally:
        client.close()


@pytest.mark.parametrize(
    "damage",
    [
        b"garbage!",
        b"\x00" * 20,
        b"99999999999999",
        b"-5",
        "mid-line",
    ],
    ids=["garbled", "zeroed", "past the end", "negative", "mid-line"],
)
def test_a_damaged_offset_file_never_stops_init(store_url, tmp_path, damage, caplog):
    folder = _spool_folder(store_url, tmp_path)
    keys = [f"k-{i}" for i in range(10)]
    lines = [_line(_entry(k)) for k in keys]
    offset = str(sum(map(len, lines[:4])) + 7).encode() if damage == "mid-line" else damage
    _dead_segment(folder, lines, offset)
    client, stats = _deliver(store_url, tmp_path)
    try:
        stored = _stored_keys(client)
        # mid-line resumes at that line's start: lines 0-3 were delivered before
        assert stored == set(keys[4:] if damage == "mid-line" else keys)
        assert stats["rejected"] == 0
        assert "spool offset file" in caplog.text
    finally:
        client.close()


def test_lines_of_the_wrong_shape_are_rejected_alone(store_url, tmp_path):
    folder = _spool_folder(store_url, tmp_path)
    bad = [
        _line([1, 2, 3]),
        _line("text"),
        _line(None),
        _line(5),
        _line({**_entry("x"), "blobs": "not a list"}),
        _line({**_entry("x"), "blobs": [["only one part"]]}),
        _line({**_entry("x"), "blobs": [[1, 2, 3]]}),
        _line({**_entry("x"), "prediction": "not an object"}),
        _line({**_entry("x"), "prediction": {"inputs": [1]}}),
        _line({**_entry("x"), "timestamp": "yesterday"}),
        _line({**_entry("x"), "timestamp": 2**70}),
        _line({**_entry("x"), "join_key": ""}),
        _line({**_entry("x"), "application": 7}),
        _line({**_entry("x"), "feedback": ["accepted"]}),
        _line({k: v for k, v in _entry("x").items() if k != "prediction"}),
        b"[" * 100_000 + b"\n",  # deeper than any JSON parser recurses
    ]
    good = [_line(_entry(f"g-{i}")) for i in range(3)]
    _dead_segment(folder, [good[0], *bad[:8], good[1], *bad[8:], good[2]])
    client, stats = _deliver(store_url, tmp_path)
    try:
        assert _stored_keys(client) == {"g-0", "g-1", "g-2"}
        assert stats["rejected"] == len(bad)
        assert len(_rejections(stats)) == len(bad)
    finally:
        client.close()


@pytest.mark.parametrize(
    "key, staged",
    [
        ("../../outside.txt", "../../../outside.txt"),
        ("ab/" + "a" * 64 + ".txt", "/tmp/outside.txt"),
        ("../../../../tmp/x/" + "a" * 64 + ".txt", "a" * 64 + ".txt"),
        ("aa/" + "a" * 64 + ".txt", "a" * 64 + ".txt/../../x"),
    ],
    ids=["traversal in both", "absolute staged", "traversal in key", "suffix traversal"],
)
def test_a_spool_line_never_touches_files_outside_its_folders(tmp_path, key, staged):
    store = f"sqlite:///{tmp_path / 'records.db'}"
    folder = _spool_folder(store, tmp_path)
    victim = tmp_path / "outside.txt"
    victim.write_text("keep me")
    blob_dir = folder / "blobs"
    # a real staged blob beside it, so only the names decide
    (blob_dir / ("a" * 64 + ".txt")).write_text("staged")
    entry = {**_entry("hostile"), "blobs": [[key, staged, "text/plain"]]}
    before = {p for p in tmp_path.rglob("*")}
    _dead_segment(folder, [_line(entry), _line(_entry("fine"))])
    client, stats = _deliver(store, tmp_path)
    try:
        assert victim.read_text() == "keep me"
        assert _stored_keys(client) == {"fine"}
        assert stats["rejected"] == 1
        assert "outside the spool" in _rejections(stats)[0]["reason"]
        created = {p for p in tmp_path.rglob("*")} - before
        outside = [
            p
            for p in created
            if not (p.is_relative_to(tmp_path / "spool") or p.is_relative_to(tmp_path / "blobs"))
            and not p.name.startswith("records.db")
        ]
        assert outside == []
    finally:
        client.close()
