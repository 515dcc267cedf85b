"""A rule's actions, done in order for one event, as the rules.

The actions that change Otklik (reply, note, assign, …) run in the run's one transaction,
each in a savepoint; the ones that reach outside (webhook calls, Telegram pushes) are made
after it commits, in their order, so a receiver already sees what the run changed. A failing
action is logged with its rule and ticket and the next action still runs: a webhook that is
down must not keep a customer from their answer. ``stop`` ends the rule and, for immediate
rules, the later rules of the event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from core import i18n, metrics, ratings, tickets
from core.channels import AgentChats, DeliveryError
from core.db import transient
from core.desk import Unit
from core.engine import changes
from core.engine.webhook import WebhookFailed, post
from core.errors import OtklikError
from core.messages import Button
from core.models import TicketStatus
from core.rules import RenderError, Rule, Text
from core.rules.actions import (
    AddTags,
    AskComment,
    Assign,
    ButtonSpec,
    CreateTask,
    Note,
    Notify,
    Reply,
    RequestRating,
    RequestSurvey,
    SendEmail,
    SetPriority,
    SetStatus,
    Stop,
    Webhook,
)
from core.scales import Scale
from core.surveys import Surveys
from core.surveys import requests as surveys

log = logging.getLogger("otklik.rules")
_EXPECTED = (OtklikError, RenderError, WebhookFailed)
# A call made after the run's commit: the run, the action's index and name, the call.
Later = tuple["Run", int, str, Callable[[], Awaitable[None]]]


@dataclass(frozen=True)
class Run:
    """One rule firing for one event."""

    rule: Rule
    event_name: str
    data: Mapping[str, Any]
    ticket_id: int | None
    delivery: str  # a stable id of this run, for webhook receivers

    @property
    def number(self) -> int:
        return int(self.data["ticket"]["number"])

    @property
    def origin(self) -> str:
        return f"rule:{self.rule.id}"


class Performer:
    def __init__(
        self,
        locale: str,
        chats: AgentChats | None = None,
        *,
        surveys: Surveys | None = None,
        base_url: str = "",
    ) -> None:
        """``surveys``: what ``request_survey`` may send; ``base_url``: the service's public
        address, which starts the links to survey forms."""
        self._locale = locale
        self._chats = chats
        self._surveys = surveys or Surveys()
        self._base_url = base_url
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def perform(self, run: Run, unit: Unit, later: list[Later]) -> bool:
        """Do the rule's actions in ``unit``, adding what must wait for the commit to
        ``later``; returns whether one of them was ``stop``."""
        for index, action in enumerate(run.rule.actions):
            if isinstance(action, Stop):
                return True
            try:
                await self._do(action, run, index, unit, later)
            except _EXPECTED as exc:
                self._failed(run, index, action.action, exc, trace=False)
            except Exception as exc:
                if transient(exc):
                    raise  # not the action's fault: the whole run is done again
                self._failed(run, index, action.action, exc, trace=True)
        return False

    async def after_commit(self, later: list[Later]) -> None:
        """Make the calls ``perform`` left for after the commit, in order."""
        for run, index, name, call in later:
            try:
                await call()
            except _EXPECTED as exc:
                self._failed(run, index, name, exc, trace=False)
            except Exception as exc:
                self._failed(run, index, name, exc, trace=True)

    def _failed(self, run: Run, index: int, name: str, exc: Exception, trace: bool) -> None:
        metrics.RULE_ACTION_ERRORS.labels(run.rule.id).inc()
        log.error(
            'rule "%s" action %d (%s) failed on %s of ticket %s: %s',
            run.rule.id,
            index + 1,
            name,
            run.event_name,
            run.data.get("ticket", {}).get("number", "-"),
            exc,
            exc_info=exc if trace else None,
        )

    def _buttons(self, specs: Sequence[ButtonSpec], run: Run) -> list[Button]:
        return [Button(self._text(b.label, run), b.payload, b.row) for b in specs]

    def _text(self, text: Text, run: Run) -> str:
        return text.render(run.data, self._locale)

    async def _do(self, action: Any, run: Run, index: int, unit: Unit, later: list[Later]) -> None:
        match action:
            case Reply():
                buttons = self._buttons(action.buttons, run)
                text = self._text(action.text, run)
                await unit.do(tickets.reply, run.number, None, text, buttons, run.origin)
            case Note():
                text = self._text(action.text, run)
                await unit.do(tickets.add_note, run.number, text, run.origin)
            case SendEmail():
                subject, text = self._text(action.subject, run), self._text(action.text, run)
                skipped = await unit.do(changes.email, run.ticket_id, subject, text)
                if skipped:
                    log.info('rule "%s": send_email skipped: %s', run.rule.id, skipped)
            case Assign():
                logins = [action.agent] if action.agent else list(action.round_robin or ())
                await unit.do(changes.assign, run.number, logins, run.rule.id)
            case SetStatus():
                await unit.do(changes.set_status, run.number, TicketStatus(action.status))
            case SetPriority():
                await unit.do(changes.set_priority, run.number, action.priority)
            case AddTags():
                await unit.do(changes.add_tags, run.number, action.tags)
            case Notify():
                text = self._text(action.text, run)
                reached = await unit.do(changes.notify, run.ticket_id, action.to, text, run.rule.id)
                if not reached:
                    log.info('rule "%s": notify %s reached nobody', run.rule.id, action.to)
                later.append((run, index, "notify", lambda: self._push(reached, text, run)))
            case CreateTask():
                due = unit.now + action.due_in if action.due_in else None
                await unit.do(
                    changes.create_task,
                    run.ticket_id,
                    action.owner,
                    self._text(action.title, run),
                    self._text(action.description, run) if action.description else "",
                    due,
                    run.rule.id,
                )
            case RequestRating():
                if action.text is not None:
                    text = self._text(action.text, run)
                else:
                    text = i18n.text(self._locale, "rating.ask", number=run.number)
                labels = [self._text(label, run) for label in action.labels or ()]
                await unit.do(
                    ratings.request,
                    run.number,
                    Scale(action.scale),
                    action.expires_in,
                    text,
                    labels,
                    run.origin,
                )
            case AskComment():
                rated = await unit.do(ratings.ask_comment, run.ticket_id, action.within)
                if rated is None:
                    log.info('rule "%s": ask_comment skipped: no rating to comment', run.rule.id)
                    return
                buttons = self._buttons(action.buttons, run)
                text = self._text(action.text, run)
                await unit.do(tickets.reply, run.number, None, text, buttons, run.origin)
            case RequestSurvey():
                survey = self._surveys.get(action.survey)
                if survey is None:
                    raise OtklikError(f'survey "{action.survey}" is not loaded (surveys_dir)')
                if action.text is not None:
                    text = self._text(action.text, run)
                else:
                    title = survey.titled(self._locale)
                    text = i18n.text(self._locale, "survey.ask", number=run.number, title=title)
                await unit.do(
                    surveys.request,
                    run.number,
                    survey,
                    action.expires_in,
                    text,
                    self._base_url,
                    run.origin,
                )
            case Webhook():
                later.append((run, index, "webhook", lambda: self._webhook(action, run, index)))
            case _:
                raise TypeError(f"no way to perform {action!r}")

    async def _push(self, reached: list[changes.Reached], text: str, run: Run) -> None:
        """Tell the agents who linked Telegram; their inbox notification is stored already."""
        if self._chats is None:
            return
        number = run.data.get("ticket", {}).get("number")
        line = f"#{number}: {text}" if number is not None else text
        for agent in reached:
            if agent.telegram_id is None:
                continue
            try:
                await self._chats.tell_agent(agent.telegram_id, line)
            except DeliveryError as exc:
                log.warning("agent %s not told in Telegram: %s", agent.agent_id, exc)

    async def _webhook(self, action: Webhook, run: Run, index: int) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        body = {
            **action.payload,
            "event": run.event_name,
            "rule": run.rule.id,
            "data": dict(run.data),
        }
        await post(
            self._http,
            action.url,
            body,
            seconds=action.timeout,
            retries=action.retries,
            delivery=f"{run.delivery}:{index + 1}",
        )
