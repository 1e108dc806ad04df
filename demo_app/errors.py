"""Synthetic grammatical errors, the kind learners of English make, for the
corrector's training pairs and held-out evaluation.

The errors are tag-aware: a sentence is part-of-speech tagged (TextBlob's
pattern tagger, offline from its wheel) and inflected with lemminflect's
tables, so they reach every verb and noun rather than a fixed word list:
"He goes" -> "He go", "has eaten" -> "has ate", "bought" -> "buyed",
"much information" -> "many informations", "the books" -> "the book",
dropped, inserted and swapped articles, confused, dropped and added
prepositions, misspellings (keyboard slips, sound-alike spellings, dropped,
doubled and swapped letters, common learner misspellings and homophones),
lowercase sentence starts and "i", a missing final mark, missing apostrophes.

Each error function takes (sentence, rng) and returns the sentence unchanged
when it finds nothing to break, so callers can try several. Everything is
deterministic for a seeded rng: candidates are collected in sentence order
and no set or dict of strings is iterated where order matters.

`legacy_corrupt` and `legacy_preposition` (at the end) are the earlier
word-list errors, kept byte for byte because the shipped month of history
(demo_app/history.py) was generated with them."""

from __future__ import annotations

import random
import re

from .tagging import (
    ARTICLES,
    inflect,
    join_tokens,
    lemma_of,
    pos_tags,
    split_tokens,
    tagged_tokens,
    with_case_of,
)


def replace_one(sentence: str, candidates: list[tuple[int, str]], rng: random.Random) -> str:
    """Apply one (token index, new word) edit chosen at random."""
    if not candidates:
        return sentence
    words = split_tokens(sentence)
    i, new = rng.choice(candidates)
    words[i][1] = with_case_of(words[i][1], new)
    return join_tokens(words)


def _plain(word: str) -> bool:
    return word.isalpha() and word.isascii()


# -- verbs ------------------------------------------------------------------------

_AUXILIARY_AGREEMENT = {
    "is": "are",
    "are": "is",
    "am": "is",
    "was": "were",
    "were": "was",
    "has": "have",
    "have": "has",
    "does": "do",
    "do": "does",
    "isn't": "aren't",
    "aren't": "isn't",
    "wasn't": "weren't",
    "weren't": "wasn't",
    "hasn't": "haven't",
    "haven't": "hasn't",
    "doesn't": "don't",
    "don't": "doesn't",
}
_MODALS_AND_TO = ("to", "can", "could", "will", "would", "shall", "should", "may", "might", "must")


def agreement(sentence: str, rng: random.Random) -> str:
    """Subject-verb agreement: a third-person -s dropped ("He go") or added
    ("They goes"), and is/are, was/were, has/have, does/do swapped."""
    candidates = []
    tagged = tagged_tokens(sentence)
    for i, (word, tag) in enumerate(tagged):
        low = word.lower()
        after_pronoun = i > 0 and tagged[i - 1][0].lower() in ("i", "you", "we", "they")
        if low in _AUXILIARY_AGREEMENT and (tag in ("VBP", "VBZ", "VBD") or "'" in low):
            candidates.append((i, _AUXILIARY_AGREEMENT[low]))
        elif tag == "VBZ" and _plain(word):
            lemma = lemma_of(low, "VERB")
            if lemma and lemma != low:
                candidates.append((i, lemma))
        elif (tag == "VBP" or (after_pronoun and tag in ("VB", "IN"))) and _plain(word):
            # the tagger calls a verb after "they" VB, and "like" there IN
            third = inflect(low, "VBZ")
            if third and third != low:
                candidates.append((i, third))
    return replace_one(sentence, candidates, rng)


def regular_past(lemma: str) -> str:
    """The -ed form a learner builds for an irregular verb: "buyed",
    "runned", "teached"."""
    if lemma.endswith("e"):
        return lemma + "d"
    if re.search(r"[^aeiou]y$", lemma):
        return lemma[:-1] + "ied"
    if re.fullmatch(r"[^aeiou]*[aeiou][^aeiouwxy]", lemma):
        return lemma + lemma[-1] + "ed"
    return lemma + "ed"


