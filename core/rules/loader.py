"""Rule files in, one immutable ``RuleSet`` out — or every problem, and no rules at all.

Files are ``*.toml`` directly in the rules directory (names starting with ``.`` are editors'
and ignored), read in name order; rules keep that order, then their order in the file. A set
with any problem is refused as a whole, so the caller keeps the rules it had.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from core.rules.locator import Locator
from core.rules.problems import Flaw, Problem, RulesError, shown
from core.rules.schema import ID, Rule, RuleFlaws, read_rule


@dataclass(frozen=True)
class Origin:
    """Where a rule is written: its file and the line of its ``[[rule]]``."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class RuleSet:
    """Compiled rules in load order; what the engine asks which rules an event concerns."""

    def __init__(self, placed: Iterable[tuple[Rule, Origin]] = ()) -> None:
        placed = tuple(placed)
        self._rules = tuple(rule for rule, _ in placed)
        self._origins = MappingProxyType({rule.id: origin for rule, origin in placed})
        self._by_id = MappingProxyType({rule.id: rule for rule in self._rules})
        # Looked up on every event of every transaction: built once here.
        self._by_event = _index((r for r in self._rules if r.enabled), lambda r: r.events)
        self._cancelling = _index(self._rules, lambda r: r.cancel_on)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def for_event(self, name: str) -> tuple[Rule, ...]:
        """The enabled rules that react to event ``name``, in the order they run."""
        return self._by_event.get(name, ())

    def cancelled_by(self, name: str) -> tuple[Rule, ...]:
        """The rules whose pending delayed runs event ``name`` cancels."""
        return self._cancelling.get(name, ())

    def get(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def origin(self, rule_id: str) -> Origin:
        return self._origins[rule_id]


def _index(
    rules: Iterable[Rule], names: Callable[[Rule], Iterable[str]]
) -> Mapping[str, tuple[Rule, ...]]:
    """Event name → the rules that name it, in load order."""
    index: dict[str, list[Rule]] = {}
    for rule in rules:
        for name in names(rule):
            index.setdefault(name, []).append(rule)
    return MappingProxyType({name: tuple(found) for name, found in index.items()})


def load_rules(directory: str | Path) -> RuleSet:
    """Read and compile every rule file in ``directory``; raise RulesError naming every
    problem. An empty directory is an empty set."""
    folder = Path(directory)
    if not folder.is_dir():
        raise RulesError([Problem(str(folder), None, None, "expected a folder of *.toml files")])
    sources: dict[str, str] = {}
    problems: list[Problem] = []
    for path in folder.glob("*.toml"):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            sources[str(path)] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(str(path), None, None, f"expected UTF-8 text: {exc.reason}"))
        except OSError as exc:
            problems.append(Problem(str(path), None, None, f"cannot be read: {exc.strerror}"))
    placed, found = _compile(sources)
    if problems or found:
        raise RulesError(sorted(problems + found, key=lambda p: _order(p.file)))
    return RuleSet(placed)


def parse_rules(sources: Mapping[str, str]) -> RuleSet:
    """Compile rule files given as file name → text (an edit checked before it is written);
    files are taken in the order of their names, as ``load_rules`` takes them."""
    placed, problems = _compile(sources)
    if problems:
        raise RulesError(problems)
    return RuleSet(placed)


def _order(file: str) -> tuple[str, str]:
    return Path(file).name, file


_TOML_ERROR = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$")


def _compile(sources: Mapping[str, str]) -> tuple[list[tuple[Rule, Origin]], list[Problem]]:
    placed: list[tuple[Rule, Origin]] = []
    problems: list[Problem] = []
    ids: dict[str, Origin] = {}
    for file in sorted(sources, key=_order):
        text = sources[file]
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            problems.append(_syntax_problem(file, str(exc)))
            continue
        locator = Locator(text)
        for key, value in data.items():
            if key == "rule" and not isinstance(value, list):
                message = f"rule: expected [[rule]] tables (two brackets), got {shown(value)}"
                problems.append(Problem(file, locator.line((key,)), None, message))
            elif key != "rule":
                message = f"{key}: unknown key; expected only [[rule]] tables"
                problems.append(Problem(file, locator.line((key,)), None, message))
        rules = data.get("rule")
        for index, raw in enumerate(rules if isinstance(rules, list) else ()):
            rule, rule_id, flaws = _read(raw)
            origin = Origin(file, locator.line(("rule", index)))
            for flaw in flaws:
                line = locator.line(("rule", index, *flaw.path))
                problems.append(Problem(file, line, rule_id, str(flaw), index + 1))
            if rule_id is not None and rule_id in ids:
                line = locator.line(("rule", index, "id"))
                message = f'id: "{rule_id}" is already the id of the rule at {ids[rule_id]}'
                problems.append(Problem(file, line, rule_id, message, index + 1))
            elif rule_id is not None:
                ids[rule_id] = origin
                if rule is not None:
                    placed.append((rule, origin))
    return placed, problems


def _read(raw: Any) -> tuple[Rule | None, str | None, list[Flaw]]:
    """The rule, or its flaws; and its id when that much is right."""
    try:
        rule = read_rule(raw)
    except RuleFlaws as exc:
        own_id = raw.get("id") if isinstance(raw, dict) else None
        return None, own_id if isinstance(own_id, str) and ID.match(own_id) else None, exc.flaws
    return rule, rule.id, []


def _syntax_problem(file: str, message: str) -> Problem:
    match = _TOML_ERROR.match(message)
    if match is None:
        return Problem(file, None, None, f"not valid TOML: {message}")
    what, line, column = match.groups()
    return Problem(file, int(line), None, f"not valid TOML: {what} (column {column})")
