"""Admins' rule pages: the live rules with their stats, editing a rule file, and the history.

A save is checked as the whole folder would be after it (core.rulefiles.save); a rejected edit
comes back with every problem and writes nothing; an accepted one is live at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from core import queries, rulefiles
from core.agents import Session
from core.errors import InvalidInput
from core.models import Role
from core.rules import RulesError
from web.auth import require
from web.pages import redirect, render
from web.state import STATE


@dataclass(frozen=True)
class RuleRow:
    id: str
    file: str
    line: int
    events: tuple[str, ...]
    delay: str
    enabled: bool
    fired: int
    last_fired_at: datetime | None


def duration(value: timedelta | None) -> str:
    """A delay as the rule files write it: ``1d2h30m``."""
    if value is None:
        return ""
    seconds, parts = int(value.total_seconds()), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


async def rules_page(request: web.Request) -> web.Response:
    session = await require(request, Role.ADMIN)
    state = request.app[STATE]
    live = state.rules.current
    stats = await queries.rule_stats(state.db)
    rows = []
    for rule in live:
        origin, stat = live.origin(rule.id), stats.get(rule.id)
        rows.append(
            RuleRow(
                rule.id,
                Path(origin.file).name,
                origin.line,
                rule.events,
                duration(rule.delay),
                rule.enabled,
                stat.fired if stat else 0,
                stat.last_fired_at if stat else None,
            )
        )
    return render(
        request,
        "rules.html",
        session=session,
        rules=rows,
        files=rulefiles.files(state.rules.directory),
        loaded_at=state.rules.loaded_at,
        saved=request.query.get("saved", ""),
    )


async def edit_page(request: web.Request) -> web.Response:
    session = await require(request, Role.ADMIN)
    name = request.match_info["file"]
    text = rulefiles.read(request.app[STATE].rules.directory, name)
    return _form(request, session, name, text, [], new=False)


async def save_edit(request: web.Request) -> web.Response:
    session = await require(request, Role.ADMIN)
    name = rulefiles.check_name(request.match_info["file"])
    return await _save(request, session, name, _text(await request.post()), new=False)


async def save_new(request: web.Request) -> web.Response:
    session = await require(request, Role.ADMIN)
    form = await request.post()
    name, text = str(form.get("name", "")).strip(), _text(form)
    try:
        rulefiles.check_name(name)
        if (request.app[STATE].rules.directory / name).exists():
            raise InvalidInput(f"{name} exists already; edit it from the list of files")
    except InvalidInput as exc:
        return _form(request, session, name, text, [str(exc)], new=True)
    return await _save(request, session, name, text, new=True)


def _text(form: MultiDictProxy[str | bytes | FileField]) -> str:
    # Browsers send a textarea's lines with CRLF; the files keep the LF they are written with.
    return str(form.get("text", "")).replace("\r\n", "\n")


async def _save(
    request: web.Request, session: Session, name: str, text: str, *, new: bool
) -> web.Response:
    state = request.app[STATE]
    try:
        await rulefiles.save(
            state.db, state.rules.directory, name, text, session.agent, state.clock()
        )
    except RulesError as exc:
        return _form(request, session, name, text, [str(p) for p in exc.problems], new=new)
    state.rules.reload()  # live now; the folder's watcher would reload it a moment later
    return redirect(f"/admin/rules?saved={name}")


def _form(
    request: web.Request,
    session: Session,
    name: str,
    text: str,
    problems: list[str],
    *,
    new: bool,
) -> web.Response:
    return render(
        request,
        "rule_edit.html",
        status=400 if problems else 200,
        session=session,
        name=name,
        text=text,
        problems=problems,
        new=new,
    )


async def history_page(request: web.Request) -> web.Response:
    session = await require(request, Role.ADMIN)
    name = request.query.get("file") or None
    changes = await rulefiles.history(request.app[STATE].db, name)
    return render(request, "rule_history.html", session=session, changes=changes, file=name)


async def change_page(request: web.Request) -> web.Response:
    session = await require(request, Role.ADMIN)
    raw = request.match_info["change"]
    if not raw.isdigit() or len(raw) > 9:
        raise web.HTTPNotFound(text=f"rule change {raw} does not exist")
    found = await rulefiles.change(request.app[STATE].db, int(raw))
    old = (found.change.old_text or "").splitlines()
    diff = difflib.unified_diff(
        old,
        found.change.new_text.splitlines(),
        "(new file)" if found.change.old_text is None else found.change.file,
        found.change.file,
        lineterm="",
    )
    return render(request, "rule_change.html", session=session, found=found, diff=list(diff))


def setup(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/admin/rules", rules_page),
            web.post("/admin/rules/new", save_new),
            web.get("/admin/rules/edit/{file}", edit_page),
            web.post("/admin/rules/edit/{file}", save_edit),
            web.get("/admin/rules/history", history_page),
            web.get("/admin/rules/history/{change}", change_page),
        ]
    )
