"""Grammar rules for the errors learners of English make most, each a pattern
over tagged words that is wrong wherever it appears: "He go" / "She don't"
/ "I goes" / "They was", "My brother have", "has went", "didn't went", "can
speaks", "must to go", "look forward to hear", "more taller", "one of my
friend", "their are", "its a", "a other", "in Monday", "since two years",
"discuss about", "depends of", "I am agree", "said me".

Why rules beside a learned model: the bundled model has 1.6M parameters
and learns agreement and verb forms slowly and unreliably, while these
patterns are closed, common, and fixable with a tagger and an inflection
table (TextBlob's tagger and lemminflect, via tagging.py). Precision comes
first: a rule fires only where the pattern has no correct reading
("if he were", "he cut", "its own", "My family are" and "I insist that he
go" are left alone), and the test suite runs the rules over thousands of
edited, published sentences to count how often they change a correct one.

Words only: the input's spacing and punctuation are kept, and a sentence
no rule touches comes back byte-identical."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .spelling import dictionaries
from .tagging import TOKEN, inflect, known_lemma, pos_tags, require, with_case_of

# Adverbs that may stand between a subject and its verb ("he always go").
_MID_ADVERBS = frozenset(
    "always often never usually sometimes also really just still only rarely seldom "
    "generally normally even already actually probably certainly".split()
)
# A subject pronoun after these is not the subject of a plain present verb:
# questions ("does he go", "has she run"), causatives ("let it go"), subjunctives
# ("that he go", "though he pluck").
_BEFORE_NON_FINITE = frozenset(
    "do does did don't doesn't didn't can can't cannot could couldn't will won't would "
    "wouldn't shall should shouldn't may might must mustn't let make makes made help helps "
    "helped to that lest if whether though has have had is are was were am".split()
)
_CLAUSE_OPENERS = frozenset(
    "and but or so because when while although though since until after before then "
    "yesterday today now".split()
)
# Nouns that take a plural verb in British English ("My family are").
_COLLECTIVE = frozenset(
    "family team staff government police committee company class group audience crew band "
    "couple majority minority number public people jury board council club army party data "
    "media management personnel cattle clergy youth".split()
)
_INDEFINITE_PRONOUNS = frozenset(
    "everyone everybody someone somebody anyone anybody nobody everything something "
    "anything nothing".split()
)
_SINGULAR_DETERMINERS = frozenset(
    "the my your his her its our their this that a an every each".split()
)
_POSSESSIVES = frozenset("the my your his her its our their these those".split())

# What a singular subject needs instead of the plural form.
_SINGULAR_FORM = {
    "have": "has",
    "do": "does",
    "don't": "doesn't",
    "are": "is",
    "haven't": "hasn't",
    "aren't": "isn't",
}
_SINGULAR_PAST_FORM = {"were": "was", "weren't": "wasn't"}
# What I / we / they / you need instead of the third-person form.
_PLURAL_FORM = {
    "has": "have",
    "does": "do",
    "doesn't": "don't",
    "hasn't": "haven't",
    "is": "are",
    "isn't": "aren't",
    "was": "were",
    "wasn't": "weren't",
}
# Not "had": in "the ideas I had came to me" the next verb is the sentence's own.
_PLURAL_NOT_BE = frozenset(("has", "does", "doesn't", "hasn't"))
_HAVE_AND_BE = frozenset(
    "has have having 've is are was were been be being am hasn't haven't isn't aren't wasn't "
    "weren't".split()
)
_DO_AND_MODALS = frozenset(
    "do does did don't doesn't didn't can can't cannot could couldn't will won't would "
    "wouldn't should shouldn't must mustn't might may".split()
)
_MODALS_BEFORE_TO = frozenset("can could must should might may".split())
_BEFORE_ELIDED_MODAL = frozenset(
    "all everything what whatever anything as best much more most".split()
)
_NOT_A_MODAL_AFTER = _POSSESSIVES | {"a", "an", "this", "that"}
_WEEKDAYS = frozenset(
    day + suffix
    for day in "monday tuesday wednesday thursday friday saturday sunday".split()
    for suffix in ("", "s")
)
_MONTHS = frozenset(
    "january february march april may june july august september october november december".split()
)
_DAY_OF_MONTH = re.compile(r"^(?:[1-9]|[12][0-9]|3[01])(?:st|nd|rd|th)?$")
_YEAR = re.compile(r"^(?:1[0-9]|20)[0-9]{2}$")
_NUMBER_WORDS = frozenset(
    "a one two three four five six seven eight nine ten eleven twelve several many few some".split()
)
_DURATIONS = frozenset(
    unit + suffix for unit in "year month week day hour minute".split() for suffix in ("", "s")
)


@dataclass
class Sentence:
    """A text's space-separated tokens ([leading punctuation, word, trailing
    punctuation]) and their tags; rules read it and return edits."""

    tokens: list[list[str]]
    tags: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.tokens)

    def word(self, i: int) -> str:
        """The lowercase word at i; "" past either end and for punctuation."""
        return self.tokens[i][1].lower() if 0 <= i < len(self.tokens) else ""

    def tag(self, i: int) -> str:
        return self.tags[i] if 0 <= i < len(self.tags) else ""

    def joined(self, i: int) -> bool:
        """True when token i is directly followed by word i + 1, with no
        punctuation in between: patterns never reach across a comma."""
        return (
            i + 1 < len(self.tokens)
            and not self.tokens[i][2]
            and not self.tokens[i + 1][0]
            and bool(self.tokens[i][1])
            and bool(self.tokens[i + 1][1])
        )

    def ends_clause(self, i: int) -> bool:
        return not self.joined(i)

    def ends_sentence(self, i: int) -> bool:
        return i + 1 == len(self.tokens) or self.starts_sentence(i + 1)

    def starts_sentence(self, i: int) -> bool:
        if i == 0:
            return True
        before = "".join(self.tokens[i - 1]) + self.tokens[i][0]
        return bool(before) and before.rstrip("\"')")[-1:] in ".!?"

    def starts_clause(self, i: int) -> bool:
        return i == 0 or not self.joined(i - 1) or self.word(i - 1) in _CLAUSE_OPENERS

    def is_question(self, start: int) -> bool:
        """Whether the sentence opening at `start` ends with a question mark."""
        for i in range(start, len(self.tokens)):
            end = (self.tokens[i][1] + self.tokens[i][2]).rstrip("\"')")
            if end[-1:] in ".!?" or (i + 1 < len(self.tokens) and self.starts_sentence(i + 1)):
                return end[-1:] == "?"
        return False

    def after_adverbs(self, i: int, extra: frozenset[str] = frozenset()) -> int | None:
        """The word after i, past adverbs such as "always" ("he always go"),
        or None when punctuation comes first."""
        j = i
        while self.joined(j):
            j += 1
            if self.word(j) not in _MID_ADVERBS and self.word(j) not in extra:
                return j
        return None


_CHUNK = re.compile(r"\S+")

Edit = tuple[int, str]  # (token index, new word); "" removes the word


def _present_base(word: str, tag: str) -> bool:
    """A verb in its base form that is not also its past form ("cut",
    "put", "read" might be past tense, so "He cut" is left alone)."""
    return (
        tag in ("VB", "VBP")
        and word.isalpha()
        and word not in ("be", "need", "dare")
        and known_lemma(word, "VERB") == word
        and inflect(word, "VBD") != word
    )


def _third_person(word: str) -> str | None:
    form = inflect(word, "VBZ")
    return form if form and form != word else None


def third_person_subject(s: Sentence) -> list[Edit]:
    """Fixes "He go" -> "He goes", "She don't" -> "She doesn't"; "it" only where
    it opens a clause ("let it go" is right)."""
    edits = []
    for i in range(len(s)):
        subject = s.word(i)
        if subject not in ("he", "she", "it") or s.word(i - 1) in _BEFORE_NON_FINITE:
            continue
        if subject == "it" and not s.starts_clause(i):
            continue
        j = s.after_adverbs(i)
        if j is None:
            continue
        verb = s.word(j)
        fixed = _SINGULAR_FORM.get(verb) or ("is" if verb == "am" else None)
        if fixed is None and _present_base(verb, s.tag(j)):
            fixed = _third_person(verb)
        if fixed:
            edits.append((j, fixed))
    return edits


def plural_subject(s: Sentence) -> list[Edit]:
    """Fixes "I goes" -> "I go", "They was" -> "They were", "I is" -> "I am";
    "you" only where it opens a clause ("the book I gave you is")."""
    edits = []
    for i in range(len(s)):
        subject = s.word(i)
        if subject not in ("i", "we", "they", "you"):
            continue
        if subject == "you" and not s.starts_clause(i):
            continue
        if subject == "i" and not s.starts_sentence(i) and s.tokens[i - 1][1][:1].isupper():
            continue  # "Constantine I is", "World War I was"
        j = s.after_adverbs(i)
        if j is None:
            continue
        verb = s.word(j)
        if subject == "i" and s.word(i - 1) in ("and", "or", "nor"):
            # "This man and I are", "..., and I was there": be could go either way
            fixed = _PLURAL_FORM.get(verb) if verb in _PLURAL_NOT_BE else None
        elif subject == "i":
            fixed = {"is": "am", "are": "am"}.get(verb) or (
                _PLURAL_FORM.get(verb) if verb in _PLURAL_NOT_BE else None
            )
        else:
            fixed = _PLURAL_FORM.get(verb)
        if fixed is None and s.tag(j) == "VBZ" and verb.isalpha():
            base = known_lemma(verb, "VERB")
            if base not in (None, verb, "be", "have", "do") and _third_person(base) == verb:
                fixed = base
        if fixed:
            edits.append((j, fixed))
    return edits


def singular_noun_subject(s: Sentence) -> list[Edit]:
    """A sentence opening with a singular noun phrase and a plural verb:
    "My brother have" -> "has", "Everyone have" -> "has", "The car were"
    -> "was". Only have, do and be: a noun phrase followed by a base
    verb is as often a compound mis-tagged ("A bomb scare led ...").
    Collective nouns ("My family are"), nouns with one form for both
    numbers ("The sheep are") and questions ("Anyone have a pen?") are
    left alone; a bare noun only with have/don't ("Quail are hunted")."""
    edits = []
    for start in range(len(s)):
        if not s.starts_sentence(start) or s.is_question(start):
            continue
        head = _singular_head(s, start)
        if head is None:
            continue
        j = s.after_adverbs(head)
        if j is None:
            continue
        verb = s.word(j)
        fixed = _SINGULAR_FORM.get(verb) or _SINGULAR_PAST_FORM.get(verb)
        bare = head == start and s.word(start) not in _INDEFINITE_PRONOUNS
        if bare and verb not in ("have", "haven't", "don't"):
            fixed = None  # "Help do the dishes" is an imperative
        if fixed:
            edits.append((j, fixed))
    return edits


