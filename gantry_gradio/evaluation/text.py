"""Text-to-text scoring against a reference: word edits (what ERRANT
extracts, aligned by difflib) and GLEU's n-gram counts. Kept as counts per
sentence so a corpus score, and every bootstrap resample of it, is a sum.

ERRANT itself needs spaCy's English model, which installs only from GitHub
releases; these alignments need nothing beyond the standard library."""

from __future__ import annotations

import difflib
import functools
import math
import random
import statistics
from collections import Counter

Edit = tuple[int, int, tuple[str, ...]]
GLEU_ORDER = 4


def word_edits(source: str, target: str) -> set[Edit]:
    """The word spans of `source` replaced to reach `target`, as
    (start, end, replacement) so two corrections of the same source compare
    edit by edit: ERRANT's span edits, aligned by difflib instead of
    linguistically. A run of equal length is split word by word, as ERRANT
    would ("she are" -> "She is" is two edits), so fixing one of two
    neighbouring errors still counts."""
    before, after = source.split(), target.split()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    edits = set()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:
            edits |= {
                (i, i + 1, (after[j],))
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                if before[i] != after[j]
            }
        elif tag != "equal":
            edits.add((i1, i2, tuple(after[j1:j2])))
    return edits


def edit_counts(source: str, output: str, reference: str) -> tuple[int, int, int]:
    """(right edits, edits made, edits needed) of one sentence: precision is
    right / made and recall right / needed, pooled over a corpus as the M2
    scorer does (an edit to a correct sentence is a false positive)."""
    made, needed = word_edits(source, output), _needed(source, reference)
    return len(made & needed), len(made), len(needed)


@functools.lru_cache(maxsize=65_536)
def _needed(source: str, reference: str) -> frozenset[Edit]:
    """The reference's edits, once per row however many candidates are scored."""
    return frozenset(word_edits(source, reference))


def f_beta(right: float, made: float, needed: float, beta: float = 0.5) -> float:
    """F0.5 by default (the CoNLL-2014 weighting: precision counts twice as
    much as recall, because a corrector that invents edits is worse than one
    that misses some). No edits made and none needed is a perfect score."""
    precision = right / made if made else 1.0
    recall = right / needed if needed else 1.0
    if precision + recall == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * precision * recall / (b2 * precision + recall)


def _ngrams(words: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(zip(*(words[i:] for i in range(n)), strict=False))


@functools.lru_cache(maxsize=65_536)
def _reference_side(source: str, reference: str, order: int) -> tuple:
    """Per n: the reference's n-grams, and the source's that the reference
    dropped; the same for every candidate scored on the row."""
    s, r = source.split(), reference.split()
    sides = []
    for n in range(1, order + 1):
        ref, src = _ngrams(r, n), _ngrams(s, n)
        sides.append((ref, Counter({gram: c for gram, c in src.items() if gram not in ref})))
    return len(r), sides


def gleu_counts(source: str, hypothesis: str, reference: str, order: int = GLEU_ORDER) -> list[int]:
    """[c, r, matches_1, total_1, ..., matches_order, total_order] of one
    sentence (see `gleu`); summed over sentences they give corpus GLEU."""
    h = hypothesis.split()
    reference_length, sides = _reference_side(source, reference, order)
    counts = [len(h), reference_length]
    for n, (ref, not_in_reference) in enumerate(sides, start=1):
        hyp = _ngrams(h, n)
        matches = sum((hyp & ref).values()) - sum((hyp & not_in_reference).values())
        counts += [max(matches, 0), max(len(h) + 1 - n, 0)]
    return counts


def gleu_from_counts(totals: list[float]) -> float:
    if any(count == 0 for count in totals):
        return 0.0
    c, r = totals[:2]
    precisions = [m / t for m, t in zip(totals[2::2], totals[3::2], strict=True)]
    log_precision = statistics.fmean(math.log(p) for p in precisions)
    return math.exp(min(0.0, 1 - r / c) + log_precision)


def gleu(
    sources: list[str],
    hypotheses: list[str],
    references: list[list[str]],
    *,
    order: int = GLEU_ORDER,
    iterations: int = 500,
) -> float:
    """Corpus GLEU, in [0, 1], as Napoles et al. define it for grammatical
    error correction: "Ground Truth for Grammatical Error Correction Metrics"
    (ACL 2015), revised in "GLEU Without Tuning" (arXiv:1605.02592, 2016),
    the version that scores JFLEG. BLEU only rewards agreeing with the
    reference, so copying the input scores high; GLEU also penalises keeping
    what the reference changed.

    On whitespace tokens, for n = 1..order and summed over the corpus:
    p_n = max(0, |H ∩ R| - |H ∩ (S \\ R)|) / (number of hypothesis n-grams),
    where H, R, S are the n-gram multisets of hypothesis, reference and
    source, ∩ takes the smaller count, and S \\ R keeps the source n-grams
    that do not occur in the reference at all. GLEU = BP · exp(mean log p_n),
    BP = exp(min(0, 1 - r / c)), c and r the total hypothesis and reference
    lengths; any zero count makes it 0. With several references for a
    sentence, each of `iterations` rounds draws one per sentence (round j
    seeded j·101, as the authors' script does) and GLEU is the mean over
    rounds."""
    per_reference = [
        [gleu_counts(source, hypothesis, ref, order) for ref in refs]
        for source, hypothesis, refs in zip(sources, hypotheses, references, strict=True)
    ]
    if all(len(refs) == 1 for refs in references):
        iterations = 1
    scores = []
    for round_ in range(iterations):
        rng = random.Random(round_ * 101)
        totals = [0] * (2 + 2 * order)
        for counts in per_reference:
            chosen = counts[rng.randrange(len(counts))]
            totals = [a + b for a, b in zip(totals, chosen, strict=True)]
        scores.append(gleu_from_counts(totals))
    return statistics.fmean(scores)
