"""The demo's month of history (2022-03-30 to 2022-05-01), generated from a
fixed seed so the shipped file can be rebuilt byte for byte:

    python -m demo_app.history            # writes demo_app/data/april_2022.csv.gz

The story it carries (what the monitoring tab should reveal): acceptance is
steady around 90% until the third week of April; then a wave of new accounts
pastes chat shorthand the corrector mangles, and young accounts' (age <= 7
days) acceptance falls to ~25-30% on April 23-26, volatile from day to day,
while older accounts stay high. Volume grows through the month."""

from __future__ import annotations

import argparse
import random
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

# The shipped month was generated with the first error generator: keep it byte for byte.
from .errors import legacy_corrupt, legacy_preposition
from .sentences import informal, meant, sentence

SEED = 2022
FIRST_DAY, LAST_DAY = date(2022, 3, 30), date(2022, 5, 1)
DIP = (date(2022, 4, 23), date(2022, 4, 26))
WAVE_START = date(2022, 4, 16)  # new signups pick up from here
#: The saved view backfill.py makes of the whole history; the tab opens on it.
HISTORY_VIEW = "april-2022"
SHIPPED = Path(__file__).parent / "data" / "april_2022.csv.gz"
COLUMNS = [
    "timestamp",
    "text",
    "account_age_days",
    "username",
    "inference",
    "correction_accepted",
    "flag",
    "uuid",
]


def _users(rng: random.Random) -> tuple[list, list]:
    """Established users (signed up long ago) and the month's new signups."""
    old = [(f"user{i:04d}", FIRST_DAY - timedelta(days=rng.randint(30, 900))) for i in range(1500)]
    new = []
    for i in range(2500):
        # Few signups early in the month, many from the wave on.
        span = (LAST_DAY - WAVE_START).days if rng.random() < 0.8 else (LAST_DAY - FIRST_DAY).days
        start = WAVE_START if span < 20 else FIRST_DAY
        new.append((f"new{i:04d}", start + timedelta(days=rng.randint(0, span))))
    return old, new


def _mangle(text: str, rng: random.Random) -> str:
    """What the corrector makes of chat shorthand: a capital, a full stop and a
    dropped word, which users reject."""
    words = text.split()
    if len(words) > 3:
        del words[rng.randrange(1, len(words))]
    out = " ".join(words)
    return out[:1].upper() + out[1:] + "."


def _day_rows(day: date, rng: random.Random, old: list, new: list) -> list[dict]:
    progress = (day - FIRST_DAY).days / (LAST_DAY - FIRST_DAY).days
    volume = int(800 + 450 * progress + rng.randint(-60, 60))
    in_dip = DIP[0] <= day <= DIP[1]
    informal_share = rng.uniform(0.7, 0.95) if in_dip else 0.03  # volatile in the dip
    signed_up = [u for u in new if u[1] <= day]
    young_share = 0.35 if in_dip else (0.2 if day >= WAVE_START else 0.1)
    rows = []
    for _ in range(volume):
        pool = signed_up if signed_up and rng.random() < young_share else old
        username, signup = rng.choice(pool)
        age = (day - signup).days
        young = age <= 7
        moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(
            seconds=rng.randint(0, 86_399)
        )
        flag = None
        if young and rng.random() < informal_share:
            text = informal(rng)
            correct = meant(text)
            inference = _mangle(text, rng)
            accepted = rng.random() < 0.1
            if rng.random() < 0.06:
                flag = rng.choice(["incorrect", "incorrect", "offensive", "other"])
        else:
            correct = sentence(rng)
            text = legacy_corrupt(correct, rng)
            good = rng.random() < 0.93
            inference = correct if good else rng.choice([text, legacy_preposition(correct, rng)])
            accepted = rng.random() < (0.97 if good else 0.15)
            if not good and rng.random() < 0.1:
                flag = rng.choice(["incorrect", "other"])
        rows.append(
            {
                "timestamp": moment,
                "text": text,
                "account_age_days": age,
                "username": username,
                "inference": inference,
                "correction_accepted": accepted if rng.random() < 0.9 else None,
                "flag": flag,
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "meant": correct,
            }
        )
    return rows


def generate(seed: int = SEED, *, with_meant: bool = False) -> pd.DataFrame:
    """The month; `with_meant` adds the sentence each input meant (the clean
    sentence before its errors, or the chat message written out): what a
    careful reviewer would give as the label. The shipped file has no such
    column, and drawing it takes no random numbers, so the file is unchanged."""
    rng = random.Random(seed)
    old, new = _users(rng)
    rows = []
    day = FIRST_DAY
    while day <= LAST_DAY:
        rows.extend(_day_rows(day, rng, old, new))
        day += timedelta(days=1)
    columns = [*COLUMNS, "meant"] if with_meant else COLUMNS
    frame = pd.DataFrame(rows, columns=columns).sort_values("timestamp", kind="stable")
    frame["correction_accepted"] = frame["correction_accepted"].astype("boolean")
    return frame.reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    frame = generate(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(
        args.out,
        index=False,
        date_format="%Y-%m-%dT%H:%M:%S%z",
        compression={"method": "gzip", "mtime": 0},
    )
    print(f"wrote {len(frame):,} predictions to {args.out}")


if __name__ == "__main__":
    main()
