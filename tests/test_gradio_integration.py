"""The Gradio integration, through launched apps driven by gradio_client."""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from gantry_gradio import Client, GantryFlaggingCallback, feedback_controls, monitor, monitor_likes
from gantry_gradio.integration.feedback import NOTHING_TO_RATE, RECORDED
from tests.gradio_apps import connect, event_index, flag_index, launched, trigger_event

OPTIONS = ["incorrect", "offensive", "other"]


def correct(text: str) -> str:
    return text.replace(" go ", " goes ")


@pytest.mark.slow
def test_interface_with_wrapper_and_callback_under_20_concurrent_users(client):
    app = "iface-app"
    demo = gr.Interface(
        monitor(app, correct, output_names=["inference"], client=client),
        gr.Textbox(label="text"),
        gr.Textbox(label="inference"),
        flagging_mode="manual",
        flagging_options=OPTIONS,
        flagging_callback=GantryFlaggingCallback(app, client=client),
    )

    with launched(demo) as url:

        def user(i: int) -> tuple[str, str]:
            gradio_client = connect(url)
            text = f"user {i} go home"
            output = gradio_client.predict(text, api_name="/correct")
            option = i % 3
            for _ in range(2):  # flagging the same example twice
                gradio_client.predict(text, output, fn_index=flag_index(gradio_client, option))
            return text, OPTIONS[option]

        with ThreadPoolExecutor(20) as pool:
            expected = dict(pool.map(user, range(20)))
    assert client.flush(60)
    df = client.query(app)
    assert len(df) == 20, "one prediction per call, flags joined instead of new rows"
    rows = df.set_index("inputs.text")
    assert set(rows.index) == set(expected)
    for text, option in expected.items():
        assert rows.loc[text, "outputs.inference"] == correct(text)
        assert rows.loc[text, "feedback.flag"] == option
        assert rows.loc[text, "tags.status"] == "ok"
        assert rows.loc[text, "tags.latency_ms"] >= 0
    assert df["tags.session"].nunique() == 20


@pytest.mark.slow
def test_blocks_feedback_buttons_join_the_right_prediction(client):
    app = "blocks-app"
    with gr.Blocks() as demo:
        text = gr.Textbox(label="text")
        output = gr.Textbox(label="inference")
        gr.Button("Submit").click(
            monitor(app, correct, output_names=["inference"], client=client),
            text,
            output,
            api_name="predict",
        )
        feedback_controls(app, client=client)

    with launched(demo) as url:
        first = connect(url)
        assert first.predict(api_name="/accept") == NOTHING_TO_RATE

        def user(i: int) -> None:
            gradio_client = connect(url)
            gradio_client.predict(f"sentence {i} go", api_name="/predict")
            verdict = "/accept" if i % 2 == 0 else "/reject"
            assert gradio_client.predict(api_name=verdict) == RECORDED
            if i % 5 == 0:
                assert gradio_client.predict("offensive", api_name="/flag") == RECORDED

        with ThreadPoolExecutor(20) as pool:
            list(pool.map(user, range(20)))
    assert client.flush(60)
    df = client.query(app).set_index("inputs.text")
    assert len(df) == 20
    for i in range(20):
        row = df.loc[f"sentence {i} go"]
        assert bool(row["feedback.accepted"]) is (i % 2 == 0)
        assert (row.get("feedback.flag") == "offensive") is (i % 5 == 0)


def _png(tmp_path, color) -> str:
    path = tmp_path / f"img-{color[0]}.png"
    Image.new("RGB", (6, 4), color=color).save(path)
    return str(path)


