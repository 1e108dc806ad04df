"""Correctors chained: cheap, safe stages (spelling, rules) before a learned
model, so the model sees words it knows and spends its few parameters on
grammar rather than on misspellings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from .grammar import GrammarStage
from .model import load_corrector
from .spelling import Dictionaries, SpellingStage, dictionaries


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
        name ("spelling+grammar+bundled_model"), a model folder by its name rather
        than this machine's path to it, so versions compare across machines."""
        return "+".join(_name(stage) for stage in self.stages)

    def correct(self, texts: list[str]) -> list[str]:
        for stage in self.stages:
            texts = stage.correct(texts)
        return list(texts)


class KnownWordsOnly:
    """Wraps a learned stage: a correction that brings in a word neither
    dictionary knows is refused, and the sentence comes back as it went in.
    A byte-level model can spell out non-words and stray letters ("london"
    -> "l filled"), and no edit a corrector should make needs one."""

    def __init__(self, stage: Stage, lexicon: Dictionaries) -> None:
        self.stage = stage
        self.lexicon = lexicon

    @property
    def source(self) -> str:
        return self.stage.source

    def correct(self, texts: list[str]) -> list[str]:
        outputs = self.stage.correct(texts)
        return [
            output if self._only_known_added(text, output) else text
            for text, output in zip(texts, outputs, strict=True)
        ]

    def _only_known_added(self, text: str, output: str) -> bool:
        added = set(_WORD.findall(output.lower())) - set(_WORD.findall(text.lower()))
        # Word lists hold every letter ("l"), but a letter on its own is a
        # word only as "a" or "I".
        return all(
            self.lexicon.knows(word) and (len(word) > 1 or word in ("a", "i")) for word in added
        )


def load_pipeline(
    model: str | None = None, *, spelling: bool = True, grammar: bool = True
) -> CorrectionPipeline:
    """The demo's corrector: the spelling stage, the grammar rules, then
    `model` (hub id or folder, falling back to the bundled model as
    `load_corrector` does), allowed only edits made of known words."""
    stages: list[Stage] = [SpellingStage()] if spelling else []
    if grammar:
        stages.append(GrammarStage())
    return CorrectionPipeline([*stages, KnownWordsOnly(load_corrector(model), dictionaries())])


_WORD = re.compile(r"[a-z]+(?:['\u2019][a-z]+)?")


def _name(stage: Stage) -> str:
    source = getattr(stage, "source", type(stage).__name__)
    return Path(source).name if Path(source).is_dir() else source