def _singular_head(s: Sentence, start: int) -> int | None:
    """The last word of a singular noun phrase opening at `start` (a
    determiner, up to three adjectives or nouns, a singular noun), or None."""
    if s.word(start) in _INDEFINITE_PRONOUNS:
        return start
    i = start
    if s.word(i) in _SINGULAR_DETERMINERS:
        if not s.joined(i):
            return None
        i += 1
    while s.tag(i) in ("JJ", "NN") and s.joined(i) and s.tag(i + 1) in ("JJ", "NN"):
        if i - start >= 3:
            return None
        i += 1
    noun = s.word(i)
    if (
        s.tag(i) != "NN"
        or not noun.isalpha()
        or noun in _COLLECTIVE
        or inflect(noun, "NNS") in (None, noun)
    ):
        return None
    return i


def participle_after_have_or_be(s: Sentence) -> list[Edit]:
    """Fixes "has went" -> "has gone", "was took" -> "was taken": an
    irregular past form that is not also the participle, after have or be.
    Not regular forms or "got": "has got", "had spoiled" and "was learned"
    are right in British English, whatever lemminflect's American table says."""
    edits = []
    for i in range(len(s)):
        if s.word(i) not in _HAVE_AND_BE:
            continue
        j = s.after_adverbs(i, frozenset({"not", "never", "ever"}))
        if j is None:
            continue
        verb = s.word(j)
        if verb in ("broke", "got") or verb.endswith("ed") or not verb.isalpha():  # "I am broke"
            continue
        base = known_lemma(verb, "VERB")
        if not base or base in (verb, "be"):
            continue
        past, participle = inflect(base, "VBD"), inflect(base, "VBN")
        if verb == past and participle and participle != past and not participle.endswith("ed"):
            edits.append((j, participle))
    return edits


