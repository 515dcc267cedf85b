"""Tasks: who sees which, and completing one once, by its owner or a supervisor or admin."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from core import queries, tasks
from core.clock import utcnow
from core.db import Database
from core.desk import Desk
from core.errors import Forbidden, InvalidTransition, NotFound
from core.messages import Inbound
from core.models import Agent, Role, Task, Ticket
from core.tasks import TaskFilter
from tests.people import make_agent
from tests.service import Running
from tests.test_inbox_web import customer_writes, signed_in


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


# The tasks page and the ticket page


async def test_the_tasks_page_lists_ones_own_and_completes_them_once(service: Running):
    db = service.state.db
    anna, boris = await make_agent(db, "anna"), await make_agent(db, "boris")
    number = await customer_writes(service, "Call me back, please")
    ticket_id = (await queries.ticket(db, number)).id
    late = utcnow() - timedelta(hours=2)
    mine = await add_task(
        db, "Call <b>Ivan</b>", anna, ticket_id=ticket_id, due_at=late, description="after 5pm"
    )
    await add_task(db, "Task of Boris", boris)
    await add_task(db, "Team task", None)
    async with service.client() as http:
        token = await signed_in(http, "anna")
        html = await (await http.get("/inbox/tasks")).text()
        assert "Call &lt;b&gt;Ivan&lt;/b&gt;" in html and "after 5pm" in html
        assert f'href="/inbox/tickets/{number}">#{number}<' in html
        assert 'class="badge overdue"' in html
        assert "Task of Boris" not in html and "Team task" not in html
        forged = await http.post(f"/inbox/tasks/{mine.id}/done", data={})
        assert forged.status == 403
        done = await http.post(f"/inbox/tasks/{mine.id}/done", data={"csrf": token})
        assert done.status == 200 and done.url.path == "/inbox/tasks"
        assert "No tasks." in await done.text()
        again = await http.post(f"/inbox/tasks/{mine.id}/done", data={"csrf": token})
        assert again.status == 409 and "completed already" in await again.text()
        finished = await (await http.get("/inbox/tasks?show=done")).text()
        assert "Call &lt;b&gt;Ivan&lt;/b&gt;" in finished and "by Anna" in finished
        assert (await http.get("/inbox/tasks?owner=team")).status == 403


async def test_an_agent_cannot_complete_someone_elses_task_over_the_web(service: Running):
    anna = await make_agent(service.state.db, "anna")
    await make_agent(service.state.db, "boris")
    task = await add_task(service.state.db, "Call Ivan", anna)
    async with service.client() as http:
        token = await signed_in(http, "boris")
        response = await http.post(f"/inbox/tasks/{task.id}/done", data={"csrf": token})
        assert response.status == 403 and "not yours" in await response.text()
    assert (await tasks.visible(service.state.db, anna, TaskFilter()))[0].task.done_at is None


async def test_supervisors_see_the_team_tasks_and_filter_by_owner(service: Running):
    anna = await make_agent(service.state.db, "anna")
    await make_agent(service.state.db, "sveta", Role.SUPERVISOR)
    await add_task(service.state.db, "Task of Anna", anna)
    await add_task(service.state.db, "Team task", None)
    async with service.client() as http:
        await signed_in(http, "sveta")
        default = await (await http.get("/inbox/tasks")).text()
        assert "Team task" in default and "Task of Anna" not in default
        annas = await (await http.get(f"/inbox/tasks?owner={anna.id}")).text()
        assert "Task of Anna" in annas and "Team task" not in annas
        assert (await http.get("/inbox/tasks?owner=nobody")).status == 400


async def test_the_ticket_page_shows_tags_and_tasks(service: Running):
    db = service.state.db
    anna = await make_agent(db, "anna")
    number = await customer_writes(service, "Refund, please")
    ticket = await queries.ticket(db, number)
    async with db.transaction() as s:
        await s.execute(update(Ticket).where(Ticket.id == ticket.id).values(tags=["vip", "<x>"]))
    task = await add_task(db, "Check the refund", anna, ticket_id=ticket.id)
    async with service.client() as http:
        token = await signed_in(http, "anna")
        html = await (await http.get(f"/inbox/tickets/{number}")).text()
        assert '<span class="chip tag">vip</span>' in html
        assert '<span class="chip tag">&lt;x&gt;</span>' in html
        assert "Check the refund" in html
        done = await http.post(
            f"/inbox/tasks/{task.id}/done",
            data={"csrf": token, "back": f"/inbox/tickets/{number}"},
        )
        assert done.url.path == f"/inbox/tickets/{number}" and "by Anna" in await done.text()
        other = await add_task(db, "Another", anna)
        elsewhere = await http.post(
            f"/inbox/tasks/{other.id}/done",
            data={"csrf": token, "back": "https://evil.example/"},
            allow_redirects=False,
        )
        assert elsewhere.headers["Location"] == "/inbox/tasks"
