"""The admins' rule pages over HTTP: rights, CSRF, rejected and accepted edits, history."""

import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.models import Role, RuleChange, RuleStat
from tests.people import make_agent
from tests.service import Running
from tests.test_inbox_web import signed_in

THANKS = '[[rule]]\nid = "thanks"\non = "ticket.closed"\nthen = [{ action = "stop" }]\n'
TYPO = '[[rule]]\nid = "thanks"\non = "ticket.closd"\nthen = [{ action = "stop" }]\n'
LATER = (
    '[[rule]]\nid = "ask-later"\non = ["ticket.closed", "ticket.reopened"]\ndelay = "1h30m"\n'
    'enabled = false\nthen = [{ action = "stop" }]\n'
)


def folder(service: Running) -> Path:
    return service.state.rules.directory


def content(path: Path) -> bytes:
    return path.read_bytes()


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


async def changes(service: Running) -> int:
    async with service.state.db.reading() as s:
        return await s.scalar(select(func.count()).select_from(RuleChange)) or 0


@pytest.fixture
async def base(service: Running) -> Path:
    """A live rule file base.toml."""
    path = folder(service) / "base.toml"
    write(path, THANKS)
    assert service.state.rules.reload()
    return path


async def test_anonymous_visitors_are_sent_to_sign_in(service: Running):
    async with service.client() as http:
        for path in ("/admin/rules", "/admin/rules/edit/base.toml", "/admin/rules/history"):
            response = await http.get(path, allow_redirects=False)
            assert response.status == 303
            assert response.headers["Location"] == f"/inbox/login?next={path}"


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
async def test_only_admins_see_or_edit_the_rules(service: Running, base: Path, role: Role):
    await make_agent(service.state.db, "sveta", role)
    async with service.client() as http:
        token = await signed_in(http, "sveta")
        page = await http.get("/admin/rules")
        assert page.status == 403 and "this needs the role admin" in await page.text()
        assert (await http.get("/admin/rules/edit/base.toml")).status == 403
        assert (await http.get("/admin/rules/history")).status == 403
        posted = await http.post(
            "/admin/rules/edit/base.toml", data={"csrf": token, "text": THANKS + "\n"}
        )
        assert posted.status == 403
        assert "/admin/rules" not in await (await http.get("/inbox")).text()
    assert content(base) == THANKS.encode() and await changes(service) == 0


async def test_a_save_without_the_csrf_token_is_refused(service: Running, base: Path):
    await make_agent(service.state.db, "root", Role.ADMIN)
    async with service.client() as http:
        await signed_in(http, "root")
        for data in ({"text": ""}, {"text": "", "csrf": "forged"}):
            response = await http.post("/admin/rules/edit/base.toml", data=data)
            assert response.status == 403 and "security token" in await response.text()
        new = await http.post("/admin/rules/new", data={"name": "x.toml", "text": ""})
        assert new.status == 403
    assert content(base) == THANKS.encode() and await changes(service) == 0
    assert not (folder(service) / "x.toml").exists()


async def test_a_broken_edit_shows_every_problem_and_writes_nothing(service: Running, base: Path):
    await make_agent(service.state.db, "root", Role.ADMIN)
    before = content(base)
    async with service.client() as http:
        token = await signed_in(http, "root")
        response = await http.post(
            "/admin/rules/edit/base.toml",
            data={"csrf": token, "text": TYPO.replace("\n", "\r\n")},
        )
        assert response.status == 400
        html = await response.text()
    shown = unescape(html)
    assert 'base.toml:3: rule "thanks": on: unknown event "ticket.closd"' in shown
    assert 'on = "ticket.closd"' in shown  # the text comes back to be fixed
    assert content(base) == before and await changes(service) == 0
    assert sorted(p.name for p in folder(service).iterdir()) == ["base.toml"]
    assert [r.id for r in service.state.rules.current] == ["thanks"]