def verb_form(sentence: str, rng: random.Random) -> str:
    """Wrong verb forms: past and participle confused ("has went", "I
    gone"), irregular pasts regularised ("buyed"), a wrong tense (past to
    present), and a wrong form after a modal or "to" ("can goes", "to
    went") or after "is" ("is go")."""
    words = [w[1] for w in split_tokens(sentence)]
    tags = pos_tags(sentence)
    candidates = []
    for i, (word, tag) in enumerate(zip(words, tags, strict=True)):
        low = word.lower()
        if not tag.startswith("VB") or not _plain(word):
            continue
        lemma = lemma_of(low, "VERB")
        if not lemma or lemma in ("be", "have", "do"):
            continue
        past, participle = inflect(lemma, "VBD"), inflect(lemma, "VBN")
        irregular = past != regular_past(lemma) and past is not None
        options = []
        if tag == "VBD":
            options = [participle, lemma] + ([regular_past(lemma)] if irregular else [])
        elif tag == "VBN":
            options = [past, lemma] + ([regular_past(lemma)] if irregular else [])
        elif tag == "VBG":
            options = [lemma]
        elif tag == "VB" and i > 0 and words[i - 1].lower() in _MODALS_AND_TO:
            options = [inflect(lemma, "VBZ"), inflect(lemma, "VBG"), past]
        candidates += [(i, o) for o in options if o and o != low]
    return replace_one(sentence, candidates, rng)


# -- nouns and determiners ------------------------------------------------------------

_QUANTIFIERS = {
    "much": "many",
    "many": "much",
    "this": "these",
    "these": "this",
    "those": "that",
    "fewer": "less",
    "every": "all",
    "each": "every",
}


def noun_number(sentence: str, rng: random.Random) -> str:
    """Noun number and the determiners that agree with it: "books" ->
    "book", "information" -> "informations", "much" -> "many", "this" ->
    "these"."""
    candidates = []
    for i, (word, tag) in enumerate(tagged_tokens(sentence)):
        low = word.lower()
        if not _plain(word):
            continue
        if low in _QUANTIFIERS and tag in ("DT", "JJ", "JJR", "PDT"):
            candidates.append((i, _QUANTIFIERS[low]))
        elif tag == "NN" and word.islower():
            plural = inflect(low, "NNS")
            if plural and plural != low:
                candidates.append((i, plural))
        elif tag == "NNS" and word.islower():
            single = lemma_of(low, "NOUN")
            if single and single != low:
                candidates.append((i, single))
    return replace_one(sentence, candidates, rng)


