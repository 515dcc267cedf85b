"""Reading mail: the parts Otklik uses, what marks mail no person wrote, and broken input
read as well as it can be (never dropped)."""

from __future__ import annotations

import pytest

from bots.email.html import to_text
from bots.email.parse import parse


def raw(*headers: str, body: str = "Hello", content_type: str = "text/plain") -> bytes:
    lines = [
        "From: Alice Smith <Alice@Example.org>",
        "To: support@otklik.test",
        *headers,
        f"Content-Type: {content_type}; charset=utf-8",
        "",
        body,
    ]
    return "\r\n".join(lines).encode()


def test_sender_subject_and_thread_are_read():
    mail = parse(
        raw(
            "Subject: Re: Fwd: [#1042] Order late",
            "Message-ID: <m3@example.org>",
            "References: <m1@otklik.test> <m2@example.org>",
            "In-Reply-To: <m2@example.org>",
        )
    )
    assert (mail.sender, mail.sender_name) == ("alice@example.org", "Alice Smith")
    assert mail.message_id == "<m3@example.org>"
    assert mail.references == ("<m1@otklik.test>", "<m2@example.org>")
    assert (mail.ticket_number, mail.topic) == (1042, "Order late")
    assert mail.automatic is None and mail.problems == ()


def test_a_mail_without_message_id_gets_the_same_derived_one_each_time():
    first, again = parse(raw("Subject: hi")), parse(raw("Subject: hi"))
    assert first.message_id == again.message_id and first.message_id.endswith("@otklik.invalid>")
    assert parse(raw("Subject: other")).message_id != first.message_id


def test_html_only_mail_becomes_text():
    html = "<html><head><style>p{}</style></head><body><p>Hi&nbsp;there</p><ul><li>one</li>"
    html += "<li>two</li></ul><script>alert(1)</script></body></html>"
    mail = parse(raw("Subject: x", body=html, content_type="text/html"))
    assert mail.text == "Hi there\n\n• one\n\n• two"


def test_html_to_text_keeps_lines_and_drops_markup():
    assert to_text("a<br>b<div>c</div><p>d</p>") == "a\nb\nc\n\nd"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("Precedence: bulk", "Precedence: bulk"),
        ("Precedence: list", "Precedence: list"),
        ("X-Autoreply: yes", "X-Autoreply header"),
    ],
)
def test_automatic_mail_is_recognised(header: str, why: str):
    assert parse(raw("Subject: Away", header)).automatic == why


def test_a_person_may_say_auto_submitted_no():
    assert parse(raw("Subject: hi", "Auto-Submitted: no")).automatic is None


def test_mailer_daemons_are_automatic():
    mail = parse(raw("Subject: fail").replace(b"Alice Smith <Alice", b"x <MAILER-DAEMON"))
    assert mail.automatic == "sent by mailer-daemon@example.org"


def test_an_unknown_charset_is_read_as_utf8_with_the_reason_noted():
    mail = parse(raw("Subject: x", body="Caf\u00e9").replace(b"charset=utf-8", b"charset=nope"))
    assert mail.text == "Café"
    assert any("nope" in problem for problem in mail.problems)


def test_huge_headers_are_cut():
    mail = parse(raw("Subject: " + "word " * 20_000, "References: " + "<x@y> " * 20_000))
    assert len(mail.subject) <= 200 and len(mail.references) <= 1
