"""A small site: two routing groups, one bridgehead each, on one machine.

The directory (a private slapd with the sample organization) gets a second
routing group with bridgehead BH2, and mailbox server MBX1 moves into it; a
routing group connector leads each way. BH1 listens on 127.0.0.2, BH2 on
127.0.0.3, both on the same port (the port bridgeheads send to each other
on), each with its own `metabase-sync --follow` writing its metabase. MBX1 is
a real Dovecot LMTP; dnsmasq answers for the bridgeheads' names. Mail from
outside to BH1 for a mailbox on MBX1 must travel BH1 -> BH2 -> MBX1 and
arrive once. Environment (set by CMake): GATEWAYD, GATEWAYCTL, METABASE_SYNC,
PROTO_DIR."""

import email
import email.policy
import os
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures"))
sys.path.insert(0, str(HERE.parent / "gateway"))
sys.path.insert(0, str(HERE.parent / "pipeline"))

from directory_fixture import Slapd  # noqa: E402
from gatewayd_fixture import Gateway, free_port, wait_for_port, wait_until  # noqa: E402
from peers import DovecotLmtp, Dnsmasq  # noqa: E402
import sanitizer  # noqa: E402

METABASE_SYNC = os.environ.get("METABASE_SYNC", "metabase-sync")
GATEWAYCTL = os.environ.get("GATEWAYCTL", "gatewayctl")
ORG = "CN=Example,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com"
AG = f"CN=First Administrative Group,CN=Administrative Groups,{ORG}"
RG1 = f"CN=First Routing Group,CN=Routing Groups,{AG}"
RG2 = f"CN=Second Routing Group,CN=Routing Groups,{AG}"
BH1 = f"CN=BH1,CN=Servers,{AG}"
BH2 = f"CN=BH2,CN=Servers,{AG}"
MBX1 = f"CN=MBX1,CN=Servers,{AG}"
BH1_IP, BH2_IP = "127.0.0.2", "127.0.0.3"


def free_port_on_both():
    """A port free on 127.0.0.2 and on 127.0.0.3: the bridgeheads' common port."""
    for _ in range(50):
        port = free_port(BH1_IP)
        with socket.socket() as probe:
            try:
                probe.bind((BH2_IP, port))
                return port
            except OSError:
                continue
    raise RuntimeError("no port free on both bridgehead addresses")


def site_ldif(port, dns_port, lmtp_port):
    """The second routing group, BH2, MBX1 moved into it, a connector each way,
    and both bridgeheads' virtual servers on `port` with dnsmasq as their DNS
    (the LDIF the site example in deploy/site uses)."""
    text = (HERE.parents[2] / "deploy" / "site" / "second-routing-group.ldif").read_text()
    return text.replace("@PORT@", str(port)).replace("@DNS_PORT@", str(dns_port)).replace("@LMTP_PORT@", str(lmtp_port))


class Bridgehead:
    """One gatewayd fed by its own metabase-sync --follow."""

    def __init__(self, name, ip, port, slapd, password_file):
        self.name, self.ip, self.port = name, ip, port
        self.gateway = Gateway("", threads=2)  # the metabase comes from metabase-sync
        self.sync_log = os.path.join(self.gateway.dir, "metabase-sync.log")
        self.argv = [METABASE_SYNC, "--uri", slapd.uri, "--bind-dn", slapd.service_dn,
                     "--password-file", str(password_file), "--server", name,
                     "--out", self.gateway.metabase_path]
        once = sanitizer.run(self.argv + ["--once"], text=True)
        if once.returncode != 0:
            raise RuntimeError(f"metabase-sync for {name} failed ({once.returncode}): {once.stderr}")
        with open(self.sync_log, "ab") as log:
            self.sync = subprocess.Popen(self.argv + ["--follow"], stdout=log, stderr=subprocess.STDOUT)

    def start(self):
        self.gateway.start(wait=[(self.ip, self.port)])

    def stop(self):
        self.gateway.stop()

    def close(self):
        try:
            self.gateway.stop()
        finally:
            if self.sync.poll() is None:
                self.sync.send_signal(signal.SIGTERM)
                self.sync.wait(timeout=10)
            sanitizer.check(Path(self.sync_log).read_bytes(), f"metabase-sync --follow for {self.name}")

    def ctl(self, *args):
        socket_path = os.path.join(self.gateway.spool, "control.sock")
        return sanitizer.run([GATEWAYCTL, "--socket", socket_path, *args], text=True)

    def metabase_text(self):
        dump = sanitizer.run([METABASE_SYNC, "--dump", self.gateway.metabase_path], text=True, check=True)
        return dump.stdout