def base_after_do_or_modal(s: Sentence) -> list[Edit]:
    """Fixes "didn't went" -> "didn't go", "can speaks" -> "can speak"; "the
    will", "a can" and "in May" are nouns, not modals."""
    edits = []
    for i in range(len(s)):
        if s.word(i) not in _DO_AND_MODALS or s.tag(i - 1) in ("DT", "PRP$", "JJ"):
            continue  # "the will", "divine will exists"
        if s.word(i) == "may" and s.tokens[i][1] != "may":
            continue
        j = s.after_adverbs(i, frozenset({"not"}))
        if j is None or s.tag(j) not in ("VBD", "VBN", "VBZ") or not s.word(j).isalpha():
            continue
        verb = s.word(j)
        base = known_lemma(verb, "VERB")
        if verb in _lemmas(verb):
            continue  # "lay" is lie's past and a verb of its own
        # A participle alone ("should done") lacks a be or have: not ours.
        finite = {inflect(base, "VBD"), inflect(base, "VBZ")} if base else set()
        # "did directed study": a regular past after do may be an adjective.
        if base not in (None, verb, "be", "have") and verb in finite and not verb.endswith("ed"):
            edits.append((j, base))
    return edits


def _lemmas(word: str) -> tuple[str, ...]:
    return require("lemminflect").getAllLemmas(word, "VERB").get("VERB", ())


