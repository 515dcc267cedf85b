"""Dispatcher rules: the files admins write, validated and compiled, ready for the engine.

    load_rules(dir) -> RuleSet     read dispatcher_rules/*.toml; RulesError lists every problem
    parse_rules({name: text})      the same over texts not yet written (an admin's edit)
    RuleSet.for_event(name)        the enabled rules an event concerns, in the order they run
    RuleSet.cancelled_by(name)     the rules whose pending delayed runs an event cancels
    Rule.matches(data)             the rule's conditions over an event's data; never raises
    Rule.actions                   models from core.rules.actions; texts are Text
    Text.render(data, locale)      a text in ru or en; missing values render empty

Modules: catalogue (events, fields, operators), schema (a rule), conditions, actions, values,
templates, locator (lines in TOML), problems (errors), loader (files → RuleSet).
"""

from core.rules.catalogue import EVENTS, OPERATORS
from core.rules.loader import Origin, RuleSet, load_rules, parse_rules
from core.rules.problems import Problem, RulesError
from core.rules.schema import Rule
from core.rules.templates import RenderError, Text
from core.rules.values import parse_duration

__all__ = [
    "EVENTS",
    "OPERATORS",
    "Origin",
    "Problem",
    "RenderError",
    "Rule",
    "RuleSet",
    "RulesError",
    "Text",
    "load_rules",
    "parse_duration",
    "parse_rules",
]
