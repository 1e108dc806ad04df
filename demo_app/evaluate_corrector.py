"""Measure correctors against the "return the input unchanged" baseline, so
the README's quality figures come from a script anyone can rerun:

    python -m demo_app.evaluate_corrector [--corrector all] [--model demo_app/bundled_model]

Two sets: sentences train_corrector.py held out, with synthetic errors from
errors.py plus as many left correct (needs wordnet-base), and the hand-written
learner sentences of data/learner_sentences.tsv (one minimal correction each;
a third already correct). Synthetic errors only measure whether a model
learnt the errors it was trained on; the learner set is closer to what the
demo's users type.

Every corrector is scored through its batch path, as the app's batched
callers use it, and again one sentence at a time on a sample, so a batch that
answers differently from single calls shows up. Reported per set: GLEU (the
n-gram metric of JFLEG), word-edit precision, recall and F0.5 (the CoNLL-2014
weighting: precision counts twice as much as recall, because a corrector that
invents edits is worse than one that misses some), the share of correct
sentences left byte-identical, the share of erroneous ones fixed exactly,
batch/single agreement and median latency of one sentence."""

from __future__ import annotations

import argparse
import csv
import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gantry_gradio.evaluation.text import gleu, word_edits

from .errors import corrupt
from .grammar import GrammarStage
from .model import BUNDLED_MODEL, Corrector
from .pipeline import CorrectionPipeline, ModelGuard, Stage
from .spelling import SpellingStage, dictionaries
from .train_corrector import held_out, wordnet_sentences

SEED = 11
LEARNER_SENTENCES = Path(__file__).parent / "data" / "learner_sentences.tsv"
CORRECTORS = ("identity", "spelling", "rules", "bundled", "pipeline")


@dataclass(frozen=True)
class EvalSet:
    name: str
    sources: list[str]
    references: list[str]

    @property
    def erroneous(self) -> list[bool]:
        return [s != r for s, r in zip(self.sources, self.references, strict=True)]


def synthetic_set(count: int) -> EvalSet:
    """`count` held-out sentences given errors and `count` others left
    correct, seeded, so every run scores the same pairs."""
    rng = random.Random(SEED)
    held = [s for s in wordnet_sentences() if held_out(s)]
    rng.shuffle(held)
    sources, references = [], []
    for sentence in held:
        broken = corrupt(sentence, rng)
        if broken != sentence:
            sources.append(broken)
            references.append(sentence)
        if len(sources) == count:
            break
    chosen = set(references)
    clean = [s for s in held if s not in chosen][:count]
    return EvalSet("synthetic held-out", sources + clean, references + clean)


def learner_set(path: Path = LEARNER_SENTENCES) -> EvalSet:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return EvalSet(
        "learner sentences",
        [row["source"] for row in rows],
        [row["correction"] for row in rows],
    )


@dataclass(frozen=True)
class Report:
    gleu: float
    precision: float
    recall: float
    f05: float
    unchanged: float
    fixed: float
    agreement: float
    latency_ms: float


def evaluate(stage: Stage, data: EvalSet, single: int, batch_size: int = 32) -> Report:
    """Edit counts are pooled over the whole set, correct sentences too (an
    edit to one is a false positive), as the M2 scorer does. `single`
    sentences spread evenly over the set (erroneous and correct ones) are
    also corrected one at a time, for agreement with the batch and for
    latency."""
    outputs = batched(stage, data.sources, batch_size)
    proposed = right = wanted = 0
    for source, output, reference in zip(data.sources, outputs, data.references, strict=True):
        made, needed = word_edits(source, output), word_edits(source, reference)
        proposed += len(made)
        wanted += len(needed)
        right += len(made & needed)
    precision = right / proposed if proposed else 1.0
    recall = right / wanted if wanted else 1.0
    f05 = 1.25 * precision * recall / (0.25 * precision + recall) if right else 0.0
    erroneous = data.erroneous
    agree, latencies = 0, []
    for index in spread(range(len(data.sources)), single):
        source, output = data.sources[index], outputs[index]
        started = time.perf_counter()
        agree += stage.correct([source]) == [output]
        latencies.append(time.perf_counter() - started)
    return Report(
        gleu=100 * gleu(data.sources, outputs, [[r] for r in data.references]),
        precision=precision,
        recall=recall,
        f05=f05,
        unchanged=_share(outputs, data.sources, [not e for e in erroneous]),
        fixed=_share(outputs, data.references, erroneous),
        agreement=100 * agree / len(latencies) if latencies else float("nan"),
        latency_ms=1000 * statistics.median(latencies) if latencies else float("nan"),
    )


