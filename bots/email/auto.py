"""Mail no person wrote: auto-replies, bounces and list traffic. They open no ticket and
trigger no rule (RFC 3834 Auto-Submitted, Precedence, the delivery reports of RFC 3464)."""

from __future__ import annotations

from email.message import EmailMessage

_DAEMONS = ("mailer-daemon", "postmaster")
_BULK = {"bulk", "junk", "list", "auto_reply"}
_AUTOREPLY_HEADERS = ("X-Autoreply", "X-Autorespond")


def automatic(mail: EmailMessage, sender: str) -> str | None:
    """Why ``mail`` is automatic (a reason for the log), or None when a person wrote it."""
    submitted = str(mail.get("Auto-Submitted", "no")).strip().lower()
    if submitted != "no" and submitted:
        return f"Auto-Submitted: {submitted}"
    precedence = str(mail.get("Precedence", "")).strip().lower()
    if precedence in _BULK:
        return f"Precedence: {precedence}"
    if mail.get_content_type() == "multipart/report":
        return f"a {mail.get_param('report-type', 'delivery-status')} report (bounce)"
    local = sender.split("@", 1)[0]
    if local in _DAEMONS:
        return f"sent by {sender}"
    for header in _AUTOREPLY_HEADERS:
        if mail.get(header) is not None:
            return f"{header} header"
    return None
