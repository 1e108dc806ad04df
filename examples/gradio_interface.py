"""Style 1: gr.Interface with the log wrapper and the flagging callback.

    python examples/gradio_interface.py        # then open http://127.0.0.1:7860

Every prediction is logged (inputs, outputs, latency, session); the Flag
buttons (incorrect / offensive / other) attach the flag to that prediction.
Records go to ./gantry_data (SQLite + local folder) unless GANTRY_STORE /
GANTRY_BLOBS say otherwise.
"""

import gradio as gr

import gantry_gradio as gantry

APP = "example-interface"


@gantry.monitor(APP, version="rules-v1", output_names=["inference"])
def correct(text: str) -> str:
    """A stand-in model; any function Gradio can call works the same way."""
    return text.replace(" go ", " goes ").replace(" i ", " I ")


demo = gr.Interface(
    correct,
    gr.Textbox(label="text", value="She go to school and i follow."),
    gr.Textbox(label="inference"),
    flagging_mode="manual",
    flagging_options=["incorrect", "offensive", "other"],
    flagging_callback=gantry.GantryFlaggingCallback(APP),
)

if __name__ == "__main__":
    gantry.init()
    demo.launch(server_name="127.0.0.1")
