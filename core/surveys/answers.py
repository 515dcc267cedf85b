"""A survey form's answers checked against the questions as they were asked.

The form gives every answer as a text (``"yes"``, ``"4"``, ``"9"``, ``"faster please"``); a
blank one is no answer. Every problem is named by its question, with a locale key the public
page shows and an English message for logs and the API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput
from core.messages import clean_text
from core.surveys.definitions import VALUES, Kind

MAX_ANSWER = 2000  # characters of a text answer
_YES_NO = {"yes": 1, "no": 0}


@dataclass(frozen=True)
class Answer:
    question_id: str
    kind: Kind
    value: int | None = None  # yes_no 1/0, scale 1-5, nps 0-10
    text: str | None = None  # a text question's answer

    @property
    def given(self) -> int | str | None:
        """The answer as events and the page tell it: a number, or a text."""
        return self.text if self.kind is Kind.TEXT else self.value


@dataclass(frozen=True)
class Flawed:
    """Why one question's answer was refused: a locale key and its values."""

    key: str
    values: Mapping[str, Any]
    message: str


class AnswersInvalid(InvalidInput):
    """Some answers were refused; ``flaws`` by question id, in the questions' order."""

    def __init__(self, flaws: Mapping[str, Flawed]) -> None:
        self.flaws = dict(flaws)
        super().__init__("; ".join(f"{qid}: {f.message}" for qid, f in self.flaws.items()))


def check(questions: Sequence[Mapping[str, Any]], form: Mapping[str, str]) -> list[Answer]:
    """The answers to ``questions`` (stored questions: id, kind, required) found in ``form``;
    raises AnswersInvalid naming every question whose answer is missing or wrong. Keys of
    ``form`` that name no question are ignored (the page's own fields)."""
    answers: list[Answer] = []
    flaws: dict[str, Flawed] = {}
    for question in questions:
        qid, kind = str(question["id"]), Kind(question["kind"])
        raw = form.get(qid)
        raw = clean_text(raw).strip() if isinstance(raw, str) else ""
        if not raw:
            if question.get("required"):
                flaws[qid] = Flawed("survey.required", {}, "an answer is required")
            continue
        try:
            answers.append(_answer(qid, kind, raw))
        except _Refused as exc:
            flaws[qid] = exc.flawed
    if flaws:
        raise AnswersInvalid(flaws)
    return answers


class _Refused(Exception):
    def __init__(self, flawed: Flawed) -> None:
        super().__init__(flawed.message)
        self.flawed = flawed


def _answer(qid: str, kind: Kind, raw: str) -> Answer:
    if kind is Kind.TEXT:
        if len(raw) > MAX_ANSWER:
            message = f"longer than {MAX_ANSWER} characters ({len(raw)})"
            raise _Refused(Flawed("survey.too_long", {"limit": MAX_ANSWER}, message))
        return Answer(qid, kind, text=raw)
    if kind is Kind.YES_NO:
        if raw not in _YES_NO:
            raise _Refused(Flawed("survey.yes_no", {}, f'expected "yes" or "no", got {raw[:20]!r}'))
        return Answer(qid, kind, value=_YES_NO[raw])
    values = VALUES[kind]
    number = int(raw) if raw.isdigit() and len(raw) <= 3 else None
    if number not in values:
        low, high = min(values), max(values)
        message = f"expected a whole number from {low} to {high}, got {raw[:20]!r}"
        raise _Refused(Flawed("survey.out_of_range", {"low": low, "high": high}, message))
    return Answer(qid, kind, value=number)
