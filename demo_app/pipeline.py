"""Correctors chained: cheap, safe stages (spelling, rules) before a learned
model, so the model sees words it knows and spends its few parameters on
grammar rather than on misspellings."""

from __future__ import annotations

from typing import Protocol


class Stage(Protocol):
    def correct(self, texts: list[str]) -> list[str]: ...


class CorrectionPipeline:
    """Itself a stage: the app, the evaluation and other pipelines take it
    wherever they take a single corrector."""

    def __init__(self, stages: list[Stage]) -> None:
        self.stages = list(stages)

    def correct(self, texts: list[str]) -> list[str]:
        for stage in self.stages:
            texts = stage.correct(texts)
        return list(texts)
