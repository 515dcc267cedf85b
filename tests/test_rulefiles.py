"""Admins' edits of rule files: checked as the whole folder, written atomically, with history."""

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import rulefiles
from core.clock import utcnow
from core.db import Database
from core.errors import InvalidInput, NotFound
from core.models import Role, RuleChange
from core.rules import RulesError
from tests.people import make_agent

THANKS = '[[rule]]\nid = "thanks"\non = "ticket.closed"\nthen = [{ action = "stop" }]\n'
TYPO = '[[rule]]\nid = "thanks"\non = "ticket.closd"\nthen = [{ action = "stop" }]\n'
OTHER = '[[rule]]\nid = "other"\non = "ticket.created"\nthen = [{ action = "stop" }]\n'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rules = tmp_path / "dispatcher_rules"
    rules.mkdir()
    (rules / "base.toml").write_text(THANKS, encoding="utf-8")
    return rules


async def changes(db: Database) -> int:
    async with db.reading() as s:
        return await s.scalar(select(func.count()).select_from(RuleChange)) or 0


def test_files_lists_rule_files_in_load_order_without_dot_files(folder: Path):
    (folder / "a.toml").write_text("", encoding="utf-8")
    (folder / ".swap.toml").write_text("", encoding="utf-8")
    (folder / "notes.txt").write_text("", encoding="utf-8")
    assert rulefiles.files(folder) == ["a.toml", "base.toml"]
    assert rulefiles.read(folder, "base.toml") == THANKS
    with pytest.raises(NotFound, match=r"rule file b\.toml does not exist"):
        rulefiles.read(folder, "b.toml")


@pytest.mark.parametrize(
    "name",
    ["../escape.toml", "sub/x.toml", ".hidden.toml", "Big.toml", "rules.txt", "x" * 62 + ".toml"],
)
async def test_a_bad_file_name_is_refused_and_nothing_is_written(
    db: Database, folder: Path, name: str
):
    admin = await make_agent(db, "root", Role.ADMIN)
    with pytest.raises(InvalidInput, match="expected 1-61 of a-z 0-9"):
        await rulefiles.save(db, folder, name, OTHER, admin, utcnow())
    assert sorted(p.name for p in folder.parent.rglob("*") if p.is_file()) == ["base.toml"]
    assert await changes(db) == 0


async def test_a_broken_edit_names_the_problem_and_changes_nothing(db: Database, folder: Path):
    admin = await make_agent(db, "root", Role.ADMIN)
    before = (folder / "base.toml").read_bytes()
    with pytest.raises(RulesError) as caught:
        await rulefiles.save(db, folder, "base.toml", TYPO, admin, utcnow())
    [problem] = caught.value.problems
    assert str(problem).startswith('base.toml:3: rule "thanks": on: unknown event "ticket.closd"')
    assert (folder / "base.toml").read_bytes() == before
    assert os.listdir(folder) == ["base.toml"]  # no temporary file left
    assert await changes(db) == 0


async def test_an_edit_is_checked_with_the_other_files(db: Database, folder: Path):
    admin = await make_agent(db, "root", Role.ADMIN)
    with pytest.raises(RulesError) as caught:
        await rulefiles.save(db, folder, "more.toml", THANKS, admin, utcnow())
    assert 'id: "thanks" is already the id of the rule at base.toml:1' in str(caught.value)
    assert not (folder / "more.toml").exists()


async def test_a_good_edit_is_written_and_recorded_with_its_author(db: Database, folder: Path):
    admin = await make_agent(db, "root", Role.ADMIN)
    (folder / "base.toml").chmod(0o640)
    rules = await rulefiles.save(db, folder, "base.toml", THANKS + "\n" + OTHER, admin, utcnow())
    assert [r.id for r in rules] == ["thanks", "other"]
    assert (folder / "base.toml").read_text(encoding="utf-8") == THANKS + "\n" + OTHER
    assert (folder / "base.toml").stat().st_mode & 0o777 == 0o640
    [change] = await rulefiles.history(db)
    assert change.author == "Root" and change.change.file == "base.toml"
    assert change.change.old_text == THANKS and change.change.new_text == THANKS + "\n" + OTHER


async def test_a_new_file_has_no_old_text_and_history_is_newest_first(db: Database, folder: Path):
    admin = await make_agent(db, "root", Role.ADMIN)
    await rulefiles.save(db, folder, "more.toml", OTHER, admin, utcnow())
    await rulefiles.save(db, folder, "base.toml", "", admin, utcnow())
    assert (folder / "more.toml").read_text(encoding="utf-8") == OTHER
    assert [c.change.file for c in await rulefiles.history(db)] == ["base.toml", "more.toml"]
    [new] = await rulefiles.history(db, "more.toml")
    assert new.change.old_text is None
    assert (await rulefiles.change(db, new.change.id)).change.new_text == OTHER
    with pytest.raises(NotFound):
        await rulefiles.change(db, new.change.id + 100)


async def test_saving_the_same_text_records_nothing(db: Database, folder: Path):
    admin = await make_agent(db, "root", Role.ADMIN)
    await rulefiles.save(db, folder, "base.toml", THANKS, admin, utcnow())
    assert await changes(db) == 0


async def test_another_file_that_is_not_utf8_blocks_the_save(db: Database, folder: Path):
    admin = await make_agent(db, "root", Role.ADMIN)
    (folder / "latin.toml").write_bytes(b"# caf\xe9\n")
    with pytest.raises(RulesError, match=r"latin\.toml: expected UTF-8 text"):
        await rulefiles.save(db, folder, "more.toml", OTHER, admin, utcnow())
    # Replacing the unreadable file itself is how it gets fixed.
    await rulefiles.save(db, folder, "latin.toml", OTHER, admin, utcnow())
    assert rulefiles.read(folder, "latin.toml") == OTHER
