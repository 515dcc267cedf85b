"""The agents' web inbox: ticket list with filters, a ticket's conversation, and its actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from core import queries, tasks, ticket_ratings
from core.channels import FileSource
from core.desk import Desk
from core.errors import InvalidInput
from core.i18n import text
from core.models import Agent, TicketStatus
from core.queries import TicketFilter
from core.scales import Scale
from core.sla import status as sla_status
from core.tickets import ALLOWED, may_work_on
from web.auth import require
from web.pages import redirect, render
from web.state import STATE

PAGE_SIZE = 50
_SORTS = ("", "activity", "deadline")


def _filter(request: web.Request, me: Agent) -> TicketFilter:
    q = request.query
    status = q.get("status", "live")
    if status not in {"", "live", *TicketStatus}:
        raise InvalidInput(f"status: expected live, new, open, waiting or closed, not {status!r}")
    assignee = q.get("assignee", "")
    if assignee not in ("", "me", "none") and not assignee.isdigit():
        raise InvalidInput("assignee: expected me, none or an agent id")
    page = int(q["page"]) if q.get("page", "").isdigit() else 1
    return TicketFilter(
        status=status or None,
        assignee_id=me.id if assignee == "me" else int(assignee) if assignee.isdigit() else None,
        unassigned=assignee == "none",
        inbox=q.get("inbox") or None,
        text=q.get("q") or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )


def _by_deadline(request: web.Request) -> bool:
    sort = request.query.get("sort", "")
    if sort not in _SORTS:
        raise InvalidInput(f"sort: expected activity or deadline, not {sort[:40]!r}")
    return sort == "deadline"


def _span(locale: str) -> Callable[[timedelta], str]:
    """How pages write a working-time span (``2h 05m``)."""
    return lambda left: sla_status.duration_text(locale, left)


async def ticket_list(request: web.Request) -> web.Response:
    session = await require(request)
    state = request.app[STATE]
    wanted = _filter(request, session.agent)
    sla_on = bool(state.config.sla.level)  # no levels: no SLA, nothing of it shown
    if _by_deadline(request) and sla_on:
        found, total = await sla_status.tickets_by_deadline(state.db, wanted)
    else:
        found, total = await queries.tickets(state.db, wanted)
    slas: dict[int, sla_status.TicketSla] = {}
    if sla_on:
        ids = [t.id for t in found]
        slas = await sla_status.of_tickets(state.db, ids, state.config.calendars, state.clock())
    template = "_rows.html" if request.query.get("partial") else "tickets.html"
    return render(
        request,
        template,
        session=session,
        tickets=found,
        total=total,
        query=request.query,
        inboxes=[i.name for i in state.config.inbox],
        agents=await queries.agents(state.db),
        statuses=list(TicketStatus),
        slas=slas,
        sla_on=sla_on,
        span=_span(state.locale),
    )


async def ticket_page(request: web.Request) -> web.Response:
    session = await require(request)
    state = request.app[STATE]
    ticket = await queries.ticket(state.db, _number(request))
    template = "_ticket.html" if request.query.get("partial") else "ticket.html"
    sla_on = bool(state.config.sla.level)
    now = state.clock()
    sla = None
    if sla_on:
        sla = await sla_status.of_ticket(state.db, ticket.id, state.config.calendars, now)
    return render(
        request,
        template,
        session=session,
        ticket=ticket,
        messages=await queries.messages(state.db, ticket.id),
        audit=await queries.audit(state.db, ticket.id),
        tasks=await tasks.for_ticket(state.db, ticket.id),
        ratings=await ticket_ratings.of_ticket(state.db, ticket.id),
        may_complete=tasks.may_complete,
        now=now,
        sla=sla,
        sla_on=sla_on,
        span=_span(state.locale),
        agents=await queries.agents(state.db),
        next_statuses=sorted(ALLOWED[TicketStatus(ticket.status)]),
        may_work=may_work_on(session.agent, ticket),
    )


@dataclass(frozen=True)
class _Action:
    """A form posted on a ticket page: who, which ticket, which fields."""

    agent: Agent
    desk: Desk
    number: int
    form: MultiDictProxy[str | bytes | FileField]

    def field(self, name: str) -> str:
        return str(self.form.get(name, ""))

    def done(self) -> web.Response:
        return redirect(f"/inbox/tickets/{self.number}")


async def _action(request: web.Request) -> _Action:
    session = await require(request)
    return _Action(session.agent, request.app[STATE].desk, _number(request), await request.post())


async def reply(request: web.Request) -> web.Response:
    act = await _action(request)
    await act.desk.reply(act.number, act.agent, act.field("text"))
    return act.done()


async def note(request: web.Request) -> web.Response:
    act = await _action(request)
    await act.desk.note(act.number, act.agent, act.field("text"))
    return act.done()


async def assign(request: web.Request) -> web.Response:
    act = await _action(request)
    chosen = act.field("agent")
    if chosen not in ("", "me") and not chosen.isdigit():
        raise InvalidInput("agent: expected me, an agent id or nothing")
    assignee = act.agent.id if chosen == "me" else int(chosen) if chosen else None
    await act.desk.assign(act.number, act.agent, assignee)
    return act.done()


async def take(request: web.Request) -> web.Response:
    act = await _action(request)
    await act.desk.take(act.number, act.agent)
    return act.done()


async def status(request: web.Request) -> web.Response:
    act = await _action(request)
    value = act.field("status")
    if value not in TicketStatus.__members__.values():
        raise InvalidInput(f"status: expected open, waiting or closed, not {value!r}")
    await act.desk.set_status(act.number, act.agent, TicketStatus(value))
    return act.done()


RATING_VALID = timedelta(days=7)


async def request_rating(request: web.Request) -> web.Response:
    """Send the customer a rating request again (a good/bad one, valid a week)."""
    act = await _action(request)
    ask = text(request.app[STATE].locale, "rating.ask", number=act.number)
    origin = f"agent:{act.agent.login}"
    await act.desk.request_rating(act.number, Scale.BINARY, RATING_VALID, ask, origin)
    return act.done()


# Shown in the page; anything else is downloaded, so a customer's file never runs as our page.
_INLINE = {"image/jpeg", "image/png", "image/gif", "image/webp"}


async def attachment(request: web.Request) -> web.Response:
    """A customer's file, fetched from their platform for a signed-in agent."""
    await require(request)
    state = request.app[STATE]
    message = await queries.message(state.db, _number(request, "message"))
    index = _number(request, "index")
    if index >= len(message.attachments) or not message.attachments[index].get("file_id"):
        raise web.HTTPNotFound(text="this message has no such file")
    meta = message.attachments[index]
    source = state.channels.get(message.inbox.name)
    if not isinstance(source, FileSource):
        raise web.HTTPNotFound(text=f"inbox {message.inbox.name} cannot open files")
    try:
        content = await source.open_file(meta["file_id"])
    except Exception as exc:
        raise web.HTTPBadGateway(text=f"the platform did not give the file: {exc}") from exc
    mime = meta.get("mime") or "application/octet-stream"
    inline = mime in _INLINE
    name = meta.get("name") or f"{meta.get('kind', 'file')}-{message.id}-{index}"
    return web.Response(
        body=content,
        content_type=mime if inline else "application/octet-stream",
        headers={
            "Content-Disposition": f"{'inline' if inline else 'attachment'}; "
            f"filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, max-age=3600",
        },
    )


def _number(request: web.Request, key: str = "number") -> int:
    raw = request.match_info[key]
    if not raw.isdigit() or len(raw) > 9:
        raise web.HTTPNotFound(text=f"{key} {raw} does not exist")
    return int(raw)


def setup(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/inbox", ticket_list),
            web.get("/inbox/tickets/{number}", ticket_page),
            web.post("/inbox/tickets/{number}/reply", reply),
            web.post("/inbox/tickets/{number}/note", note),
            web.post("/inbox/tickets/{number}/assign", assign),
            web.post("/inbox/tickets/{number}/take", take),
            web.post("/inbox/tickets/{number}/status", status),
            web.post("/inbox/tickets/{number}/rating", request_rating),
            web.get("/inbox/messages/{message}/files/{index}", attachment),
        ]
    )
