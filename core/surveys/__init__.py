"""Surveys: questionnaires defined in ``surveys/*.toml``, sent as a link by the rules'
``request_survey``, answered once on the public form ``/survey/<token>`` (a survey of a single
NPS question goes to a chat as buttons instead, answered once by a press).

Modules: definitions (the files → ``Surveys``), answers (a form checked against its
questions), requests (sending, the form's page, the submission or the press and
``survey.submitted``), checks (the rules' ``request_survey`` against the loaded surveys).
"""

from core.surveys.definitions import Kind, Question, Survey, Surveys, SurveysError, load_surveys

__all__ = ["Kind", "Question", "Survey", "Surveys", "SurveysError", "load_surveys"]
