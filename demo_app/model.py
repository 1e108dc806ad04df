"""The grammar corrector: any HuggingFace seq2seq model, by hub id or local
folder, run with `generate` (transformers 5 has no text2text pipeline).

Hub downloads fail on machines without internet; then the corrector bundled
with the repo (demo_app/bundled_model, when present) is used instead, and the
log says so.

Three safety nets sit between the model and the user, because a corrector that
mangles a good sentence does more harm than one that misses an error:

- each sentence gets its own length bound, and a generation that does not end
  within it comes back as the input (small models that lose their way start
  repeating themselves, and never stop on their own);
- `CopyGuard` refuses outputs that change too much: many word edits, a lost
  clause, a changed name or number, or a repetition loop;
- a confidence margin: the model must itself prefer its correction to the
  unchanged input by `min_margin` nats of mean token log-probability, both
  scored teacher-forced in one batched pass. Beam search always returns
  *something*, and a small model's beam often holds an edit it barely
  prefers ("at" -> "to", "are" -> "is") to the copy; such coin flips harm a
  correct sentence as often as they fix a wrong one."""

from __future__ import annotations

import difflib
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import requests
import torch
from rapidfuzz.distance import Levenshtein
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    LogitsProcessor,
    LogitsProcessorList,
    PreTrainedTokenizerBase,
)

log = logging.getLogger(__name__)

DEFAULT_MODEL = "prithivida/grammar_error_correcter_v1"
BUNDLED_MODEL = Path(__file__).parent / "bundled_model"
#: Where `python -m demo_app.retrain` writes v2, fine-tuned on the review
#: labels: in the data folder, beside the store it learnt from (relative to
#: the working directory, as ./gantry_data is), not in the installed package.
BUNDLED_MODEL_V2 = Path("gantry_data") / "models" / "bundled_model_v2"
#: The demo's model versions by the names `--model` and the docs use.
MODEL_VERSIONS = {"v1": BUNDLED_MODEL, "v2": BUNDLED_MODEL_V2}
#: The original demo's model expects this prefix; others are given none.
_PREFIXES = {DEFAULT_MODEL: "gec: "}


#: Confidence margins (see `Corrector`) measured for particular models, by
#: hub id or folder; None turns the check off for a model whose corrections
#: are trusted as they come. Models not listed get `DEFAULT_MIN_MARGIN`.
#: Chosen on the synthetic held-out pairs of evaluate_corrector (dev data),
#: never on the learner sentences (test data). For the bundled model, edit
#: F0.5 of spelling + grammar + model is 0.682 with no margin and 0.686 on a
#: plateau at 0.05-0.10 (correct sentences left unchanged: 96.2 -> 98.4 %),
#: falling beyond it as real fixes go too (0.678 at 0.15, 0.662 at 0.3).
CALIBRATED_MARGINS: dict[str, float | None] = {str(BUNDLED_MODEL): 0.10}
#: Mean token log-probability, in nats, by which a model not listed above
#: must prefer its correction to the copy: where the earlier, WordNet-only
#: bundled model's F0.5 plateaued (0.15-0.17); a summed log-probability
#: peaked lower.
DEFAULT_MIN_MARGIN = 0.15

_SENTENCE_END = re.compile(r"[.!?][\"'’”)\]]*$")
#: Abbreviations before a name, not sentence ends: "Mr. Kowalski" is a name to protect.
_TITLES = frozenset("mr. mrs. ms. dr. prof. st. mt. jr. sr. rev. gen. capt. sgt.".split())
_EDGE_PUNCTUATION = "\"'`“”‘’()[]{}<>.,;:!?"
_FIRST_PERSON = re.compile(r"I(['’].*)?$")
_STUTTER = re.compile(r"(\w)\1\1")
_NOT_A_PLAIN_WORD = re.compile(r"\d|.[A-Z]|\w[@./]\w")


def largest_loss(before: Sequence[str], after: Sequence[str]) -> int:
    """Most words lost in one place (deleted, or replaced by fewer): a grammar
    correction drops an article or a doubled word, not a phrase, so a big loss
    in one spot is a skipped clause even when the sentence is long enough for
    it to pass the edit budget. `largest_loss(after, before)` is the most
    words added in one place, where a phrase copied twice shows up."""
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    return max(
        (
            (i2 - i1) - (j2 - j1)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()
            if tag in ("delete", "replace")
        ),
        default=0,
    )


def _core(word: str) -> str:
    return word.strip(_EDGE_PUNCTUATION)