def spread(items: Sequence[int], count: int) -> Sequence[int]:
    """At most `count` items evenly spaced over `items`: a sample of the whole
    set, its erroneous and its correct sentences alike."""
    return items[:: math.ceil(len(items) / count)] if count > 0 else items[:0]


def _share(outputs: list[str], targets: list[str], selected: list[bool]) -> float:
    """Percentage of the selected outputs identical to their targets."""
    pairs = [(o, t) for o, t, keep in zip(outputs, targets, selected, strict=True) if keep]
    return 100 * sum(o == t for o, t in pairs) / len(pairs) if pairs else float("nan")


def batched(stage: Stage, texts: list[str], size: int = 32) -> list[str]:
    return [out for i in range(0, len(texts), size) for out in stage.correct(texts[i : i + size])]


class Identity:
    """The baseline every corrector must beat: the input, unchanged."""

    def correct(self, texts: list[str]) -> list[str]:
        return list(texts)


def build_correctors(names: list[str], model: str) -> dict[str, Stage]:
    """Each loaded once and shared, as the pipeline reuses the others."""
    loaders: dict[str, Callable[[], Stage]] = {
        "identity": Identity,
        "spelling": SpellingStage,
        "grammar": GrammarStage,
        "bundled": lambda: Corrector(model, local_files_only=True),
    }
    built: dict[str, Stage] = {}

    def get(name: str) -> Stage:
        if name not in built:
            if name == "rules":  # spelling, then grammar rules: no model
                built[name] = CorrectionPipeline([get("spelling"), get("grammar")])
            elif name == "pipeline":  # as load_pipeline builds it for the app
                built[name] = CorrectionPipeline(
                    [get("rules"), ModelGuard(get("bundled"), dictionaries())]
                )
            else:
                built[name] = loaders[name]()
        return built[name]

    return {name: get(name) for name in names}


ROWS = (
    ("GLEU", "gleu", "{:.1f}"),
    ("edit precision", "precision", "{:.3f}"),
    ("edit recall", "recall", "{:.3f}"),
    ("edit F0.5", "f05", "{:.3f}"),
    ("correct left unchanged %", "unchanged", "{:.1f}"),
    ("erroneous fixed exactly %", "fixed", "{:.1f}"),
    ("batch = one by one %", "agreement", "{:.1f}"),
    ("median ms, one sentence", "latency_ms", "{:.2f}"),
)


def print_table(data: EvalSet, reports: dict[str, Report], single: int) -> None:
    errors = sum(data.erroneous)
    print(
        f"\n{data.name}: {errors} with errors, {len(data.sources) - errors} correct "
        f"(one by one: {len(spread(range(len(data.sources)), single))})"
    )
    print(f"{'':27}" + "".join(f"{name:>11}" for name in reports))
    for label, field, template in ROWS:
        cells = "".join(f"{template.format(getattr(r, field)):>11}" for r in reports.values())
        print(f"{label:27}{cells}")


def show_misses(data: EvalSet, stage: Stage, name: str, count: int) -> None:
    """Outputs that differ from the reference, for reading what goes wrong."""
    outputs = batched(stage, data.sources)
    misses = [
        (s, o, r) for s, o, r in zip(data.sources, outputs, data.references, strict=True) if o != r
    ]
    print(f"\n{name} on {data.name}: {len(misses)} differ from the reference")
    for source, output, reference in misses[:count]:
        print(f"  {source!r}\n  -> {output!r}\n  ref {reference!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corrector", choices=[*CORRECTORS, "all"], default="all")
    parser.add_argument("--model", default=str(BUNDLED_MODEL), help="for bundled and pipeline")
    parser.add_argument("--count", type=int, default=500, help="synthetic sentences per half")
    parser.add_argument(
        "--single", type=int, default=200, help="sentences per set also run one by one"
    )
    parser.add_argument("--no-synthetic", action="store_true", help="learner sentences only")
    parser.add_argument("--show", type=int, default=0, help="learner-set misses to print")
    args = parser.parse_args()
    names = list(CORRECTORS) if args.corrector == "all" else [args.corrector]
    correctors = build_correctors(names, args.model)
    sets = [learner_set()] if args.no_synthetic else [learner_set(), synthetic_set(args.count)]
    for data in sets:
        reports = {name: evaluate(stage, data, args.single) for name, stage in correctors.items()}
        print_table(data, reports, args.single)
    if {"bundled", "pipeline"} & set(names) and Path(args.model).is_dir():
        megabytes = sum(f.stat().st_size for f in Path(args.model).glob("*.safetensors")) / 1e6
        print(f"\nmodel {args.model}: {megabytes:.1f} MB of weights")
    if args.show:
        for name in names:
            show_misses(sets[0], correctors[name], name, args.show)


if __name__ == "__main__":
    main()
