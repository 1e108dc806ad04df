"""A rows-table cell opens a stored file only when its own record stored it:
text that looks like a URI (the lake's manifest, another application's
file, a dataset) stays text, on an S3 API server and a local folder alike."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests

from gantry_gradio import Client
from gantry_gradio.dashboard import panels
from gantry_gradio.dashboard.cell_files import stored_file
from gantry_gradio.dashboard.panels import Scope


@pytest.fixture(params=["s3", "local"])
def blob_client(request, tmp_path, store_url):
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        bucket = request.getfixturevalue("s3_bucket")
        options = {"blobs": f"s3://{bucket}/prefix", "s3_endpoint_url": server.endpoint_url}
    else:
        options = {"blobs": tmp_path / "blobs"}
    c = Client(store_url, spool_dir=tmp_path / "spool", **options)
    yield c
    c.close()


def test_only_a_records_own_blobs_become_links(blob_client):
    c = blob_client
    c.log_record("app-b", inputs={"secret": b"app-b's private file"}, outputs={"y": 1})
    c.log_record("app-b", inputs={"x": 1}, outputs={"y": 1})
    assert c.flush(60)
    c.export_lake()
    app_b_blob = c.query("app-b")["inputs.secret"].dropna().iloc[0]
    manifest = c.blobs.uri_for("lake/app=app-b/_manifest.json")
    own = c.log_record("app-a", inputs={"file": b"app-a's own file", "text": "hello"})
    typed = [
        manifest,
        app_b_blob,
        c.blobs.uri_for("lake/app=app-b/day=2022-04-01/part.parquet"),
        c.blobs.uri_for("datasets/anything/v1/data.parquet"),
        str(c.blobs.url(app_b_blob)) if c.blobs.url(app_b_blob).startswith("/") else "x",
    ]
    for text in typed:
        c.log_record("app-a", inputs={"file": text, "text": text})
    assert c.flush(60)

    page = panels.rows_page(c, Scope("app-a"), 0).set_index("join_key")
    link = page.loc[own, "inputs.file"]
    assert link != c.query("app-a").set_index("join_key").loc[own, "inputs.file"]
    if link.startswith("http"):  # presigned: opens app-a's file, and only it
        assert requests.get(link, timeout=10).content == b"app-a's own file"
    else:
        encoded = base64.b64encode(b"app-a's own file").decode()
        assert f";base64,{encoded}" in stored_file(c, "app-a", own, link)
    others = page.drop(index=own)
    assert len(others) == len(typed)
    for key, row in others.iterrows():
        for column in ("inputs.file", "inputs.text"):
            assert row[column] in typed, f"{row[column]!r} was turned into a link"
            assert stored_file(c, "app-a", key, row[column]) == ""
    # A click forged with app-b's row key and file, on app-a's tab.
    app_b_key = c.query("app-b").dropna(subset=["inputs.secret"])["join_key"].iloc[0]
    assert stored_file(c, "app-a", app_b_key, c.blobs.url(app_b_blob)) == ""


def test_a_clicked_file_leaves_no_copy_and_no_url_without_the_token(tmp_path):
    """The launched tab hands the file over in the click's answer only: no
    file is copied for Gradio to serve (a URL that needs no token and never
    expires), and the click itself needs the token."""
    import tempfile

    import gradio as gr

    from gantry_gradio.dashboard.tab import monitoring_tab
    from tests.gradio_apps import TEST_TOKEN, click_row, launched

    c = Client(f"sqlite:///{tmp_path}/r.db", blobs=tmp_path / "blobs", spool_dir=tmp_path / "s")
    try:
        key = c.log_record("files", inputs={"file": b"private bytes"})
        assert c.flush(30)
        shown = panels.rows_page(c, Scope("files"), 0)
        path = shown["inputs.file"].iloc[0]
        with gr.Blocks() as demo:
            monitoring_tab("files", client=c, access_token=TEST_TOKEN)
        before = set(Path(tempfile.gettempdir()).glob("gantry-cell-*"))
        with launched(demo) as url:
            answer = click_row(url, "files", 0, TEST_TOKEN, refresh_token=TEST_TOKEN)
            assert answer["success"], answer
            (detail,) = answer["output"]["data"]
            assert path in detail and key in detail
            assert base64.b64encode(b"private bytes").decode() in detail
            assert "/file=" not in json.dumps(answer)  # nothing Gradio would serve by URL
            refused = click_row(url, "files", 0, "", refresh_token=TEST_TOKEN)
            assert not refused["success"]
            stranger = click_row(url, "files", 0, "", refresh_token="")
            assert not stranger["success"]
        assert set(Path(tempfile.gettempdir()).glob("gantry-cell-*")) == before
    finally:
        c.close()
