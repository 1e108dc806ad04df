"""Run as a subprocess by test_app_kill: a monitored Gradio app on a given
port, store and spool, served until it is killed.

    python tests/reliability/monitored_app.py STORE BLOBS SPOOL PORT"""

import sys

import gradio as gr

from gantry_gradio import Client, monitor

store, blobs, spool, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = Client(store, blobs=blobs, spool_dir=spool)


def correct(text: str) -> str:
    return text.replace(" go ", " goes ")


with gr.Blocks() as demo:
    text = gr.Textbox()
    output = gr.Textbox()
    gr.Button("Go").click(
        monitor("killed-app", correct, output_names=["inference"], client=client),
        text,
        output,
        api_name="predict",
        concurrency_limit=None,
    )
demo.launch(server_name="127.0.0.1", server_port=port, quiet=True)
