"""The rules' ``request_survey`` actions checked against the loaded surveys.

Rule files load without the surveys (the rules loader knows only its own folder), so an
unknown survey id is caught here: by ``otklik rules check`` / ``config check``, at start
(logged), and when such an action runs (it fails, logged with its rule).
"""

from __future__ import annotations

from core.rules import Problem, RuleSet
from core.rules.actions import RequestSurvey
from core.surveys.definitions import Surveys


def unknown_surveys(rules: RuleSet, surveys: Surveys) -> list[Problem]:
    """A problem for each ``request_survey`` naming a survey that is not loaded."""
    problems = []
    known = ", ".join(surveys.ids) or "none (no surveys are loaded)"
    for rule in rules:
        origin = rules.origin(rule.id)
        for index, action in enumerate(rule.actions):
            if isinstance(action, RequestSurvey) and surveys.get(action.survey) is None:
                message = (
                    f'then[{index + 1}].survey: unknown survey "{action.survey}";'
                    f" expected one of: {known}"
                )
                problems.append(Problem(origin.file, origin.line, rule.id, message))
    return problems
