"""The grammar corrector: any HuggingFace seq2seq model, by hub id or local
folder, run with `generate` (transformers 5 has no text2text pipeline).

Hub downloads fail on machines without internet; then the corrector bundled
with the repo (demo_app/bundled_model, when present) is used instead, and the
log says so."""

from __future__ import annotations

import logging
from pathlib import Path

import requests
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

log = logging.getLogger(__name__)

DEFAULT_MODEL = "prithivida/grammar_error_correcter_v1"
BUNDLED_MODEL = Path(__file__).parent / "bundled_model"
#: The original demo's model expects this prefix; others are given none.
_PREFIXES = {DEFAULT_MODEL: "gec: "}


class Corrector:
    """Batched correction with bounded length, on GPU when there is one."""

    def __init__(
        self,
        source: str,
        *,
        prefix: str | None = None,
        num_beams: int = 5,
        max_length: int = 128,
        device: str | None = None,
        local_files_only: bool = False,
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

    def correct(self, texts: list[str]) -> list[str]:
        if not texts:
            return []
        batch = self.tokenizer(
            [self.prefix + text for text in texts],
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=self.max_length,
        ).to(self.device)
        # A correction is about as long as its input. A generation that hits
        # this bound without its end-of-sequence token has gone astray (small
        # models start repeating themselves), so that input comes back
        # unchanged: leaving a sentence alone is the safe failure for a corrector.
        longest = batch["input_ids"].shape[1]
        with torch.inference_mode():
            generated = self.model.generate(
                **batch,
                num_beams=self.num_beams,
                max_new_tokens=min(self.max_length, longest + longest // 2 + 8),
            )
        finished = (generated[:, 1:] == self.tokenizer.eos_token_id).any(dim=1).tolist()
        decoded = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        return [
            out.strip() if done else text
            for text, out, done in zip(texts, decoded, finished, strict=True)
        ]


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
