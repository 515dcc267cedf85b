"""Tasks: who sees which, and completing one once, by its owner or a supervisor or admin."""

from datetime import timedelta

import pytest

from core import queries, tasks
from core.clock import utcnow
from core.db import Database
from core.desk import Desk
from core.errors import Forbidden, InvalidTransition, NotFound
from core.messages import Inbound
from core.models import Agent, Role, Task
from core.tasks import TaskFilter
from tests.people import make_agent


async def add_task(db: Database, title: str, owner: Agent | None, **fields) -> Task:
    async with db.transaction() as s:
        task = Task(title=title, owner_id=owner.id if owner else None, **fields)
        s.add(task)
    return task


def titles(views) -> list[str]:
    return [v.task.title for v in views]


@pytest.fixture
async def people(db: Database) -> dict[str, Agent]:
    return {
        "anna": await make_agent(db, "anna"),
        "boris": await make_agent(db, "boris"),
        "sveta": await make_agent(db, "sveta", Role.SUPERVISOR),
        "root": await make_agent(db, "root", Role.ADMIN),
    }


async def test_an_agent_sees_only_their_own_open_tasks(db: Database, people):
    await add_task(db, "call Ivan", people["anna"])
    await add_task(db, "call Olga", people["boris"])
    await add_task(db, "review a low rating", None)
    assert titles(await tasks.visible(db, people["anna"], TaskFilter())) == ["call Ivan"]
    mine = TaskFilter(owner=people["anna"].id)
    assert titles(await tasks.visible(db, people["anna"], mine)) == ["call Ivan"]


async def test_an_agent_may_not_look_at_others_or_the_team(db: Database, people):
    for owner in ("team", "all", people["boris"].id):
        with pytest.raises(Forbidden, match="only their own tasks"):
            await tasks.visible(db, people["anna"], TaskFilter(owner=owner))


@pytest.mark.parametrize("lead", ["sveta", "root"])
async def test_supervisors_and_admins_see_the_team_and_filter_by_owner(
    db: Database, people, lead: str
):
    await add_task(db, "call Ivan", people["anna"])
    await add_task(db, "review a low rating", None)
    await add_task(db, "own work", people[lead])
    me = people[lead]
    assert sorted(titles(await tasks.visible(db, me, TaskFilter()))) == [
        "own work",
        "review a low rating",
    ]
    team = await tasks.visible(db, me, TaskFilter(owner="team"))
    assert titles(team) == ["review a low rating"] and team[0].owner is None
    anna = await tasks.visible(db, me, TaskFilter(owner=people["anna"].id))
    assert titles(anna) == ["call Ivan"] and anna[0].owner == "Anna"
    assert len(await tasks.visible(db, me, TaskFilter(owner="all"))) == 3


async def test_open_tasks_come_soonest_due_first_with_undated_last(db: Database, people):
    now = utcnow()
    anna = people["anna"]
    await add_task(db, "whenever", anna)
    await add_task(db, "tomorrow", anna, due_at=now + timedelta(days=1))
    await add_task(db, "late", anna, due_at=now - timedelta(hours=1))
    assert titles(await tasks.visible(db, anna, TaskFilter())) == ["late", "tomorrow", "whenever"]


async def test_the_owner_completes_a_task_once(db: Database, people):
    anna = people["anna"]
    task = await add_task(db, "call Ivan", anna)
    at = utcnow()
    done = await tasks.complete(db, task.id, anna, at)
    assert done.done_at == at and done.done_by_id == anna.id
    assert await tasks.visible(db, anna, TaskFilter()) == []
    [view] = await tasks.visible(db, anna, TaskFilter(done=True))
    assert view.done_by == "Anna" and view.task.done_at == at
    with pytest.raises(InvalidTransition, match=f"task {task.id} was completed already"):
        await tasks.complete(db, task.id, anna, utcnow())
    [again] = await tasks.visible(db, anna, TaskFilter(done=True))
    assert again.task.done_at == at


async def test_another_agent_cannot_complete_a_task_but_a_supervisor_can(db: Database, people):
    task = await add_task(db, "call Ivan", people["anna"])
    team = await add_task(db, "review", None)
    for task_id in (task.id, team.id):
        with pytest.raises(Forbidden, match="not yours"):
            await tasks.complete(db, task_id, people["boris"], utcnow())
    assert (await tasks.complete(db, task.id, people["sveta"], utcnow())).done_by_id == (
        people["sveta"].id
    )
    assert (await tasks.complete(db, team.id, people["root"], utcnow())).done_by_id == (
        people["root"].id
    )


async def test_completing_a_missing_task_says_so(db: Database, people):
    with pytest.raises(NotFound, match="task 999 does not exist"):
        await tasks.complete(db, 999, people["root"], utcnow())


async def test_a_tickets_tasks_open_first_with_the_ticket_number(db: Database, desk: Desk, people):
    await desk.sync_inboxes([("web", "webchat")])
    got = await desk.receive(Inbound(inbox="web", external_id="v1", text="Where is my order?"))
    ticket_id = (await queries.ticket(db, got.ticket_number)).id
    first = await add_task(db, "first", people["anna"], ticket_id=ticket_id)
    await add_task(db, "second", None, ticket_id=ticket_id)
    await add_task(db, "elsewhere", people["anna"])
    await tasks.complete(db, first.id, people["anna"], utcnow())
    found = await tasks.for_ticket(db, ticket_id)
    assert titles(found) == ["second", "first"]
    assert {v.ticket_number for v in found} == {got.ticket_number}