def to_after_modal(s: Sentence) -> list[Edit]:
    """Fixes "You must to go" -> "You must go"; not "all we can to help",
    where the modal ends a clause of its own."""
    return [
        (i + 1, "")
        for i in range(len(s))
        if s.word(i) in _MODALS_BEFORE_TO
        and s.word(i - 1) not in _NOT_A_MODAL_AFTER
        and not _BEFORE_ELIDED_MODAL.intersection(map(s.word, range(i - 4, i)))
        and s.joined(i)
        and s.word(i + 1) == "to"
        and s.joined(i + 1)
        and _present_base(s.word(i + 2), s.tag(i + 2))
    ]


def gerund_after_look_forward_to(s: Sentence) -> list[Edit]:
    """Fixes "I look forward to hear from you" -> "to hearing"."""
    edits = []
    for i in range(len(s)):
        if (
            known_lemma(s.word(i), "VERB") == "look"
            and s.word(i + 1) == "forward"
            and s.word(i + 2) == "to"
            and s.joined(i + 1)
            and s.joined(i + 2)
            and s.tag(i + 3) in ("VB", "VBP")
            and known_lemma(s.word(i + 3), "VERB") == s.word(i + 3)
        ):
            gerund = inflect(s.word(i + 3), "VBG")
            if gerund:
                edits.append((i + 3, gerund))
    return edits


def double_comparative(s: Sentence) -> list[Edit]:
    """Fixes "more taller" -> "taller", "the most happiest" -> "the happiest"."""
    edits = []
    for i in range(len(s)):
        word = s.word(i)
        if word not in ("more", "most") or not s.joined(i):
            continue
        following, tag = s.word(i + 1), ("JJR" if word == "more" else "JJS")
        irregular = {"more": ("better", "worse"), "most": ("best", "worst")}[word]
        base = known_lemma(following, "ADJ")
        if following in irregular or (
            following.isalpha() and base and base != following and inflect(base, tag) == following
        ):
            edits.append((i, ""))
    return edits


def plural_after_one_of(s: Sentence) -> list[Edit]:
    """Fixes "One of my friend" -> "One of my friends"."""
    edits = []
    for i in range(len(s)):
        if not (
            s.word(i) == "one"
            and s.word(i - 1) not in ("no", "any", "every", "some")  # "no one of his judgement"
            and s.word(i + 1) == "of"
            and s.word(i + 2) in _POSSESSIVES
            and s.joined(i)
            and s.joined(i + 1)
        ):
            continue
        j = i + 2
        while s.joined(j) and s.tag(j + 1) in ("JJ", "JJS", "RBS"):
            j += 1
        if not s.joined(j):
            continue
        noun = s.word(j + 1)
        plural = inflect(noun, "NNS")
        if (
            s.tag(j + 1) == "NN"
            and known_lemma(noun, "NOUN") == noun
            and s.word(j + 2) != "of"  # "one of those odd sort of humorists"
            and noun not in _COLLECTIVE
            and plural not in (None, noun)
            and not _compound(noun, s.word(j + 2), s.tag(j + 2))
        ):
            edits.append((j + 1, plural))
    return edits


