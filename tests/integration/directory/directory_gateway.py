"""Fixture for the directory integration tests: a private directory (the one
under test, OpenLDAP or Samba AD: tests/integration/fixtures/directory_fixture.py)
with the sample organization, BH1's directory endpoints and virtual-server bindings pointed at
it and at free ports, a metabase written by the real `metabase-sync --once`,
and a real gatewayd on that metabase. Environment (set by CMake): GATEWAYD,
METABASE_SYNC, PROTO_DIR."""

import os
import re
import smtplib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures"))
sys.path.insert(0, str(HERE.parent / "gateway"))

from directory_fixture import Directory  # noqa: E402
from gatewayd_fixture import Gateway, free_port, wait_until  # noqa: E402
import sanitizer  # noqa: E402

METABASE_SYNC = os.environ.get("METABASE_SYNC", "metabase-sync")
ORG = "CN=Example,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com"
BH1 = f"CN=BH1,CN=Servers,CN=First Administrative Group,CN=Administrative Groups,{ORG}"


class DirectoryGateway:
    """directory + metabase-sync + gatewayd; close() stops both servers. The
    virtual server's DNS server is a loopback port nobody answers on, so the
    sample's mailbox servers (mbx1.example.com ...) never resolve and their
    mail waits for a retry, without asking any real DNS server."""

    def __init__(self, extra_ldif=""):
        """`extra_ldif`: further LDIF change records applied before metabase-sync runs."""
        self.directory = Directory()
        try:
            self.port = free_port()
            self.submission_port = free_port()
            password_file = self.directory.directory / "service.secret"
            password_file.write_text(self.directory.service_password + "\n")
            password_file.chmod(0o600)
            self.directory.modify(f"""dn: {BH1}
changetype: modify
replace: gwDirectoryUri
gwDirectoryUri: {self.directory.uri}
-
replace: gwDirectoryBindPasswordFile
gwDirectoryBindPasswordFile: {password_file}
-

dn: CN=1,CN=SMTP,CN=Protocols,{BH1}
changetype: modify
replace: msExchServerBindings
msExchServerBindings: 127.0.0.1:{self.port}:
-
replace: msExchSmtpExternalDNSServers
msExchSmtpExternalDNSServers: 127.0.0.1:{free_port()}
-

dn: CN=2,CN=SMTP,CN=Protocols,{BH1}
changetype: modify
replace: msExchServerBindings
msExchServerBindings: 127.0.0.1:{self.submission_port}:
-
""" + ("\n" + extra_ldif if extra_ldif else ""))
            self.gateway = Gateway("", threads=2)  # metabase replaced below
            self.sync_metabase()
            self.gateway.start(wait=[("127.0.0.1", self.port)])
        except BaseException:
            self.directory.close()
            raise

    def sync_metabase(self):
        result = sanitizer.run(
            [METABASE_SYNC, "--uri", self.directory.uri, "--bind-dn", self.directory.service_dn,
             "--password", self.directory.service_password, "--server", "BH1",
             "--out", self.gateway.metabase_path, "--once"],
            text=True)
        if result.returncode != 0:
            raise RuntimeError(f"metabase-sync failed ({result.returncode}): {result.stderr}")

    def close(self):
        try:
            self.gateway.stop()
        finally:
            self.directory.close()

    def smtp(self):
        client = smtplib.SMTP("127.0.0.1", self.port, timeout=30)
        client.ehlo("client.example.net")
        return client

    def rcpt(self, recipient, sender="outsider@remote.example"):
        """(code, reply text) of RCPT TO in a fresh transaction."""
        with self.smtp() as client:
            client.mail(sender)
            code, text = client.rcpt(recipient)
            return code, text.decode()

    def send(self, recipients, sender="outsider@remote.example"):
        """Queues one message; returns its queue id (from the 250 reply)."""
        with self.smtp() as client:
            client.mail(sender)
            for recipient in recipients:
                code, text = client.rcpt(recipient)
                if code != 250:
                    raise AssertionError(f"RCPT {recipient}: {code} {text!r}")
            code, text = client.data(b"Subject: directory test\r\n\r\nhello\r\n")
            if code != 250:
                raise AssertionError(f"DATA: {code} {text!r}")
            match = re.search(r"<([0-9A-Za-z]+)>", text.decode())
            if not match:
                raise AssertionError(f"no queue id in {text!r}")
            return match.group(1)

    def envelope_text(self, queue_id):
        return self.gateway.envelope(queue_id)

    def wait_for_queue(self, queue_id, queue_name, timeout=60.0):
        wait_until(lambda: f"queue: {queue_name}" in self.envelope_text(queue_id), timeout,
                   f"{queue_id} in {queue_name}")
        return self.envelope_text(queue_id)

    # Where a message can be once the categorizer is done with it: the delivery
    # stage takes it on at once (the sample's mailbox servers do not answer here,
    # so it stays queued for a retry).
    CATEGORIZED_QUEUES = ("WAITING_TO_BE_ROUTED", "LOCAL_DELIVERY", "REMOTE_DELIVERY",
                          "FINAL_DESTINATION_UNREACHABLE")

    def wait_for_categorized(self, queue_id, timeout=60.0):
        wait_until(lambda: any(f"queue: {q}" in self.envelope_text(queue_id) for q in self.CATEGORIZED_QUEUES),
                   timeout, f"{queue_id} categorized")
        return self.envelope_text(queue_id)

    def wait_for_rcpt(self, recipient, code, timeout=30.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.rcpt(recipient)
            if last[0] == code:
                return last
            time.sleep(0.5)
        raise AssertionError(f"RCPT {recipient}: wanted {code}, last {last}")