def _cores(words: Sequence[str]) -> list[tuple[str, str]]:
    """Each word stripped of surrounding punctuation, and its key for
    comparing protected words: at a sentence start the first letter's case is
    ignored, as a correction may capitalise it ("oPEC bumped" -> "OPEC")."""
    found = []
    for index, word in enumerate(words):
        core = _core(word)
        starts = index == 0 or (
            bool(_SENTENCE_END.search(words[index - 1]))
            and words[index - 1].lower() not in _TITLES
        )
        found.append((core, core[:1].lower() + core[1:] if starts else core))
    return found


def protected_words(text: str) -> Counter[str]:
    """Names, numbers and other tokens a corrector has no business changing,
    as keys (see `_cores`): capitalised words that do not start a sentence
    (other than "I" and its contractions), and anywhere, words with a digit,
    a capital after the first letter (iPhone, McDonald's, WHO) or an inner
    @ . / (addresses, web sites)."""
    found: Counter[str] = Counter()
    for core, key in _cores(text.split()):
        if _NOT_A_PLAIN_WORD.search(core) or (
            core[:1].isupper() and key == core and not _FIRST_PERSON.match(core)
        ):
            found[key] += 1
    return found


def repetitions(words: Sequence[str]) -> Counter[tuple[str, ...]]:
    """Repeated material, the signature of a generation that lost its place:
    a word said three times in a row, a 2- or 3-word phrase said twice in a
    row, any 4-word phrase said twice anywhere, and a character tripled inside
    a word ("DELLLL"). Counted, so an output can be compared with its input
    (which may legitimately say "very very" or repeat a phrase)."""
    lowered = [word.lower() for word in words]
    found: Counter[tuple[str, ...]] = Counter()
    for n, times in ((1, 3), (2, 2), (3, 2)):
        for i in range(len(lowered) - n * times + 1):
            gram = tuple(lowered[i : i + n])
            if all(tuple(lowered[i + k * n : i + (k + 1) * n]) == gram for k in range(times)):
                found[gram] += 1
    fours = Counter(tuple(lowered[i : i + 4]) for i in range(len(lowered) - 3))
    found.update({gram: count - 1 for gram, count in fours.items() if count > 1})
    found.update(("stutter", word) for word in lowered if _STUTTER.search(word))
    return found


@dataclass(frozen=True)
class CopyGuard:
    """Refuses a correction that does not look like a copy of its input with a
    few local fixes. Why: a grammar correction touches a few words and keeps
    the rest (names, numbers, clauses); a small seq2seq model that does
    otherwise has nearly always lost its thread (a clause skipped, a phrase
    repeated, a name rewritten), and showing the input instead costs one
    missed correction where showing the output damages a sentence.

    Thresholds: at most max(`min_edits`, `edit_share` x the input's words)
    word edits; at most `max_words_lost` words lost and `max_words_added`
    words added in one place; every protected word (name or number) kept; no
    repetition the input lacks."""

    min_edits: int = 2
    edit_share: float = 1 / 3
    max_words_lost: int = 2
    max_words_added: int = 2

    def edit_limit(self, words: int) -> int:
        """The edit budget of an input of `words` words: a few edits are
        normal in a short sentence, a share of the words in a long one."""
        return max(self.min_edits, int(words * self.edit_share))

    def refusal(self, source: str, output: str) -> str | None:
        """Why `output` may not stand for `source`, or None when it may."""
        if output == source:
            return None
        before, after = source.split(), output.split()
        # Levenshtein over words: the size of a correction as a reader sees it
        edits, limit = Levenshtein.distance(before, after), self.edit_limit(len(before))
        if edits > limit:
            return f"{edits} word edits, more than {limit}"
        lost = largest_loss(before, after)
        if lost > self.max_words_lost:
            return f"{lost} words lost in one place"
        added = largest_loss(after, before)
        if added > self.max_words_added:
            return f"{added} words added in one place"
        missing = protected_words(source) - Counter(key for _, key in _cores(after))
        if missing:
            return "changes " + ", ".join(sorted(missing))
        repeated = repetitions(after) - repetitions(before)
        if repeated:
            return "repeats " + " / ".join(" ".join(gram) for gram in sorted(repeated))
        return None

    def __call__(self, source: str, output: str) -> str:
        """`output`, or `source` when the output is refused."""
        return source if self.refusal(source, output) else output


DEFAULT_GUARD = CopyGuard()


