"""Survey files: the shipped survey, loading, and every problem said with its file and line;
the rules' request_survey checked against the loaded surveys (rules check, config check)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.rules import parse_rules
from core.surveys import Kind, SurveysError, load_surveys
from core.surveys.checks import unknown_surveys
from core.surveys.definitions import parse_surveys
from otklik.cli import main

SHIPPED = Path(__file__).resolve().parent.parent / "surveys"

GOOD = """
[[survey]]
id = "short"
title = "Quick question"

[[survey.question]]
id = "recommend"
kind = "nps"
text = { en = "Would you recommend us?", ru = "Порекомендуете нас?" }

[[survey.question]]
id = "why"
kind = "text"
text = "Why?"
"""


def problems(text: str) -> list[str]:
    _, found = parse_surveys({"s.toml": text})
    return [str(p) for p in found]


def test_the_shipped_survey_has_the_five_classic_questions_in_both_languages():
    [survey] = load_surveys(SHIPPED)
    assert survey.id == "post-ticket"
    assert [(q.id, q.kind, q.must) for q in survey.questions] == [
        ("solved", Kind.YES_NO, True),
        ("quality", Kind.SCALE, True),
        ("recommend", Kind.NPS, True),
        ("improve", Kind.TEXT, False),
        ("other", Kind.TEXT, False),
    ]
    for question in survey.questions:
        assert set(question.text) == {"en", "ru"}
    assert survey.titled("ru") == "Как мы справились?"


def test_a_good_file_loads_in_order_with_defaults(tmp_path: Path):
    (tmp_path / "a.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / ".draft.toml").write_text("broken [", encoding="utf-8")  # an editor's file
    surveys = load_surveys(tmp_path)
    survey = surveys.get("short")
    assert survey is not None and surveys.ids == ("short",)
    assert survey.title == {"ru": "Quick question", "en": "Quick question"}
    assert [q.must for q in survey.questions] == [True, False]  # text: optional by default
    assert survey.questions[0].says("ru") == "Порекомендуете нас?"


def test_a_missing_folder_is_no_surveys(tmp_path: Path):
    assert len(load_surveys(tmp_path / "nothing")) == 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('kind = "nps"', 'kind = "stars"'),
            's.toml:8: survey "short": question[1].kind: expected'
            ' one of "yes_no", "scale", "nps", "text", got "stars"',
        ),
        (
            ('id = "why"', 'id = "recommend"'),
            's.toml:12: survey "short": question[2].id:'
            ' "recommend" is already the id of another question',
        ),
        (
            ('id = "why"', 'id = "Why?"'),
            's.toml:12: survey "short": question[2].id: expected 1-40 of a-z 0-9 _, got "Why?"',
        ),
        (
            ('text = "Why?"', 'text = { de = "Warum?" }'),
            's.toml:14: survey "short": question[2].text.de: unknown locale; expected ru or en',
        ),
        (
            ('text = "Why?"', 'text = ""'),
            's.toml:14: survey "short": question[2].text: expected'
            ' 1-500 characters of text, got ""',
        ),
        (
            ('kind = "nps"', 'kind = "nps"\nrequired = "yes"'),
            's.toml:9: survey "short": question[1].required: expected true or false, got "yes"',
        ),
        (
            ('kind = "nps"', 'kind = "nps"\ncolour = "red"'),
            's.toml:9: survey "short":'
            " question[1].colour: unknown key; expected one of: id, kind, text, required",
        ),
        (
            ('id = "short"', 'id = "Short One"'),
            "s.toml:3: survey #1: id: expected a survey's"
            ' id: 1-64 of a-z 0-9 _ . -, got "Short One"',
        ),
        (('title = "Quick question"', ""), 's.toml:2: survey "short": title: required'),
    ],
)
def test_each_problem_names_file_line_survey_and_key(change: tuple[str, str], expected: str):
    assert problems(GOOD.replace(*change, 1)) == [expected]


def test_a_survey_without_questions_and_other_tables_are_refused():
    assert problems('[[survey]]\nid = "x"\ntitle = "X"\n\n[survey_extra]\na = 1\n') == [
        "s.toml:5: survey_extra: expected only [[survey]] tables",
        's.toml:1: survey "x": question: required',
    ]
    assert problems('[[survey]]\nid = "x"\ntitle = "X"\nquestion = []\n') == [
        's.toml:4: survey "x": question: expected 1-30 [[survey.question]] tables, got []'
    ]


def test_an_id_used_twice_and_bad_toml_are_refused_as_a_whole(tmp_path: Path):
    (tmp_path / "a.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "c.toml").write_text("[[survey]\n", encoding="utf-8")
    with pytest.raises(SurveysError) as caught:
        load_surveys(tmp_path)
    lines = [str(p) for p in caught.value.problems]
    first = tmp_path / "a.toml"
    assert lines[0] == (
        f'{tmp_path / "b.toml"}:3: survey "short": id: "short" is already the id of the survey'
        f" at {first}:3"
    )
    assert lines[1].startswith(f"{tmp_path / 'c.toml'}: not valid TOML")


ASKING = """
[[rule]]
id = "ask"
on = "ticket.closed"
then = [{ action = "note", text = "x" }, { action = "request_survey", survey = "nps-short" }]
"""


def test_a_rule_naming_an_unknown_survey_is_a_problem_with_its_line():
    rules = parse_rules({"r.toml": ASKING})
    surveys, _ = parse_surveys({"s.toml": GOOD})
    [problem] = unknown_surveys(rules, surveys)
    assert str(problem) == (
        'r.toml:2: rule "ask": then[2].survey: unknown survey "nps-short"; expected one of: short'
    )
    ok = parse_rules({"r.toml": ASKING.replace("nps-short", "short")})
    assert unknown_surveys(ok, surveys) == []


def test_rules_and_config_check_validate_the_surveys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    (tmp_path / "dispatcher_rules").mkdir()
    (tmp_path / "dispatcher_rules" / "r.toml").write_text(ASKING, encoding="utf-8")
    (tmp_path / "surveys").mkdir()
    (tmp_path / "surveys" / "s.toml").write_text(GOOD, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text('locale = "en"\n', encoding="utf-8")
    for command in (["rules", "check"], ["config", "check"]):
        assert main([*command, "--config", str(config)]) == 2
        assert 'unknown survey "nps-short"' in capsys.readouterr().err
    (tmp_path / "surveys" / "s.toml").write_text(GOOD.replace("short", "nps-short"), "utf-8")
    assert main(["rules", "check", "--config", str(config)]) == 0
    (tmp_path / "surveys" / "s.toml").write_text(GOOD.replace('"nps"', '"stars"'), "utf-8")
    assert main(["config", "check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "the surveys are not valid" in err and "question[1].kind" in err
