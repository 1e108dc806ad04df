"""The monitoring dashboard: panel data (SQL aggregations) and the Gradio tab."""
