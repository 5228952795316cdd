"""A replicated directory under the gateway: two slapd providers in mirror
mode (multi-provider syncrepl, slapd-up.sh --mirror), listed in failover order
in the bridgehead's gwDirectoryUri and in metabase-sync's --uri. One provider
killed while clients keep sending: every RCPT is answered from the other (no
5xx for a real recipient), every accepted message is categorized;
metabase-sync --follow carries on with the survivor and the killed provider
catches up when it returns. Environment (set by CMake): GATEWAYD,
METABASE_SYNC, PROTO_DIR."""

import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures"))
sys.path.insert(0, str(HERE.parent / "gateway"))

from directory_fixture import Slapd  # noqa: E402
from gatewayd_fixture import Gateway, free_port, wait_until  # noqa: E402
import sanitizer  # noqa: E402

METABASE_SYNC = os.environ.get("METABASE_SYNC", "metabase-sync")
ORG = "CN=Example,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com"
BH1 = f"CN=BH1,CN=Servers,CN=First Administrative Group,CN=Administrative Groups,{ORG}"
VS1 = f"CN=1,CN=SMTP,CN=Protocols,{BH1}"
RECIPIENTS = ["alice@example.com", "carol@example.com", "grace@example.com", "henry@example.com"]
CATEGORIZED = ("WAITING_TO_BE_ROUTED", "LOCAL_DELIVERY", "REMOTE_DELIVERY", "FINAL_DESTINATION_UNREACHABLE")


def entry_count(slapd):
    return len(re.findall(r"^dn:", slapd.search(slapd.base_dn, "(objectClass=*)", ["1.1"]), re.M))


class ReplicatedDirectory(unittest.TestCase):
    def setUp(self):
        port_a, port_b = free_port(), free_port()
        while port_b == port_a:
            port_b = free_port()
        self.a = Slapd(port=port_a, args=["--mirror", f"ldap://127.0.0.1:{port_b}/", "--server-id", "1"])
        self.addCleanup(self.a.close)
        self.b = Slapd(port=port_b, args=["--mirror", f"ldap://127.0.0.1:{port_a}/", "--server-id", "2", "--no-data"])
        self.addCleanup(self.b.close)
        wait_until(lambda: entry_count(self.b) == entry_count(self.a), 30, "the second provider to replicate")
        self.port = free_port()
        self.a.modify(f"""dn: {BH1}
changetype: modify
replace: gwDirectoryUri
gwDirectoryUri: {self.a.uri}
gwDirectoryUri: {self.b.uri}
-
replace: gwDirectoryBindPasswordFile
gwDirectoryBindPasswordFile: {self.a.service_password_file()}
-

dn: {VS1}
changetype: modify
replace: msExchServerBindings
msExchServerBindings: 127.0.0.1:{self.port}:
-
replace: msExchSmtpExternalDNSServers
msExchSmtpExternalDNSServers: 127.0.0.1:{free_port()}
-

dn: CN=2,CN=SMTP,CN=Protocols,{BH1}
changetype: delete
""")
        wait_until(lambda: str(self.port) in self.b.search(VS1, "(objectClass=*)", ["msExchServerBindings"], "base"),
                   10, "the change to reach the second provider")
        self.gateway = Gateway("", threads=2)
        self.addCleanup(self.gateway.stop)
        self.sync_argv = [METABASE_SYNC, "--uri", f"{self.a.uri} {self.b.uri}", "--bind-dn", self.a.service_dn,
                          "--password-file", self.a.service_password_file(), "--server", "BH1",
                          "--out", self.gateway.metabase_path]
        sanitizer.run(self.sync_argv + ["--once"], check=True)
        self.sync_log = os.path.join(self.gateway.dir, "metabase-sync.log")
        with open(self.sync_log, "ab") as log:
            self.sync = subprocess.Popen(self.sync_argv + ["--follow", "--max-backoff", "0.5"],
                                         stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(self._stop_sync)
        self.gateway.start(wait=[("127.0.0.1", self.port)])

    def _stop_sync(self):
        if self.sync.poll() is None:
            self.sync.send_signal(signal.SIGTERM)
            self.sync.wait(timeout=10)
        sanitizer.check(Path(self.sync_log).read_bytes(), "metabase-sync --follow")

    def metabase_text(self):
        return sanitizer.run([METABASE_SYNC, "--dump", self.gateway.metabase_path], text=True, check=True).stdout

    def send_until(self, stop, replies, queue_ids):
        """Sends one message at a time to a real recipient until `stop` is set,
        recording every RCPT reply and every accepted queue id."""
        n = 0
        while not stop.is_set():
            recipient = RECIPIENTS[n % len(RECIPIENTS)]
            n += 1
            with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
                client.ehlo("client.example.net")
                client.mail("outsider@remote.example")
                code, text = client.rcpt(recipient)
                replies.append((recipient, code, text))
                if code != 250:
                    continue
                code, text = client.data(b"Subject: failover\r\n\r\nhello\r\n")
                match = re.search(rb"<([0-9A-Za-z]+)>", text)
                if code == 250 and match:
                    queue_ids.append(match.group(1).decode())

    def test_lookups_continue_on_the_other_provider_when_one_is_killed(self):
        stop, replies, queue_ids = threading.Event(), [], []
        sender = threading.Thread(target=self.send_until, args=(stop, replies, queue_ids))
        sender.start()
        try:
            wait_until(lambda: len(queue_ids) >= 5, 30, "traffic before the provider dies")
            self.a.kill()
            before = len(queue_ids)
            wait_until(lambda: len(queue_ids) >= before + 10, 60, "traffic answered by the surviving provider")
        finally:
            stop.set()
            sender.join(60)
        refused = [r for r in replies if r[1] >= 500]
        self.assertEqual(refused, [], "a real recipient was refused while a provider was down")
        for queue_id in queue_ids:
            wait_until(lambda q=queue_id: any(f"queue: {name}" in self.gateway.envelope(q) for name in CATEGORIZED),
                       60, f"{queue_id} categorized")
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            client.ehlo("client.example.net")
            client.mail("outsider@remote.example")
            self.assertEqual(client.rcpt("nobody@example.com")[0], 550)  # answered, not guessed

    def test_metabase_sync_follows_the_survivor_and_the_killed_provider_catches_up(self):
        self.a.kill()
        self.b.modify(f"dn: {VS1}\nchangetype: modify\nreplace: msExchSmtpMaxHopCount\nmsExchSmtpMaxHopCount: 31\n")
        wait_until(lambda: "max_hop_count: 31" in self.metabase_text(), 30, "the change made on the survivor")
        self.a.restart()
        wait_until(lambda: "31" in self.a.search(VS1, "(objectClass=*)", ["msExchSmtpMaxHopCount"], "base"), 30,
                   "the returned provider to catch up")
        self.a.modify(f"dn: {VS1}\nchangetype: modify\nreplace: msExchSmtpMaxHopCount\nmsExchSmtpMaxHopCount: 32\n")
        wait_until(lambda: "max_hop_count: 32" in self.metabase_text(), 30, "a change made on the returned provider")


if __name__ == "__main__":
    unittest.main()