class SmallSite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.slapd = Slapd()
        cls.lmtp = DovecotLmtp(["alice", "bob", "carol"])  # alice, carol: MBX1 (RG2); bob: BH1 (RG1)
        cls.dns = Dnsmasq([f"--host-record=bh1.example.com,{BH1_IP}", f"--host-record=bh2.example.com,{BH2_IP}"])
        cls.port = free_port_on_both()
        cls.password_file = Path(tempfile.mkdtemp(prefix="gw-site-")) / "service.secret"
        cls.password_file.write_text(cls.slapd.service_password + "\n")
        cls.password_file.chmod(0o600)
        cls.slapd.modify(site_ldif(cls.port, cls.dns.port, cls.lmtp.port))
        cls.bh1 = Bridgehead("BH1", BH1_IP, cls.port, cls.slapd, cls.password_file)
        cls.bh2 = Bridgehead("BH2", BH2_IP, cls.port, cls.slapd, cls.password_file)
        cls.bh1.start()
        cls.bh2.start()

    @classmethod
    def tearDownClass(cls):
        for closer in (cls.bh1.close, cls.bh2.close, cls.dns.close, cls.lmtp.close, cls.slapd.close):
            try:
                closer()
            except Exception:  # noqa: BLE001 -- stop everything even when one fails
                pass

    def send(self, recipient, subject, to_ip=BH1_IP):
        with smtplib.SMTP(to_ip, self.port, timeout=30) as client:
            client.ehlo("client.example.net")
            client.sendmail("outsider@remote.example", [recipient],
                            f"From: outsider@remote.example\r\nTo: {recipient}\r\nSubject: {subject}\r\n\r\nHello.\r\n")

    def arrived(self, user, subject):
        out = []
        for raw in self.lmtp.messages(user):
            message = email.message_from_bytes(raw, policy=email.policy.default)
            if message["Subject"] == subject:
                out.append(message)
        return out

    def test_each_bridgehead_runs_only_its_own_virtual_servers(self):
        self.assertIn(f'ip: "{BH1_IP}"', self.bh1.metabase_text())
        self.assertNotIn(f'ip: "{BH2_IP}"', self.bh1.metabase_text())
        self.assertIn(f'ip: "{BH2_IP}"', self.bh2.metabase_text())
        self.assertNotIn(f'ip: "{BH1_IP}"', self.bh2.metabase_text())

    def test_mail_for_a_mailbox_behind_the_other_bridgehead_goes_through_it_and_arrives_once(self):
        self.send("alice@example.com", "across the site")
        wait_until(lambda: self.arrived("alice", "across the site"), 30, "delivery to alice through BH2")
        time.sleep(1)  # a second copy would arrive at once
        messages = self.arrived("alice", "across the site")
        self.assertEqual(len(messages), 1)
        received = " ".join(str(value) for value in messages[0].get_all("Received"))
        # Each bridgehead names itself in the Received field it adds: BH1, then BH2.
        self.assertIn("by bh1.example.com", received)
        self.assertIn("by bh2.example.com", received)
        self.assertLess(received.index("by bh2.example.com"), received.index("by bh1.example.com"))
        self.assertIn("RG1-RG2", self.bh1.gateway.log_text())

    def test_mail_given_to_the_second_bridgehead_for_a_mailbox_of_the_first_group_crosses_back(self):
        self.send("bob@example.com", "the other way", to_ip=BH2_IP)
        wait_until(lambda: self.arrived("bob", "the other way"), 30, "delivery to bob through BH1")
        received = " ".join(str(value) for value in self.arrived("bob", "the other way")[0].get_all("Received"))
        self.assertLess(received.index("by bh1.example.com"), received.index("by bh2.example.com"))
        self.assertIn("RG2-RG1", self.bh2.gateway.log_text())

    def test_mail_waits_in_remote_delivery_while_the_other_bridgehead_is_stopped(self):
        self.bh2.stop()
        try:
            self.send("carol@example.com", "while BH2 is down")
            wait_until(lambda: "Remote delivery [bh2.example.com]" in self.bh1.ctl("queues").stdout, 30,
                       "the message waiting for BH2")
            self.assertEqual(self.arrived("carol", "while BH2 is down"), [])
        finally:
            self.bh2.start()
        self.bh1.ctl("retry-queue", "remote-delivery", "bh2.example.com")
        wait_until(lambda: self.arrived("carol", "while BH2 is down"), 90, "delivery once BH2 is back")
        self.assertEqual(len(self.arrived("carol", "while BH2 is down")), 1)

    def test_a_directory_change_reaches_both_bridgeheads(self):
        self.slapd.modify(f"""dn: CN=RG1-RG2,CN=Connections,{RG1}
changetype: modify
replace: cost
cost: 42
""")
        for bridgehead in (self.bh1, self.bh2):
            wait_until(lambda b=bridgehead: "cost: 42" in b.metabase_text(), 20,
                       f"the new cost in {bridgehead.name}'s metabase")


if __name__ == "__main__":
    unittest.main()
