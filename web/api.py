"""JSON API under /api/v1: sign-in, tickets, messages and agents' actions.

``ROUTES`` is the one table of the API. Each entry names its handler, path, inputs, answer
and who may call it; ``setup`` registers exactly those routes on the app and builds the
OpenAPI document (GET /api/v1/openapi.json) from the same entries. The wrapper around every
handler checks the session and role, validates path, query and body with the entry's models
and serializes the entry's response model; handlers only call the core. Errors become
``{"error": {"status", "message"}}`` in web/errors.py's middleware.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from core import agents, queries, ticket_ratings
from core.agents import Session
from core.errors import Forbidden
from core.messages import Button
from core.models import Agent, Role, TicketStatus
from core.queries import TicketFilter
from web.api_models import (
    AgentList,
    AgentOut,
    AssignIn,
    AuditEntryOut,
    AuditList,
    MessageList,
    MessageOut,
    NewAgentIn,
    NewAgentOut,
    NoteIn,
    RatingList,
    RatingOut,
    ReplyIn,
    SessionOut,
    SignIn,
    StatusIn,
    TicketList,
    TicketOut,
    TicketPath,
    TicketQuery,
)
from web.auth import SESSION_COOKIE, presented_token, require
from web.openapi import Operation, document
from web.state import STATE, State

API = "/api/v1"
OPENAPI = web.AppKey("otklik_openapi", str)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Call:
    """One validated API call, as a handler sees it."""

    request: web.Request
    session: Session | None
    inputs: tuple[BaseModel, ...]

    @property
    def state(self) -> State:
        return self.request.app[STATE]

    @property
    def agent(self) -> Agent:
        if self.session is None:
            raise RuntimeError("this route is public; it has no agent")
        return self.session.agent

    def get(self, model: type[M]) -> M:
        """The validated input of type ``model`` (path, query or body)."""
        for given in self.inputs:
            if isinstance(given, model):
                return given
        raise LookupError(f"{model.__name__} is not an input of this route")


Result = BaseModel | web.StreamResponse | None
Handler = Callable[[Call], Awaitable[Result]]
Route = Operation[Handler]


# Session


async def sign_in(call: Call) -> SessionOut:
    given = call.get(SignIn)
    db, now = call.state.db, call.state.clock()
    agent = await agents.authenticate(db, given.login, given.password)
    if agent is None:
        raise web.HTTPUnauthorized(text="wrong login or password")
    token = await agents.open_session(db, agent, now)
    session = await agents.session_for(db, token, now)
    if session is None:
        raise RuntimeError("a session just opened was not found")
    return SessionOut(token=token, csrf_token=session.csrf_token, agent=AgentOut.of(agent))


async def sign_out(call: Call) -> web.StreamResponse:
    token = presented_token(call.request)
    response = web.Response(status=204)
    if token:
        await agents.close_session(call.state.db, token)
    if token and call.request.cookies.get(SESSION_COOKIE) == token:
        response.del_cookie(SESSION_COOKIE, path="/")
    return response


# Tickets


async def list_tickets(call: Call) -> TicketList:
    given = call.get(TicketQuery)
    found, total = await queries.tickets(call.state.db, _ticket_filter(given, call.agent))
    return TicketList(tickets=[TicketOut.of(t) for t in found], total=total)


def _ticket_filter(given: TicketQuery, caller: Agent) -> TicketFilter:
    return TicketFilter(
        status=given.status,
        assignee_id=_assignee_id(given.assignee, caller),
        unassigned=given.assignee == "none",
        inbox=given.inbox,
        text=given.q,
        limit=given.limit,
        offset=given.offset,
    )


def _assignee_id(given: str | None, caller: Agent) -> int | None:
    if given == "me":
        return caller.id
    if given is None or given == "none":
        return None
    return int(given)


async def get_ticket(call: Call) -> TicketOut:
    return TicketOut.of(await queries.ticket(call.state.db, call.get(TicketPath).number))


async def list_messages(call: Call) -> MessageList:
    db = call.state.db
    ticket = await queries.ticket(db, call.get(TicketPath).number)
    return MessageList(messages=[MessageOut.of(m) for m in await queries.messages(db, ticket.id)])


async def ticket_audit(call: Call) -> AuditList:
    db = call.state.db
    ticket = await queries.ticket(db, call.get(TicketPath).number)
    return AuditList(entries=[AuditEntryOut.of(e) for e in await queries.audit(db, ticket.id)])


async def ticket_ratings_list(call: Call) -> RatingList:
    db = call.state.db
    ticket = await queries.ticket(db, call.get(TicketPath).number)
    shown = await ticket_ratings.of_ticket(db, ticket.id)
    return RatingList(ratings=[RatingOut.of(r) for r in shown])


def _ratings_read_only(method: str) -> Handler:
    """Agents see ratings and never change them: every role is refused."""

    async def refuse(call: Call) -> Result:
        raise Forbidden("ratings are read-only")

    refuse.__name__ = f"{method.lower()}_ratings_refused"
    return refuse


async def reply(call: Call) -> MessageOut:
    given = call.get(ReplyIn)
    buttons = [Button(b.label, b.payload) for b in given.buttons]
    number = call.get(TicketPath).number
    return MessageOut.of(await call.state.desk.reply(number, call.agent, given.text, buttons))


async def add_note(call: Call) -> MessageOut:
    number, text = call.get(TicketPath).number, call.get(NoteIn).text
    return MessageOut.of(await call.state.desk.note(number, call.agent, text))


async def assign(call: Call) -> TicketOut:
    number, assignee = call.get(TicketPath).number, call.get(AssignIn).agent_id
    return TicketOut.of(await call.state.desk.assign(number, call.agent, assignee))


async def set_status(call: Call) -> TicketOut:
    number, status = call.get(TicketPath).number, TicketStatus(call.get(StatusIn).status)
    return TicketOut.of(await call.state.desk.set_status(number, call.agent, status))


# Agents


async def list_agents(call: Call) -> AgentList:
    return AgentList(agents=[AgentOut.of(a) for a in await queries.agents(call.state.db)])


async def add_agent(call: Call) -> NewAgentOut:
    given, state = call.get(NewAgentIn), call.state
    new = await agents.add_agent(
        state.db, given.name, given.login, given.role, state.clock(), given.telegram_id
    )
    link = f"{state.config.web.base_url}/inbox/setup/{new.setup_token}"
    return NewAgentOut(agent=AgentOut.of(new.agent), setup_url=link)


# The description


async def openapi(call: Call) -> web.StreamResponse:
    return web.Response(text=call.request.app[OPENAPI], content_type="application/json")


ROUTES: tuple[Route, ...] = (
    Operation(
        handler=sign_in,
        method="POST",
        path=API + "/session",
        summary="Sign in",
        tag="session",
        roles=None,
        body=SignIn,
        response=SessionOut,
        status=201,
        errors=(401,),
    ),
    Operation(
        handler=sign_out,
        method="DELETE",
        path=API + "/session",
        summary="Sign out (end this session)",
        tag="session",
        status=204,
    ),
    Operation(
        handler=list_tickets,
        method="GET",
        path=API + "/tickets",
        summary="List tickets, most recently active first",
        tag="tickets",
        query=TicketQuery,
        response=TicketList,
    ),
    Operation(
        handler=get_ticket,
        method="GET",
        path=API + "/tickets/{number}",
        summary="One ticket",
        tag="tickets",
        path_params=TicketPath,
        response=TicketOut,
        errors=(404,),
    ),
    Operation(
        handler=list_messages,
        method="GET",
        path=API + "/tickets/{number}/messages",
        summary="The ticket's conversation, internal notes included",
        tag="tickets",
        path_params=TicketPath,
        response=MessageList,
        errors=(404,),
    ),
    Operation(
        handler=ticket_audit,
        method="GET",
        path=API + "/tickets/{number}/audit",
        summary="The ticket's status changes and assignments",
        tag="tickets",
        path_params=TicketPath,
        response=AuditList,
        errors=(404,),
    ),
    Operation(
        handler=ticket_ratings_list,
        method="GET",
        path=API + "/tickets/{number}/ratings",
        summary="The ticket's ratings, oldest first (read only)",
        tag="tickets",
        path_params=TicketPath,
        response=RatingList,
        errors=(404,),
    ),
    *(
        Operation(
            handler=_ratings_read_only(method),
            method=method,
            path=API + "/tickets/{number}/ratings",
            summary="Refused for every role: ratings are read-only",
            tag="tickets",
            path_params=TicketPath,
            errors=(403,),
        )
        for method in ("PUT", "PATCH", "DELETE")
    ),
    Operation(
        handler=reply,
        method="POST",
        path=API + "/tickets/{number}/replies",
        summary="Reply to the customer (queued for delivery)",
        tag="tickets",
        path_params=TicketPath,
        body=ReplyIn,
        response=MessageOut,
        status=201,
        errors=(403, 404, 409),
    ),
    Operation(
        handler=add_note,
        method="POST",
        path=API + "/tickets/{number}/notes",
        summary="Add an internal note",
        tag="tickets",
        path_params=TicketPath,
        body=NoteIn,
        response=MessageOut,
        status=201,
        errors=(404,),
    ),
    Operation(
        handler=assign,
        method="POST",
        path=API + "/tickets/{number}/assign",
        summary="Assign the ticket to an agent, or to nobody",
        tag="tickets",
        path_params=TicketPath,
        body=AssignIn,
        response=TicketOut,
        errors=(403, 404),
    ),
    Operation(
        handler=set_status,
        method="POST",
        path=API + "/tickets/{number}/status",
        summary="Change the ticket's status; open reopens a closed ticket",
        tag="tickets",
        path_params=TicketPath,
        body=StatusIn,
        response=TicketOut,
        errors=(403, 404, 409),
    ),
    Operation(
        handler=list_agents,
        method="GET",
        path=API + "/agents",
        summary="Active agents",
        tag="agents",
        response=AgentList,
    ),
    Operation(
        handler=add_agent,
        method="POST",
        path=API + "/agents",
        summary="Add an agent; answers a one-time link to set a password",
        tag="agents",
        roles=(Role.ADMIN,),
        body=NewAgentIn,
        response=NewAgentOut,
        status=201,
    ),
    Operation(
        handler=openapi,
        method="GET",
        path=API + "/openapi.json",
        summary="This API's OpenAPI 3.1 document",
        tag="meta",
        roles=None,
    ),
)


def setup(app: web.Application) -> None:
    """Register every route of ``ROUTES`` and the document describing them."""
    app[OPENAPI] = json.dumps(document(ROUTES))
    for entry in ROUTES:
        app.router.add_route(entry.method, entry.path, _endpoint(entry), name=entry.name)


def _endpoint(entry: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        session = None if entry.roles is None else await require(request, *entry.roles)
        inputs = (*_params(entry, request), *await _body(entry, request))
        result = await entry.handler(Call(request, session, inputs))
        return _respond(entry, result)

    endpoint.__name__ = entry.name
    return endpoint


def _params(entry: Route, request: web.Request) -> list[BaseModel]:
    inputs: list[BaseModel] = []
    if entry.path_params:
        inputs.append(entry.path_params.model_validate(dict(request.match_info)))
    if entry.query:
        repeated = sorted({k for k in request.query if len(request.query.getall(k)) > 1})
        if repeated:
            raise web.HTTPBadRequest(text=f"query parameter given more than once: {repeated[0]}")
        inputs.append(entry.query.model_validate(dict(request.query)))
    return inputs


async def _body(entry: Route, request: web.Request) -> tuple[BaseModel, ...]:
    if entry.body is None:
        return ()
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text=f"send the body as application/json, not {request.content_type}"
        )
    raw = await request.read()
    try:
        return (entry.body.model_validate_json(raw),)
    except ValidationError as exc:
        malformed = next((e for e in exc.errors() if e["type"] == "json_invalid"), None)
        if malformed is None:
            raise
        reason = malformed.get("ctx", {}).get("error", malformed["msg"])
        raise web.HTTPBadRequest(text=f"malformed JSON: {reason}") from None


def _respond(entry: Route, result: Result) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if entry.response is None or not isinstance(result, entry.response):
        raise TypeError(f"{entry.name} answered {type(result).__name__}, not {entry.response}")
    return web.json_response(text=result.model_dump_json(), status=entry.status)
