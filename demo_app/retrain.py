"""Close the loop: fine-tune the bundled corrector (v1) on the reviewers'
labels and check, with gantry.evaluate, that the result (v2) is better
where it was wrong and no worse elsewhere:

    python -m demo_app.retrain            # writes gantry_data/models/bundled_model_v2
    python -m demo_app --model v2         # serves it, logged as its own version

Training pairs: the train split of the `gec_labels` dataset (made by
backfill.py from the review queue), keeping labels both reviewers agreed on
and no "unsure" ones, as the model sees them in the app (after the spelling
and grammar stages); mixed half and half with the usual synthetic errors on
correct sentences (WordNet's usage examples when wordnet-base is installed,
else the demo's own sentence templates) so the model keeps what it knew.

Then v1 and v2, each inside the app's whole pipeline, are evaluated on the
labels' test split and on the held-out learner sentences
(data/learner_sentences.tsv). Exit status 0 only when v2 beats v1 on the
labels (GLEU's paired interval above zero) and is not worse on learner
English (edit F0.5's paired interval not below zero)."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import pandas as pd
import torch
import transformers

import gantry_gradio as gantry
from gantry_gradio import Evaluation

from .app import APP
from .evaluate_corrector import learner_set
from .labels import DATASET
from .model import BUNDLED_MODEL, BUNDLED_MODEL_V2
from .pipeline import CorrectionPipeline, load_pipeline
from .sentences import TEMPLATES, fill
from .train_corrector import encode, held_out, training_pair, wordnet_sentences
from .training_sources import WORDNET

SEED = 7
METRICS = ["gleu", "edit_f05", "exact_match", "char_edit_distance"]


def labeled_pairs(client: gantry.Client, dataset: str, model_input: CorrectionPipeline) -> list:
    """(what the model sees, the label) for the train split's sure labels."""
    train = client.get_dataset(dataset).get_pandas(split="train")
    sure = train[(train["verdict"] != "unsure") & train["agreement"].astype(bool)]
    if sure.empty:
        raise SystemExit(f"{dataset!r} has no agreed train labels; run backfill.py --load-data")
    sources = model_input.correct(sure["input"].tolist())
    return list(zip(sources, sure["label"].tolist(), strict=True))


def usual_sentences() -> list[str]:
    """Correct sentences for the rehearsal pairs, none held out for evaluation."""
    rng = random.Random(SEED)
    found = wordnet_sentences() if (WORDNET / "data.noun").exists() else []
    found += [fill(rng.choice(TEMPLATES), rng) for _ in range(2000)]
    return [s for s in found if not held_out(s)]


def fine_tune(pairs: list, sentences: list[str], out: Path, steps: int, batch_size: int) -> float:
    """v1's weights, trained `steps` batches (half labels, half rehearsal), saved to `out`."""
    rng = random.Random(SEED)
    torch.manual_seed(SEED)
    tokenizer = transformers.AutoTokenizer.from_pretrained(BUNDLED_MODEL)
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(BUNDLED_MODEL)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01)
    model.train()
    started = time.monotonic()
    for step in range(steps):
        half = batch_size // 2
        batch = rng.choices(pairs, k=half)
        batch += [training_pair(rng.choice(sentences), rng) for _ in range(batch_size - half)]
        sources = encode(tokenizer, [b[0] for b in batch])
        targets = encode(tokenizer, [b[1] for b in batch])
        labels = targets.masked_fill(targets == tokenizer.pad_token_id, -100)
        mask = (sources != tokenizer.pad_token_id).long()
        loss = model(input_ids=sources, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        if (step + 1) % 50 == 0:
            print(f"step {step + 1}/{steps} loss {loss.item():.3f}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    note = {"fine_tuned_from": BUNDLED_MODEL.name, "labels": len(pairs), "steps": steps}
    (out / "training_data.json").write_text(json.dumps(note, indent=2))
    return time.monotonic() - started


def compare(
    client: gantry.Client, dataset: str, v1: CorrectionPipeline, v2: Path
) -> tuple[Evaluation, Evaluation]:
    """v1 and v2 in the app's whole pipeline, on the labels' test split and
    on learner English."""
    candidates = {"v1": v1.correct, "v2": load_pipeline(str(v2)).correct}
    on_labels = client.evaluate(
        dataset,
        candidates,
        METRICS,
        split="test",
        slices=["verdict"],
        application=APP,
        name="v1 vs v2 on the review labels (test)",
    )
    learners = learner_set()
    on_learners = client.evaluate(
        pd.DataFrame({"input": learners.sources, "label": learners.references}),
        candidates,
        METRICS,
        split=None,
        application=APP,
        name="v1 vs v2 on learner English",
    )
    return on_labels, on_learners


def verdict(on_labels: Evaluation, on_learners: Evaluation) -> bool:
    labels = on_labels.differences.set_index("metric").loc["gleu", "verdict"]
    learners = on_learners.differences.set_index("metric").loc["edit_f05", "verdict"]
    print(f"\nv2 vs v1 on the labels (GLEU): {labels}; on learner English (F0.5): {learners}")
    return labels == "better" and learners != "worse"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="SQLAlchemy URL (default: ./gantry_data/records.db)")
    parser.add_argument("--blobs", help="folder or s3://bucket/prefix (default: ./gantry_data)")
    parser.add_argument("--dataset", default=DATASET)
    parser.add_argument("--out", type=Path, default=BUNDLED_MODEL_V2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    client = gantry.Client(args.store, args.blobs)
    try:
        v1 = load_pipeline(str(BUNDLED_MODEL))  # loaded once: its dictionaries take seconds
        before_model = CorrectionPipeline(v1.stages[:-1])
        pairs = labeled_pairs(client, args.dataset, before_model)
        sentences = usual_sentences()
        print(f"fine-tuning v1 on {len(pairs)} labels + {len(sentences):,} usual sentences")
        seconds = fine_tune(pairs, sentences, args.out, args.steps, args.batch_size)
        print(f"wrote v2 to {args.out} ({args.steps} steps in {seconds:.0f} s)\n")
        on_labels, on_learners = compare(client, args.dataset, v1, args.out)
        print(on_labels, "\n", on_learners, sep="\n")
        return 0 if verdict(on_labels, on_learners) else 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
