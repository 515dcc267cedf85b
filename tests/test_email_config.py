"""An email inbox in config.toml: its mailbox, its IMAP and SMTP servers, secrets from ${ENV}."""

from pathlib import Path

import pytest

from settings.config import ConfigError, EmailInbox, parse_config
from tests.mailserver import make_certificates


def email_inbox(**changes: object) -> dict:
    inbox: dict = {
        "name": "mail",
        "channel": "email",
        "address": "Support@Example.com",
        "imap": {"host": "imap.example.com", "port": 993, "user": "support", "password": "p"},
        "smtp": {
            "host": "smtp.example.com",
            "port": 587,
            "user": "support",
            "password": "p",
            "tls": "starttls",
        },
    }
    inbox.update(changes)
    return inbox


def problems(inbox: dict, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config({"inbox": [inbox]}, source="config.toml", base_dir=tmp_path)
    return caught.value.problems


def test_an_email_inbox_with_its_defaults(tmp_path: Path):
    config = parse_config({"inbox": [email_inbox()]}, source="x", base_dir=tmp_path)
    [inbox] = config.inbox
    assert isinstance(inbox, EmailInbox)
    assert inbox.address == "support@example.com" and inbox.domain == "example.com"
    assert inbox.imap.tls == "ssl" and inbox.smtp.tls == "starttls"
    assert inbox.poll_seconds == 60 and inbox.max_attachment_bytes == 10 * 1024 * 1024


def test_passwords_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    inbox = email_inbox()
    inbox["imap"] = {**inbox["imap"], "password": "${MAIL_IMAP_PASSWORD}"}
    inbox["smtp"] = {**inbox["smtp"], "password": "${MAIL_SMTP_PASSWORD}"}
    monkeypatch.delenv("MAIL_SMTP_PASSWORD", raising=False)
    monkeypatch.setenv("MAIL_IMAP_PASSWORD", "from-env")
    assert problems(inbox, tmp_path) == [
        "inbox[1].smtp.password: environment variable MAIL_SMTP_PASSWORD is not set"
    ]
    monkeypatch.setenv("MAIL_SMTP_PASSWORD", "also-from-env")
    [parsed] = parse_config({"inbox": [inbox]}, source="x", base_dir=tmp_path).inbox
    assert isinstance(parsed, EmailInbox)
    assert (parsed.imap.password, parsed.smtp.password) == ("from-env", "also-from-env")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"address": "support"}, 'inbox[1].address: expected an email address such as "support@'),
        (
            {"imap": {"host": "imap.example.com", "port": 993, "user": "u"}},
            ('inbox[1].imap.password: required for channel "email"'),
        ),
        (
            {"smtp": {"host": "x", "port": 25, "user": "u", "password": "p", "tls": "yes"}},
            "inbox[1].smtp.tls: Input should be 'ssl', 'starttls' or 'none'",
        ),
        (
            {"imap": {"host": "x", "port": 0, "user": "u", "password": "p"}},
            "inbox[1].imap.port: Input should be greater than or equal to 1",
        ),
        (
            {"imap": {"host": "imap example", "port": 993, "user": "u", "password": "p"}},
            'inbox[1].imap.host: expected a host name or IP address such as "imap.example.com"',
        ),
        ({"poll_seconds": 0}, "inbox[1].poll_seconds: Input should be greater than or equal to 1"),
        (
            {"max_attachment_bytes": -1},
            "inbox[1].max_attachment_bytes: Input should be greater than or equal to 0",
        ),
        ({"imap_host": "x"}, 'inbox[1].imap_host: unknown key for channel "email"'),
    ],
)
def test_email_inbox_mistakes(changes: dict, expected: str, tmp_path: Path):
    [problem] = problems(email_inbox(**changes), tmp_path)
    assert problem.startswith(expected), problem


def test_a_missing_server_section_is_named(tmp_path: Path):
    inbox = email_inbox()
    del inbox["smtp"]
    assert problems(inbox, tmp_path) == ['inbox[1].smtp: required for channel "email"']


def test_a_ca_file_is_read_from_the_config_files_folder(tmp_path: Path):
    (tmp_path / "certs").mkdir()
    certificates = make_certificates(tmp_path / "certs")
    inbox = email_inbox()
    inbox["imap"] = {**inbox["imap"], "ca_file": "certs/ca.pem"}
    config = parse_config({"inbox": [inbox]}, source="x", base_dir=tmp_path)
    [parsed] = config.inbox
    assert isinstance(parsed, EmailInbox)
    assert parsed.imap.ca_file == certificates.ca and parsed.smtp.ca_file is None


def test_a_ca_file_that_is_missing_or_no_certificate_is_refused_at_start(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("not a certificate")
    inbox = email_inbox()
    inbox["imap"] = {**inbox["imap"], "ca_file": "missing.pem"}
    inbox["smtp"] = {**inbox["smtp"], "ca_file": "notes.txt"}
    missing, garbage = problems(inbox, tmp_path)
    assert missing.startswith(
        f"inbox[1].imap.ca_file: cannot read CA certificates from {tmp_path}/missing.pem: "
    )
    assert garbage.startswith(
        f"inbox[1].smtp.ca_file: cannot read CA certificates from {tmp_path}/notes.txt: "
    )


def test_a_ca_file_needs_tls(tmp_path: Path):
    inbox = email_inbox()
    inbox["smtp"] = {**inbox["smtp"], "tls": "none", "ca_file": "ca.pem"}
    assert problems(inbox, tmp_path) == [
        'inbox[1].smtp.ca_file: only with tls = "ssl" or "starttls"'
    ]