async def test_a_good_edit_is_written_recorded_and_live_at_once(service: Running, base: Path):
    root = await make_agent(service.state.db, "root", Role.ADMIN)
    async with service.client() as http:
        token = await signed_in(http, "root")
        text = (THANKS + "\n" + LATER).replace("\n", "\r\n")
        response = await http.post(
            "/admin/rules/edit/base.toml", data={"csrf": token, "text": text}
        )
        assert response.status == 200 and response.url.path == "/admin/rules"
        html = await response.text()
        assert "Saved base.toml" in html
        row = re.search(r'<tr data-rule="ask-later".*?</tr>', html, re.S)[0]
        for cell in ("base.toml:6", "ticket.closed, ticket.reopened", "1h30m", "no", "never"):
            assert f">{cell}<" in row
        history = await (await http.get("/admin/rules/history")).text()
        assert "base.toml" in history and "Root" in history
        change_id = re.search(r'href="/admin/rules/history/(\d+)"', history)[1]
        diff = unescape(await (await http.get(f"/admin/rules/history/{change_id}")).text())
        assert '<span class="add">+id = "ask-later"</span>' in diff
    assert content(base) == (THANKS + "\n" + LATER).encode()  # LF, as it was
    assert [r.id for r in service.state.rules.current] == ["thanks", "ask-later"]
    async with service.state.db.reading() as s:
        [change] = (await s.scalars(select(RuleChange))).all()
    assert change.agent_id == root.id and change.old_text == THANKS


async def test_the_rules_page_shows_when_each_rule_fired(service: Running, base: Path):
    await make_agent(service.state.db, "root", Role.ADMIN)
    async with service.state.db.transaction() as s:
        s.add(
            RuleStat(
                rule_id="thanks", fired=7, last_fired_at=datetime(2024, 5, 6, 7, 8, tzinfo=UTC)
            )
        )
    async with service.client() as http:
        await signed_in(http, "root")
        html = await (await http.get("/admin/rules")).text()
    row = re.search(r'<tr data-rule="thanks".*?</tr>', html, re.S)[0]
    assert "base.toml:1" in row and "2024-05-06 07:08" in row and "<td>7</td>" in row
    assert 'href="/admin/rules/edit/base.toml"' in html


async def test_a_new_file_is_checked_and_named_safely(service: Running, base: Path):
    await make_agent(service.state.db, "root", Role.ADMIN)
    async with service.client() as http:
        token = await signed_in(http, "root")
        for name in ("../escape.toml", "Upper.toml", "base.toml"):
            response = await http.post(
                "/admin/rules/new", data={"csrf": token, "name": name, "text": LATER}
            )
            assert response.status == 400
        bad = await http.post("/admin/rules/edit/..%2Fescape.toml", data={"csrf": token})
        assert bad.status in (400, 404)
        created = await http.post(
            "/admin/rules/new", data={"csrf": token, "name": "later.toml", "text": LATER}
        )
        assert created.status == 200 and "Saved later.toml" in await created.text()
        history = await (await http.get("/admin/rules/history?file=later.toml")).text()
        assert "new file" in history
    assert sorted(p.name for p in folder(service).iterdir()) == ["base.toml", "later.toml"]
    assert not (folder(service).parent / "escape.toml").exists()
    assert await changes(service) == 1


async def test_admins_see_a_banner_while_the_files_on_disk_are_broken(service: Running, base: Path):
    await make_agent(service.state.db, "root", Role.ADMIN)
    await make_agent(service.state.db, "anna")
    write(base, TYPO)
    assert not service.state.rules.reload()
    for login, sees in (("root", True), ("anna", False)):
        async with service.client() as http:
            await signed_in(http, login)
            html = unescape(await (await http.get("/inbox")).text())
        assert ("the last good rules stay live" in html) is sees
        assert ('base.toml:3: rule "thanks": on: unknown event' in html) is sees


async def test_a_missing_file_or_change_is_404(service: Running):
    await make_agent(service.state.db, "root", Role.ADMIN)
    async with service.client() as http:
        await signed_in(http, "root")
        assert (await http.get("/admin/rules/edit/none.toml")).status == 404
        assert (await http.get("/admin/rules/history/77")).status == 404


async def test_sign_in_returns_to_the_admin_page(service: Running):
    await make_agent(service.state.db, "root", Role.ADMIN)
    async with service.client() as http:
        page = await http.get("/admin/rules")
        assert page.url.path == "/inbox/login"
        form = {
            "login": "root",
            "password": "correct horse battery",
            "csrf": re.search(r'name="csrf" value="([^"]+)"', await page.text())[1],
            "next": page.url.query["next"],
        }
        response = await http.post("/inbox/login", data=form)
        assert response.status == 200 and response.url.path == "/admin/rules"
