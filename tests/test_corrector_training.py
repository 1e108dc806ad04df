"""The corrector's training data: synthetic learner errors (demo_app/errors.py),
the sentence loader (demo_app/training_sources.py) and the tokenizer the
training script builds (demo_app/train_corrector.py). Needs lemminflect and
textblob (their tables and lexicon ship in the wheels; no network)."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import transformers
from rapidfuzz.distance import Levenshtein

from demo_app import errors, training_sources
from demo_app.train_corrector import (
    SentenceSampler,
    bucketed_batches,
    build_tokenizer,
    encode,
    training_pair,
)

pytestmark = pytest.mark.slow  # docs/testing.md: not in the fast lane

SENTENCES = [
    "He goes to school every day.",
    "She has eaten all the cookies in the kitchen.",
    "I bought a new phone for my brother yesterday.",
    "We discussed the plan with our teacher on Monday.",
    "There is much information about the city in the library.",
    "I don't think they're coming to the party tonight.",
    "The children were playing in the park when it started to rain.",
]


def outcomes(error, sentence: str, seeds: int = 60) -> set[str]:
    """Everything an error function makes of a sentence over many seeds."""
    return {error(sentence, random.Random(seed)) for seed in range(seeds)}


# -- corrupt() -----------------------------------------------------------------


def test_corrupt_is_deterministic_for_a_seed_and_varies_between_seeds():
    first = [errors.corrupt(s, random.Random(11)) for s in SENTENCES]
    again = [errors.corrupt(s, random.Random(11)) for s in SENTENCES]
    other = [errors.corrupt(s, random.Random(12)) for s in SENTENCES]
    assert first == again
    assert first != other
    assert sum(a != b for a, b in zip(first, SENTENCES, strict=True)) >= len(SENTENCES) - 1


def test_corrupt_does_not_depend_on_string_hashing():
    """Set and dict order of strings changes with PYTHONHASHSEED; a corrupt()
    that iterated one would give another machine other training pairs."""
    script = (
        "import random, json\n"
        "from demo_app.errors import corrupt\n"
        f"sentences = {SENTENCES!r}\n"
        "rng = random.Random(5)\n"
        "print(json.dumps([corrupt(s, rng, max_errors=3) for s in sentences * 3]))\n"
    )
    runs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            check=True,
        )
        runs.add(done.stdout)
    assert len(runs) == 1


def test_corrupt_makes_between_one_and_max_errors_small_edits():
    rng = random.Random(3)
    for sentence in SENTENCES * 20:
        broken = errors.corrupt(sentence, rng, max_errors=2)
        assert broken != sentence
        # each error touches one or two words (an insertion shifts the rest)
        assert abs(len(broken.split()) - len(sentence.split())) <= 2
        assert Levenshtein.distance(broken, sentence) <= 16


# -- each error type -----------------------------------------------------------


def test_agreement_drops_or_adds_the_third_person_s():
    assert errors.agreement("He goes to school every day.", random.Random(0)) == (
        "He go to school every day."
    )
    assert errors.agreement("They want a new car.", random.Random(0)) == "They wants a new car."
    assert errors.agreement("They live in a small house.", random.Random(0)) == (
        "They lives in a small house."
    )
    assert outcomes(errors.agreement, "She is happy.") == {"She are happy."}
    assert outcomes(errors.agreement, "I think they were right.") >= {"I thinks they were right."}


def test_verb_form_confuses_past_participle_regularises_and_changes_tense():
    assert outcomes(errors.verb_form, "She has eaten the cake.") == {
        "She has ate the cake.",
        "She has eat the cake.",
        "She has eated the cake.",
    }
    assert outcomes(errors.verb_form, "I bought a new phone.") == {
        "I buy a new phone.",
        "I buyed a new phone.",
    }
    assert outcomes(errors.verb_form, "He can swim very well.") == {
        "He can swims very well.",
        "He can swimming very well.",
        "He can swam very well.",
    }
    assert errors.regular_past("run") == "runned"
    assert errors.regular_past("teach") == "teached"
    assert errors.regular_past("carry") == "carried"


def test_noun_number_pluralises_uncountables_and_swaps_quantifiers():
    found = outcomes(errors.noun_number, "There is much information in the report.")
    assert "There is many information in the report." in found
    assert "There is much informations in the report." in found
    assert "There is much information in the reports." in found
    assert outcomes(errors.noun_number, "The books were old.") == {"The book were old."}


def test_article_is_dropped_inserted_or_swapped():
    found = outcomes(errors.article, "I saw a cat in the garden.", seeds=100)
    assert found == {
        "I saw cat in the garden.",
        "I saw the cat in the garden.",
        "I saw an cat in the garden.",
        "I saw a cat in garden.",
        "I saw a cat in a garden.",
    }
    inserted = outcomes(errors.article, "Life is hard for children.")
    assert "The life is hard for children." in inserted
    assert "Life is hard for the children." in inserted
    assert "Life is the hard for children." not in inserted  # an adjective alone takes none
    assert "I like the new music." in outcomes(errors.article, "I like new music.")
    assert outcomes(errors.drop_article, "The dog barked at a stranger.") == {
        "Dog barked at a stranger.",
        "The dog barked at stranger.",
    }


def test_preposition_is_confused_dropped_or_added_but_not_the_infinitive_to():
    found = outcomes(errors.preposition, "We met on Monday at the station.", seeds=100)
    assert "We met in Monday at the station." in found
    assert "We met on Monday in the station." in found
    assert "We met Monday at the station." in found
    assert all(len(f.split()) in (6, 7) for f in found)
    assert outcomes(errors.preposition, "We discussed the plan.") == {
        "We discussed about the plan."
    }
    assert outcomes(errors.preposition, "I want to go home.") == {"I want to go home."}


def test_misspelling_uses_learner_misspellings_and_small_slips():
    found = outcomes(errors.misspelling, "I will definitely call you.", seeds=80)
    assert "I will definately call you." in found
    for broken in found - {"I will definitely call you."}:
        changed = [
            (a, b)
            for a, b in zip(broken.split(), "I will definitely call you.".split(), strict=True)
            if a != b
        ]
        assert len(changed) == 1
        assert changed[0][0][0] == changed[0][1][0]  # first letter kept
    rng = random.Random(1)
    for word in ("beginning", "information", "because", "friendly", "thought", "phone") * 20:
        slipped = errors.misspell(word, rng)
        assert slipped[0] == word[0]
        assert Levenshtein.distance(slipped, word) <= 2
    assert errors.misspelling("Anna visited Paris.", random.Random(0)) in {
        "Anna visited Paris.",
        *{f"Anna {w} Paris." for w in outcomes(errors.misspell, "visited")},
    }


def test_capitals_final_punctuation_and_apostrophes():
    rng = random.Random(0)
    assert errors.lowercase_start("The bus was late.", rng) == "the bus was late."
    assert errors.lowercase_i("I think I'm late.", rng) == "i think i'm late."
    assert errors.drop_final_punctuation("Is it late?", rng) == "Is it late"
    assert errors.drop_final_punctuation("no mark", rng) == "no mark"
    assert outcomes(errors.missing_apostrophe, "I don't like John's car.") == {
        "I dont like John's car.",
        "I don't like Johns car.",
    }
    assert errors.missing_apostrophe("Nothing to drop.", rng) == "Nothing to drop."


def test_each_error_leaves_a_sentence_it_cannot_break_unchanged():
    rng = random.Random(0)
    for error, _weight in errors.ERRORS:
        assert error("", rng) == ""
    assert errors.agreement("Yes.", rng) == "Yes."
    assert errors.verb_form("Hello there.", rng) == "Hello there."


def test_legacy_errors_are_the_ones_the_shipped_history_used():
    rng = random.Random(2022)
    assert errors.legacy_corrupt("He goes to the market every Monday.", rng) != ""
    assert errors.legacy_preposition("I am on the bus.", random.Random(0)) == "I am in the bus."


# -- training pairs ----------------------------------------------------------------


def test_a_third_of_training_pairs_stay_correct():
    rng = random.Random(7)
    pairs = [training_pair(s, rng) for s in SENTENCES * 300]
    correct = sum(source == target for source, target in pairs) / len(pairs)
    assert 0.30 < correct < 0.37
    assert all(target in SENTENCES for _, target in pairs)


def test_the_sampler_never_draws_held_out_sentences():
    sentences = [f"Sentence number {i} is a perfectly ordinary sentence." for i in range(400)]
    held = [s for s in sentences if training_sources.held_out(s)]
    assert 10 < len(held) < 80
    sampler = SentenceSampler({"a": sentences[:200], "b": sentences[200:]}, {"a": 0.5, "b": 0.5})
    rng = random.Random(0)
    drawn = Counter(sampler(rng) for _ in range(3000))
    assert not set(drawn) & set(held)
    assert len(drawn) > 300


def test_batches_group_similar_lengths_and_repeat_for_a_seed():
    short = [f"Sentence {i} is short." for i in range(50)]
    long = [
        f"Sentence {i} is a much longer one, with many more words in it than the others."
        for i in range(50)
    ]
    sampler = SentenceSampler({"short": short, "long": long}, {"short": 0.5, "long": 0.5})
    first = bucketed_batches(sampler, random.Random(4), batch_size=8, buckets=4)
    again = bucketed_batches(sampler, random.Random(4), batch_size=8, buckets=4)
    batches = [next(first) for _ in range(12)]
    assert batches == [next(again) for _ in range(12)]
    assert all(len(batch) == 8 for batch in batches)
    mixed = sum(len({len(target.split()) > 6 for _, target in batch}) == 2 for batch in batches)
    assert mixed <= 3  # at most one batch per bucket straddles the two lengths


# -- tokenizer ---------------------------------------------------------------------


def test_the_tokenizer_ends_every_encoding_with_the_end_token(tmp_path):
    corpus = SENTENCES * 20
    tokenizer = build_tokenizer(corpus, tmp_path, vocab_size=400)
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    assert tokenizer("He go to school.")["input_ids"][-1] == eos
    assert tokenizer.decode(
        tokenizer("He go to school.")["input_ids"], skip_special_tokens=True
    ) == ("He go to school.")
    batch = encode(tokenizer, ["Hi.", SENTENCES[-1] * 5], max_length=24).tolist()
    assert batch[1][-1] == eos and len(batch[1]) == 24  # truncation keeps the end token
    short = batch[0]
    assert short[short.index(eos) + 1 :] == [pad] * (len(short) - short.index(eos) - 1)
    reloaded = transformers.AutoTokenizer.from_pretrained(tmp_path)
    assert reloaded("He go to school.")["input_ids"] == tokenizer("He go to school.")["input_ids"]


# -- sentence loader -----------------------------------------------------------------

FIXTURE = """\
The committee met on Tuesday and agreed to open the new library next spring.
Mr. Smith told the class that the test would be easy for everyone.
Too short to keep.
This sentence is far too long to keep because it goes on and on with one clause
after another, adding details nobody asked for, listing every street in the town,
every shop on every street, every person in every shop, and it still does not stop
here at all.
The village school closed early because of the heavy snow this morning.
The village school closed early because of the heavy snow this morning.
THE VILLAGE SCHOOL CLOSED EARLY BECAUSE OF THE HEAVY SNOW AGAIN.
She said \u201cwe will be late\u201d and then she walked quickly out of the room.
My neighbour\u2019s dog barks at every car that passes our quiet house.
We bought apples, pears; and a large bag of oranges at the market.
Thou shalt not leave the house before the rain has stopped falling.
That was a damn stupid thing to say to your own mother at dinner.
The caf\u00e9 near the station serves the best coffee in the whole town.
The recieve button on the old machine never worked when we needed it.
Hello \u4f60\u597d, the rest of this sentence is in English but not all of it.
"""


def test_the_loader_keeps_clean_everyday_sentences_and_reports_why_others_went():
    known = frozenset(
        "mr the committee met on and agreed to open new library next spring told class that test "
        "would be easy for everyone village school closed early because of heavy snow this "
        "morning my neighbour's dog barks at every car passes our quiet house we bought apples "
        "pears a large bag oranges market cafe near station serves best coffee in whole town "
        "button old machine never worked when needed it she said will late and then walked "
        "quickly out room".split()
    )
    extract = training_sources.clean_sentences([FIXTURE], known=known)
    assert extract.kept == [
        "The committee met on Tuesday and agreed to open the new library next spring.",
        "Mr. Smith told the class that the test would be easy for everyone.",
        "The village school closed early because of the heavy snow this morning.",
        "My neighbour's dog barks at every car that passes our quiet house.",
        "The cafe near the station serves the best coffee in the whole town.",
    ]
    assert extract.rejected == Counter(
        {
            "length": 2,
            "duplicate": 1,
            "heading": 1,
            "characters": 3,  # quotation marks, a semicolon, Chinese
            "archaic": 1,
            "offensive": 1,
            "spelling": 1,
        }
    )


def test_the_splitter_keeps_abbreviations_and_initials_together():
    text = "Dr. Brown met John F. Kennedy in the U.S. capital. It rained! Did it stop? Yes."
    assert training_sources.split_sentences(text) == [
        "Dr. Brown met John F. Kennedy in the U.S. capital.",
        "It rained!",
        "Did it stop?",
        "Yes.",
    ]


def test_source_formats_give_prose_without_verse_attributions_quotes_or_headers():
    fortunes = (
        "A friend is a present you give yourself.\n\t\t-- Robert Louis Stevenson\n%\n"
        "  Roses are red,\n  violets are blue.\n%\n"
        "The early bird gets the worm, but the second mouse\ngets the cheese.\n%\n"
    )
    assert list(training_sources.fortune_paragraphs(fortunes)) == [
        "A friend is a present you give yourself.",
        "The early bird gets the worm, but the second mouse gets the cheese.",
    ]
    novel = (
        "THE TULIP\n\n     Full of little gentlemen;\n     caps of blue.\n\n"
        '"No, you can\'t come\nin," the little Tulip said.\n'
    )
    assert list(training_sources.prose_paragraphs(novel)) == [
        "THE TULIP",
        '"No, you can\'t come in," the little Tulip said.',
    ]
    assert list(training_sources.dialogue('"No, you can\'t come in," the Tulip said.')) == [
        "No, you can't come in."
    ]
    mail = (
        "From: someone\nSubject: Re: lunch\n\n"
        "On Monday, Ann wrote:\n> Shall we meet?\n"
        "Yes, I will be at the cafe by noon\nif the train is on time.\n\n"
        "See http://example.invalid for the menu.\n-- \nAnn's signature line here.\n"
    )
    assert list(training_sources.email_paragraphs(mail)) == [
        "Yes, I will be at the cafe by noon if the train is on time."
    ]
    assert list(training_sources.chat_lines("- - Hello there\n  - 'Hi, how are you?'\n")) == [
        "Hello there",
        "Hi, how are you?",
    ]


def test_load_sentences_dedups_across_sources_and_reports_counts(monkeypatch, tmp_path):
    first = "The bus to the airport leaves every hour from the main square."
    second = "Our new neighbours invited us for dinner on Saturday evening."
    monkeypatch.setattr(
        training_sources,
        "SOURCES",
        (
            ("one", lambda folder: [first + " " + second], 8),
            ("two", lambda folder: [second.upper().capitalize(), second], 8),
        ),
    )
    monkeypatch.setattr(training_sources, "known_words", lambda: None)
    report = io.StringIO()
    found = training_sources.load_sentences(tmp_path, report=report)
    assert found == {"one": [first, second], "two": []}
    assert "one:       2 sentences" in report.getvalue()
    assert "duplicate 2" in report.getvalue()


@pytest.mark.skipif(
    not training_sources.WORDNET.exists(), reason="Debian's wordnet-base is not installed"
)
def test_wordnet_examples_keep_their_short_sentences():
    examples = training_sources.clean_sentences(
        training_sources.wordnet_examples(), min_words=4
    ).kept
    assert len(examples) > 30_000
    assert min(len(s.split()) for s in examples) == 4