def tokenizer_appends_eos(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether encoding a text ends it with the tokenizer's end token, as T5's
    own tokenizers do. A seq2seq model learns from inputs that end with it,
    and one given an input without it reads an unfinished sentence and keeps
    copying (tokenizers made with the `tokenizers` library, like the bundled
    corrector's, add nothing). Asked once, of a short string, so any model's
    tokenizer works. A tokenizer without an end token counts as appending it:
    there is nothing to add."""
    eos = tokenizer.eos_token_id
    if eos is None:
        return True
    ids = tokenizer("a")["input_ids"]
    return bool(ids) and ids[-1] == eos


class _EndAtBound(LogitsProcessor):
    """Forces the end token as the token after each row's own bound. Why:
    `generate` has one `max_new_tokens` for the whole batch (the longest
    row's); with it alone, a short row that would have been cut off on its
    own gets room to finish a runaway copy. Ending every row at its own bound
    makes its beams compete exactly as they would alone, so a sentence's
    result does not depend on its batch."""

    def __init__(self, bounds: list[int], num_beams: int, eos: int) -> None:
        self.limits = torch.tensor(bounds).repeat_interleave(num_beams)
        self.eos = eos
        self.prompt_length: int | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.prompt_length is None:  # the decoder's start tokens, at the first step
            self.prompt_length = input_ids.shape[1]
        done = self.limits.to(scores.device) <= input_ids.shape[1] - self.prompt_length
        if done.any():
            scores = scores.clone()
            scores[done] = -float("inf")
            scores[done, self.eos] = 0.0
        return scores


@dataclass(frozen=True)
class Proposal:
    """What the model proposes for one input, before the confidence margin:
    `output` (already past the length bound and the copy guard) and, when it
    differs from the input, `margin`: the model's mean token log-probability
    of `output` minus that of the unchanged input, teacher-forced. None when
    there was nothing to score (output == input) or the check is off."""

    output: str
    margin: float | None = None


class Corrector:
    """Batched correction on GPU when there is one. Each sentence is bounded
    on its own, checked by `guard` (a `CopyGuard`, or None for raw model
    output), and kept only when the model prefers it to the unchanged input
    by `min_margin` nats of mean token log-probability ("auto":
    `CALIBRATED_MARGINS` for the model, else `DEFAULT_MIN_MARGIN`; None: no
    check). A sentence's correction is the same alone or in any batch."""

    def __init__(
        self,
        source: str,
        *,
        prefix: str | None = None,
        num_beams: int = 5,
        max_length: int = 128,
        device: str | None = None,
        local_files_only: bool = False,
        guard: CopyGuard | None = DEFAULT_GUARD,
        min_margin: float | Literal["auto"] | None = "auto",
    ) -> None:
        self.source = source
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        offline = {"local_files_only": local_files_only}
        self.tokenizer = AutoTokenizer.from_pretrained(source, **offline)
        model = AutoModelForSeq2SeqLM.from_pretrained(source, **offline)
        self.model = model.to(self.device).eval()
        self.prefix = _PREFIXES.get(source, "") if prefix is None else prefix
        self.num_beams = num_beams
        self.max_length = max_length
        self.guard = guard
        if min_margin == "auto":
            key = str(Path(source).resolve()) if Path(source).is_dir() else source
            min_margin = CALIBRATED_MARGINS.get(key, DEFAULT_MIN_MARGIN)
        self.min_margin: float | None = min_margin
        self.appends_eos = tokenizer_appends_eos(self.tokenizer)
        ends = self.model.generation_config.eos_token_id
        ends = [] if ends is None else [ends] if isinstance(ends, int) else list(ends)
        self.end_ids = {*ends, self.tokenizer.eos_token_id} - {None}

    def length_bound(self, input_tokens: int) -> int:
        """Most tokens, its end token included, that a correction of an input
        of `input_tokens` tokens may have. A correction is about as long as its
        input; a generation that runs past this has gone astray (small models
        start repeating themselves), and its input comes back unchanged."""
        return min(self.max_length, input_tokens + input_tokens // 2 + 8)

    def encode(self, texts: Sequence[str], *, prefix: bool = True) -> list[list[int]]:
        """Token ids as the model met them in training: ending with the end
        token (see `tokenizer_appends_eos`), not truncated. `prefix=False`
        gives a text as a target (decoder labels), which carries no prefix."""
        start = self.prefix if prefix else ""
        ids = self.tokenizer([start + text for text in texts])["input_ids"]
        if self.appends_eos:
            return ids
        return [row + [self.tokenizer.eos_token_id] for row in ids]

    def correct(self, texts: Sequence[str]) -> list[str]:
        """Corrections in order. Blank inputs and inputs longer than
        `max_length` tokens come back unchanged: a cut sentence would come back
        cut, which is worse than uncorrected. So does any correction the model
        does not prefer to the input by `min_margin`."""
        return [
            text
            if self.min_margin is not None
            and proposal.margin is not None
            and proposal.margin < self.min_margin
            else proposal.output
            for text, proposal in zip(texts, self.propose(texts), strict=True)
        ]

    def propose(self, texts: Sequence[str]) -> list[Proposal]:
        """Each input's guarded correction and its confidence margin (see
        `Proposal`), before `min_margin` is applied: what `correct` decides
        on, and what a margin is chosen from. Margins are scored only when
        `min_margin` is set (else left None), to keep the extra pass off."""
        results = [Proposal(text) for text in texts]
        if not results:
            return results
        encoded = self.encode(texts)
        rows = [
            i
            for i, (text, ids) in enumerate(zip(texts, encoded, strict=True))
            if text.strip() and len(ids) <= self.max_length
        ]
        if not rows:
            return results
        bounds = [self.length_bound(len(encoded[i])) for i in rows]
        batch = self.tokenizer.pad(
            {"input_ids": [encoded[i] for i in rows]}, return_tensors="pt"
        ).to(self.device)
        end_at_bound = _EndAtBound(bounds, self.num_beams, self.tokenizer.eos_token_id)
        with torch.inference_mode():
            generated = self.model.generate(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                num_beams=self.num_beams,
                max_new_tokens=max(bounds) + 1,
                logits_processor=LogitsProcessorList([end_at_bound]),
            )
        start = end_at_bound.prompt_length or 1
        changed: list[tuple[int, list[int]]] = []  # (row, the correction's ids with its end)
        for row, bound, tokens in zip(rows, bounds, generated[:, start:].tolist(), strict=True):
            end = next((k for k, token in enumerate(tokens) if token in self.end_ids), None)
            if end is None or end + 1 > bound:
                continue  # did not finish within its bound: the input stands
            output = self.tokenizer.decode(tokens[:end], skip_special_tokens=True).strip()
            if self.guard is not None:
                output = self.guard(texts[row], output)
            if output != texts[row]:
                results[row] = Proposal(output)
                changed.append((row, tokens[: end + 1]))
        if changed and self.min_margin is not None:
            chosen = [row for row, _ in changed]
            margins = self.margins(
                [encoded[row] for row in chosen],
                [ids for _, ids in changed],
                self.encode([texts[row] for row in chosen], prefix=False),
            )
            for row, margin in zip(chosen, margins, strict=True):
                results[row] = Proposal(results[row].output, margin)
        return results

    def margins(
        self,
        inputs: list[list[int]],
        corrections: list[list[int]],
        copies: list[list[int]],
    ) -> list[float]:
        """Mean token log-probability of each correction minus that of the
        copy of its input, both given `inputs` and teacher-forced in ONE
        batched forward pass (2 rows per input). Mean, not sum: a correction
        that adds a word ("a", "the") has one more token, and a sum would
        charge it for that alone."""
        sequences = self.sequence_scores(inputs + inputs, corrections + copies)
        count = len(inputs)
        return [sequences[i] - sequences[count + i] for i in range(count)]

    def sequence_scores(self, inputs: list[list[int]], labels: list[list[int]]) -> list[float]:
        """Mean log-probability per token of each `labels` row (end token
        included) given its `inputs` row, teacher-forced. Rows are scored
        independently (padding is masked), so a score does not depend on the
        batch beyond floating-point noise."""
        batch = self.tokenizer.pad({"input_ids": inputs}, return_tensors="pt").to(self.device)
        longest = max(len(row) for row in labels)
        target = torch.tensor(
            [row + [-100] * (longest - len(row)) for row in labels], device=self.device
        )
        with torch.inference_mode():
            logits = self.model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                labels=target,
            ).logits
        mask = target != -100
        picked = logits.float().log_softmax(-1).gather(-1, target.clamp(min=0).unsqueeze(-1))
        totals = (picked.squeeze(-1) * mask).sum(-1)
        return (totals / mask.sum(-1)).tolist()


def load_corrector(model: str | None = None, **options) -> Corrector:
    """`model` (hub id or folder; default: the original demo's hub model), else
    the bundled corrector when the first cannot be loaded. A hub model already
    in the local cache loads without network; when the hub does not answer
    within seconds, the fallback comes at once instead of after the hub
    client's retries."""
    wanted = model or DEFAULT_MODEL
    try:
        return Corrector(wanted, local_files_only=True, **options)
    except (OSError, ValueError) as exc:
        failure: Exception = exc
    if not Path(wanted).is_dir() and _hub_reachable():
        try:
            return Corrector(wanted, **options)
        except (OSError, ValueError) as exc:
            failure = exc
    if not BUNDLED_MODEL.is_dir() or Path(wanted) == BUNDLED_MODEL:
        raise RuntimeError(
            f"cannot load the corrector {wanted!r} ({failure}); pass --model with a hub id "
            "this machine can download or a local folder in HuggingFace format"
        ) from failure
    log.warning(
        "cannot load %r (%s); using the bundled corrector in %s instead",
        wanted,
        type(failure).__name__,
        BUNDLED_MODEL,
    )
    return Corrector(str(BUNDLED_MODEL), **options)


def _hub_reachable(timeout: float = 3.0) -> bool:
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        requests.head(constants.ENDPOINT, timeout=timeout)
    except requests.RequestException:
        return False
    return True
