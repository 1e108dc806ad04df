"""Correct English sentences for the demo's history, built from templates so a
month of traffic does not repeat itself too often."""

from __future__ import annotations

import random
import re

TEMPLATES = (
    "{name} goes to the {place} every {day}.",
    "My brother has a new job at the {place}.",
    "I bought a {thing} for my friend yesterday.",
    "She always takes the bus to work because it is cheaper.",
    "We were waiting at the station until the train arrived.",
    "{name} needs a new {thing} before the trip.",
    "They have lived in this city since {year}.",
    "I went to the {place} with my friend on {day}.",
    "He does his homework in the evening.",
    "The meeting is on {day} at ten o'clock.",
    "I believe their team will win the game.",
    "{name} works at a hospital near the {place}.",
    "We thought the movie was really different from the book.",
    "I will definitely call you tomorrow.",
    "She has written three letters to the company.",
    "The children have eaten all the cookies.",
    "My sister likes to read a book before bed.",
    "I have seen that film twice.",
    "He ran to the {place} because he was late.",
    "Please send me the address of the new office.",
    "The teacher taught us how to write an essay.",
    "I am writing to ask about the job in your company.",
    "{name} wants to buy a {thing} for the kitchen.",
    "We need to keep the receipts in a separate folder.",
    "I was really tired after the long meeting.",
    "They brought a cake to the party on {day}.",
    "The weather is nice in the {place} today.",
    "Can you help me with this report?",
    "I am looking forward to hearing from you.",
    "She lives in a small house near the {place}.",
    "My friend makes the best coffee in town.",
    "I did not receive the email you sent on {day}.",
    "The store opens at nine in the morning.",
    "{name} has gone to the {place} for a week.",
    "We are planning a trip to the mountains in {month}.",
    "This is the beginning of a long story.",
    "I think this is the right answer.",
    "Our flight was delayed for two hours.",
    "The price of the {thing} is too high.",
    "She asked me to wait for her at the {place}.",
)

SLOTS = {
    "name": ("Anna", "Tom", "Maria", "David", "Li", "Sara", "Omar", "Julia", "Ken", "Priya"),
    "place": ("library", "office", "market", "school", "park", "station", "gym", "museum"),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "thing": ("laptop", "bike", "phone", "jacket", "table", "camera", "lamp", "backpack"),
    "year": ("2015", "2018", "2019", "2020"),
    "month": ("May", "June", "July", "August"),
}

#: What new users pasted in the third week of April: chat shorthand the
#: corrector was never trained on, which it mangles (and they reject).
INFORMAL = (
    "pls fix my essay asap its due {day}",
    "u r the best app ever lol",
    "i cant beleive ur app changed my words",
    "gonna send this to my boss tmrw",
    "idk if this sentence is ok or not",
    "wat time does the {place} open",
    "thx for fixing my stuff but its wrong",
    "my freind said this app is gr8",
    "why did u change my name lol",
    "need this email to sound pro plz",
)


#: What each chat message meant, written as a reviewer corrects it: the
#: fewest changes that make it right (the user's "lol" and "asap" stay).
MEANT = {
    "pls fix my essay asap its due {day}": "Pls fix my essay asap, it's due {day}.",
    "u r the best app ever lol": "You are the best app ever lol.",
    "i cant beleive ur app changed my words": "I can't believe your app changed my words.",
    "gonna send this to my boss tmrw": "Gonna send this to my boss tomorrow.",
    "idk if this sentence is ok or not": "I don't know if this sentence is ok or not.",
    "wat time does the {place} open": "What time does the {place} open?",
    "thx for fixing my stuff but its wrong": "Thanks for fixing my stuff, but it's wrong.",
    "my freind said this app is gr8": "My friend said this app is great.",
    "why did u change my name lol": "Why did you change my name lol?",
    "need this email to sound pro plz": "Need this email to sound pro, please.",
}


def _pattern(template: str) -> re.Pattern[str]:
    escaped = re.escape(template)
    for slot in SLOTS:
        escaped = escaped.replace(re.escape("{" + slot + "}"), f"(?P<{slot}>\\w+)")
    return re.compile(escaped + "$")


_MEANT_PATTERNS = [(_pattern(template), written) for template, written in MEANT.items()]


def meant(text: str) -> str:
    """The sentence a chat message of INFORMAL meant; the text itself when
    it is not one of them."""
    for pattern, written in _MEANT_PATTERNS:
        match = pattern.match(text)
        if match:
            return written.format(**match.groupdict())
    return text


def fill(template: str, rng: random.Random) -> str:
    return template.format(**{key: rng.choice(values) for key, values in SLOTS.items()})


def sentence(rng: random.Random) -> str:
    return fill(rng.choice(TEMPLATES), rng)


def informal(rng: random.Random) -> str:
    return fill(rng.choice(INFORMAL), rng)
