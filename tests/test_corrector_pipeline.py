"""The spelling stage on real symspellpy and pyspellchecker dictionaries, the
correction pipeline, and the evaluation's metrics on cases small enough to
work out by hand."""

from __future__ import annotations

import math

import pytest

from demo_app.evaluate_corrector import Identity, evaluate, gleu, learner_set, word_edits
from demo_app.model import BUNDLED_MODEL
from demo_app.pipeline import CorrectionPipeline, ModelGuard, load_pipeline
from demo_app.spelling import SpellingStage, dictionaries


@pytest.fixture(scope="module")
def spelling() -> SpellingStage:
    return SpellingStage()


def test_spelling_fixes_words_and_keeps_the_tokenisation(spelling):
    assert spelling.correct(["I recieve alot of emails becuase i am a teacher ."]) == [
        "I receive a lot of emails because I am a teacher ."
    ]
    # A contraction's apostrophe put in the wrong place, either apostrophe.
    assert spelling.correct(["we could'nt sleep .", "I do\u2019nt know", "We'll see."]) == [
        "We couldn't sleep .",
        "I don\u2019t know",
        "We'll see.",
    ]
    # Whitespace is the input's, tabs and double spaces included.
    assert spelling.correct(["  i  dont\tknow wich one , realy .  ", ""]) == [
        "  I  don't\tknow which one , really .  ",
        "",
    ]
    # Of candidates one edit away, a left-out letter beats a dropped one
    # ("rear"), and the neighbours pick among the rest ("I finally").
    assert spelling.correct(["His remar was rude and I finaly left ."]) == [
        "His remark was rude and I finally left ."
    ]


def test_rules_capitalise_sentences_and_restore_apostrophes(spelling):
    assert spelling.correct(
        [
            "my freind buyed a car. then im sure ive seen i\u2019d said i'll go",
            "she doesnt know , they wont come and thats it !",
        ]
    ) == [
        "My friend bought a car. Then I'm sure I've seen I\u2019d said I'll go",
        "She doesn't know , they won't come and that's it !",
    ]


def test_names_and_other_words_it_must_not_touch_stay(spelling):
    sentences = [
        "we flew to Tokyo and ate at McDonald becuase it was late .",
        "Mehmet met Wojciech and Priya at the café in Kraków .",
        "Write to anna.k@example.com or see www.citybus.com before 5pm on the 3rd.",
        "My favorite neighbors are traveling to the theater with my mom.",
        "Call me pls , thx lol ok ?",  # chat: SymSpell would make "plus", "the", "low"
        '"Where are you from?" the driver asked at 8 p.m. and left.',
        "The iPhone costs $799 in the USA, e.g. in NYC.",
    ]
    assert spelling.correct(sentences) == [
        "We flew to Tokyo and ate at McDonald because it was late .",
        *sentences[1:],
    ]


def test_correct_learner_sentences_come_back_byte_identical(spelling):
    data = learner_set()
    correct = [s for s, bad in zip(data.sources, data.erroneous, strict=True) if not bad]
    assert len(correct) >= 50
    assert spelling.correct(correct) == correct


def test_the_pipeline_applies_its_stages_in_order(spelling):
    class Lowercase:
        def correct(self, texts: list[str]) -> list[str]:
            return [text.lower() for text in texts]

    texts = ["Becuase i was late", "Tokyo is big ."]
    # The stage leaves a capitalised first word alone (it may be a name) ...
    assert CorrectionPipeline([spelling, Lowercase()]).correct(texts) == [
        "becuase i was late",
        "tokyo is big .",
    ]
    # ... so lowercasing first lets it fix and capitalise it.
    assert CorrectionPipeline([Lowercase(), spelling]).correct(texts) == [
        "Because I was late",
        "Tokyo is big .",
    ]
    assert CorrectionPipeline([]).correct(texts) == texts


# Hand-computed GLEU. Source S and reference R differ in one word of ten:
S = "he go to the big school by bus every day"
R = "he goes to the big school by bus every day"


def test_gleu_of_the_reference_is_one_and_of_the_source_is_penalised():
    assert gleu([S], [R], [[R]]) == pytest.approx(1.0)
    # Hypothesis = S. The n-grams holding "go" match no reference n-gram and
    # are in S \ R, so each counts against: n=1: 9 - 1 of 10; n=2: 7 - 2 of
    # 9; n=3: 6 - 2 of 8; n=4: 5 - 2 of 7; equal lengths, no brevity penalty.
    expected = (8 / 10 * 5 / 9 * 4 / 8 * 3 / 7) ** (1 / 4)  # (2/21)^(1/4) = 0.5555
    assert gleu([S], [S], [[R]]) == pytest.approx(expected)


def test_gleu_prefers_a_wrong_edit_to_copying_the_error():
    # "went" matches nothing, but no longer keeps S \ R n-grams: 9/10, 7/9,
    # 6/8, 5/7, whose product is 3/8.
    wrong = "he went to the big school by bus every day"
    assert gleu([S], [wrong], [[R]]) == pytest.approx((3 / 8) ** (1 / 4))


