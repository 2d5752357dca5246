"""Spot "words of danger" in what a parent writes, so the bot can offer emergency help at once.

Danger is described as situations in dialogs/data/danger.toml (who, what, how serious: "a child" +
"alone" + "days"), on dictionary forms of words, so that a social worker can review and extend it
without reading code. Words are reduced to their dictionary forms by pymorphy3 (Russian) and a few
suffix rules (English); a misspelled word the dictionary does not know is read as the danger word one
typo away from it. The matcher is deliberately generous: a false alarm costs one extra message with
hotline numbers, a miss may cost a life.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pymorphy3


class DangerKind(StrEnum):
    # The values are stored in the tickets table: never change an existing one.
    VIOLENCE = "violence"
    THREAT = "threat"
    SUICIDE = "suicide"
    CHILD_ALONE = "child_alone"
    MISSING = "missing"
    MEDICAL = "medical"
    SEXUAL_ABUSE = "sexual_abuse"
    CONFINEMENT = "confinement"
    NEGLECT = "neglect"


_DATA: Final = Path(__file__).parent / "data" / "danger.toml"


@dataclass(frozen=True)
class _Slot:
    """One "a|b|@group|pre*" choice of words."""

    words: frozenset[str]
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class _Rule:
    kinds: frozenset[DangerKind]
    slots: tuple[int, ...]
    within: int
    order: bool
    near: int
    unless: int | None
    unless_before: int | None
    unless_after: int | None
    unless_in_sentence: int | None


@dataclass(frozen=True)
class _Table:
    slots: tuple[_Slot, ...]
    rules: tuple[_Rule, ...]
    # Inverted for speed: word -> the slots it fills, and the (prefix, slot) pairs.
    slots_by_word: dict[str, frozenset[int]]
    prefixes: tuple[tuple[str, int], ...]
    # Each rule is tried only on a sentence with a word of its rarest slot, its trigger.
    rules_by_trigger: dict[int, frozenset[int]]


# Words so common that a slot holding one of them makes a poor trigger. One string reads better than
# forty quoted words, hence the noqa.
_COMMON: Final = frozenset(
    "не в во из к с со у на я мы меня нас весь все дом дома день один два три"  # noqa: SIM905
    " all not me us her him them you the my our in up out at it his home".split()
)


def _trigger(rule: _Rule, slots: list[_Slot]) -> int:
    def commonness(index: int) -> tuple[bool, int]:
        slot = slots[index]
        return (bool(slot.words & _COMMON), len(slot.words) + 10 * len(slot.prefixes))

    return min(rule.slots, key=commonness)


_KEYS: Final = frozenset(
    {
        "kind",
        "words",
        "within",
        "order",
        "near",
        "unless",
        "unless_before",
        "unless_after",
        "unless_in_sentence",
    }
)


def _load(path: Path = _DATA) -> _Table:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    groups: dict[str, str] = data["groups"]
    slots: dict[str, int] = {}
    parsed: list[_Slot] = []

    def expand(spec: str, seen: tuple[str, ...] = ()) -> Iterator[str]:
        for word in (w.strip().replace("ё", "е").lower() for w in spec.split("|")):
            if word.startswith("@"):
                if word[1:] not in groups or word in seen:
                    raise ValueError(f"{path.name}: unknown or circular group {word!r}")
                yield from expand(groups[word[1:]], (*seen, word))
            elif word:
                yield word

    def slot(spec: str) -> int:
        if spec not in slots:
            words = list(expand(spec))
            prefixes = tuple(w[:-1] for w in words if w.endswith("*"))
            slots[spec] = len(parsed)
            parsed.append(_Slot(frozenset(w for w in words if not w.endswith("*")), prefixes))
        return slots[spec]

    def optional(entry: dict[str, object], key: str) -> int | None:
        value = entry.get(key)
        return None if value is None else slot(str(value))

    rules = []
    for entry in data["danger"]:
        # The file is edited by hand: a misspelt key would silently drop an exception or a limit.
        if unknown := set(entry) - _KEYS or {"kind", "words"} - set(entry):
            raise ValueError(f"{path.name}: unknown or missing keys {sorted(unknown)} in {entry}")
        kinds = entry["kind"] if isinstance(entry["kind"], list) else [entry["kind"]]
        rules.append(
            _Rule(
                kinds=frozenset(DangerKind(kind) for kind in kinds),
                slots=tuple(slot(spec) for spec in entry["words"]),
                within=int(entry.get("within", 5)),
                order=bool(entry.get("order", False)),
                near=int(entry.get("near", 3)),
                unless=optional(entry, "unless"),
                unless_before=optional(entry, "unless_before"),
                unless_after=optional(entry, "unless_after"),
                unless_in_sentence=optional(entry, "unless_in_sentence"),
            )
        )
    triggers = tuple(_trigger(rule, parsed) for rule in rules)
    by_word: dict[str, set[int]] = {}
    for index, each in enumerate(parsed):
        for word in each.words:
            by_word.setdefault(word, set()).add(index)
    prefixes = tuple((prefix, index) for index, each in enumerate(parsed) for prefix in each.prefixes)
    by_trigger: dict[int, set[int]] = {}
    for index, trigger in enumerate(triggers):
        by_trigger.setdefault(trigger, set()).add(index)
    return _Table(
        tuple(parsed),
        tuple(rules),
        {word: frozenset(slots) for word, slots in by_word.items()},
        prefixes,
        {trigger: frozenset(rules) for trigger, rules in by_trigger.items()},
    )


_TABLE: Final = _load()


# ---------------------------------------------------------------- words and their dictionary forms


@functools.cache
def _morph() -> pymorphy3.MorphAnalyzer:
    # Loading the dictionaries takes a tenth of a second and some memory: only when first needed.
    import pymorphy3  # noqa: PLC0415

    return pymorphy3.MorphAnalyzer()


_RUSSIAN: Final = re.compile(r"[а-я]+")
_LONGEST_WORD: Final = 40  # longer "words" are noise (or an attack), not worth a dictionary look-up
_TYPO_MIN, _TYPO_MAX = 4, 20
_ALPHABET: Final = "абвгдежзийклмнопрстуфхцчшщъыьэюя"


def _lemmas_ru(word: str) -> frozenset[str]:
    return frozenset(p.normal_form.replace("ё", "е") for p in _morph().parse(word))


def _lemmas_en(word: str) -> set[str]:
    """A simple English lemmatiser: the word with each common ending taken off (kills, killed, killing)."""
    forms = {word}
    for ending, replacements in (("ies", ("y",)), ("es", ("", "e")), ("s", ("",)), ("ed", ("", "e"))):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            forms.update(word[: -len(ending)] + r for r in replacements)
    if word.endswith("ing") and len(word) > 5:
        forms.update((word[:-3], word[:-3] + "e"))
    # A doubled last consonant: stabbed, slapped, stopping.
    forms.update(form[:-1] for form in list(forms) if len(form) > 3 and form[-1] == form[-2])
    return forms


@functools.cache
def _danger_forms() -> dict[str, frozenset[str]]:
    """Every inflected form of every Russian danger word -> its dictionary forms; for typo repair."""
    forms: dict[str, set[str]] = {}
    for word in _TABLE.slots_by_word:
        if _RUSSIAN.fullmatch(word):
            for parse in _morph().parse(word)[:2]:
                for form in parse.lexeme:
                    forms.setdefault(form.word.replace("ё", "е"), set()).add(word)
    return {form: frozenset(words) for form, words in forms.items()}


def _one_typo_away(word: str) -> Iterator[str]:
    for i in range(len(word) + 1):
        head, tail = word[:i], word[i:]
        if tail:
            yield head + tail[1:]
            if len(tail) > 1:
                yield head + tail[1] + tail[0] + tail[2:]
        for letter in _ALPHABET:
            yield head + letter + tail
            if tail:
                yield head + letter + tail[1:]


def _repair(word: str) -> frozenset[str]:
    """The danger words one typo away from an unknown word ("избла" -> "избить"), if there is one."""
    forms = _danger_forms()
    found: set[str] = set()
    for candidate in _one_typo_away(word):
        found |= forms.get(candidate, frozenset())
    return frozenset(found)


# Bounded so that a long run of new words (numbers, names, typos) cannot grow the process: about
# 8k distinct words cover what parents write in a while, at about 7 MB for both caches when full.
_CACHED_WORDS: Final = 8_192


@functools.lru_cache(maxsize=_CACHED_WORDS)
def _slots_of(word: str) -> tuple[frozenset[int], frozenset[int]]:
    """The slots of the table a word fills, through its dictionary forms, and the rules it triggers.

    Cached: words repeat, and this is where the time goes.
    """
    forms: set[str] = {word}
    if len(word) <= _LONGEST_WORD:
        if _RUSSIAN.fullmatch(word):
            forms |= _lemmas_ru(word)
            if _TYPO_MIN <= len(word) <= _TYPO_MAX and not _morph().word_is_known(word):
                forms |= _repair(word)
        elif word.isascii():
            forms |= _lemmas_en(word)
    slots = {slot for form in forms for slot in _TABLE.slots_by_word.get(form, ())}
    slots.update(slot for prefix, slot in _TABLE.prefixes if any(form.startswith(prefix) for form in forms))
    rules = frozenset().union(*(_TABLE.rules_by_trigger.get(slot, ()) for slot in slots))
    return frozenset(slots), rules


@functools.lru_cache(maxsize=_CACHED_WORDS)
def _split(word: str) -> tuple[str, ...]:
    # "нехочу", "неможет": a "не" glued to a known word is a common slip.
    if word.startswith("не") and len(word) > 4 and _RUSSIAN.fullmatch(word):
        rest = word[2:]
        morph = _morph()
        if not morph.word_is_known(word) and morph.word_is_known(rest):
            return ("не", rest)
    return (word,)


# ---------------------------------------------------------------- text to sentences of words

_TO_CYRILLIC: Final = str.maketrans("aeopcxykmthb", "аеорсхукмтнв")
_TO_LATIN: Final = str.maketrans("аеорсхукмтнв", "aeopcxykmthb")
_LATIN: Final = re.compile(r"[a-z]")
_CYRILLIC: Final = re.compile(r"[а-я]")
# Zero-width and direction marks and stress accents vanish before words are cut out.
_INVISIBLE: Final = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060\ufeff\u0300-\u036f]")
# Line breaks do not end a sentence: parents often break one in the middle.
_SENTENCES: Final = re.compile(r"[.!?;]+")
_WORD: Final = re.compile(r"[^\W_]+")
_NOT: Final = re.compile(r"n['’`]t\b")


def _unmask(token: str) -> str:
    if not (_LATIN.search(token) and _CYRILLIC.search(token)):
        return token
    # A mixed word ("Hе", "yбью") is far more often a disguised Russian one than an English one.
    as_cyrillic = token.translate(_TO_CYRILLIC)
    if not _LATIN.search(as_cyrillic):
        return as_cyrillic
    as_latin = token.translate(_TO_LATIN)
    return token if _CYRILLIC.search(as_latin) else as_latin


def _sentences(text: str) -> Iterator[list[str]]:
    """Lower case, е for ё, look-alike letters unmasked, "n't" as "not"; words of each sentence."""
    # NFKC folds full-width letters; NFD then splits ё and й so that stress marks can be dropped.
    text = unicodedata.normalize("NFKC", text).lower()
    mixed = False
    if not text.isascii():
        text = unicodedata.normalize("NFC", _INVISIBLE.sub("", unicodedata.normalize("NFD", text)))
        text = text.replace("ё", "е")
        mixed = bool(_LATIN.search(text))
    text = _NOT.sub(" not", text)
    for sentence in _SENTENCES.split(text):
        tokens = _WORD.findall(sentence)
        if mixed:
            tokens = [_unmask(token) for token in tokens]
        words = [part for token in tokens for part in _split(token)]
        if words:
            yield words


# ---------------------------------------------------------------- situations in a sentence


def _has(slots: list[frozenset[int]], slot: int | None, start: int, end: int) -> bool:
    return slot is not None and any(slot in s for s in slots[max(start, 0) : max(end, 0)])


def _allowed(rule: _Rule, slots: list[frozenset[int]], first: int, last: int) -> bool:
    """Whether no everyday exception is close to the words found at first..last."""
    near = rule.near
    return not (
        _has(slots, rule.unless, first - near, last + near + 1)
        or _has(slots, rule.unless_before, first - near, first)
        or _has(slots, rule.unless_after, last + 1, last + near + 1)
        or _has(slots, rule.unless_in_sentence, 0, len(slots))
    )


def _spans(rule: _Rule, where: dict[int, list[int]]) -> Iterator[tuple[int, int]]:
    """Word ranges that hold all the rule's words, in order if it asks, at most `within` long."""
    if rule.order:
        for first in where[rule.slots[0]]:
            last = first
            for slot in rule.slots[1:]:
                positions = where[slot]
                i = bisect_left(positions, last + 1)
                if i == len(positions):
                    return
                last = positions[i]
            if last - first < rule.within:
                yield first, last
        return
    anchors = sorted({p for slot in set(rule.slots) for p in where[slot]})
    for first in anchors:
        last = first
        for slot in rule.slots:
            positions = where[slot]
            i = bisect_left(positions, first)
            if i == len(positions):
                return
            last = max(last, positions[i])
        if last - first < rule.within:
            yield first, last


