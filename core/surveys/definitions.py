"""Survey definitions: ``surveys/*.toml`` files of ``[[survey]]`` tables, validated like rules.

    [[survey]]
    id = "post-ticket"                              # 1-64 of a-z 0-9 _ . -, unique across files
    title = { en = "How did it go?", ru = "Как всё прошло?" }

    [[survey.question]]
    id = "recommend"                                # 1-40 of a-z 0-9 _, unique in the survey
    kind = "nps"                                    # yes_no | scale (1-5) | nps (0-10) | text
    text = { en = "Would you recommend us?", ru = "Порекомендуете ли вы нас?" }
    required = true                                 # default: true, except for text

Texts are plain (no templates): one string, or variants per locale. A folder with any problem
is refused as a whole; every problem reads ``file:line: survey "id": key: what was expected``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError, field_validator, model_validator

from core.i18n import LOCALES
from core.rules.actions import SURVEY_ID, SurveyId
from core.rules.locator import Locator
from core.rules.problems import Flaw, Invalid, Problem, Table, flaw, shown
from core.rules.values import one_of

QUESTION_ID = re.compile(r"^[a-z0-9_]{1,40}$")
MAX_TEXT = 500  # characters of a title or a question
MAX_QUESTIONS = 30


class Kind(StrEnum):
    YES_NO = "yes_no"
    SCALE = "scale"  # 1-5
    NPS = "nps"  # 0-10
    TEXT = "text"


# The values a question of each kind takes (a text question takes a text).
VALUES: Mapping[Kind, tuple[int, ...]] = MappingProxyType(
    {Kind.YES_NO: (1, 0), Kind.SCALE: (1, 2, 3, 4, 5), Kind.NPS: tuple(range(11))}
)


def _plain(raw: Any) -> dict[str, str]:
    """A survey text: ``"…"`` (both locales) or ``{ en = "…", ru = "…" }``."""
    if isinstance(raw, str):
        raw = dict.fromkeys(LOCALES, raw)
    if not isinstance(raw, dict) or not raw:
        raise Invalid(f'expected a text or a table {{ en = "…", ru = "…" }}, got {shown(raw)}')
    for locale, value in raw.items():
        if locale not in LOCALES:
            raise Invalid(f"unknown locale; expected {' or '.join(LOCALES)}", locale)
        if not isinstance(value, str) or not 1 <= len(value.strip()) <= MAX_TEXT:
            where = () if len(set(raw.values())) == 1 and len(raw) > 1 else (locale,)
            raise Invalid(f"expected 1-{MAX_TEXT} characters of text, got {shown(value)}", *where)
    return {locale: raw[locale].strip() for locale in LOCALES if locale in raw}


def _question_id(raw: Any) -> str:
    if not isinstance(raw, str) or not QUESTION_ID.match(raw):
        raise Invalid(f"expected 1-40 of a-z 0-9 _, got {shown(raw)}")
    return raw


def _flag(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise Invalid(f"expected true or false, got {shown(raw)}")
    return raw


Texts = Annotated[dict[str, str], BeforeValidator(_plain)]


class Question(Table):
    id: Annotated[str, BeforeValidator(_question_id)]
    kind: one_of(*Kind)
    text: Texts
    required: Annotated[bool | None, BeforeValidator(_flag)] = None

    @property
    def must(self) -> bool:
        """Whether an answer is needed: as written, else every kind but text."""
        return self.required if self.required is not None else self.kind != Kind.TEXT

    def says(self, locale: str) -> str:
        return in_locale(self.text, locale)

    def stored(self) -> dict[str, Any]:
        """The question as a survey request keeps it (what was asked, whatever the file
        says later)."""
        return {"id": self.id, "kind": self.kind, "text": self.text, "required": self.must}


class Survey(Table):
    id: SurveyId
    title: Texts
    questions: tuple[Question, ...]

    @model_validator(mode="before")
    @classmethod
    def _questions_key(cls, raw: Any) -> Any:
        # Written [[survey.question]]: one question per table, so the key is singular.
        if isinstance(raw, dict) and "question" in raw:
            raw = {**raw, "questions": raw["question"]}
            del raw["question"]
        return raw

    @field_validator("questions", mode="before")
    @classmethod
    def _some(cls, raw: Any) -> Any:
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_QUESTIONS:
            raise Invalid(
                f"expected 1-{MAX_QUESTIONS} [[survey.question]] tables, got {shown(raw)}"
            )
        seen: set[Any] = set()
        for i, question in enumerate(raw):
            qid = question.get("id") if isinstance(question, dict) else None
            if isinstance(qid, str) and qid in seen:
                raise Invalid(f'"{qid}" is already the id of another question', i, "id")
            seen.add(qid)
        return raw

    def titled(self, locale: str) -> str:
        return in_locale(self.title, locale)

    def stored(self) -> dict[str, Any]:
        return {"title": self.title, "questions": [q.stored() for q in self.questions]}

    @property
    def nps_question(self) -> Question | None:
        return next((q for q in self.questions if q.kind == Kind.NPS), None)


def in_locale(texts: Mapping[str, str], locale: str) -> str:
    """A survey text in ``locale``, else in the other one."""
    return texts.get(locale) or next(iter(texts.values()))


class SurveysError(Exception):
    """The survey files cannot be used; ``problems`` lists every one, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Surveys:
    """The loaded surveys by id, in file order."""

    def __init__(self, surveys: Mapping[str, Survey] | None = None) -> None:
        self._by_id = MappingProxyType(dict(surveys or {}))

    def __iter__(self) -> Iterator[Survey]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, survey_id: str) -> Survey | None:
        return self._by_id.get(survey_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)


