"""Ratings in the core, through the web widget's channel and the rule engine: the request
after close, the answer by press or page token, the day rule, expiry, foreign presses,
comments from the page and from the chat."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.errors import ButtonRefused, InvalidInput, NotFound
from core.messages import Inbound, Press
from core.models import Rating, RatingRequest, Role, Ticket, TicketStatus
from core.ratings import MAX_COMMENT, RatingExpired, RatingLocked
from core.scales import Bucket, Scale
from tests.engine import Rig, rows
from tests.people import make_agent

ASK_AFTER_CLOSE = """
[[rule]]
id = "rate"
on = "ticket.closed"
delay = "2h"
cancel_on = ["ticket.reopened"]
then = [{ action = "request_rating", scale = "SCALE", expires_in = "1d" }]
"""


async def closed_ticket(r: Rig, scale: str = "binary", who: str = "alice") -> int:
    """A ticket of ``who``, assigned to agent "ann", closed, and the rating request its
    rule sends two hours later."""
    r.write(ASK_AFTER_CLOSE.replace("SCALE", scale))
    number = await r.say("my parcel is lost", who=who)
    ann = await make_agent(r.db, "ann")
    await r.desk.assign(number, ann, ann.id)
    await r.desk.set_status(number, ann, TicketStatus.CLOSED)
    await r.engine.fire_due()
    assert not await r.buttons(number), "the request waits for its delay"
    r.clock.advance(hours=2)
    await r.engine.fire_due()
    return number


async def ratings_of(r: Rig, number: int) -> list[Rating]:
    return await rows(
        r.db,
        Rating,
        Rating.ticket_id == select(Ticket.id).where(Ticket.number == number).scalar_subquery(),
    )


async def test_the_rule_sends_the_request_two_hours_after_close_with_the_scales_buttons(
    r: Rig,
):
    number = await closed_ticket(r)
    buttons = await r.buttons(number)
    assert [(b.label, b.payload, b.row) for b in buttons] == [
        ("👍", "rating:1", 0),
        ("👎", "rating:0", 0),
    ]
    assert (await r.texts(number))[-1].startswith(f"How did we do with your request #{number}?")
    [asked] = await rows(r.db, RatingRequest)
    assert asked.scale == "binary" and asked.origin == "rule:rate"
    assert asked.created_at == r.clock.now
    assert asked.expires_at == r.clock.now + timedelta(days=1)
    assert asked.message_id == buttons[0].message_id
    assert all(b.rating_request_id == asked.id for b in buttons)
    assert (await r.ticket(number)).status == TicketStatus.CLOSED, "asking reopens nothing"


@pytest.mark.parametrize(
    ("scale", "labels", "rows_"),
    [
        ("five", ["😡", "🙁", "😐", "🙂", "😍"], [0] * 5),
        ("nps", [str(v) for v in range(11)], [0] * 6 + [1] * 5),
    ],
)
async def test_five_point_and_nps_buttons(r: Rig, scale: str, labels: list[str], rows_: list[int]):
    number = await closed_ticket(r, scale)
    buttons = await r.buttons(number)
    assert [b.label for b in buttons] == labels
    assert [b.row for b in buttons] == rows_


async def test_a_press_stores_the_rating_credits_the_assignee_and_fires_rating_received(r: Rig):
    r.write(
        ASK_AFTER_CLOSE.replace("SCALE", "five")
        + """
