"""Train the bundled grammar corrector: a small T5 in HuggingFace format, on
the usage-example sentences of Debian's wordnet-base (apt-get install -y
wordnet-base; WordNet licence, permissive) with synthetic errors from
demo_app/errors.py. Reproducible from the seed; CPU is enough.

    python -m demo_app.train_corrector [--minutes 70] [--out demo_app/bundled_model]

The model is deliberately tiny (~1.5M parameters, 6 MB): on two CPU cores it
trains at ~0.2 s per batch of 32, so an hour is ~18,000 steps; a checkpoint is
saved every `--save-minutes` so a stopped run still leaves a usable model.

A tenth of the sentences is held out (by hash, stable across runs) for
demo_app/evaluate_corrector.py."""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import time
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from .errors import corrupt
from .model import BUNDLED_MODEL

WORDNET = Path("/usr/share/wordnet")
SEED = 7
MAX_TOKENS = 64
WARMUP_STEPS = 300


def learning_rate_factor(step: int, progress: float) -> float:
    """Linear warm-up, then linear decay to a tenth by the deadline: the run
    is bounded by time, not steps, so decay follows the clock."""
    return min(1.0, (step + 1) / WARMUP_STEPS) * (1.0 - 0.9 * min(progress, 1.0))


def wordnet_sentences(folder: Path = WORDNET) -> list[str]:
    """Usage examples are the double-quoted parts of the glosses."""
    found = set()
    for part in ("noun", "verb", "adj", "adv"):
        text = (folder / f"data.{part}").read_text(encoding="latin-1")
        for quoted in re.findall(r'"([^"]{12,120})"', text):
            words = quoted.split()
            if len(words) < 4 or not quoted[0].isalpha() or quoted.isupper():
                continue
            sentence = quoted[0].upper() + quoted[1:]
            if sentence[-1] not in ".!?":
                sentence += "."
            found.add(sentence)
    return sorted(found)


def held_out(sentence: str) -> bool:
    return hashlib.sha1(sentence.encode()).digest()[0] < 26  # ~10%


def training_pair(sentence: str, rng: random.Random) -> tuple[str, str]:
    """A third of the pairs are already correct: the model must learn to leave
    good sentences alone."""
    if rng.random() < 0.35:
        return sentence, sentence
    return corrupt(sentence, rng), sentence


def build_tokenizer(sentences: list[str], out: Path) -> transformers.PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=4000,
        special_tokens=["<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(sentences, trainer)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    fast.save_pretrained(out)
    return fast


def encode_with_eos(tokenizer, texts: list[str], max_length: int) -> torch.Tensor:
    ids = [tokenizer.encode(t)[: max_length - 1] + [tokenizer.eos_token_id] for t in texts]
    longest = max(len(i) for i in ids)
    return torch.tensor([i + [tokenizer.pad_token_id] * (longest - len(i)) for i in ids])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BUNDLED_MODEL)
    parser.add_argument("--minutes", type=float, default=70)
    parser.add_argument("--save-minutes", type=float, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    args = parser.parse_args()
    rng = random.Random(SEED)
    torch.manual_seed(SEED)
    sentences = [s for s in wordnet_sentences() if not held_out(s)]
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(sentences, args.out)
    config = transformers.T5Config(
        vocab_size=len(tokenizer),
        d_model=128,
        d_ff=512,
        d_kv=32,
        num_layers=3,
        num_decoder_layers=2,
        num_heads=4,
        dropout_rate=0.05,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    model = transformers.T5ForConditionalGeneration(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=0.01)
    model.train()
    started = time.monotonic()
    duration = args.minutes * 60
    next_save = started + args.save_minutes * 60
    step = 0
    while (elapsed := time.monotonic() - started) < duration:
        for group in optimizer.param_groups:
            group["lr"] = args.learning_rate * learning_rate_factor(step, elapsed / duration)
        batch = [training_pair(rng.choice(sentences), rng) for _ in range(args.batch_size)]
        sources = encode_with_eos(tokenizer, [b[0] for b in batch], MAX_TOKENS)
        targets = encode_with_eos(tokenizer, [b[1] for b in batch], MAX_TOKENS)
        labels = targets.masked_fill(targets == tokenizer.pad_token_id, -100)
        loss = model(
            input_ids=sources,
            attention_mask=(sources != tokenizer.pad_token_id).long(),
            labels=labels,
        ).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        step += 1
        if step % 200 == 0:
            print(f"step {step} loss {loss.item():.3f}", flush=True)
        if time.monotonic() > next_save:
            model.save_pretrained(args.out)
            next_save += args.save_minutes * 60
            print(f"checkpoint at step {step}", flush=True)
    model.save_pretrained(args.out)
    print(f"trained {step} steps; saved to {args.out}")


if __name__ == "__main__":
    main()
