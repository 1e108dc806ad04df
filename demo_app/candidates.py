"""The demo's model versions as evaluation candidates: functions on a batch
of sentences, each the app's whole pipeline (spelling, grammar rules, the
model) loaded on first use, for gantry.evaluate and for

    python -m gantry_gradio evaluate --candidate v1=demo_app.candidates:v1 ..."""

from __future__ import annotations

import functools

from .model import MODEL_VERSIONS
from .pipeline import CorrectionPipeline, load_pipeline


@functools.cache
def _pipeline(version: str) -> CorrectionPipeline:
    folder = MODEL_VERSIONS[version]
    if not folder.is_dir():
        raise FileNotFoundError(f"no {version} at {folder}: python -m demo_app.retrain makes it")
    return load_pipeline(str(folder))


def unchanged(batch: list[str]) -> list[str]:
    """The baseline every corrector must beat: the input as it came."""
    return list(batch)


def v1(batch: list[str]) -> list[str]:
    """The bundled model's pipeline (what the demo serves by default)."""
    return _pipeline("v1").correct(list(batch))


def v2(batch: list[str]) -> list[str]:
    """The pipeline with the model fine-tuned on the review labels."""
    return _pipeline("v2").correct(list(batch))
