"""Buttons in email as links: a rule's rating request arrives by SMTP with one link per value
(/press/<button id>) and a link to the rating page; following one and confirming rates.
Without web.public_url the buttons stay a list to reply with, and the start says so."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from core.db import Database
from core.scales import Scale
from tests.email_service import Mail, imap_server, inbox, m, mail
from tests.mailserver import Dovecot, free_port, smtp_server
from tests.rating_pages import csrf_of, stored
from tests.service import running, service_config

__all__ = ["imap_server", "m"]  # fixtures

RATE_ON_CREATE = """
[[rule]]
id = "rate-us"
on = "ticket.created"
[[rule.then]]
action = "request_rating"
scale = "five"
text = "How did we do with #{{ ticket.number }}?"
"""
LINK = re.compile(r"  • (\S+): (http://\S+/press/\S+)")
PAGE = re.compile(r"or open the rating page: (http://\S+/rate/\S+)")


async def linked(database_url: str, tmp: Path, imap: Dovecot, rules: str) -> AsyncIterator[Mail]:
    """The email service reachable at its web.public_url (so buttons become links)."""
    await imap.clear()
    port = free_port()
    async with smtp_server() as (outbox, smtp_port):
        config = service_config(
            database_url,
            tmp,
            inbox=[inbox(imap.port, smtp_port)],
            web={"secret_key": "s" * 40, "public_url": f"http://127.0.0.1:{port}"},
        )
        (config.rules_dir / "rate.toml").write_text(rules, encoding="utf-8")
        async with running(config, port=port) as svc:
            yield Mail(svc, imap, outbox)


@pytest.fixture
async def mx(db: Database, database_url: str, tmp_path: Path, imap_server: Dovecot):
    async for service in linked(database_url, tmp_path, imap_server, RATE_ON_CREATE):
        yield service


def plain(sent: EmailMessage) -> str:
    body = sent.get_body(("plain",))
    assert body is not None
    return body.get_content().replace("\r\n", "\n")


async def test_a_rating_request_by_email_links_each_value_and_the_page(mx: Mail):
    await mx.imap.append(mail("Where is my parcel?"))
    [sent] = await mx.sent(1)
    text = plain(sent)
    links = LINK.findall(text)
    assert [label for label, _ in links] == ["😡", "🙁", "😐", "🙂", "😍"], text
    [page] = PAGE.findall(text)
    base = mx.svc.url
    assert all(url.startswith(f"{base}/press/") for _, url in links)
    assert page.startswith(f"{base}/rate/")
    html = sent.get_body(("html",))
    assert html is not None
    for _, url in links:
        assert f'<a href="{url}"' in html.get_content()
    assert f'<a href="{page}">or open the rating page</a>' in html.get_content()

    # The customer clicks "🙂" in the mail (a browser without script: it confirms).
    async with mx.svc.client() as http:
        form = await http.get(links[3][1])
        assert form.status == 200 and str(form.url) == f"{page}?v=4"
        assert await stored(mx.db) == []  # following the link alone records nothing
        thanks = await http.post(page, data={"csrf": csrf_of(await form.text()), "value": "4"})
        assert thanks.status == 200 and "Thank you for your rating!" in await thanks.text()
    [rating] = await stored(mx.db)
    assert rating.value == 4 and rating.via == "page" and rating.scale == "five"


async def test_without_a_public_url_buttons_stay_a_list_and_the_start_warns(
    m: Mail, caplog: pytest.LogCaptureFixture
):
    warned = [r.getMessage() for r in caplog.get_records("setup") if r.levelno == logging.WARNING]
    assert any("web.public_url is not set" in w for w in warned), warned
    await m.imap.append(mail("Where is my parcel?"))
    await m.stored(1)
    [ticket] = await m.tickets()
    await m.svc.state.desk.request_rating(
        ticket.number, Scale.BINARY, timedelta(days=1), "Rate us", "agent:x"
    )
    [sent] = await m.sent(1)
    text = plain(sent)
    assert "Reply to this email with one of these options:\n  • 👍\n  • 👎" in text
    assert "/press/" not in text and "/rate/" not in text
