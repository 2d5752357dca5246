"""Recall and false alarms of the danger matcher, measured on sentences as parents write them.

tests/data/danger_corpus.tsv holds labelled sentences; every miss and every false alarm is printed,
so that a reviewer reads them in `pytest -rA` output (and on failure) and decides what to add to
dialogs/data/danger.toml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from dialogs.danger import DangerKind, find_danger

CORPUS = Path(__file__).parent / "data" / "danger_corpus.tsv"
MIN_RECALL = 0.95
MAX_FALSE_ALARMS = 0.10


@dataclass(frozen=True)
class Example:
    line: int
    text: str
    kind: DangerKind | None

    @property
    def english(self) -> bool:
        return self.text.isascii()


def load_corpus(path: Path = CORPUS) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        text, label = line.split("\t")
        examples.append(Example(number, text, None if label == "none" else DangerKind(label)))
    return examples


@dataclass(frozen=True)
class Score:
    recall: float
    false_alarms: float
    misses: list[str]
    alarms: list[str]


def score(examples: list[Example]) -> Score:
    misses, alarms, dangers, calm = [], [], 0, 0
    for example in examples:
        found = find_danger(example.text)
        if example.kind is None:
            calm += 1
            if found:
                alarms.append(f"line {example.line}: {example.text!r} -> {sorted(found)}")
        else:
            dangers += 1
            if example.kind not in found:
                misses.append(f"line {example.line}: {example.text!r} ({example.kind}) -> {sorted(found)}")
    return Score(1 - len(misses) / dangers, len(alarms) / calm, misses, alarms)


def report(name: str, result: Score) -> str:
    lines = [f"{name}: recall {result.recall:.3f}, false alarms {result.false_alarms:.3f}"]
    lines += [f"  MISS  {miss}" for miss in result.misses]
    lines += [f"  ALARM {alarm}" for alarm in result.alarms]
    return "\n".join(lines)


def test_corpus_is_big_balanced_and_covers_every_kind() -> None:
    examples = load_corpus()
    for english in (False, True):
        part = [e for e in examples if e.english == english]
        dangers = sum(e.kind is not None for e in part)
        assert len(part) >= (60 if english else 300)
        assert 0.45 <= dangers / len(part) <= 0.55, (english, dangers, len(part))
    assert {e.kind for e in examples} == {*DangerKind, None}


@pytest.mark.parametrize("english", [False, True], ids=["russian", "english"])
def test_recall_and_false_alarms(english: bool) -> None:
    result = score([e for e in load_corpus() if e.english == english])
    text = report("English" if english else "Russian", result)
    print(text)  # read with `pytest -rA`, misses and false alarms included
    assert result.recall >= MIN_RECALL, text
    assert result.false_alarms <= MAX_FALSE_ALARMS, text
