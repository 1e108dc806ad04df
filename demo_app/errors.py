"""Synthetic grammatical errors: the history generator uses them to make
realistic inputs from correct sentences, and the corrector's training script
to make training pairs. Each function returns the sentence unchanged when it
finds nothing to break, so callers can try several."""

from __future__ import annotations

import random
import re

_AGREEMENT = {
    "goes": "go",
    "has": "have",
    "does": "do",
    "is": "are",
    "was": "were",
    "likes": "like",
    "wants": "want",
    "makes": "make",
    "takes": "take",
    "works": "work",
    "lives": "live",
    "needs": "need",
}
_VERB_FORMS = {
    "went": "goed",
    "bought": "buyed",
    "taught": "teached",
    "written": "wrote",
    "seen": "saw",
    "eaten": "ate",
    "gone": "went",
    "ran": "runned",
    "brought": "bringed",
    "thought": "thinked",
}
_PREPOSITIONS = {"on": "in", "in": "on", "at": "in", "to": "at", "for": "to", "of": "for"}
_MISSPELLINGS = {
    "because": "becuase",
    "receive": "recieve",
    "definitely": "definately",
    "separate": "seperate",
    "tomorrow": "tommorow",
    "beginning": "begining",
    "believe": "beleive",
    "their": "thier",
    "friend": "freind",
    "which": "wich",
    "until": "untill",
    "always": "allways",
    "really": "realy",
    "writing": "writting",
    "different": "diffrent",
    "address": "adress",
}
_ARTICLES = ("a", "an", "the")


def _swap_word(sentence: str, table: dict[str, str], rng: random.Random) -> str:
    words = sentence.split(" ")
    spots = [i for i, w in enumerate(words) if w.lower().strip(".,!?") in table]
    if not spots:
        return sentence
    i = rng.choice(spots)
    core = words[i].strip(".,!?")
    replacement = table[core.lower()]
    if core[0].isupper():
        replacement = replacement.capitalize()
    words[i] = words[i].replace(core, replacement)
    return " ".join(words)


def drop_article(sentence: str, rng: random.Random) -> str:
    words = sentence.split(" ")
    spots = [i for i, w in enumerate(words) if i > 0 and w.lower() in _ARTICLES]
    if not spots:
        return sentence
    del words[rng.choice(spots)]
    return " ".join(words)


def agreement(sentence: str, rng: random.Random) -> str:
    return _swap_word(sentence, _AGREEMENT, rng)


def verb_form(sentence: str, rng: random.Random) -> str:
    return _swap_word(sentence, _VERB_FORMS, rng)


def preposition(sentence: str, rng: random.Random) -> str:
    return _swap_word(sentence, _PREPOSITIONS, rng)


def misspelling(sentence: str, rng: random.Random) -> str:
    return _swap_word(sentence, _MISSPELLINGS, rng)


def lowercase_start(sentence: str, rng: random.Random) -> str:
    return sentence[:1].lower() + sentence[1:]


def lowercase_i(sentence: str, rng: random.Random) -> str:
    return re.sub(r"\bI\b", "i", sentence)


def drop_final_punctuation(sentence: str, rng: random.Random) -> str:
    return sentence[:-1] if sentence[-1:] in ".!?" else sentence


ERRORS = (
    drop_article,
    agreement,
    verb_form,
    preposition,
    misspelling,
    lowercase_start,
    lowercase_i,
    drop_final_punctuation,
)


def corrupt(sentence: str, rng: random.Random, max_errors: int = 2) -> str:
    """One to `max_errors` different errors; may return the sentence unchanged
    when none applies (callers that need a change check for it)."""
    broken = sentence
    for error in rng.sample(ERRORS, k=len(ERRORS))[: rng.randint(1, max_errors) + 2]:
        changed = error(broken, rng)
        if changed != broken:
            broken = changed
            max_errors -= 1
            if max_errors == 0:
                break
    return broken
