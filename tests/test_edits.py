"""A customer edits a message: the text changes, the history keeps the earlier one."""

import pytest

from core import events, queries
from core.desk import Desk
from core.errors import NotFound
from core.messages import Edit, Inbound
from tests.conftest import Recorder


@pytest.fixture
async def sent(desk: Desk) -> int:
    await desk.sync_inboxes([("web", "webchat")])
    got = await desk.receive(
        Inbound(inbox="web", external_id="v", text="helo", platform_message_id="m1")
    )
    return got.ticket_number


async def test_edit_replaces_text_and_keeps_history(desk: Desk, sent: int, recorder: Recorder):
    recorder.clear()
    await desk.edit(Edit(inbox="web", external_id="v", platform_message_id="m1", text="hello"))
    again = await desk.edit(
        Edit(inbox="web", external_id="v", platform_message_id="m1", text="hello")
    )
    [message] = await queries.messages(desk.db, (await queries.ticket(desk.db, sent)).id)
    assert message.text == "hello" and message.edited_at is not None
    assert [e["text"] for e in message.edits] == ["helo"]
    assert again.id == message.id
    assert recorder.names() == [events.MESSAGE_EDITED]  # the replayed edit changed nothing


async def test_edit_of_someone_elses_message_is_refused(desk: Desk, sent: int):
    with pytest.raises(NotFound):
        await desk.edit(
            Edit(inbox="web", external_id="mallory", platform_message_id="m1", text="gotcha")
        )
    [message] = await queries.messages(desk.db, (await queries.ticket(desk.db, sent)).id)
    assert message.text == "helo"
