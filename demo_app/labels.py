"""The month's review: three simulated reviewers label a sample of April's
rejected predictions for young accounts (the dip) through the review queue,
as people in the review tab would: next item, label, verdict, save. Each
item gets two labels. The label is the sentence the history generator meant
(history.generate knows it), except where a reviewer is unsure or, now and
then, keeps the model's output: the disagreement a real team has.

The labels then become the `gec_labels` dataset (train / validation / test
by join key) that `python -m demo_app.retrain` learns from and evaluates on."""

from __future__ import annotations

import random
from datetime import timedelta

import pandas as pd

import gantry_gradio as gantry

from .history import FIRST_DAY, LAST_DAY, generate

QUEUE = "young_rejected"
DATASET = "gec_labels"
REVIEWERS = ("ana", "ben", "chen")
SAMPLE = 300
SEED = 4
FILTERS = ["feedback.correction_accepted == false", "tags.account_age_days <= 7"]


def review_month(client: gantry.Client, application: str, frame: pd.DataFrame) -> int:
    """Label the queue (made on first use) and push its labels as a dataset
    version; returns the labels saved (0 when the queue was done already)."""
    queue = client.create_review_queue(
        QUEUE,
        application,
        start=FIRST_DAY,
        end=LAST_DAY + timedelta(days=1),
        filters=FILTERS,
        sample=SAMPLE,
        seed=SEED,
        labels_per_item=2,
        exist_ok=True,
    )
    if queue.progress()["done"] == queue.total:
        return 0
    meant = _meant_by_key(frame)
    rng = random.Random(SEED)
    saved = 0
    working = list(REVIEWERS)
    while working:
        reviewer = working[saved % len(working)]
        item = queue.next_item(reviewer)
        if item is None:
            working.remove(reviewer)
            continue
        output = item.record.get("outputs.inference") or ""
        label, verdict = _judge(rng, output, meant.get(item.join_key, output))
        queue.save(reviewer, item.position, label, verdict)
        saved += 1
    client.flush(120)
    queue.to_dataset(DATASET, f"{QUEUE}: {saved} labels by {', '.join(REVIEWERS)}")
    return saved


def _meant_by_key(frame: pd.DataFrame) -> dict[str, str]:
    """What each shipped prediction's input meant, by its join key (uuid);
    a source other than the shipped month has none, so nothing is labeled."""
    generated = generate(with_meant=True)
    known = generated[generated["uuid"].isin(set(frame["uuid"]))]
    return dict(zip(known["uuid"], known["meant"], strict=True))


def _judge(rng: random.Random, output: str, meant: str) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.07:  # keeps the model's output: the other reviewer will disagree
        return output, "right"
    if roll < 0.15:
        return meant, "unsure"
    return meant, "right" if output == meant else "wrong"
