"""Correctors chained: cheap, safe stages (spelling, rules) before a learned
model, so the model sees words it knows and spends its few parameters on
grammar rather than on misspellings."""

from __future__ import annotations

import difflib
import re
from collections import Counter
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
        """Each stage corrects the previous one's output, but may not bring
        back a word an earlier stage took out ("look forward to hearing" ->
        "to hear" is refused): stages come in order of precision, so a later,
        less sure one does not get to undo a surer one's fix."""
        outputs = list(texts)
        removed = [Counter[str]() for _ in outputs]
        for stage in self.stages:
            for i, (before, after) in enumerate(zip(outputs, stage.correct(outputs), strict=True)):
                old, new = _words(before), _words(after)
                if after != before and not (new - old) & removed[i]:
                    removed[i] += old - new
                    outputs[i] = after
        return outputs


class ModelGuard:
    """Wraps a learned stage: a correction that brings in a word neither
    dictionary knows, or that swaps one preposition for another, is refused
    and the sentence comes back as it went in. A byte-level model can spell
    out non-words and stray letters ("london" -> "l filled"), and no edit a
    corrector should make needs one. Prepositions: the bundled model learns
    its swaps from a fixed confusion list in its synthetic errors, which is
    no knowledge of collocations; on learner text its swaps were wrong ("the
    flight from Madrid" -> "of Madrid", "a film about space" -> "of space")."""

    def __init__(self, stage: Stage, lexicon: Dictionaries) -> None:
        self.stage = stage
        self.lexicon = lexicon

    @property
    def source(self) -> str:
        return self.stage.source

    def correct(self, texts: list[str]) -> list[str]:
        outputs = self.stage.correct(texts)
        return [
            output
            if self._only_known_added(text, output) and not _swaps_a_preposition(text, output)
            else text
            for text, output in zip(texts, outputs, strict=True)
        ]

    def _only_known_added(self, text: str, output: str) -> bool:
        added = set(_WORD.findall(output.lower())) - set(_WORD.findall(text.lower()))
        # Word lists hold every letter ("l"), but a letter on its own is a
        # word only as "a" or "I".
        return all(
            self.lexicon.knows(word) and (len(word) > 1 or word in ("a", "i")) for word in added
        )


def _words(text: str) -> Counter[str]:
    return Counter(_WORD.findall(text.lower()))


def _swaps_a_preposition(text: str, output: str) -> bool:
    before, after = text.lower().split(), output.lower().split()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    return any(
        tag == "replace"
        and any(w.strip(_PUNCTUATION) in PREPOSITIONS for w in before[i1:i2])
        and any(w.strip(_PUNCTUATION) in PREPOSITIONS for w in after[j1:j2])
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
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
    return CorrectionPipeline([*stages, ModelGuard(load_corrector(model), dictionaries())])


_WORD = re.compile(r"[a-z]+(?:['\u2019][a-z]+)?")
_PUNCTUATION = ".,;:!?\"'()"
PREPOSITIONS = frozenset(
    "about above across after against along among around at before behind below beneath "
    "beside between beyond by down during for from in inside into near of off on onto out "
    "over since through to toward towards under until up upon with within without".split()
)


def _name(stage: Stage) -> str:
    source = getattr(stage, "source", type(stage).__name__)
    return Path(source).name if Path(source).is_dir() else source
