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


def report(*groups: str, returned: str = "") -> bytes:
    """A delivery status report with these per-recipient field groups."""
    status = "Reporting-MTA: dns; mx.example.net\r\n\r\n" + "\r\n\r\n".join(groups)
    return (
        "From: MAILER-DAEMON@mx.example.net\r\nTo: support@otklik.test\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n"
        f"--B\r\nContent-Type: message/delivery-status\r\n\r\n{status}\r\n{returned}--B--\r\n"
    ).encode()


def test_a_bounce_names_each_failed_recipient_and_the_returned_message():
    returned = (
        "--B\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: support@otklik.test\r\nMessage-ID: <ours@otklik.test>\r\n\r\nHello\r\n"
    )
    mail = parse(
        report(
            "Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n"
            "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full",
            "Final-Recipient: rfc822; b@example.net\r\nAction: delivered\r\nStatus: 2.0.0",
            "Final-Recipient: rfc822; c@example.net\r\nAction: failed\r\nStatus: 5.4.4",
            returned=returned,
        )
    )
    assert mail.bounce is not None and mail.automatic is not None
    assert mail.bounce.original_ids == ("<ours@otklik.test>",)
    assert mail.bounce.reason == (
        "a@example.net: 552 5.2.2 Mailbox full; c@example.net: status 5.4.4"
    )


@pytest.mark.parametrize("action", ["delayed", "delivered", "relayed", "expanded"])
def test_a_report_of_no_failure_is_no_bounce(action: str):
    mail = parse(report(f"Final-Recipient: rfc822; a@example.net\r\nAction: {action}"))
    assert mail.bounce is None and mail.automatic is not None  # still opens nothing


def test_mail_that_is_no_delivery_report_is_no_bounce():
    assert parse(raw("Subject: Hello", "In-Reply-To: <ours@otklik.test>")).bounce is None