def _in_sentence(words: list[str], found: set[DangerKind]) -> None:
    looked_up = [_slots_of(word) for word in words]
    rules = _TABLE.rules
    candidates = [
        rules[index]
        for index in sorted(frozenset().union(*(triggered for _, triggered in looked_up)))
        if not rules[index].kinds <= found
    ]
    if not candidates:
        return
    slots = [filled for filled, _ in looked_up]
    # Positions only of the words the candidate rules need: "не", "в", "с" fill many slots.
    needed = frozenset().union(*(rule.slots for rule in candidates))
    where: dict[int, list[int]] = {}
    for position, filled in enumerate(slots):
        for slot in filled & needed:
            where.setdefault(slot, []).append(position)
    for rule in candidates:
        if rule.kinds <= found or not all(s in where for s in rule.slots):
            continue
        if any(_allowed(rule, slots, first, last) for first, last in _spans(rule, where)):
            found |= rule.kinds


def find_danger(text: str) -> frozenset[DangerKind]:
    """The kinds of danger the text speaks of; empty when it reads as an everyday request."""
    found: set[DangerKind] = set()
    for words in _sentences(text):
        _in_sentence(words, found)
    return frozenset(found)


def is_dangerous(text: str) -> bool:
    """Whether the text should make the bot offer emergency contacts straight away."""
    return bool(find_danger(text))
