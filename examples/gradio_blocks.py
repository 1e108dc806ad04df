"""Style 2: gr.Blocks with the log wrapper and ready Accept / Reject / Flag controls.

    python examples/gradio_blocks.py           # then open http://127.0.0.1:7860

Submit a sentence, then Accept or Reject the correction (or flag it): the
feedback joins the prediction this browser session made. A second tab or user
is a separate session and never rates your prediction. The Monitoring tab shows
what was logged to whoever has its access token: open the link printed at
start (or set GANTRY_MONITORING_TOKEN; see README "Monitoring tab").
"""

import argparse

import gradio as gr

import gantry_gradio as gantry

APP = "example-blocks"


@gantry.monitor(APP, version="rules-v1", output_names=["inference"])
def correct(text: str) -> str:
    """A stand-in model; the demo app (demo_app/) uses a real seq2seq corrector."""
    return text.replace(" go ", " goes ").replace(" i ", " I ")


with gr.Blocks(title="gantry_gradio example") as demo:
    with gr.Tab("Corrector"):
        gr.Markdown("## Grammar corrector (monitored by gantry_gradio)")
        text = gr.Textbox(label="Your sentence", value="She go to school and i follow.")
        submit = gr.Button("Submit", variant="primary")
        inference = gr.Textbox(label="Correction")
        submit.click(correct, text, inference, api_name="predict")
        gantry.feedback_controls(APP)
    with gr.Tab("Monitoring"):
        # Needs the access token printed at start; see README "Monitoring tab".
        monitoring = gantry.monitoring_tab(APP)
    monitoring.load_with(demo)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args()
    gantry.init()
    demo.launch(server_name=args.host, server_port=args.port)
