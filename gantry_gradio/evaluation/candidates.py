"""What can be evaluated: a function on a batch of inputs, or a
HuggingFace seq2seq model by hub id or folder (run with `generate`, as
transformers 5 has no text2text pipeline)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

BatchFunction = Callable[[list[Any]], list[Any]]


class CandidateError(ValueError):
    """A candidate that cannot be run; the message says which and why."""


def as_batch_function(name: str, candidate: Any) -> BatchFunction:
    """`candidate(batch) -> outputs` for a callable; a model for a string
    (a local folder, or a hub id) or a (model, tokenizer) pair."""
    if isinstance(candidate, (str, Path)):
        return Seq2SeqCandidate.load(str(candidate))
    if isinstance(candidate, tuple) and len(candidate) == 2:
        return Seq2SeqCandidate(*candidate)
    if callable(candidate):
        return candidate
    raise CandidateError(
        f"candidate {name!r} is a {type(candidate).__name__}; pass a function taking a list "
        "of inputs and returning a list of outputs, a model folder or hub id, or "
        "(model, tokenizer)"
    )


class Seq2SeqCandidate:
    """Beam search over a batch, without the demo's guards: what the bare
    model does."""

    def __init__(
        self, model: Any, tokenizer: Any, *, num_beams: int = 4, max_new_tokens: int = 128
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.num_beams = num_beams
        self.max_new_tokens = max_new_tokens

    @classmethod
    def load(cls, source: str) -> Seq2SeqCandidate:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        local = Path(source).is_dir()
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
            model = AutoModelForSeq2SeqLM.from_pretrained(source, local_files_only=local)
        except OSError as exc:
            raise CandidateError(f"cannot load model {source!r}: {exc}") from exc
        return cls(model, tokenizer)

    def __call__(self, batch: list[str]) -> list[str]:
        import torch

        encoded = self.tokenizer(list(batch), return_tensors="pt", padding=True, truncation=True)
        with torch.no_grad():
            generated = self.model.generate(
                **encoded, num_beams=self.num_beams, max_new_tokens=self.max_new_tokens
            )
        return self.tokenizer.batch_decode(generated, skip_special_tokens=True)