def _compound(noun: str, following: str, tag: str) -> bool:
    """Whether the noun modifies the next word ("one of the tax rates"):
    the next word is a noun, or a plural that is a common pair with it in
    SymSpell's bigram list ("tax rates"), or a plural that is no verb ("toy
    grottos"), unlike "friend lives"."""
    if tag != "NNS":
        return tag == "NN"
    verb = known_lemma(following, "VERB")
    if not verb or _third_person(verb) != following:
        return True
    return (noun, following) in dictionaries().bigrams


def there_before_be(s: Sentence) -> list[Edit]:
    """Fixes "Their are many parks" -> "There are": a possessive cannot precede a verb."""
    forms = {"is", "are", "was", "were", "isn't", "aren't", "wasn't", "weren't"}
    return [
        (i, "there")
        for i in range(len(s))
        if s.word(i) == "their" and s.joined(i) and s.word(i + 1) in forms
    ]


def it_is_before_complement(s: Sentence) -> list[Edit]:
    """Fixes "Its a shame", "Its not fair." -> "It's": the possessive "its"
    is followed by a noun, never by an article or a lone adjective."""
    edits = []
    for i in range(len(s)):
        if s.word(i) != "its" or not s.joined(i):
            continue
        complement = i + 2 if s.word(i + 1) == "not" and s.joined(i + 1) else i + 1
        if _opens_complement(s, complement):
            edits.append((i, "it's"))
    return edits


def _opens_complement(s: Sentence, i: int) -> bool:
    """Whether word i can only follow "it is": an article, "been", or a lone
    adjective ("important to", "true."); "its not doing" is possessive."""
    word = s.word(i)
    lone_adjective = (
        s.tag(i) == "JJ"
        and word.isalpha()
        and word != "own"
        and (s.ends_sentence(i) or s.word(i + 1) in ("to", "that", "for", "when", "if"))
    )
    return word in ("a", "an", "the", "been", "going", "so", "too") or lone_adjective


def another(s: Sentence) -> list[Edit]:
    """Fixes "a other city" -> "another city"."""
    edits = []
    for i in range(len(s)):
        if s.word(i) in ("a", "an") and s.joined(i) and s.word(i + 1) == "other":
            edits.extend([(i, "another"), (i + 1, "")])
    return edits


def singular_after_every_or_each(s: Sentence) -> list[Edit]:
    """Fixes "every days" -> "every day", "each students" -> "each student":
    these determiners take one thing at a time. "every two weeks" and "every
    few days" (a number between) stay."""
    edits = []
    for i in range(len(s)):
        if s.word(i) not in ("every", "each") or not s.joined(i):
            continue
        noun = s.word(i + 1)
        singular = known_lemma(noun, "NOUN")
        if s.tag(i + 1) == "NNS" and singular not in (None, noun) and noun not in _COLLECTIVE:
            edits.append((i + 1, singular))
    return edits


def every_day_as_adverb(s: Sentence) -> list[Edit]:
    """Fixes "I run everyday." -> "every day"; "everyday life" (an adjective) stays."""
    return [(i, "every day") for i in range(len(s)) if s.word(i) == "everyday" and s.ends_clause(i)]


def on_with_days_and_in_with_years(s: Sentence) -> list[Edit]:
    """Fixes "in Monday", "at 5 May" -> "on"; "on 2010." -> "in"."""
    edits = []
    for i in range(len(s)):
        word = s.word(i)
        if not s.joined(i):
            continue
        following, after = s.word(i + 1), s.word(i + 2)
        if word in ("in", "at") and (
            following in _WEEKDAYS
            or (_DAY_OF_MONTH.match(following) and after in _MONTHS and s.joined(i + 1))
            or (
                following in _MONTHS
                and s.joined(i + 1)
                and _DAY_OF_MONTH.match(after)
                and not _YEAR.match(after)
            )
        ):
            edits.append((i, "on"))
        elif word == "on" and _YEAR.match(following) and s.ends_clause(i + 1):
            edits.append((i, "in"))
    return edits


