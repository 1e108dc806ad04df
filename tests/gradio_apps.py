"""Launch Gradio apps on 127.0.0.1 for the tests, and find their endpoints."""

from __future__ import annotations

import contextlib

import gradio as gr
from gradio_client import Client as GradioClient

from tests.servers import free_port


@contextlib.contextmanager
def launched(demo: gr.Blocks):
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def connect(url: str) -> GradioClient:
    return GradioClient(url, verbose=False)


def flag_index(client: GradioClient, option_number: int) -> int:
    """gr.Interface's Flag buttons are undocumented endpoints named Flag, Flag_1…"""
    name = "Flag" if option_number == 0 else f"Flag_{option_number}"
    for index, dependency in enumerate(client.config["dependencies"]):
        if dependency.get("api_name") == name:
            return index
    raise LookupError(f"no flag endpoint {name}")
