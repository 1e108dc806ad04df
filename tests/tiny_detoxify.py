"""A tiny Detoxify-format checkpoint built locally (random BERT, a tokenizer from
a handful of words), loadable exactly as a user's downloaded checkpoint is."""

from __future__ import annotations

from pathlib import Path

import torch
import transformers

WORDS = (
    "the a you are is was this that good bad idiot stupid hate love nice kill go goes "
    "school she he it i to and of not"
).split()
CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def build(folder: Path, *, max_length: int = 32) -> tuple[Path, Path]:
    """Write config + tokenizer files and a .ckpt whose architecture names the hub
    model a real Detoxify checkpoint names; return (checkpoint, config folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *WORDS,
        *"abcdefghijklmnopqrstuvwxyz.,!?'",
    ]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=len(CLASSES),
        max_position_embeddings=max_length,
    )
    config.save_pretrained(folder)
    tokenizer = transformers.BertTokenizer(
        vocab_file=str(folder / "vocab.txt"), model_max_length=max_length
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    checkpoint = folder / "toxic_tiny.ckpt"
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "model_type": "bert-base-uncased",
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                        "num_classes": len(CLASSES),
                    }
                },
                "dataset": {"args": {"classes": CLASSES}},
            },
            "state_dict": model.state_dict(),
        },
        checkpoint,
    )
    return checkpoint, folder
