"""Correctors chained: cheap, safe stages (spelling, rules) before a learned
model, so the model sees words it knows and spends its few parameters on
grammar rather than on misspellings."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from .model import load_corrector
from .spelling import SpellingStage


class Stage(Protocol):
    source: str  # a hub id, a model folder, or a stage's name

    def correct(self, texts: list[str]) -> list[str]: ...


class CorrectionPipeline:
    """Itself a stage: the app, the evaluation and other pipelines take it
    wherever they take a single corrector."""

    def __init__(self, stages: list[Stage]) -> None:
        self.stages = list(stages)

    @property
    def source(self) -> str:
        """What the app logs as the prediction's `version`: the stages by
        name ("spelling+bundled_model"), a model folder by its name rather
        than this machine's path to it, so versions compare across machines."""
        return "+".join(_name(stage) for stage in self.stages)

    def correct(self, texts: list[str]) -> list[str]:
        for stage in self.stages:
            texts = stage.correct(texts)
        return list(texts)


def load_pipeline(model: str | None = None, *, spelling: bool = True) -> CorrectionPipeline:
    """The demo's corrector: the spelling stage, then `model` (hub id or
    folder, falling back to the bundled model as `load_corrector` does)."""
    stages: list[Stage] = [SpellingStage()] if spelling else []
    return CorrectionPipeline([*stages, load_corrector(model)])


def _name(stage: Stage) -> str:
    source = getattr(stage, "source", type(stage).__name__)
    return Path(source).name if Path(source).is_dir() else source