def for_with_durations(s: Sentence) -> list[Edit]:
    """Fixes "since two years" -> "for two years" ("since two years ago" stays)."""
    return [
        (i, "for")
        for i in range(len(s))
        if s.word(i) == "since"
        and s.joined(i)
        and (s.word(i + 1) in _NUMBER_WORDS or s.word(i + 1).isdigit())
        and s.joined(i + 1)
        and s.word(i + 2) in _DURATIONS
        and s.word(i + 3) != "ago"
    ]


def verb_preposition(s: Sentence) -> list[Edit]:
    """Fixes "discuss about" -> "discuss", "depends of/from" -> "depends on",
    "afraid from" -> "afraid of"."""
    edits = []
    for i in range(len(s)):
        if not s.joined(i):
            continue
        word, following = s.word(i), s.word(i + 1)
        if following == "from" and s.word(i + 2) == "time":
            continue  # "afraid from time to time"
        if known_lemma(word, "VERB") == "discuss" and following == "about":
            edits.append((i + 1, ""))
        elif known_lemma(word, "VERB") == "depend" and following in ("of", "from"):
            edits.append((i + 1, "on"))
        elif word == "afraid" and following == "from":
            edits.append((i + 1, "of"))
    return edits


def be_agree(s: Sentence) -> list[Edit]:
    """Fixes "I am agree" -> "I agree", "She is agree" -> "She agrees"."""
    edits = []
    for i in range(len(s)):
        verb = s.word(i + 1)
        if s.word(i) in ("am", "is", "are") and s.joined(i) and verb in ("agree", "disagree"):
            edits.append((i, ""))
            if s.word(i) == "is":
                edits.append((i + 1, verb + "s"))
    return edits


def tell_not_say(s: Sentence) -> list[Edit]:
    """Fixes "She said me to wait" -> "She told me to wait": "say" takes no
    person as its object ("said them" and "said her name" may be right)."""
    edits = []
    forms = {"say": "tell", "says": "tells", "said": "told", "saying": "telling"}
    for i in range(len(s)):
        if s.word(i) in forms and s.joined(i) and s.word(i + 1) in ("me", "him", "us"):
            edits.append((i, forms[s.word(i)]))
    return edits


RULES: tuple[Callable[[Sentence], list[Edit]], ...] = (
    third_person_subject,
    plural_subject,
    singular_noun_subject,
    participle_after_have_or_be,
    base_after_do_or_modal,
    to_after_modal,
    gerund_after_look_forward_to,
    double_comparative,
    plural_after_one_of,
    there_before_be,
    it_is_before_complement,
    another,
    singular_after_every_or_each,
    every_day_as_adverb,
    on_with_days_and_in_with_years,
    for_with_durations,
    verb_preposition,
    be_agree,
    tell_not_say,
)


class GrammarStage:
    """The rules above as a stage of demo_app.pipeline.CorrectionPipeline,
    after spelling (the tagger needs real words) and before the model."""

    source = "grammar"

    def correct(self, texts: list[str]) -> list[str]:
        return [self.correct_one(text) for text in texts]

    def correct_one(self, text: str) -> str:
        spans = [match.span() for match in _CHUNK.finditer(text)]
        if not any(c.isalpha() for c in text):
            return text
        chunks = [text[start:end] for start, end in spans]
        tokens = [list(TOKEN.match(chunk).groups()) for chunk in chunks]
        sentence = Sentence(tokens, pos_tags(" ".join(chunks)))
        edits: dict[int, str] = {}
        for rule in RULES:
            for index, word in rule(sentence):
                edits.setdefault(index, word)  # the first rule to touch a word wins
        if not edits:
            return text
        # Rebuilt from the input's own whitespace; a removed word takes the
        # space before it with it (the one after, when it comes first).
        out, last = [], 0
        for index, (start, end) in enumerate(spans):
            lead, word, trail = tokens[index]
            if index in edits:
                word = with_case_of(word, edits[index])
            if lead or word or trail:
                out.append(text[last:start] + lead + word + trail)
                last = end
            elif out:
                last = end
            else:
                out.append(text[:start])
                last = spans[index + 1][0] if index + 1 < len(spans) else end
        out.append(text[last:])
        return _capitalise_like(text, "".join(out))


def _capitalise_like(text: str, fixed: str) -> str:
    """A removed first word ("More taller ...") hands its capital letter on."""
    if text[:1].isupper() and fixed[:1].islower():
        return fixed[:1].upper() + fixed[1:]
    return fixed