def test_gleu_brevity_penalty_and_corpus_pooling():
    # Eight correct words of ten: every precision is 1, BP = exp(1 - 10/8).
    short = "he goes to the big school by bus"
    assert gleu([S], [short], [[R]]) == pytest.approx(math.exp(-0.25))
    # Counts are summed before dividing: 18/20, 14/18, 12/16, 10/14 -> 3/8.
    assert gleu([S, S], [S, R], [[R], [R]]) == pytest.approx((3 / 8) ** (1 / 4))
    assert gleu([S], [""], [[R]]) == 0.0


def test_gleu_with_several_references_averages_random_draws():
    assert gleu([S], [S], [[R, R]]) == pytest.approx(gleu([S], [S], [[R]]))
    # With S itself as the second reference, a draw of it scores 1 and a draw
    # of R scores 0.5555; 500 seeded draws land near the middle.
    both = gleu([S], [S], [[R, S]])
    assert 0.5555 < both < 1.0
    assert both == pytest.approx((1 + (2 / 21) ** (1 / 4)) / 2, abs=0.05)


def test_word_edits_are_source_spans():
    assert word_edits("She go to school", "She goes to the school") == {
        (1, 2, ("goes",)),
        (3, 3, ("the",)),
    }
    # Neighbouring substitutions are separate edits, as ERRANT makes them.
    assert word_edits("she are late", "She is late") == {(0, 1, ("She",)), (1, 2, ("is",))}
    assert word_edits("Fine as it is .", "Fine as it is .") == set()


def test_evaluate_scores_identity_and_spelling_on_the_learner_set(spelling):
    data = learner_set()
    identity = evaluate(Identity(), data, single=10)
    assert identity.unchanged == 100.0 and identity.fixed == 0.0 and identity.recall == 0.0
    report = evaluate(spelling, data, single=len(data.sources))
    assert report.unchanged == 100.0
    assert report.agreement == 100.0
    assert report.gleu > identity.gleu + 10
    assert report.precision > 0.9


class _Rewrites:
    """A learned stage's possible outputs, fixed, to test the wrapper's rule."""

    source = "rewrites"

    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs

    def correct(self, texts: list[str]) -> list[str]:
        return [self.outputs.get(text, text) for text in texts]


def test_a_model_edit_that_brings_in_an_unknown_word_or_a_stray_letter_is_refused():
    model = _Rewrites(
        {
            "we are going to london next month .": "We are going to l filled next month .",
            "He go to school.": "He goes to school.",
            "She doesnt know.": "She doesn't know.",
            "I like it.": "I likke it.",
            "It is an apple.": "It is a apple.",
            "i saw it.": "I saw it.",
        }
    )
    guarded = ModelGuard(model, dictionaries())
    assert guarded.source == "rewrites"
    assert guarded.correct(list(model.outputs)) == [
        "we are going to london next month .",  # "l" is no word; the input stays
        "He goes to school.",
        "She doesn't know.",
        "I like it.",  # "likke" is no word
        "It is a apple.",  # known words: allowed (a wrong edit is the margin's job)
        "I saw it.",
    ]


def test_a_model_edit_that_swaps_a_preposition_is_refused():
    model = _Rewrites(
        {
            "The flight from Madrid is long.": "The flight of Madrid is long.",
            "I listen music.": "I listen to music.",  # an added one is no swap
            "He go home.": "He goes home.",
        }
    )
    assert ModelGuard(model, dictionaries()).correct(list(model.outputs)) == [
        "The flight from Madrid is long.",
        "I listen to music.",
        "He goes home.",
    ]


def test_no_stage_brings_back_a_word_an_earlier_stage_took_out():
    first = _Rewrites(
        {
            "I look forward to hear from you.": "I look forward to hearing from you.",
            "she dont know": "She don't know",
        }
    )
    second = _Rewrites(
        {
            "I look forward to hearing from you.": "I look forward to hear from you.",
            "She don't know": "She doesn't know",  # a fix of the fix: allowed
        }
    )
    assert CorrectionPipeline([first, second]).correct(list(first.outputs)) == [
        "I look forward to hearing from you.",
        "She doesn't know",
    ]


def test_the_apps_pipeline_never_adds_a_word_the_dictionaries_do_not_know():
    pipeline = load_pipeline(str(BUNDLED_MODEL))
    lexicon = dictionaries()
    texts = learner_set().sources
    for text, output in zip(texts, pipeline.correct(texts), strict=True):
        added = set(output.lower().split()) - set(text.lower().split())
        words = {w.strip(".,!?;:\"()") for w in added}
        assert all(lexicon.knows(w) or not w.isalpha() for w in words if w), (text, output)


def test_a_and_an_follow_the_next_words_sound_where_its_first_letter_settles_it(spelling):
    cases = {
        "I ate a apple and an banana .": "I ate an apple and a banana .",
        "It was a honest mistake, a hour late.": "It was an honest mistake, an hour late.",
        "a ofice near a university": "An office near a university",
        # left alone: u-, h- and x-words, capitalised words, "a" that is no article
        "an unusual day, a user, a house, an MBA, a FBI agent": (
            "An unusual day, a user, a house, an MBA, a FBI agent"
        ),
        "Plan a or plan b, vitamin a is fine.": "Plan a or plan b, vitamin a is fine.",
        "a one-way ticket to a European city": "A one-way ticket to a European city",
    }
    assert spelling.correct(list(cases)) == list(cases.values())