def load_surveys(directory: str | Path) -> Surveys:
    """Read every ``*.toml`` directly in ``directory``; a missing folder is no surveys."""
    folder = Path(directory)
    if not folder.exists():
        return Surveys()
    if not folder.is_dir():
        raise SurveysError([Problem(str(folder), None, None, "expected a folder of *.toml files")])
    sources: dict[str, str] = {}
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.toml")):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            sources[str(path)] = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as exc:
            problems.append(Problem(str(path), None, None, f"cannot be read as UTF-8 text: {exc}"))
    surveys, found = parse_surveys(sources)
    if problems or found:
        raise SurveysError(problems + found)
    return surveys


def parse_surveys(sources: Mapping[str, str]) -> tuple[Surveys, list[Problem]]:
    """Survey files given as name → text, in name order: the surveys and every problem."""
    surveys: dict[str, Survey] = {}
    where: dict[str, str] = {}
    problems: list[Problem] = []
    for file in sorted(sources, key=lambda f: Path(f).name):
        text = sources[file]
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            problems.append(Problem(file, None, None, f"not valid TOML: {exc}"))
            continue
        locator = Locator(text)
        for key in data:
            if key != "survey" or not isinstance(data[key], list):
                line = locator.line((key,))
                problems.append(
                    Problem(file, line, None, f"{key}: expected only [[survey]] tables")
                )
        tables = data.get("survey")
        for index, raw in enumerate(tables if isinstance(tables, list) else ()):
            name = _name(raw, index)
            try:
                survey = Survey.model_validate(raw)
            except ValidationError as exc:
                for error in exc.errors():
                    found = flaw(error)
                    found = Flaw(_written(found.path), found.message)
                    line = locator.line(("survey", index, *found.path))
                    problems.append(Problem(file, line, None, f"{name}: {found}"))
                continue
            line = locator.line(("survey", index, "id"))
            if survey.id in where:
                message = f'{name}: id: "{survey.id}" is already the id of the survey at '
                message += where[survey.id]
                problems.append(Problem(file, line, None, message))
                continue
            where[survey.id] = f"{file}:{line}"
            surveys[survey.id] = survey
    return Surveys(surveys), problems


def _name(raw: Any, index: int) -> str:
    own = raw.get("id") if isinstance(raw, dict) else None
    return (
        f'survey "{own}"'
        if isinstance(own, str) and SURVEY_ID.match(own)
        else f"survey #{index + 1}"
    )


def _written(path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """A flaw's path as the file spells it: ``questions`` is written ``question``."""
    return tuple("question" if part == "questions" else part for part in path)
