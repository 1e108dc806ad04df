"""Train the bundled grammar corrector: a small T5 in HuggingFace format,
trained from scratch on correct English sentences with synthetic learner
errors from demo_app/errors.py. Reproducible from the seed; CPU is enough.

    python -m demo_app.train_corrector --steps 20000 [--out demo_app/bundled_model]

The sentences come from demo_app/training_sources.py (WordNet's usage
examples, everyday fortunes, Gutenberg prose and dialogue, State of the Union
addresses since 1934, ham e-mails, chatbot dialogues: ~75,000 sentences); the
command installs or downloads them itself (Debian packages need root, or it
prints the apt-get command). It also needs `pip install lemminflect textblob`
for the tag-aware errors.

The model is deliberately tiny (~1.6M parameters, 6.5 MB). With `--steps`
the learning-rate schedule follows the step count and the run is the same on
every run (same seed, same data, same torch build); `--minutes` instead (or as
well) bounds the run by the clock. A checkpoint is saved every `--save-minutes`
so a stopped run still leaves a usable model.

A tenth of the sentences is held out (by hash, stable across runs) for
demo_app/evaluate_corrector.py.

Training and inference encode text the same way: the tokenizer's
post-processor appends the end token `</s>` to every encoding, so the
inputs the model learns from are exactly what `tokenizer(text)` gives the app."""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from .errors import corrupt
from .model import BUNDLED_MODEL
from .training_sources import WORDNET, cache_dir, fetch_sources, held_out, load_sentences

SEED = 7
MAX_TOKENS = 96  # a 40-word sentence with misspellings stays under it
WARMUP_STEPS = 300
CORRECT_SHARE = 1 / 3
#: How often each source is drawn: WordNet's short sentences are what the
#: demo sees most; the rest gives length and everyday variety. SOTU is the
#: largest source but the least everyday, so it is drawn less than its size.
SOURCE_WEIGHTS = {
    "wordnet": 0.35,
    "gutenberg": 0.20,
    "sotu": 0.15,
    "email": 0.13,
    "fortunes": 0.13,
    "chat": 0.04,
}

__all__ = [
    "held_out",
    "wordnet_sentences",
    "build_tokenizer",
    "training_pair",
    "bucketed_batches",
    "encode",
]


def learning_rate_factor(step: int, progress: float) -> float:
    """Linear warm-up, then linear decay to a tenth by the end of the run
    (by steps, or by the clock for a run bounded only by time)."""
    return min(1.0, (step + 1) / WARMUP_STEPS) * (1.0 - 0.9 * min(progress, 1.0))


def wordnet_sentences(folder: Path = WORDNET) -> list[str]:
    """Usage examples are the double-quoted parts of the glosses (kept as
    before for evaluate_corrector.py; training uses training_sources)."""
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


