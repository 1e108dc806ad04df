"""Built-in projections backed by trained models: detoxify and profanity."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from .registry import Projection, register_factory

log = logging.getLogger("gantry_gradio")

DETOXIFY_LABELS = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
)


def _texts(batch: list[Any]) -> tuple[list[int], list[str]]:
    """Positions and values of the real, non-empty texts of a batch."""
    keep = [i for i, value in enumerate(batch) if isinstance(value, str) and value.strip()]
    return keep, [batch[i] for i in keep]


class DetoxifyScorer:
    """Loads Detoxify once, lazily, in the projector's thread.

    Offline use: pass `checkpoint` (a Detoxify .ckpt) and `config_path` (a
    folder with the HuggingFace config and tokenizer files). Detoxify would still
    look the checkpoint's architecture name up on the hub (and retry for ~20 s
    without network), so the checkpoint is re-saved once beside itself, naming
    the local folder as its architecture, and that copy is loaded through
    `Detoxify(checkpoint=..., huggingface_config_path=...)`: no download at all.
    When no weights can be had, the projection says so once and stays off while
    the other projections go on."""

    def __init__(
        self,
        model_type: str = "original",
        checkpoint: str | None = None,
        config_path: str | None = None,
        device: str = "cpu",
    ) -> None:
        self.model_type = model_type
        self.checkpoint = checkpoint or os.environ.get("GANTRY_DETOXIFY_CHECKPOINT")
        self.config_path = config_path or os.environ.get("GANTRY_DETOXIFY_CONFIG")
        self.device = device
        self._model = None
        self.unavailable: str | None = None
        self.truncated = 0

    def _load(self):
        from detoxify import Detoxify

        if self.checkpoint is None:
            return Detoxify(self.model_type, device=self.device)
        checkpoint = self.checkpoint if self.config_path is None else self._offline_checkpoint()
        return Detoxify(
            checkpoint=checkpoint, device=self.device, huggingface_config_path=self.config_path
        )

    def _offline_checkpoint(self) -> str:
        import torch

        target = Path(self.checkpoint).with_suffix(".offline.ckpt")
        if not target.exists():
            loaded = torch.load(self.checkpoint, map_location="cpu", weights_only=False)
            loaded["config"]["arch"]["args"]["model_type"] = str(Path(self.config_path).resolve())
            torch.save(loaded, target)
        return str(target)

    def model(self):
        if self._model is None and self.unavailable is None:
            try:
                self._model = self._load()
            except Exception as exc:  # no network, missing file, bad checkpoint
                self.unavailable = f"{type(exc).__name__}: {exc}"
                log.error(
                    "gantry_gradio: the detoxify projection is off: its weights could not be "
                    "loaded (%s). Supply a checkpoint: init(projections=[{'name': 'detoxify', "
                    "'checkpoint': 'toxic_original.ckpt', 'config_path': 'bert-base-uncased/'}]) "
                    "or GANTRY_DETOXIFY_CHECKPOINT / GANTRY_DETOXIFY_CONFIG. Other projections "
                    "keep running.",
                    self.unavailable,
                )
        return self._model

    def __call__(self, batch: list[Any]) -> list[dict[str, float | None]]:
        model = self.model()
        if model is None:
            return [{} for _ in batch]
        keep, texts = _texts(batch)
        results: list[dict[str, float | None]] = [{} for _ in batch]
        if not texts:
            return results
        limit = model.tokenizer.model_max_length
        lengths = model.tokenizer(texts, add_special_tokens=True)["input_ids"]
        if any(len(ids) > limit for ids in lengths):
            self.truncated += sum(len(ids) > limit for ids in lengths)
            log.info(
                "gantry_gradio: detoxify truncated %d text(s) to %d tokens",
                sum(len(ids) > limit for ids in lengths),
                limit,
            )
        # Detoxify squeezes a batch of one to plain floats: make every score a list.
        scores = {label: np.atleast_1d(values) for label, values in model.predict(texts).items()}
        for position, index in enumerate(keep):
            results[index] = {
                label: float(scores[label][position])
                for label in DETOXIFY_LABELS
                if label in scores
            }
        return results


def detoxify(
    field: str = "outputs.inference", name: str = "detoxify", **settings: Any
) -> Projection:
    return Projection(name, (field,), DETOXIFY_LABELS, DetoxifyScorer(**settings))


def profanity_scores(batch: list[Any]) -> list[dict[str, float | None]]:
    """alt-profanity-check ships its trained model, so it works offline."""
    from profanity_check import predict_prob

    keep, texts = _texts(batch)
    results: list[dict[str, float | None]] = [{} for _ in batch]
    if texts:
        for index, probability in zip(keep, predict_prob(texts), strict=True):
            results[index] = {"probability": float(probability)}
    return results


def profanity(field: str = "outputs.inference", name: str = "profanity") -> Projection:
    return Projection(name, (field,), ("probability",), profanity_scores)


register_factory("detoxify", detoxify)
register_factory("profanity", profanity)
