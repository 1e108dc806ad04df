"""Issue 14, through launched apps: what Gradio injects is never stored, the
login cannot be spoofed by an input, a flag never forges a prediction, and text
naming someone else's upload is never read as a file."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from pathlib import Path

import fastapi
import gradio as gr
import httpx
import pytest
import uvicorn
from gradio_client import handle_file
from PIL import Image
from starlette.middleware.sessions import SessionMiddleware

from gantry_gradio import GantryFlaggingCallback, monitor
from tests.gradio_apps import connect, flag_index, launched
from tests.servers import free_port

OAUTH_TOKEN = "hf_oauth_SECRET_token_value"
HEADER_SECRET = "sk-header-SECRET-value"
FULL_NAME = "Alice Secretname"
SECRETS = (OAUTH_TOKEN, HEADER_SECRET, FULL_NAME, "alice@example.com")


@contextlib.contextmanager
def served_with_oauth_login(demo: gr.Blocks):
    """The app mounted in FastAPI behind a signed session cookie, which is where
    Gradio keeps a Hugging Face login. /test-login stands in for the OAuth
    callback (hf.co is unreachable here) and writes what that callback writes,
    so Gradio injects a real gr.OAuthToken and gr.OAuthProfile."""
    app = fastapi.FastAPI()

    @app.get("/test-login")
    def login(request: fastapi.Request) -> dict:
        request.session["oauth_info"] = {
            "access_token": OAUTH_TOKEN,
            "scope": "openid profile",
            "expires_at": int(time.time()) + 3600,
            "userinfo": {
                "preferred_username": "hf-alice",
                "name": FULL_NAME,
                "email": "alice@example.com",
                "profile": "https://huggingface.co/hf-alice",
                "picture": "https://huggingface.co/avatars/alice.png",
            },
        }
        return {}

    app = gr.mount_gradio_app(app, demo, path="/")
    app.add_middleware(SessionMiddleware, secret_key=uuid.uuid4().hex, https_only=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}/"
    finally:
        server.should_exit = True
        thread.join(10)


def _stored_text(df) -> str:
    return json.dumps(df.astype(str).to_dict("records"))


def test_secrets_gradio_injects_are_never_stored(client):
    app = "secrets"

    @monitor(app, output_names=["reply"], tag_inputs=["username", "x_region"], client=client)
    def answer(
        text: str,
        username: str,
        oauth_token: gr.OAuthToken | None,
        profile: gr.OAuthProfile | None,
        request: gr.Request,
        x_api_key: gr.Header,
        x_region: gr.Header | None = None,
        progress=gr.Progress(),  # noqa: B008 - Gradio's documented way to ask for progress
    ) -> str:
        assert oauth_token is not None and oauth_token.token == OAUTH_TOKEN
        assert profile is not None and x_api_key == HEADER_SECRET
        return f"{text} for {profile.username}"

    @monitor(app, output_names=["reply"], client=client)
    def helper(text, credential):  # the app passes a token by hand, positionally
        return text.upper()

    def outer(text: str, oauth_token: gr.OAuthToken | None) -> str:
        return helper(text, oauth_token)

    with gr.Blocks() as demo:
        text, claimed = gr.Textbox(label="text"), gr.Textbox(label="username")
        reply = gr.Textbox()
        gr.Button().click(answer, [text, claimed], reply, api_name="answer")
        gr.Button().click(outer, text, reply, api_name="outer")

    with served_with_oauth_login(demo) as url:
        cookie = httpx.get(f"{url}test-login").headers["set-cookie"].split(";")[0]
        user = connect(
            url, headers={"cookie": cookie, "x-api-key": HEADER_SECRET, "x-region": "eu-west"}
        )
        assert user.predict("hi", "root", api_name="/answer") == "hi for hf-alice"
        assert user.predict("yo", api_name="/outer") == "YO"
    assert client.flush(30)
    df = client.query(app)
    assert len(df) == 2
    stored = _stored_text(df)
    for secret in SECRETS:
        assert secret not in stored, f"{secret!r} was stored"
    fields = {c for c in df.columns if c.startswith(("inputs.", "outputs."))}
    assert fields == {"inputs.text", "inputs.username", "outputs.reply"}, (
        "neither injected values nor a token the app passed by hand are inputs"
    )
    row = df.set_index("inputs.text").loc["hi"]
    assert row["tags.username"] == "hf-alice", "the OAuth login is the user"
    assert row["inputs.username"] == "root", "the typed name is kept as what it is: an input"
    assert row["tags.x_region"] == "eu-west", "a header named in tag_inputs is kept on purpose"


def test_a_token_nested_in_an_argument_is_removed_at_any_depth(client):
    """`helper(text, {"token": oauth_token})`: the token is still a token."""
    token = gr.OAuthToken(token=OAUTH_TOKEN, scope="openid", expires_at=0)

    class Credential:
        def __repr__(self) -> str:
            return f"Credential({OAUTH_TOKEN})"

    @monitor("nested", output_names=["reply"], client=client)
    def helper(text, settings, extra=None):
        return text.upper()

    helper("a", {"token": token, "mode": "fast", "deep": [{"t": token}, (token, 1)]})
    helper("b", {"mode": "slow"}, extra=[Credential()])  # unstorable: its type, not its repr
    assert client.flush(30)
    df = client.query("nested")
    stored = _stored_text(df)
    assert OAUTH_TOKEN not in stored and "OAuthToken" not in stored
    row = df.set_index("inputs.text").loc["a"]
    assert row["inputs.settings.mode"] == "fast"
    assert row["inputs.settings.deep"] == [{}, [1]]
    other = df.set_index("inputs.text").loc["b"]
    assert other["inputs.extra"][0].startswith("<not stored: ")


def test_tagging_a_token_or_request_is_refused():
    def fn(text: str, oauth_token: gr.OAuthToken | None, request: gr.Request) -> str:
        return text

    for name in ("oauth_token", "request"):
        with pytest.raises(ValueError, match="never stored"):
            monitor("refused", fn, tag_inputs=[name])


def test_identity_cannot_be_spoofed_by_an_input_named_username(client):
    app = "identity"
    callback = GantryFlaggingCallback(app, client=client)

    def correct(text: str, username: str) -> str:
        return text.capitalize()

    with gr.Blocks() as demo:
        text, username = gr.Textbox(label="text"), gr.Textbox(label="username")
        inference = gr.Textbox(label="inference")
        gr.Button().click(
            monitor(app, correct, tag_inputs=["username"], client=client),
            [text, username],
            inference,
            api_name="correct",
        )
        callback.setup([text, inference], None, output_components=[inference])
        gr.Button().click(
            lambda t, i, claimed: callback.flag([t, i], "incorrect", username=claimed) and None,
            [text, inference, username],
            None,
            api_name="flag_it",
        )
    with launched(demo, auth=[("alice", "pw"), ("bob", "pw")]) as url:
        alice = connect(url, auth=("alice", "pw"))
        alice.predict("hello", "bob", api_name="/correct")
        alice.predict("hello", "Hello", "bob", api_name="/flag_it")
        bob = connect(url, auth=("bob", "pw"))
        bob.predict("report", "", "alice", api_name="/flag_it")  # no prediction: a report
    assert client.flush(30)
    row = client.query(app).iloc[0]
    assert row["tags.username"] == "alice"
    assert row["inputs.username"] == "bob"
    assert row["feedback.flagged_by"] == "alice"
    report = client.query(f"{app}.reports").iloc[0]
    assert report["tags.username"] == "bob" and report["feedback.flagged_by"] == "bob"


def _png(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.png"
    Image.new("RGB", (5, 3), color=(10, 200, 10)).save(path)
    return str(path)


def _blob_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


def _run(url: str, fn_index: int, data: list, session: str) -> int:
    """A direct call with a payload of our choosing (gradio_client would
    upload a local path itself, and so make it this user's upload)."""
    return httpx.post(
        f"{url}gradio_api/run/predict",
        json={"data": data, "fn_index": fn_index, "session_hash": session},
        timeout=30,
    ).status_code


@pytest.mark.slow
def test_a_flag_without_a_prediction_is_a_report_and_copies_no_upload(client, tmp_path):
    app = "flag-forgery"
    received: list[str] = []

    @monitor(app, output_names=["size"], client=client)
    def size(image: str, note: str) -> str:
        received.append(image)
        return f"{Image.open(image).size} {note}"

    demo = gr.Interface(
        size,
        [gr.Image(type="filepath", label="image"), gr.Textbox(label="note")],
        gr.Textbox(label="size"),
        flagging_mode="manual",
        flagging_options=["incorrect", "offensive"],
        flagging_callback=GantryFlaggingCallback(app, client=client),
    )
    with launched(demo) as url:
        victim = connect(url)
        assert victim.predict(handle_file(_png(tmp_path, "private")), "mine", api_name="/size")
        assert client.flush(30)
        blobs_before = _blob_files(tmp_path)
        uploaded = received[0]
        attacker = connect(url)
        flag = flag_index(attacker, 0)
        # Gradio itself accepts any file of its upload folder in a FileData, and
        # any text in a Textbox: both name the victim's upload here.
        stolen = {"path": uploaded, "meta": {"_type": "gradio.FileData"}}
        assert _run(url, flag, [stolen, uploaded, "(9, 9) forged"], attacker.session_hash) == 200
        for path in ("/etc/passwd", f"{Path(uploaded).parent}/../../../etc/passwd"):
            hostile = {"path": path, "meta": {"_type": "gradio.FileData"}}
            _run(url, flag, [None, path, "y"], attacker.session_hash)
            _run(url, flag, [hostile, "x", "y"], attacker.session_hash)  # Gradio refuses these
    assert client.flush(30)
    predictions = client.query(app)
    assert len(predictions) == 1, "flags without a prediction never count as predictions"
    assert "feedback.flag" not in predictions.columns
    reports = client.query(f"{app}.reports")
    assert len(reports) == 3
    assert set(reports["tags.reported_application"]) == {app}
    assert set(reports["feedback.flag"]) == {"incorrect"}
    assert _blob_files(tmp_path) == blobs_before, "no file was copied for a report"
    assert "file://" not in _stored_text(reports)
    assert set(reports["inputs.note"]) == {
        uploaded,
        "/etc/passwd",
        f"{Path(uploaded).parent}/../../../etc/passwd",
    }


def test_text_naming_another_users_upload_stays_text(client, tmp_path):
    app = "text-not-file"
    received: list[str] = []

    def keep(image: str) -> str:
        received.append(image)
        return "ok"

    @monitor(app, output_names=["echo"], client=client)
    def echo(text: str, choice: str) -> str:
        return text

    with gr.Blocks() as demo:
        image, text = gr.Image(type="filepath"), gr.Textbox()
        choice = gr.Dropdown(["a"], allow_custom_value=True)
        out = gr.Textbox()
        gr.Button().click(keep, image, out, api_name="keep")
        gr.Button().click(echo, [text, choice], out, api_name="echo")
    with launched(demo) as url:
        connect(url).predict(handle_file(_png(tmp_path, "victim")), api_name="/keep")
        uploaded = received[0]
        assert Path(uploaded).is_file()
        assert connect(url).predict(uploaded, uploaded, api_name="/echo") == uploaded
    assert client.flush(30)
    row = client.query(app).iloc[0]
    assert row["inputs.text"] == uploaded and row["inputs.choice"] == uploaded
    assert row["outputs.echo"] == uploaded, "an echo shown in a Textbox stays text"
    assert _blob_files(tmp_path) == []