@pytest.mark.slow
def test_flagged_image_goes_to_s3_and_back(s3_server, s3_bucket, store_url, tmp_path):
    """The flag joins the monitored prediction, whose image went to S3."""
    client = Client(
        store_url,
        blobs=f"s3://{s3_bucket}/flags",
        spool_dir=tmp_path / "spool",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    app = "image-app"

    @monitor(app, output_names=["description"], client=client)
    def describe(image: str, note: str) -> str:
        return f"{Image.open(image).size} {note}"

    demo = gr.Interface(
        describe,
        [gr.Image(type="filepath", label="image"), gr.Textbox(label="note")],
        gr.Textbox(label="description"),
        flagging_mode="manual",
        flagging_options=OPTIONS,
        flagging_callback=GantryFlaggingCallback(app, client=client),
    )
    try:
        with launched(demo) as url:
            gradio_client = connect(url)
            image = _png(tmp_path, (200, 10, 10))
            output = gradio_client.predict(handle_file(image), "hi", api_name="/describe")
            for _ in range(2):
                gradio_client.predict(
                    handle_file(image), "hi", output, fn_index=flag_index(gradio_client, 1)
                )
        assert client.flush(60)
        df = client.query(app)
        assert len(df) == 1, "the same example flagged twice is one prediction"
        row = df.iloc[0]
        assert row["feedback.flag"] == "offensive"
        assert row["outputs.description"] == "(6, 4) hi"
        uri = row["inputs.image"]
        assert uri.startswith(f"s3://{s3_bucket}/flags/")
        with open(image, "rb") as original:
            assert client.read_blob(uri) == original.read()
    finally:
        client.close()


def test_monitored_image_function_stores_arrays_and_uploaded_files(client, tmp_path):
    app = "pixels"

    @monitor(app, output_names=["mean"], client=client)
    def mean_red(image: np.ndarray, path: str) -> float:
        return float(image[..., 0].mean())

    with gr.Blocks() as demo:
        array_input = gr.Image(type="numpy", label="array")
        path_input = gr.Image(type="filepath", label="path")
        result = gr.Number()
        gr.Button().click(mean_red, [array_input, path_input], result, api_name="mean")
    with launched(demo) as url:
        image = _png(tmp_path, (90, 0, 0))
        assert connect(url).predict(handle_file(image), handle_file(image), api_name="/mean") == 90
    assert client.flush(60)
    row = client.query(app).iloc[0]
    stored = np.load(__import__("io").BytesIO(client.read_blob(row["inputs.image"])))
    assert stored.shape == (4, 6, 3) and stored[0, 0, 0] == 90
    with open(image, "rb") as original:
        assert client.read_blob(row["inputs.path"]) == original.read()


def test_exceptions_are_logged_as_failed_predictions_and_reraised(client):
    app = "failing"

    @monitor(app, client=client)
    def explode(text: str) -> str:
        raise ValueError(f"cannot handle {text}")

    demo = gr.Interface(explode, "text", "text", flagging_mode="never")
    with launched(demo) as url:
        with pytest.raises(AppError):
            connect(url).predict("this", api_name="/explode")
    assert client.flush(30)
    row = client.query(app).iloc[0]
    assert row["tags.status"] == "error"
    assert "ValueError: cannot handle this" in row["tags.error"]
    assert row["inputs.text"] == "this"


def test_streaming_generator_logs_its_final_output(client):
    app = "stream"

    @monitor(app, output_names=["reply"], client=client)
    def stream(prompt: str):
        text = ""
        for word in prompt.split():
            text += word.upper() + " "
            yield text

    demo = gr.Interface(stream, "text", "text", flagging_mode="never")
    with launched(demo) as url:
        assert connect(url).predict("a b c", api_name="/stream") == "A B C "
    assert client.flush(30)
    df = client.query(app)
    assert len(df) == 1 and df.iloc[0]["outputs.reply"] == "A B C "


def test_wrapper_keeps_signature_and_kind(client):
    def sync(text: str, n: int = 1, request: gr.Request = None) -> str:
        return text * n

    async def coroutine(text: str) -> str:
        return text

    async def agen(text: str):
        yield text

    for fn in (sync, coroutine, agen):
        wrapped = monitor("kinds", fn, client=client)
        assert inspect.signature(wrapped) == inspect.signature(fn)
        assert inspect.iscoroutinefunction(wrapped) == inspect.iscoroutinefunction(fn)
        assert inspect.isasyncgenfunction(wrapped) == inspect.isasyncgenfunction(fn)
    assert monitor("kinds", sync, client=client)("ab", 2) == "abab"
    assert asyncio.run(monitor("kinds", coroutine, client=client)("x")) == "x"

    async def drain():
        return [item async for item in monitor("kinds", agen, client=client)("y")]

    assert asyncio.run(drain()) == ["y"]
    assert client.flush(30)
    df = client.query("kinds")
    assert len(df) == 3
    assert "inputs.request" not in df.columns, "gr.Request is context, not an input"
    assert set(df["inputs.n"].dropna()) == {2}


def test_monitoring_failures_never_reach_the_app(client, tmp_path):
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque thing>"

    @monitor("unloggable", client=client)
    def odd(text: str):
        return Opaque()

    result = odd("x")
    assert isinstance(result, Opaque), "the user still gets the result"
    assert client.flush(30)
    row = client.query("unloggable").iloc[0]
    assert row["outputs.output"].startswith("<not stored: ") and "Opaque>" in row["outputs.output"]
    assert "Opaque thing" not in row.to_string(), "never stored by its repr"
    assert "cannot be logged" in row["tags.logging_error"]

    closed = Client(
        f"sqlite:///{tmp_path / 'c.db'}", blobs=tmp_path / "b", spool_dir=tmp_path / "s"
    )
    closed.close()
    assert monitor("closed", correct, client=closed)("we go home") == "we goes home"
    assert closed.stats()["monitoring_errors"] == 1


def test_chatbot_likes_become_acceptance_of_the_right_reply(client):
    app = "chat-app"

    @monitor(app, output_names=["reply"], client=client)
    def respond(message: str, history: list) -> str:
        return f"echo: {message}"

    with gr.Blocks() as demo:
        chatbot = gr.Chatbot()
        box = gr.Textbox()

        def chat(message, history):
            reply = respond(message, history)
            return history + [
                {"role": "user", "content": message},
                {"role": "assistant", "content": reply},
            ]

        box.submit(chat, [box, chatbot], chatbot, api_name="chat")
        monitor_likes(chatbot, app, client=client)

    with launched(demo) as url:
        gradio_client = connect(url)
        history = gradio_client.predict("one", [], api_name="/chat")
        gradio_client.predict("two", history, api_name="/chat")
        like = event_index(gradio_client, "like")
        session = gradio_client.session_hash
        # Browsers send the liked message's content parts; like the older reply.
        trigger_event(
            url,
            session,
            like,
            {"index": 1, "liked": True, "value": [{"type": "text", "text": "echo: one"}]},
        )
        trigger_event(url, session, like, {"index": 3, "liked": False, "value": "echo: two"})
    assert client.flush(30)
    df = client.query(app).set_index("inputs.message")
    assert bool(df.loc["one", "feedback.accepted"]) is True
    assert bool(df.loc["two", "feedback.accepted"]) is False


def test_only_files_inside_gradios_upload_folder_are_uploaded(tmp_path, monkeypatch):
    from gantry_gradio import File
    from gantry_gradio.integration.uploads import as_upload

    uploads = tmp_path / "gradio-uploads"
    (uploads / "abc").mkdir(parents=True)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    inside = uploads / "abc" / "photo.png"
    inside.write_bytes(b"png")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not upload")
    (uploads / "abc" / "link.txt").symlink_to(secret)

    assert isinstance(as_upload(str(inside)), File)
    assert isinstance(as_upload({"path": str(inside), "url": None}), File)
    for hostile in (
        "/etc/passwd",
        str(secret),
        f"{uploads}/../secret.txt",
        str(uploads / "abc" / "link.txt"),
        {"path": "/etc/passwd"},
    ):
        assert as_upload(hostile) == hostile, f"{hostile!r} must stay a plain value"
    assert as_upload("just some text") == "just some text"


@pytest.mark.slow
def test_s3_failure_never_reaches_the_user(s3_server, tmp_path):
    """Blob uploads wait in the spool while the bucket is missing; the app answers."""
    client = Client(
        f"sqlite:///{tmp_path / 'r.db'}",
        blobs="s3://no-such-bucket-yet",
        spool_dir=tmp_path / "spool",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    try:

        @monitor("s3-down", output_names=["size"], client=client)
        def size(image: np.ndarray) -> str:
            return f"{image.shape[1]}x{image.shape[0]}"

        demo = gr.Interface(size, gr.Image(type="numpy"), "text", flagging_mode="never")
        with launched(demo) as url:
            assert (
                connect(url).predict(handle_file(_png(tmp_path, (1, 2, 3))), api_name="/size")
                == "6x4"
            )
        assert not client.flush(2)
        assert client.stats()["pending"] == 1 and "does not exist" in client.stats()["last_error"]
    finally:
        client.close(timeout=1)


def test_a_like_with_nothing_to_join_is_counted_not_raised(client):
    with gr.Blocks() as demo:
        chatbot = gr.Chatbot(value=[{"role": "assistant", "content": "hi"}])
        monitor_likes(chatbot, "no-predictions", client=client)
    with launched(demo) as url:
        gradio_client = connect(url)
        trigger_event(
            url,
            gradio_client.session_hash,
            event_index(gradio_client, "like"),
            {"index": 0, "liked": True, "value": "hi"},
        )
    assert client.stats()["monitoring_errors"] == 1


def test_callback_wired_by_hand_in_blocks_with_login(s3_server, s3_bucket, tmp_path):
    client = Client(
        f"sqlite:///{tmp_path / 'r.db'}",
        blobs=f"s3://{s3_bucket}",
        spool_dir=tmp_path / "spool",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    app = "blocks-flag"
    callback = GantryFlaggingCallback(app, client=client)
    try:
        with gr.Blocks() as demo:
            image = gr.Image(type="filepath", label="photo")
            caption = gr.Textbox(label="caption")
            gr.Button("Caption").click(
                monitor(
                    app,
                    lambda photo: "a red square",
                    output_names=["caption"],
                    input_names=["photo"],
                    client=client,
                ),
                image,
                caption,
                api_name="caption",
            )
            callback.setup([image, caption], None, output_components=[caption])
            gr.Button("Flag").click(
                lambda *values: callback.flag(list(values), "incorrect") and None,
                [image, caption],
                None,
                preprocess=False,
                api_name="flag_example",
            )
        with launched(demo, auth=[("alice", "secret")]) as url:
            user = connect(url, auth=("alice", "secret"))
            picture = _png(tmp_path, (250, 0, 0))
            text = user.predict(handle_file(picture), api_name="/caption")
            user.predict(handle_file(picture), text, api_name="/flag_example")
        assert client.flush(60)
        df = client.query(app)
        assert len(df) == 1, "the flag joined the wrapper's prediction"
        row = df.iloc[0]
        assert row["tags.username"] == "alice"
        assert row["feedback.flag"] == "incorrect" and row["feedback.flagged_by"] == "alice"
        assert row["inputs.photo"].startswith(f"s3://{s3_bucket}/")
        with open(picture, "rb") as original:
            assert client.read_blob(row["inputs.photo"]) == original.read()
    finally:
        client.close()


def test_injected_request_is_never_logged_as_an_input(client):
    app = "injected"

    @monitor(app, client=client)
    def greet(name: str, request: gr.Request | None = None) -> str:
        return f"hi {name} from {request.session_hash[:4] if request else '?'}"

    demo = gr.Interface(greet, "text", "text", flagging_mode="never")
    with launched(demo) as url:
        assert connect(url).predict("bo", api_name="/greet").startswith("hi bo from ")
    assert client.flush(30)
    row = client.query(app).iloc[0]
    assert "inputs.request" not in row.index and row["inputs.name"] == "bo"
    assert "tags.logging_error" not in row.index
