"""A spelling and rules stage for learner English that needs no training and
no network: symspellpy's English frequency dictionaries ship inside its wheel.

Misspellings are the commonest error in real learner text and the one a small
seq2seq model trained on WordNet's vocabulary fixes worst, while a frequency
dictionary fixes most of them with no risk of looping or deleting clauses.
The stage only ever rewrites single words, so the input's whitespace and
tokenisation come back exactly ("I like it ." keeps its " ."): learner texts
are often pre-tokenised, and a corrector that re-spaces them makes edits no
one asked for.

What it leaves alone, because a wrong fix there does more harm than a missed
one: capitalised words (names: "Ahmed" is no misspelling of "armed", so even a
capitalised first word only gets the contraction and fixed-word rules),
words with digits or mixed case, URLs and e-mail addresses, words under four
letters and words without a vowel (chat: "lol", "thx", "pls"), and words the
dictionaries know even when they are the wrong word in context ("there" for
"their", "exited" for "excited").

SymSpell's 82,765-word list is British-leaning ("favorite", "traveling",
"neighbor", "mom" are missing from it) and would "correct" good American
English, so a word counts as known when either it or pyspellchecker's
160,000-word list (also shipped in its wheel, free of common misspellings)
has it; SymSpell only supplies the candidates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from spellchecker import SpellChecker
from symspellpy import SymSpell, Verbosity
from symspellpy.suggest_item import SuggestItem

UNIGRAMS = "frequency_dictionary_en_82_765.txt"
BIGRAMS = "frequency_bigramdictionary_en_243_342.txt"

#: Contractions learners type without the apostrophe. Left out on purpose:
#: forms that are also words ("its", "ill", "id", "well", "were", "shell",
#: "lets", "hell", "wed", "shed").
CONTRACTIONS = {
    "dont": "don't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "cant": "can't",
    "couldnt": "couldn't",
    "wont": "won't",
    "wouldnt": "wouldn't",
    "shouldnt": "shouldn't",
    "isnt": "isn't",
    "arent": "aren't",
    "wasnt": "wasn't",
    "werent": "weren't",
    "havent": "haven't",
    "hasnt": "hasn't",
    "hadnt": "hadn't",
    "mustnt": "mustn't",
    "im": "I'm",
    "ive": "I've",
    "youre": "you're",
    "youve": "you've",
    "theyre": "they're",
    "theyve": "they've",
    "weve": "we've",
    "thats": "that's",
    "whats": "what's",
    "theres": "there's",
    "hes": "he's",
    "shes": "she's",
}
#: Non-words with one clear correction that the dictionary gets wrong: fused
#: words (SymSpell turns "alot" into "lot"), over-regularised past forms (it
#: turns "buyed" into "buyer", "goed" into "good"), irregular plurals (it
#: turns "childs" into "child") and plurals of uncountable nouns, which the
#: stage's affix rule (see _cuts_an_affix) keeps SymSpell from fixing.
FIXED_WORDS = {
    "alot": "a lot",
    "infront": "in front",
    "eachother": "each other",
    "aswell": "as well",
    "ofcourse": "of course",
    "childs": "children",
    "womans": "women",
    "tooths": "teeth",
    "informations": "information",
    "advices": "advice",
    "furnitures": "furniture",
    "homeworks": "homework",
    "equipments": "equipment",
    "luggages": "luggage",
    "knowledges": "knowledge",
    "goed": "went",
    "buyed": "bought",
    "runned": "ran",
    "thinked": "thought",
    "teached": "taught",
    "bringed": "brought",
    "catched": "caught",
    "eated": "ate",
    "drinked": "drank",
    "writed": "wrote",
    "speaked": "spoke",
    "taked": "took",
    "maked": "made",
    "telled": "told",
    "sayed": "said",
    "leaved": "left",
    "feeled": "felt",
    "finded": "found",
    "gived": "gave",
    "knowed": "knew",
    "swimmed": "swam",
    "sleeped": "slept",
    "meeted": "met",
    "keeped": "kept",
    "choosed": "chose",
    "forgeted": "forgot",
    "losed": "lost",
    "payed": "paid",
    "studyed": "studied",
    "becomed": "became",
    "begined": "began",
    "builded": "built",
    "spended": "spent",
    "understanded": "understood",
    "striked": "struck",
    "setted": "set",
    "cutted": "cut",
    "hitted": "hit",
    "hurted": "hurt",
    "shutted": "shut",
    "spreaded": "spread",
    "fighted": "fought",
    "drived": "drove",
    "growed": "grew",
    "throwed": "threw",
    "blowed": "blew",
    "drawed": "drew",
    "falled": "fell",
    "holded": "held",
    "lended": "lent",
    "sended": "sent",
    "shooted": "shot",
    "standed": "stood",
    "stealed": "stole",
    "sticked": "stuck",
    "weared": "wore",
    "winned": "won",
    "breaked": "broke",
    "comed": "came",
    "digged": "dug",
    "feeded": "fed",
    "freezed": "froze",
    "heared": "heard",
    "hided": "hid",
    "rided": "rode",
    "sitted": "sat",
}
#: A full stop after these does not end a sentence.
ABBREVIATIONS = {"etc", "vs", "mr", "mrs", "ms", "dr", "st", "approx"}
I_FORMS = {"i": "I", "i'm": "I'm", "i've": "I've", "i'll": "I'll", "i'd": "I'd"}

_CHUNK = re.compile(r"\S+")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_URL_OR_EMAIL = re.compile(r"@|://|^www\.|[A-Za-z0-9][./][A-Za-z0-9]")
#: Not after a closing quote: '"Where are you from?" the driver asked'.
_SENTENCE_END = re.compile(r"[.!?]+[)\]]*$")
_DOTTED = re.compile(r"[^\W\d_]\.[^\W\d_]")  # "p.m.", "e.g.", "U.S."
_LEADING_QUOTES = re.compile(r"^[\"'\u2018\u201c(\[]*")


#: Misspelt words are common words; an unknown word whose nearest dictionary
#: word is rare is more likely a name or slang ("priya" is not "oriya"). The
#: 22,000 most frequent words of the list clear this bar.
MIN_CANDIDATE_COUNT = 1_000_000
#: A missing bigram scores as this share of the candidate's unigram count, so
#: with no context at all the most frequent candidate wins.
BACKOFF = 0.01
#: "a"/"an" (a word of its own) and the lowercase word after it.
_ARTICLE = re.compile(r"(?<![\w'\u2019-])([Aa]n?)(\s+)([a-z]+)\b(?![-'\u2019])")
_SILENT_H = ("hour", "honest", "honor", "honour", "heir")
_YOU_OR_WON_SOUND = ("eu", "ewe", "one", "once")
#: Words an article never comes right before.
_NOT_AFTER_ARTICLES = frozenset(
    "a an the and or of in on at to by if is are am as it its into onto after also".split()
)
_CLITIC = re.compile(r"(n't|'s|'re|'ve|'ll|'d|'m)$")
#: What is left of can't, won't, shan't once "n't" is cut off.
_CONTRACTION_STEMS = {"ca", "wo", "sha", ""}


@dataclass(frozen=True)
class Dictionaries:
    speller: SymSpell
    bigrams: dict[tuple[str, str], int]
    known: SpellChecker

    def knows(self, word: str) -> bool:
        """Whether either word list has `word` (lowercase), a contraction's
        stem included ("doesn't" by "does", "can't" by "ca")."""
        stem = _CLITIC.sub("", word.replace("\u2019", "'"))
        return stem in _CONTRACTION_STEMS or stem in self.speller.words or stem in self.known


@lru_cache(maxsize=1)
def dictionaries() -> Dictionaries:
    """Loaded once per process: building SymSpell's deletes index takes ~2 s,
    too slow to repeat per request."""
    package = resources.files("symspellpy")
    speller = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    with resources.as_file(package / UNIGRAMS) as path:
        speller.load_dictionary(str(path), term_index=0, count_index=1, encoding="utf-8")
    bigrams = {}
    for line in (package / BIGRAMS).read_text(encoding="utf-8").splitlines():
        first, second, count = line.split()
        bigrams[first, second] = int(count)
    return Dictionaries(speller, bigrams, SpellChecker(language="en"))


class SpellingStage:
    """Rules and dictionary spelling correction, word by word; a stage of
    demo_app.pipeline.CorrectionPipeline, usually before a learned model."""

    source = "spelling"

    def __init__(self) -> None:
        self.dictionaries = dictionaries()

    def correct(self, texts: list[str]) -> list[str]:
        return [self.correct_one(text) for text in texts]

    def correct_one(self, text: str) -> str:
        spans = list(_words(text))
        words = ["", *(text[start:end].lower() for start, end, _ in spans), ""]
        out, last = [], 0
        for index, (start, end, starts_sentence) in enumerate(spans):
            fixed = self._fix(text[start:end], starts_sentence, words[index], words[index + 2])
            out.append(text[last:start] + fixed)
            last = end
        out.append(text[last:])
        return _ARTICLE.sub(_article_for_sound, "".join(out))

    def _fix(self, word: str, starts_sentence: bool, previous: str, following: str) -> str:
        lower = word.lower()
        key = lower.replace("\u2019", "'")
        if word == lower and key in I_FORMS:
            return I_FORMS[key].replace("'", _apostrophe(word))
        capitalised = word != lower and word == lower.capitalize()
        if word != lower and not (starts_sentence and capitalised):
            return word  # a name, an acronym, or mixed case: not ours to touch
        # "dont", and "do'nt" with the apostrophe in the wrong place
        contraction = CONTRACTIONS.get(key.replace("'", ""))
        if contraction is not None:
            contraction = contraction.replace("'", _apostrophe(word))
        fixed = contraction or FIXED_WORDS.get(lower)
        if fixed is None:
            fixed = word if capitalised else self._spell(lower, previous, following)
        if starts_sentence:
            fixed = fixed[:1].upper() + fixed[1:]
        return fixed

    def _spell(self, word: str, previous: str, following: str) -> str:
        """Only words of four letters or more with a vowel: shorter ones and
        vowelless ones are mostly abbreviations and chat ("thx", "pls",
        "lol"), which SymSpell would turn into "the", "plus", "low"."""
        lexicons = self.dictionaries
        if (
            len(word) < 4
            or not (word.isascii() and word.isalpha())
            or not any(vowel in word for vowel in "aeiouy")
            or word in lexicons.speller.words
            or word in lexicons.known
        ):
            return word
        suggestions = [
            suggestion
            for suggestion in lexicons.speller.lookup(
                word, Verbosity.CLOSEST, max_edit_distance=1 if len(word) <= 6 else 2
            )
            if suggestion.count >= MIN_CANDIDATE_COUNT and not _cuts_an_affix(word, suggestion.term)
        ]
        if not suggestions:
            return word
        return max(
            suggestions,
            key=lambda s: (_common_slip(word, s.term), self._in_context(s, previous, following)),
        ).term

    def _in_context(self, candidate: SuggestItem, previous: str, following: str) -> float:
        """Candidates at the same distance ("finaly": final, finally; "wich":
        with, which) are told apart by a bigram model of their neighbours,
        P(candidate | previous) * P(following | candidate), up to factors the
        candidates share; a pair missing from the bigram list backs off to
        the unigram count (Brants et al. 2007's stupid backoff, in spirit)."""
        bigrams, term = self.dictionaries.bigrams, candidate.term
        left = bigrams.get((previous, term)) or BACKOFF * candidate.count
        right = bigrams.get((term, following), 0) / candidate.count or BACKOFF
        return left * right


def _common_slip(word: str, candidate: str) -> bool:
    """Whether `word` is `candidate` with one letter left out, two neighbours
    swapped or one letter doubled: the commonest learner slips ("litle",
    "recieve", "untill"). Among candidates one edit away these beat a
    substituted or stray letter, which more often lands on an unrelated
    word ("title", "sits" for "siks", "rear" for "remar")."""
    if len(candidate) == len(word) + 1:
        return any(candidate[:i] + candidate[i + 1 :] == word for i in range(len(candidate)))
    if len(candidate) == len(word) - 1:
        return any(
            word[i] == word[i + 1] and word[:i] + word[i + 1 :] == candidate
            for i in range(len(word) - 1)
        )
    if len(candidate) == len(word):
        return any(
            word[:i] + word[i + 1] + word[i] + word[i + 2 :] == candidate
            for i in range(len(word) - 1)
        )
    return False


def _cuts_an_affix(word: str, candidate: str) -> bool:
    """True when `candidate` is `word` with its start or end cut off: such an
    unknown word is mostly a rare derived word, not a typo ("noticer",
    "passings", "inaugurally", "uncheerful" are not "notice", "passing",
    "inaugural", "cheerful"), except for one doubled letter ("untill",
    "usefull")."""
    if word.startswith(candidate):
        cut = word[len(candidate) :]
        return cut != candidate[-1:]
    if word.endswith(candidate):
        cut = word[: len(word) - len(candidate)]
        return cut != candidate[:1]
    return False


def _article_for_sound(match: re.Match[str]) -> str:
    """"a apple" -> "an apple", "an car" -> "a car", by the next word's first
    letter, where that letter settles the sound: words starting with u
    ("a user", "an umbrella"), h ("a house", "an hour" but for a few) or x,
    and capitalised words ("an MBA") are left as they are, and so is an "a"
    followed by a function word ("plan a or b"), which makes it no article."""
    article, space, following = match.groups()
    if following in _NOT_AFTER_ARTICLES:
        return match.group()
    if following.startswith(_SILENT_H):
        wanted = "an"
    elif following.startswith(_YOU_OR_WON_SOUND) or following[0] in "uhx":
        return match.group()
    else:
        wanted = "an" if following[0] in "aeio" else "a"
    if article.lower() == wanted:
        return match.group()
    return (wanted.capitalize() if article[0].isupper() else wanted) + space + following


def _apostrophe(word: str) -> str:
    return "\u2019" if "\u2019" in word else "'"


def _words(text: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, starts a sentence) of each word this stage may change:
    none from URLs or e-mail addresses, none glued to a digit or underscore
    ("3rd", "mp3"). A sentence starts at the text's first chunk and after a
    chunk ending in . ! or ? that is not an abbreviation."""
    sentence_start = True
    for chunk in _CHUNK.finditer(text):
        piece = chunk.group()
        if not _URL_OR_EMAIL.search(piece):
            lead = _LEADING_QUOTES.match(piece).end()
            for match in _WORD.finditer(piece):
                before = piece[match.start() - 1] if match.start() else ""
                after = piece[match.end()] if match.end() < len(piece) else ""
                if before.isdigit() or after.isdigit() or "_" in (before, after):
                    continue
                first = sentence_start and match.start() == lead
                yield chunk.start() + match.start(), chunk.start() + match.end(), first
        if any(c.isalnum() for c in piece) or _SENTENCE_END.search(piece):
            sentence_start = _ends_sentence(piece)


def _ends_sentence(chunk: str) -> bool:
    return bool(_SENTENCE_END.search(chunk)) and not (
        chunk.rstrip(".!?)]").lower() in ABBREVIATIONS or _DOTTED.search(chunk)
    )
