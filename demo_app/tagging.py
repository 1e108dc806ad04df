"""Space-separated tokens, part-of-speech tags and inflections: what the
synthetic errors (errors.py) and the grammar rules (grammar.py) both need, so
errors are made and undone on the same reading of a sentence.

Tags come from TextBlob's pattern tagger and inflections from lemminflect's
tables, both offline from their wheels."""

from __future__ import annotations

import re
from functools import lru_cache

TOKEN = re.compile(r"^([^A-Za-z0-9']*)(.*?)([^A-Za-z0-9']*)$")
ARTICLES = ("a", "an", "the")


def split_tokens(sentence: str) -> list[list[str]]:
    """Space-separated tokens as [leading punctuation, word, trailing
    punctuation], so an error edits the word and keeps its punctuation."""
    return [list(TOKEN.match(token).groups()) for token in sentence.split(" ")]


def join_tokens(words: list[list[str]]) -> str:
    return " ".join("".join(w) for w in words if "".join(w))


def require(module: str):
    try:
        return __import__(module)
    except ImportError as missing:  # pragma: no cover - message only
        raise ImportError(
            f"demo_app needs {module} to tag and inflect words: pip install lemminflect textblob"
        ) from missing


@lru_cache(maxsize=100_000)
def pos_tags(sentence: str) -> tuple[str, ...]:
    """Penn Treebank tags, one per space-separated token (cached: the
    training loop corrupts the same sentences many times)."""
    require("textblob")
    from textblob.en import tag

    cores = [re.sub(r"[^A-Za-z0-9'.-]", "", w[1]) or "," for w in split_tokens(sentence)]
    if cores[0][1:].islower() and require("lemminflect").getAllLemmas(cores[0].lower()):
        cores[0] = cores[0].lower()  # else "Life is hard" tags "Life" as a name
    tagged = tag(" ".join(cores), tokenize=False)
    if len(tagged) != len(cores):
        return ("",) * len(cores)
    return tuple(t for _, t in tagged)


def tagged_tokens(sentence: str) -> list[tuple[str, str]]:
    """(word, tag) for each space-separated token."""
    return list(zip((w[1] for w in split_tokens(sentence)), pos_tags(sentence), strict=True))


def inflect(lemma: str, tag: str) -> str | None:
    forms = require("lemminflect").getInflection(lemma, tag)
    return forms[0] if forms else None


def lemma_of(word: str, upos: str) -> str | None:
    lemmas = require("lemminflect").getLemma(word, upos)
    return lemmas[0] if lemmas else None


def known_lemma(word: str, upos: str) -> str | None:
    """The lemma from lemminflect's dictionary only: unlike `lemma_of`, no
    guess for a word it does not know ("dont" is no verb)."""
    lemmas = require("lemminflect").getAllLemmas(word, upos).get(upos)
    return lemmas[0] if lemmas else None


def with_case_of(original: str, replacement: str) -> str:
    """The replacement with the original's capitalisation."""
    if original[:1].isupper() and replacement:
        return replacement[0].upper() + replacement[1:]
    return replacement