[[rule]]
id = "thanks"
on = "rating.received"
if = { field = "rating.bucket", eq = "positive" }
[[rule.then]]
action = "reply"
text = "Thank you, {{ customer.name }}: {{ rating.value }}/5 for {{ agent.name }}"
"""
    )
    number = await r.say("hello", customer_name="Alice")
    ann = await make_agent(r.db, "ann")
    await r.desk.assign(number, ann, ann.id)
    await r.desk.set_status(number, ann, TicketStatus.CLOSED)
    r.clock.advance(hours=2)
    await r.engine.fire_due()
    four = next(b for b in await r.buttons(number) if b.payload == "rating:4")
    await r.press(four)
    [rating] = await ratings_of(r, number)
    assert (rating.value, rating.score, rating.bucket, rating.via) == (4, 75, "positive", "webchat")
    assert rating.agent_id == ann.id and rating.scale == "five"
    assert rating.day == r.clock.now.date().isoformat() and rating.given_at == r.clock.now
    assert (await r.texts(number))[-1] == "Thank you, Alice: 4/5 for Ann"
    [asked] = await rows(r.db, RatingRequest)
    assert asked.answered_at == r.clock.now


async def test_only_the_first_press_of_a_request_counts(r: Rig):
    number = await closed_ticket(r)
    up, down = await r.buttons(number)
    await r.press(down)
    await r.press(up)
    [rating] = await ratings_of(r, number)
    assert rating.value == 0, "a later press of the same request changes nothing"


async def test_a_press_after_expiry_is_refused_and_changes_nothing(r: Rig):
    number = await closed_ticket(r)
    up, _ = await r.buttons(number)
    r.clock.advance(days=1)
    with pytest.raises(RatingExpired) as refused:
        await r.desk.press(Press(inbox="web", external_id="alice", button_id=up.id))
    assert refused.value.key == "rating.expired"
    assert await ratings_of(r, number) == []
    [button] = [b for b in await r.buttons(number) if b.id == up.id]
    assert button.pressed_at is None, "the refused press is not stored"


async def test_a_press_from_another_chat_is_refused(r: Rig):
    number = await closed_ticket(r)
    await r.say("me too", who="mallory")
    up, _ = await r.buttons(number)
    with pytest.raises(ButtonRefused, match="another chat"):
        await r.desk.press(Press(inbox="web", external_id="mallory", button_id=up.id))
    assert await ratings_of(r, number) == []


async def test_the_same_day_replaces_another_day_adds(r: Rig):
    r.desk.zone = ZoneInfo("Europe/Moscow")  # 09:00 UTC is 12:00 in Moscow
    number = await closed_ticket(r)
    [asked] = await rows(r.db, RatingRequest)
    await r.desk.rate(asked.token, 1, allow_change=True)
    r.clock.advance(hours=8)  # 19:00 UTC: 22:00 in Moscow, the same day there
    await r.desk.rate(asked.token, 0, allow_change=True)
    [same_day] = await ratings_of(r, number)
    assert same_day.value == 0 and same_day.day == "2026-11-23"
    r.clock.advance(hours=2)  # 21:00 UTC: past midnight in Moscow
    await r.desk.rate(asked.token, 1, allow_change=True)
    kept = await ratings_of(r, number)
    assert [(x.day, x.value) for x in kept] == [("2026-11-23", 0), ("2026-11-24", 1)]


async def test_the_page_may_forbid_changing_a_given_rating(r: Rig):
    await closed_ticket(r)
    [asked] = await rows(r.db, RatingRequest)
    await r.desk.rate(asked.token, 1, allow_change=False)
    with pytest.raises(RatingLocked):
        await r.desk.rate(asked.token, 0, allow_change=False)
    [rating] = await rows(r.db, Rating)
    assert rating.value == 1


async def test_page_answers_are_checked(r: Rig):
    await closed_ticket(r, "five")
    [asked] = await rows(r.db, RatingRequest)
    with pytest.raises(InvalidInput, match="6 is not on this scale: expected one of 1, 2, 3, 4, 5"):
        await r.desk.rate(asked.token, 6, allow_change=True)
    with pytest.raises(NotFound):
        await r.desk.rate("forged-token", 5, allow_change=True)
    with pytest.raises(InvalidInput, match="choose a rating before"):
        await r.desk.comment_rating(asked.token, "great")
    await r.desk.rate(asked.token, 5, allow_change=True)
    with pytest.raises(InvalidInput, match="longer than 2000"):
        await r.desk.comment_rating(asked.token, "x" * 2001)
    with pytest.raises(InvalidInput, match="empty"):
        await r.desk.comment_rating(asked.token, "   ")
    r.clock.advance(days=1)
    with pytest.raises(RatingExpired):
        await r.desk.rate(asked.token, 4, allow_change=True)
    [rating] = await rows(r.db, Rating)
    assert (rating.value, rating.comment, rating.via) == (5, None, "page")


async def test_a_page_comment_fires_rating_commented(r: Rig):
    r.write(
        ASK_AFTER_CLOSE.replace("SCALE", "binary")
        + """
[[rule]]
id = "seen"
on = "rating.commented"
then = [{ action = "note", text = "comment on {{ rating.value }}: {{ rating.comment }}" }]
"""
    )
    number = await r.say("hello")
    admin = await make_agent(r.db, "root", Role.ADMIN)
    await r.desk.set_status(number, admin, TicketStatus.CLOSED)
    r.clock.advance(hours=2)
    await r.engine.fire_due()
    [asked] = await rows(r.db, RatingRequest)
    await r.desk.rate(asked.token, 0, allow_change=True)
    await r.desk.comment_rating(asked.token, "  too slow  ")
    await r.engine.fire_due()
    assert (await r.texts(number, internal=True))[-1] == "comment on 0: too slow"
    page = await r.desk.rating_page(asked.token)
    assert (page.value, page.comment, page.expired) == (0, "too slow", False)
    assert page.choices == ((1, "👍"), (0, "👎")) and page.ticket_number == number


NEGATIVE_ASKS = """
[[rule]]
id = "what-went-wrong"
on = "rating.received"
if = { field = "rating.bucket", eq = "negative" }
then = [{ action = "ask_comment", text = "Sorry! What went wrong?", within = "1h" }]

