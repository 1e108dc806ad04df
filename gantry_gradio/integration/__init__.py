"""Gradio integration: the log wrapper, the flagging callback, feedback controls.

Importing this package imports gradio; the core (`gantry_gradio` itself) does not."""