def _a_or_an(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


_NOT_BEFORE_INSERTED_ARTICLE = ("DT", "PRP$", "POS", "CD", "JJ", "JJR", "JJS", "NN", "NNS", "NNP")
_NOT_BEFORE_INSERTED_ARTICLE += ("NNPS", "WP$", "PDT", "RB")


def article(sentence: str, rng: random.Random) -> str:
    """Articles dropped ("I saw cat"), inserted before a noun phrase where
    none belongs ("the life is hard"), or swapped ("a" <-> "the", and the
    wrong one of a/an)."""
    words = split_tokens(sentence)
    tags = pos_tags(sentence)
    cores = [w[1] for w in words]
    ops: list[tuple[str, int, str]] = []
    for i, (word, tag) in enumerate(zip(cores, tags, strict=True)):
        low = word.lower()
        following = cores[i + 1] if i + 1 < len(cores) else ""
        if low in ARTICLES and following:
            ops.append(("drop", i, ""))
            if low == "the":
                ops.append(("swap", i, _a_or_an(following)))
            else:
                ops.append(("swap", i, "the"))
                ops.append(("swap", i, "an" if low == "a" else "a"))
        elif (
            (tag in ("NN", "NNS") or (tag == "JJ" and tags[i + 1 : i + 2] in (("NN",), ("NNS",))))
            and _plain(word)
            and (i == 0 or tags[i - 1] not in _NOT_BEFORE_INSERTED_ARTICLE)
            and (i == 0 or cores[i - 1].lower() not in ARTICLES)
        ):
            ops.append(
                ("insert", i, "the" if tag == "NNS" else rng.choice(("the", _a_or_an(word))))
            )
    if not ops:
        return sentence
    kind, i, new = rng.choice(ops)
    if kind == "swap":
        words[i][1] = with_case_of(words[i][1], new)
    elif kind == "drop":
        if i == 0 and words[0][1][:1].isupper() and len(words) > 1:
            words[1][1] = words[1][1][:1].upper() + words[1][1][1:]
        words[i] = [words[i][0], "", words[i][2]]
    else:
        if i == 0 and tags[0] != "NNP" and words[0][1] != "I":
            words[0][1] = words[0][1][:1].lower() + words[0][1][1:]
            new = new.capitalize()
        words.insert(i, [words[i][0], new, ""])
        words[i + 1][0] = ""
    return join_tokens(words)


def drop_article(sentence: str, rng: random.Random) -> str:
    """Only the dropped-article case of `article` (the commonest)."""
    words = split_tokens(sentence)
    spots = [i for i, w in enumerate(words) if w[1].lower() in ARTICLES and i + 1 < len(words)]
    if not spots:
        return sentence
    i = rng.choice(spots)
    if i == 0 and words[0][1][:1].isupper():
        words[1][1] = words[1][1][:1].upper() + words[1][1][1:]
    words[i] = [words[i][0], "", words[i][2]]
    return join_tokens(words)


# -- prepositions ------------------------------------------------------------------

PREPOSITION_CONFUSIONS = {
    "in": ("on", "at", "into"),
    "on": ("in", "at"),
    "at": ("in", "on", "to"),
    "to": ("for", "at", "in"),
    "for": ("to", "of", "since"),
    "of": ("for", "about", "from"),
    "about": ("of", "on"),
    "with": ("by", "to"),
    "by": ("with", "from"),
    "from": ("of", "by", "since"),
    "into": ("in", "to"),
    "since": ("for", "from"),
    "until": ("to", "by"),
    "during": ("in", "for"),
    "among": ("between",),
    "between": ("among",),
    "onto": ("on",),
    "towards": ("to",),
}
_DROPPABLE = ("to", "at", "in", "on", "for", "about", "with")
#: Verbs learners give a preposition they do not take: "discuss about".
EXTRA_PREPOSITION = {
    "discuss": "about",
    "enter": "into",
    "reach": "to",
    "attend": "to",
    "marry": "with",
    "contact": "with",
    "emphasize": "on",
    "lack": "of",
    "answer": "to",
    "visit": "to",
    "mention": "about",
    "describe": "about",
    "explain": "about",
    "approach": "to",
    "join": "with",
    "request": "for",
}


def preposition(sentence: str, rng: random.Random) -> str:
    """Prepositions confused ("on Monday" -> "in Monday"), dropped ("listen
    to music" -> "listen music") or added after a verb that takes none
    ("discuss about the plan")."""
    words = split_tokens(sentence)
    tags = pos_tags(sentence)
    cores = [w[1] for w in words]
    ops: list[tuple[str, int, str]] = []
    for i, (word, tag) in enumerate(zip(cores, tags, strict=True)):
        low = word.lower()
        following = tags[i + 1] if i + 1 < len(tags) else ""
        if low in PREPOSITION_CONFUSIONS and tag in ("IN", "TO") and following:
            if low == "to" and following.startswith("VB"):
                continue  # the infinitive's "to"
            ops += [("swap", i, other) for other in PREPOSITION_CONFUSIONS[low]]
            if low in _DROPPABLE and i > 0 and not words[i][2]:
                ops.append(("drop", i, ""))
        elif tag.startswith("VB") and _plain(word) and following in ("DT", "NN", "NNP", "PRP$"):
            extra = EXTRA_PREPOSITION.get(lemma_of(low, "VERB") or "")
            if extra and not words[i][2]:
                ops.append(("insert", i + 1, extra))
    if not ops:
        return sentence
    kind, i, new = rng.choice(ops)
    if kind == "swap":
        words[i][1] = with_case_of(words[i][1], new)
    elif kind == "drop":
        words[i] = [words[i][0], "", words[i][2]]
    else:
        words.insert(i, ["", new, ""])
    return join_tokens(words)


# -- spelling ----------------------------------------------------------------------

#: Misspellings learners really make, and homophones they confuse.
LEARNER_MISSPELLINGS = {
    "because": "becuase",
    "receive": "recieve",
    "definitely": "definately",
    "separate": "seperate",
    "tomorrow": "tommorow",
    "beginning": "begining",
    "believe": "beleive",
    "friend": "freind",
    "which": "wich",
    "until": "untill",
    "always": "allways",
    "really": "realy",
    "writing": "writting",
    "different": "diffrent",
    "address": "adress",
    "government": "goverment",
    "environment": "enviroment",
    "necessary": "neccessary",
    "accommodation": "accomodation",
    "recommend": "reccomend",
    "occurred": "occured",
    "successful": "succesful",
    "business": "bussiness",
    "interesting": "intresting",
    "probably": "probaly",
    "especially": "expecially",
    "beautiful": "beatiful",
    "village": "vilage",
    "opportunity": "oportunity",
    "restaurant": "restaurent",
    "knowledge": "knowlege",
    "language": "langauge",
    "though": "tho",
    "embarrassed": "embarased",
    "exercise": "excercise",
    "library": "libary",
    "february": "febuary",
    "wednesday": "wensday",
    "with": "whit",
    "what": "wat",
    "people": "peaple",
    "little": "litle",
    "family": "familly",
    "comfortable": "confortable",
    "describe": "discribe",
    "finally": "finaly",
    "foreign": "foriegn",
    "happened": "happend",
    "immediately": "immediatly",
    "independent": "independant",
    "information": "infomation",
    "medicine": "medecine",
    "minute": "minite",
    "piece": "peice",
    "prefer": "prefere",
    "surprise": "suprise",
    "truly": "truely",
    "weird": "wierd",
    "whether": "wether",
    "studying": "studing",
    "their": "there",
    "there": "their",
    "you're": "your",
    "then": "than",
    "than": "then",
    "too": "to",
    "were": "where",
    "where": "were",
    "weather": "whether",
    "quite": "quiet",
    "accept": "except",
    "advice": "advise",
    "lose": "loose",
    "affect": "effect",
    "its": "it's",
    "whose": "who's",
}
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_SOUND_ALIKE = (
    (r"ie", "ei"),
    (r"ei", "ie"),
    (r"ph", "f"),
    (r"ck", "k"),
    (r"tion$", "sion"),
    (r"ous$", "us"),
    (r"able$", "ible"),
    (r"ible$", "able"),
    (r"ance$", "ence"),
    (r"ence$", "ance"),
    (r"ant$", "ent"),
    (r"ent$", "ant"),
    (r"(?<=[aeiou])c(?=[ei])", "s"),
    (r"([bcdfgklmnprstz])\1", r"\1"),
    (r"ght", "gt"),
    (r"^wh", "w"),
    (r"ea", "ee"),
    (r"(?<=[^aeiou])y$", "i"),
    (r"or$", "er"),
    (r"er$", "ar"),
    (r"ou", "o"),
)


def _neighbours(letter: str) -> str:
    for row_index, row in enumerate(_KEYBOARD_ROWS):
        col = row.find(letter)
        if col >= 0:
            near = row[max(col - 1, 0) : col] + row[col + 1 : col + 2]
            for other in (row_index - 1, row_index + 1):
                if 0 <= other < len(_KEYBOARD_ROWS):
                    near += _KEYBOARD_ROWS[other][max(col - 1, 0) : col + 1]
            return near
    return ""


def misspell(word: str, rng: random.Random) -> str:
    """One slip in a word (lowercase letters only): a neighbouring key, a
    sound-alike spelling, a dropped, doubled or swapped letter. The first
    letter is kept (learners rarely get it wrong). May return the word."""
    kind = rng.choice(("keyboard", "sound", "sound", "drop", "double", "swap"))
    inner = list(range(1, len(word)))
    if kind == "sound":
        spellings = [
            word[: m.start()] + m.expand(replacement) + word[m.end() :]
            for pattern, replacement in _SOUND_ALIKE
            for m in re.finditer(pattern, word)
        ]
        spellings = [s for s in spellings if s[:1] == word[:1] and s != word]
        if spellings:
            return rng.choice(spellings)
        kind = "keyboard"
    i = rng.choice(inner)
    if kind == "keyboard":
        near = _neighbours(word[i])
        return word[:i] + rng.choice(near) + word[i + 1 :] if near else word
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[: i + 1] + word[i:]
    if i + 1 < len(word) and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


def misspelling(sentence: str, rng: random.Random) -> str:
    """A learner misspelling or homophone when the sentence has a word for
    one (half the time), else a slip in one word of four letters or more
    that is not a name."""
    words = split_tokens(sentence)
    known = [i for i, w in enumerate(words) if w[1].lower() in LEARNER_MISSPELLINGS]
    if known and rng.random() < 0.5:
        i = rng.choice(known)
        return replace_one(sentence, [(i, LEARNER_MISSPELLINGS[words[i][1].lower()])], rng)
    tags = pos_tags(sentence)
    spots = [
        i
        for i, (w, tag) in enumerate(zip(words, tags, strict=True))
        if len(w[1]) >= 4
        and w[1].isalpha()
        and w[1][1:].islower()
        and not tag.startswith("NNP")
        and (i == 0 or w[1][0].islower())
    ]
    if not spots:
        return sentence
    i = rng.choice(spots)
    word = words[i][1]
    words[i][1] = word[0] + misspell(word.lower(), rng)[1:]
    return join_tokens(words)


def missing_apostrophe(sentence: str, rng: random.Random) -> str:
    """An apostrophe left out: "don't" -> "dont", "John's" -> "Johns"."""
    words = split_tokens(sentence)
    spots = [i for i, w in enumerate(words) if re.search(r"[A-Za-z]'[A-Za-z]", w[1])]
    if not spots:
        return sentence
    i = rng.choice(spots)
    words[i][1] = words[i][1].replace("'", "", 1)
    return join_tokens(words)


# -- capitals and punctuation ------------------------------------------------------


def lowercase_start(sentence: str, rng: random.Random) -> str:
    return sentence[:1].lower() + sentence[1:]


def lowercase_i(sentence: str, rng: random.Random) -> str:
    return re.sub(r"\bI\b", "i", sentence)


def drop_final_punctuation(sentence: str, rng: random.Random) -> str:
    return sentence[:-1] if sentence[-1:] in ".!?" else sentence


#: The error types and how often `corrupt` reaches for each, roughly in
#: the order of how common they are in learners' writing.
ERRORS = (
    (misspelling, 0.24),
    (article, 0.16),
    (preposition, 0.14),
    (verb_form, 0.11),
    (agreement, 0.11),
    (noun_number, 0.09),
    (lowercase_start, 0.05),
    (missing_apostrophe, 0.04),
    (lowercase_i, 0.03),
    (drop_final_punctuation, 0.03),
)


def corrupt(sentence: str, rng: random.Random, max_errors: int = 2) -> str:
    """One to `max_errors` errors of different types, the types drawn by
    weight; may return the sentence unchanged when none applies (callers
    that need a change check for it). Deterministic for a seeded rng."""
    wanted = rng.randint(1, max_errors)
    keys = [rng.random() ** (1.0 / weight) for _, weight in ERRORS]  # weighted shuffle
    broken = sentence
    for _, (error, _weight) in sorted(zip(keys, ERRORS, strict=True), key=lambda pair: -pair[0]):
        changed = error(broken, rng)
        if changed != broken:
            broken = changed
            wanted -= 1
            if wanted == 0:
                break
    return broken


# -- the earlier word-list errors, for the shipped history ------------------------

_LEGACY_AGREEMENT = {
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
_LEGACY_VERB_FORMS = {
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
_LEGACY_PREPOSITIONS = {"on": "in", "in": "on", "at": "in", "to": "at", "for": "to", "of": "for"}
_LEGACY_MISSPELLINGS = {
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


def _legacy_swap(sentence: str, table: dict[str, str], rng: random.Random) -> str:
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


def _legacy_drop_article(sentence: str, rng: random.Random) -> str:
    words = sentence.split(" ")
    spots = [i for i, w in enumerate(words) if i > 0 and w.lower() in ARTICLES]
    if not spots:
        return sentence
    del words[rng.choice(spots)]
    return " ".join(words)


def _legacy_agreement(sentence: str, rng: random.Random) -> str:
    return _legacy_swap(sentence, _LEGACY_AGREEMENT, rng)


def _legacy_verb_form(sentence: str, rng: random.Random) -> str:
    return _legacy_swap(sentence, _LEGACY_VERB_FORMS, rng)


def legacy_preposition(sentence: str, rng: random.Random) -> str:
    return _legacy_swap(sentence, _LEGACY_PREPOSITIONS, rng)


def _legacy_misspelling(sentence: str, rng: random.Random) -> str:
    return _legacy_swap(sentence, _LEGACY_MISSPELLINGS, rng)


_LEGACY_ERRORS = (
    _legacy_drop_article,
    _legacy_agreement,
    _legacy_verb_form,
    legacy_preposition,
    _legacy_misspelling,
    lowercase_start,  # these three have not changed
    lowercase_i,
    drop_final_punctuation,
)


def legacy_corrupt(sentence: str, rng: random.Random, max_errors: int = 2) -> str:
    """One to `max_errors` different errors; may return the sentence unchanged
    when none applies (callers that need a change check for it)."""
    broken = sentence
    shuffled = rng.sample(_LEGACY_ERRORS, k=len(_LEGACY_ERRORS))
    for error in shuffled[: rng.randint(1, max_errors) + 2]:
        changed = error(broken, rng)
        if changed != broken:
            broken = changed
            max_errors -= 1
            if max_errors == 0:
                break
    return broken
