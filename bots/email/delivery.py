"""Sending by SMTP (aiosmtplib), and what the server's refusals mean for the sender: a
refused recipient or another 5xx is permanent, a 4xx or a network failure is retried."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from core.channels import DeliveryError
from settings.config import MailServer

TIMEOUT_SECONDS = 60.0


class CustomerRefuses(DeliveryError):
    """Permanent: the customer's server refuses their address; they cannot be written to."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=True)


async def send(server: MailServer, mail: EmailMessage, what: str) -> None:
    """Hand ``mail`` to the SMTP server; ``what`` names it in errors (recipient, outbox row)."""
    try:
        await aiosmtplib.send(
            mail,
            hostname=server.host,
            port=server.port,
            username=server.user,
            password=server.password,
            use_tls=server.tls == "ssl",
            start_tls=server.tls == "starttls",
            tls_context=server.tls_context() if server.tls != "none" else None,
            timeout=TIMEOUT_SECONDS,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        said = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        reason = f"SMTP server refused the recipient of {what}: {said}"
        if all(code >= 500 for code in codes):
            raise CustomerRefuses(reason) from exc
        raise DeliveryError(reason) from exc
    except aiosmtplib.SMTPAuthenticationError as exc:  # the config, not the message: retry
        raise DeliveryError(
            f"SMTP login as {server.user!r} refused ({exc.code} {exc.message}); check the "
            f"inbox's smtp user and password"
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        reason = f"SMTP server answered {exc.code} {exc.message} for {what}"
        raise DeliveryError(reason, permanent=exc.code >= 500) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise DeliveryError(
            f"SMTP server {server.host}:{server.port} unreachable for {what}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
