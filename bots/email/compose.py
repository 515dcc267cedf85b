"""An outbox message as an email: multipart/alternative text and HTML from the templates in
bots/email/templates/, "[#N]" in the subject, our own Message-ID and the thread's headers.

Buttons are links to their press page (``{public_url}/press/<button id>``, web/press_page.py),
and a message answering on a page (a rating request) links that page too; without a public
URL to link to, buttons are listed by their labels for the customer to reply with."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

from core.clock import utcnow
from core.i18n import text
from core.messages import Outbound
from settings.config import EmailInbox

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def message_id(out: Outbound, domain: str) -> str:
    """The same for every attempt at one outbox row: a receiver can drop a repeat."""
    return f"<otklik.{out.outbox_id}.{out.message_id}.{out.ticket_number}@{domain}>"


def subject(out: Outbound, locale: str) -> str:
    tag = f"[#{out.ticket_number}]"
    if out.subject:
        line = " ".join(out.subject.split())
        return line if tag in line else f"{tag} {line}"
    return text(locale, "email.subject", number=out.ticket_number, subject=out.ticket_subject)


def compose(out: Outbound, inbox: EmailInbox, locale: str, public_url: str = "") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = Address(display_name=inbox.title, addr_spec=inbox.address)
    mail["To"] = out.external_id
    mail["Subject"] = subject(out, locale)
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = message_id(out, inbox.domain)
    if out.in_reply_to:
        mail["In-Reply-To"] = out.in_reply_to
    if out.references:
        mail["References"] = " ".join(out.references)
    values = {
        "locale": locale,
        "subject": str(mail["Subject"]),
        "text": out.text,
        "paragraphs": [p.split("\n") for p in out.text.replace("\r\n", "\n").split("\n\n")],
        "choices": [
            {"label": b.label, "url": f"{public_url}/press/{quote(b.id)}" if public_url else ""}
            for b in out.buttons
        ],
        "choose": text(locale, "email.choose_link" if public_url else "email.choose"),
        "page": f"{public_url}{out.page}" if public_url and out.page else "",
        "open_page": text(locale, "email.rating_page"),
        "footer": text(locale, "email.footer", number=out.ticket_number),
    }
    mail.set_content(_TEMPLATES.get_template("message.txt").render(values))
    mail.add_alternative(_TEMPLATES.get_template("message.html").render(values), subtype="html")
    return mail
