"""Real mail servers for the email tests: Debian's dovecot (IMAP) started in a throw-away
folder on a free loopback port, and aiosmtpd (SMTP) in the test process; with ``Certificates``
(a test CA and a server certificate for 127.0.0.1, made by the openssl command) both speak TLS.

Test mail reaches dovecot by IMAP APPEND, as another mail client would file it."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import aioimaplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "support", "imap-test-password"
# Everything dovecot 2.3 advertises by default but IDLE: a server that must be polled.
_NO_IDLE = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS NAMESPACE"


def require_dovecot() -> None:
    if os.path.exists(DOVECOT):
        return
    reason = f"dovecot is not installed ({DOVECOT}); `make mailserver` installs it"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class Certificates:
    """A CA of the tests' own and a certificate it signed for 127.0.0.1 (and localhost)."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificates(folder: Path) -> Certificates:
    """Make the CA and the server's certificate in ``folder`` (readable by dovecot)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, request = folder / "server.pem", folder / "server.key", folder / "server.csr"
    extensions = folder / "server.ext"
    extensions.write_text(
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
    )
    new_key = ["-newkey", "rsa:2048", "-nodes"]
    ca_options = ["-subj", "/CN=Otklik test CA", "-addext", "basicConstraints=critical,CA:TRUE"]
    ca_options += ["-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    signing = ["-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-extfile", extensions]
    for command in (
        ["req", "-x509", *new_key, "-keyout", ca_key, "-out", ca, "-days", "2", *ca_options],
        ["req", *new_key, "-keyout", key, "-out", request, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", request, *signing, "-out", cert, "-days", "2"],
    ):
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    for path in (ca, cert, key):
        os.chmod(path, 0o644)  # dovecot's processes read them; test files, no secret
    return Certificates(ca, cert, key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Dovecot:
    folder: Path
    port: int  # plain IMAP (STARTTLS offered when the server has certificates)
    tls_port: int = 0  # IMAP over TLS from the first byte, when it has certificates
    process: asyncio.subprocess.Process | None = None

    @property
    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def append(self, mail: EmailMessage | bytes) -> None:
        """File a message into the inbox, unseen, as a mail server delivering it would."""
        raw = mail if isinstance(mail, bytes) else mail.as_bytes()
        imap = aioimaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        await imap.wait_hello_from_server()
        await imap.login(USER, PASSWORD)
        response = await imap.append(raw, mailbox="INBOX")
        assert response.result == "OK", response
        await imap.logout()

    async def clear(self) -> None:
        """Empty the inbox between tests."""
        imap = await self._session()
        found = await imap.uid_search("ALL", charset=None)
        if found.lines and bytes(found.lines[0]).strip():
            await imap.uid("store", "1:*", "+FLAGS.SILENT", "(\\Deleted)")
            await imap.expunge()
        await imap.logout()

    async def _session(self) -> aioimaplib.IMAP4:
        imap = aioimaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        await imap.wait_hello_from_server()
        assert (await imap.login(USER, PASSWORD)).result == "OK"
        await imap.select("INBOX")
        return imap

    async def flags(self) -> list[str]:
        """Every message's flags, in order."""
        imap = await self._session()
        response = await imap.fetch("1:*", "(FLAGS)")
        await imap.logout()
        return [
            bytes(line).decode().split("FLAGS (", 1)[1].split(")", 1)[0]
            for line in response.lines
            if b"FLAGS (" in bytes(line)
        ]


def _config(server: Dovecot, idle: bool, tls: Certificates | None) -> str:
    folder, port = server.folder, server.port
    me = pwd.getpwuid(os.getuid())
    # As root, mail is kept as the dovecot user (dovecot never serves mail as root).
    owner = pwd.getpwnam("dovecot") if os.getuid() == 0 else me
    for sub in ("mail", "home"):
        (folder / sub).mkdir()
        os.chown(folder / sub, owner.pw_uid, owner.pw_gid)
    (folder / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    login = "dovenull" if os.getuid() == 0 else me.pw_name
    internal = "dovecot" if os.getuid() == 0 else me.pw_name
    capability = "" if idle else f"imap_capability = {_NO_IDLE}\n"
    ssl_settings = (
        f"ssl = yes\nssl_cert = <{tls.cert}\nssl_key = <{tls.key}\n" if tls else "ssl = no\n"
    )
    return f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl_settings}disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login}
default_internal_user = {internal}
first_valid_uid = 0
mail_location = maildir:{folder}/mail/%u
{capability}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={folder}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {server.tls_port}
  }}
}}
"""


@asynccontextmanager
async def dovecot(idle: bool = True, tls: Certificates | None = None) -> AsyncIterator[Dovecot]:
    """A dovecot of its own, in a folder under the system's temp dir (its users must reach
    it: pytest's tmp_path is private to us), removed afterwards."""
    require_dovecot()
    folder = Path(tempfile.mkdtemp(prefix="otklik-dovecot-"))
    os.chmod(folder, 0o755)
    server = Dovecot(folder, free_port(), free_port() if tls else 0)
    conf = folder / "dovecot.conf"
    conf.write_text(_config(server, idle, tls))
    server.process = await asyncio.create_subprocess_exec(
        DOVECOT,
        "-F",
        "-c",
        str(conf),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await _listening(server)
        yield server
    finally:
        server.process.terminate()
        try:
            await asyncio.wait_for(server.process.wait(), 10)
        except TimeoutError:
            server.process.kill()
            await server.process.wait()
        shutil.rmtree(folder, ignore_errors=True)


async def _listening(server: Dovecot) -> None:
    for _ in range(100):
        assert server.process is not None
        if server.process.returncode is not None:
            output = (await server.process.stdout.read()).decode() if server.process.stdout else ""
            raise RuntimeError(f"dovecot exited: {output}\n{server.log}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError(f"dovecot did not listen on {server.port}\n{server.log}")


@dataclass
class Outbox:
    """What the SMTP server accepted; ``refuse`` and ``defer`` answer RCPT for addresses."""

    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    encrypted: list[bool] = field(default_factory=list)  # whether each came over TLS
    refuse: set[str] = field(default_factory=set)  # 550: no such user
    defer: dict[str, int] = field(default_factory=dict)  # address → how many times 451 first
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        if self.defer.get(address.lower(), 0) > 0:
            self.defer[address.lower()] -= 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        mail = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(mail, EmailMessage)
        self.received.append(mail)
        self.envelopes.append(envelope)
        self.encrypted.append(server.transport.get_extra_info("ssl_object") is not None)
        self.arrived.set()
        return "250 Message accepted for delivery"


@asynccontextmanager
async def smtp_server(
    tls: Certificates | None = None, starttls: bool = False
) -> AsyncIterator[tuple[Outbox, int]]:
    """aiosmtpd on a free loopback port, logins accepted from anyone; with ``tls``, TLS from
    the first byte, or (``starttls``) a plain start that must be upgraded before anything."""
    outbox = Outbox()
    port = free_port()
    encryption: dict[str, object] = {}
    if tls and starttls:
        encryption = {"tls_context": tls.server_context(), "require_starttls": True}
    elif tls:
        encryption = {"ssl_context": tls.server_context()}
    controller = Controller(
        outbox,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=lambda *args: _accept(),
        **encryption,
    )
    await asyncio.to_thread(controller.start)
    try:
        yield outbox, port
    finally:
        await asyncio.to_thread(controller.stop)


def _accept() -> object:
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=True)