[[rule]]
id = "heard"
on = "rating.commented"
then = [{ action = "reply", text = "Thanks, we will look into: {{ rating.comment }}" }]
"""


async def test_after_ask_comment_the_next_message_is_the_comment_and_opens_no_ticket(r: Rig):
    number = await closed_ticket(r)
    r.write(ASK_AFTER_CLOSE.replace("SCALE", "binary") + NEGATIVE_ASKS)
    _, down = await r.buttons(number)
    await r.press(down)
    assert (await r.texts(number))[-1] == "Sorry! What went wrong?"
    again = await r.say("the courier never came")
    assert again == number, "the comment lands on the rated ticket"
    [rating] = await ratings_of(r, number)
    assert rating.comment == "the courier never came" and rating.bucket == Bucket.NEGATIVE
    assert (await r.ticket(number)).status == TicketStatus.CLOSED
    assert (await r.texts(number))[-1] == "Thanks, we will look into: the courier never came"
    async with r.db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Ticket)) == 1
    later = await r.say("another question")
    assert later != number, "only the next message is the comment"


async def test_a_flood_in_the_chat_keeps_the_first_message_cut_to_the_limit(r: Rig):
    number = await closed_ticket(r)
    r.write(ASK_AFTER_CLOSE.replace("SCALE", "binary") + NEGATIVE_ASKS)
    _, down = await r.buttons(number)
    await r.press(down)
    flood = "slow " * 1000  # 5,000 characters
    assert await r.say(flood) == number
    [rating] = await ratings_of(r, number)
    assert rating.comment == flood.strip()[:MAX_COMMENT] and len(rating.comment) == MAX_COMMENT
    assert (await r.texts(number))[-1].startswith("Thanks, we will look into: slow slow")
    for i in range(3):  # what follows is no comment: it opens a ticket of its own
        assert await r.say(f"and another thing {i}") != number
    [rating] = await ratings_of(r, number)
    assert len(rating.comment or "") == MAX_COMMENT


async def test_the_comment_window_closes(r: Rig):
    number = await closed_ticket(r)
    r.write(ASK_AFTER_CLOSE.replace("SCALE", "binary") + NEGATIVE_ASKS)
    _, down = await r.buttons(number)
    await r.press(down)
    r.clock.advance(hours=1)
    assert await r.say("new problem") != number
    [rating] = await ratings_of(r, number)
    assert rating.comment is None


async def test_ask_comment_without_a_rating_is_skipped(r: Rig, rules_log: pytest.LogCaptureFixture):
    r.write(
        """
[[rule]]
id = "odd"
on = "message.received"
then = [{ action = "ask_comment", text = "What went wrong?" }]
"""
    )
    number = await r.say("hello")
    assert await r.texts(number) == []
    assert 'rule "odd": ask_comment skipped: no rating to comment' in rules_log.text
    assert await r.say("next") == number, "no comment awaited: the message joins the ticket"


async def test_a_reopen_before_the_delay_cancels_the_request(r: Rig):
    r.write(ASK_AFTER_CLOSE.replace("SCALE", "binary"))
    number = await r.say("hello")
    admin = await make_agent(r.db, "root", Role.ADMIN)
    await r.desk.set_status(number, admin, TicketStatus.CLOSED)
    await r.desk.set_status(number, admin, TicketStatus.OPEN)
    r.clock.advance(hours=2)
    await r.engine.fire_due()
    assert await rows(r.db, RatingRequest) == []


async def test_an_agent_can_send_the_request_again(r: Rig):
    number = await closed_ticket(r)
    await r.desk.request_rating(number, Scale.NPS, timedelta(days=3), "Again?", "agent:ann")
    first, second = await rows(r.db, RatingRequest)
    assert second.origin == "agent:ann" and second.scale == "nps"
    assert second.token != first.token
    assert len(await r.buttons(number)) == 2 + 11


async def test_labels_must_match_the_scale(r: Rig):
    number = await r.say("hello")
    with pytest.raises(InvalidInput, match="a five rating needs 5 labels, got 2"):
        await r.desk.request_rating(
            number, Scale.FIVE, timedelta(days=1), "Rate", "agent:x", ["a", "b"]
        )


async def test_a_chat_message_is_still_a_message_while_a_request_waits(r: Rig):
    number = await closed_ticket(r)
    got = await r.desk.receive(Inbound(inbox="web", external_id="alice", text="one more thing"))
    assert got.ticket_number != number and got.new_ticket
