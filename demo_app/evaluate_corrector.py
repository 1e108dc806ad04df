"""Measure a corrector against the "return the input unchanged" baseline on
the sentences train_corrector.py held out, so the README's quality figures
come from a script anyone can rerun:

    python -m demo_app.evaluate_corrector [--model demo_app/bundled_model]

Exact match and word-level edit F0.5 (the CoNLL-2014 weighting: precision
counts twice as much as recall, because a corrector that invents edits is
worse than one that misses some) on sentences with synthetic errors; the
share of already-correct sentences left unchanged; median latency of one
sentence; size of the weights."""

from __future__ import annotations

import argparse
import difflib
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import corrupt
from .model import BUNDLED_MODEL, Corrector
from .train_corrector import held_out, wordnet_sentences

SEED = 11
Edit = tuple[int, int, tuple[str, ...]]


def word_edits(source: str, target: str) -> set[Edit]:
    """The word spans of `source` replaced to reach `target`, as
    (start, end, replacement) so two corrections of the same source compare
    edit by edit."""
    before, after = source.split(), target.split()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    return {
        (i1, i2, tuple(after[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    }


@dataclass(frozen=True)
class Scores:
    exact_match: float
    precision: float
    recall: float
    f05: float
    unchanged: float


def score(
    sources: list[str],
    hypotheses: list[str],
    references: list[str],
    clean_outputs: list[str],
    clean: list[str],
) -> Scores:
    """Edit counts are pooled over the corpus, as the M2 scorer does."""
    proposed = correct = wanted = 0
    for source, hypothesis, reference in zip(sources, hypotheses, references, strict=True):
        made, needed = word_edits(source, hypothesis), word_edits(source, reference)
        proposed += len(made)
        wanted += len(needed)
        correct += len(made & needed)
    precision = correct / proposed if proposed else 1.0
    recall = correct / wanted if wanted else 1.0
    f05 = 1.25 * precision * recall / (0.25 * precision + recall) if correct else 0.0
    return Scores(
        exact_match=sum(h == r for h, r in zip(hypotheses, references, strict=True))
        / len(references),
        precision=precision,
        recall=recall,
        f05=f05,
        unchanged=sum(o == c for o, c in zip(clean_outputs, clean, strict=True)) / len(clean),
    )


def evaluation_set(count: int) -> tuple[list[str], list[str], list[str]]:
    """(erroneous inputs, their references, other correct sentences), all
    from the held-out tenth, seeded."""
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
    clean = [s for s in held if s not in set(references)][:count]
    return sources, references, clean


def folder_megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.glob("*.safetensors")) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(BUNDLED_MODEL))
    parser.add_argument("--count", type=int, default=500, help="sentences per set")
    parser.add_argument("--latency-samples", type=int, default=100)
    args = parser.parse_args()
    sources, references, clean = evaluation_set(args.count)
    corrector = Corrector(args.model, local_files_only=True)
    hypotheses = batched(corrector, sources)
    clean_outputs = batched(corrector, clean)
    model = score(sources, hypotheses, references, clean_outputs, clean)
    identity = score(sources, sources, references, clean, clean)
    latencies = []
    for sentence in sources[: args.latency_samples]:
        started = time.perf_counter()
        corrector.correct([sentence])
        latencies.append(time.perf_counter() - started)
    print(f"{len(sources)} erroneous + {len(clean)} correct held-out sentences; model {args.model}")
    print(f"{'':24}{'model':>10}{'unchanged input':>18}")
    for name in ("exact_match", "precision", "recall", "f05", "unchanged"):
        print(f"{name:24}{getattr(model, name):>10.3f}{getattr(identity, name):>18.3f}")
    print(f"median latency, one sentence: {statistics.median(latencies) * 1000:.0f} ms")
    if Path(args.model).is_dir():
        print(f"weights: {folder_megabytes(Path(args.model)):.1f} MB")
    for source, hypothesis, reference in list(zip(sources, hypotheses, references, strict=True))[
        :8
    ]:
        print(f"  {source!r}\n  -> {hypothesis!r}\n  ref {reference!r}")


def batched(corrector: Corrector, texts: list[str], size: int = 32) -> list[str]:
    return [
        out for i in range(0, len(texts), size) for out in corrector.correct(texts[i : i + size])
    ]


if __name__ == "__main__":
    main()