def training_pair(sentence: str, rng: random.Random) -> tuple[str, str]:
    """(input, target). A third of the pairs are already correct: the model
    must learn to leave good sentences alone. Longer sentences get more
    errors (one per ~10 words, at most 4), as learners' text does."""
    if rng.random() < CORRECT_SHARE:
        return sentence, sentence
    return corrupt(sentence, rng, max_errors=min(4, 1 + len(sentence.split()) // 10)), sentence


def bucketed_batches(
    sampler: SentenceSampler, rng: random.Random, batch_size: int, buckets: int = 16
) -> Iterator[list[tuple[str, str]]]:
    """Endless batches of training pairs, each of sentences of similar
    length: `buckets` batches' worth of pairs are drawn, sorted by length and
    cut into batches, in shuffled order. With 8-40-word sentences beside
    WordNet's short ones, a random batch pads to more than twice its mean
    length; bucketing keeps a step as cheap as it was on WordNet alone."""
    while True:
        pairs = [training_pair(sampler(rng), rng) for _ in range(batch_size * buckets)]
        pairs.sort(key=lambda pair: len(pair[0]) + len(pair[1]))
        batches = [pairs[i : i + batch_size] for i in range(0, len(pairs), batch_size)]
        rng.shuffle(batches)
        yield from batches


class SentenceSampler:
    """Draws training sentences: a source by weight, then a sentence of it
    uniformly; held-out sentences never appear."""

    def __init__(self, by_source: dict[str, list[str]], weights: dict[str, float]) -> None:
        self.pools = [
            [s for s in by_source[name] if not held_out(s)]
            for name in weights
            if by_source.get(name)
        ]
        self.weights = [weights[name] for name in weights if by_source.get(name)]

    def __call__(self, rng: random.Random) -> str:
        pool = rng.choices(self.pools, weights=self.weights)[0]
        return rng.choice(pool)


def build_tokenizer(
    sentences: list[str], out: Path | None = None, vocab_size: int = 4000
) -> transformers.PreTrainedTokenizerFast:
    """A byte-level BPE whose encodings end with `</s>` (a post-processor),
    as T5's own tokenizers do: the app encodes with `tokenizer(text)`, so the
    end token is there at inference exactly as in training."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(sentences, trainer)
    eos = tokenizer.token_to_id("</s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos)]
    )
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    if out is not None:
        fast.save_pretrained(out)
    return fast


def encode(tokenizer, texts: list[str], max_length: int = MAX_TOKENS) -> torch.Tensor:
    """Padded ids through the tokenizer's own encoding (end token included,
    kept by truncation), the same call the app makes."""
    return tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )["input_ids"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BUNDLED_MODEL)
    parser.add_argument("--steps", type=int, help="stop after this many batches (reproducible)")
    parser.add_argument("--minutes", type=float, help="stop at this deadline (default 70 min)")
    parser.add_argument("--save-minutes", type=float, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--vocab-size", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--sources", type=Path, default=cache_dir(), help="download cache")
    args = parser.parse_args()
    if args.steps is None and args.minutes is None:
        args.minutes = 70
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    by_source = load_sentences(fetch_sources(args.sources), report=sys.stdout)
    sampler = SentenceSampler(by_source, SOURCE_WEIGHTS)
    train = [s for pool in sampler.pools for s in pool]
    print(
        f"{len(train):,} training sentences; held out by hash: "
        f"{sum(len(v) for v in by_source.values()) - len(train):,}",
        flush=True,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(train, args.out, args.vocab_size)
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
    (args.out / "training_data.json").write_text(
        json.dumps(
            {
                "sentences_by_source": {k: len(v) for k, v in by_source.items()},
                "source_weights": SOURCE_WEIGHTS,
                "correct_share": CORRECT_SHARE,
                "seed": args.seed,
                "steps": args.steps,
                "minutes": args.minutes,
                "batch_size": args.batch_size,
            },
            indent=2,
        )
    )
    model.train()
    batches = bucketed_batches(sampler, rng, args.batch_size)
    started = time.monotonic()
    duration = args.minutes * 60 if args.minutes else float("inf")
    next_save = started + args.save_minutes * 60
    step = 0
    while (elapsed := time.monotonic() - started) < duration and step != args.steps:
        progress = step / args.steps if args.steps else elapsed / duration
        for group in optimizer.param_groups:
            group["lr"] = args.learning_rate * learning_rate_factor(step, progress)
        batch = next(batches)
        sources = encode(tokenizer, [b[0] for b in batch])
        targets = encode(tokenizer, [b[1] for b in batch])
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
        if step % 100 == 0:
            rate = (time.monotonic() - started) / step
            print(f"step {step} loss {loss.item():.3f} ({rate:.2f} s/step)", flush=True)
        if time.monotonic() > next_save:
            model.save_pretrained(args.out)
            next_save += args.save_minutes * 60
            print(f"checkpoint at step {step}", flush=True)
    model.save_pretrained(args.out)
    print(
        f"trained {step} steps in {(time.monotonic() - started) / 60:.1f} min; saved to {args.out}"
    )


if __name__ == "__main__":
    main()
