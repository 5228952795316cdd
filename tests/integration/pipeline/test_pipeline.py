"""The whole pipeline with real peers: a message accepted by gatewayd is
categorized against a private directory with the sample organization (the
one under test: slapd, or Samba AD; CMake runs the suite on both), routed by
the metabase, and delivered -- to mailbox users through the real Dovecot LMTP
(maildirs checked), to remote domains through connectors whose smart host is
a scripted SMTP receiver or a second gatewayd with TLS, or through DNS MX
served by dnsmasq. Retries follow the virtual server's retry schedule (scaled
down to seconds); failures, expiry and delays come back as RFC 3464 reports
that are themselves delivered to the sender's mailbox and parsed here.
Environment (set by CMake): GATEWAYD, PROTO_DIR."""

import email
import email.policy
import os
import select
import smtplib
import ssl
import socket
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))

import gatewayd_fixture  # noqa: E402
from gatewayd_fixture import Gateway, directory_text, make_pki  # noqa: E402
from peers import DovecotLmtp, Dnsmasq, ScriptedReceiver, free_port, wait_until  # noqa: E402
from directory_fixture import Directory  # noqa: E402

AG = ("CN=First Administrative Group,CN=Administrative Groups,CN=Example,CN=Microsoft Exchange,"
      "CN=Services,CN=Configuration,DC=example,DC=com")
RG = "CN=First Routing Group,CN=Routing Groups," + AG


def store_dn(server):
    return (f"CN=Mailbox Store ({server}),CN=First Storage Group,CN=InformationStore,CN={server},CN=Servers,{AG}")


PASSWORD = "Passw0rd!"
MAILBOX_USERS = ["alice", "bob", "carol", "frank", "grace", "henry", "ivy", "erin", "sam", "dave"]
TLS_CLIENT_CA = None  # set per class when a TLS-required connector is used




def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def delivery_status(report):
    """(per-message fields, [per-recipient fields]) of a multipart/report."""
    for part in report.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            groups = [g for g in part.get_payload()]
            fields = [dict((k.lower(), str(v)) for k, v in g.items()) for g in groups]
            return fields[0], fields[1:]
    raise AssertionError("no delivery-status part in:\n" + report.as_string())


class PipelineTestCase(unittest.TestCase):
    """One directory and one Dovecot per class; per test a gatewayd whose metabase
    routes mailbox users to that Dovecot and everything else to self.receiver."""

    retry_seconds = 1
    expiration_seconds = 3600
    delay_notification_seconds = 3600

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="gw-pipeline-")
        cls.directory = Directory()
        cls.dovecot = DovecotLmtp(MAILBOX_USERS)

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.close()
        cls.directory.close()

    def setUp(self):
        self.port = free_port()
        self.receiver = self.make_receiver()
        self.gateway = Gateway(self.metabase(), args=self.gateway_args())
        self.gateway.start(wait=[("127.0.0.1", self.port)])

    def tearDown(self):
        self.gateway.stop()
        self.receiver.close()
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is not None and any(t is self for t, _ in result.failures + result.errors):
            print("---- gatewayd log ----\n" + self.gateway.log_text()[-8000:])

    def make_receiver(self):
        return ScriptedReceiver()

    def gateway_args(self):
        """Further options of the gateway under test."""
        return []

    def outbound(self, extra=""):
        r = self.retry_seconds
        return (f"outbound {{ retry {{ first_retry_seconds: {r} second_retry_seconds: {r} third_retry_seconds: {r}"
                f" subsequent_retry_seconds: {r} }}"
                f" remote_expiration_timeout_seconds: {self.expiration_seconds}"
                f" local_expiration_timeout_seconds: {self.expiration_seconds}"
                f" remote_delay_notification_seconds: {self.delay_notification_seconds}"
                f" local_delay_notification_seconds: {self.delay_notification_seconds} {extra} }}")

    def connectors(self):
        return f"""
connectors {{ name: "Internet" dn: "CN=Internet,CN=Connections,{RG}" local_bridgehead: true
  address_spaces {{ pattern: "*" cost: 10 }} smart_hosts: "[127.0.0.1]:{self.receiver.port}" }}"""

    def virtual_server_extra(self):
        return ""

    def metabase(self):
        lmtp = self.dovecot.port
        mailbox_servers = "".join(f"""
mailbox_servers {{ name: "{name}" dn: "CN={name},CN=Servers,{AG}" fqdn: "{name.lower()}.example.com"
  store_dns: "{store_dn(name)}" delivery_host: "127.0.0.1" delivery_port: {lmtp}
  delivery_protocol: DELIVERY_LMTP is_this_server: {"true" if name == "BH1" else "false"} }}""" for name in ("BH1", "MBX1"))
        return f"""
format_version: 1
provenance {{ serial: 1 }}
this_server {{ name: "BH1" dn: "CN=BH1,CN=Servers,{AG}" fqdn: "bh1.example.com" routing_group_dn: "{RG}" }}
organization {{ name: "Example" routing_group_dn: "{RG}" }}
domains {{ name: "example.com" authoritative: true primary: true }}
domains {{ name: "example.net" authoritative: true }}
domains {{ name: "shared.example.org" authoritative: false }}
{self.connectors()}
{mailbox_servers}
{directory_text(self.directory, 'config_base_dn: "CN=Configuration,DC=example,DC=com"')}
virtual_servers {{
  id: "1" name: "Default SMTP Virtual Server" fqdn: "vs1.example.com" state: STARTED
  bindings {{ ip: "127.0.0.1" port: {self.port} }}
  authentication {{ anonymous: true }}
  relay {{ relay_ip_list {{ address: "127.0.0.1" prefix_length: 32 }} }}
  limits {{ max_recipients_per_message: 100 max_hop_count: 15 connection_timeout: 30 }}
  {self.outbound()}
  {self.virtual_server_extra()}
}}
"""

    def send(self, sender, recipients, subject="pipeline test", rcpt_options=(), body="Hello from the pipeline.\r\n"):
        message = f"From: <{sender}>\r\nTo: <{recipients[0]}>\r\nSubject: {subject}\r\n\r\n{body}"
        with smtplib.SMTP("127.0.0.1", self.port, timeout=20) as smtp:
            smtp.ehlo("client.example.net")
            refused = smtp.sendmail(sender, recipients, message, rcpt_options=list(rcpt_options))
        self.assertEqual(refused, {})

    def new_mail(self, user, before, count=1, timeout=20):
        """The messages delivered to `user` since the snapshot `before` (Dovecot.names), once there are `count`."""
        return wait_until(lambda: len(self.dovecot.new_messages(user, before)) >= count
                          and self.dovecot.new_messages(user, before), timeout, f"{count} new message(s) for {user}")

    def spool_empty(self):
        return not self.gateway.queued_ids()


class DeliveryToMailboxServers(PipelineTestCase):
    def test_message_for_a_mailbox_user_lands_in_her_maildir_through_lmtp(self):
        before = self.dovecot.names("alice")
        self.send("someone@remote.example", ["alice@example.com"], subject="to alice")
        message = parse(self.new_mail("alice", before)[0])
        self.assertEqual(message["Subject"], "to alice")
        self.assertTrue(any("by vs1.example.com" in str(r) for r in message.get_all("Received")), message)
        wait_until(self.spool_empty, 10, "the delivered message to leave the spool")

    def test_secondary_proxy_address_is_delivered_to_the_primary_mailbox(self):
        before = self.dovecot.names("alice")
        self.send("someone@remote.example", ["a.anderson@example.com"], subject="secondary address")
        message = parse(self.new_mail("alice", before)[0])
        self.assertEqual(message["Subject"], "secondary address")

    def test_nested_group_reaches_every_member_once(self):
        # All Staff -> Engineering -> Platform: Carol is in Engineering and Platform.
        users = ["alice", "bob", "carol", "frank"]
        before = {u: self.dovecot.names(u) for u in users}
        self.send("someone@remote.example", ["allstaff@example.com"], subject="all staff")
        for user in users:
            self.new_mail(user, before[user])
        wait_until(self.spool_empty, 20, "the group message to be fully delivered")
        for user in users:
            self.assertEqual(len(self.dovecot.new_messages(user, before[user])), 1, user)
        # Pat Partner is a contact: her copy went to the Internet connector's smart host.
        self.assertEqual([r for _, rcpts, _ in self.receiver.delivered for r in rcpts], ["pat@partner.example"])

    def test_duplicate_recipient_through_two_routes_gets_one_copy(self):
        before = self.dovecot.names("carol")
        self.send("someone@remote.example", ["carol@example.com", "engineering@example.com", "c.clark@example.com"])
        self.new_mail("carol", before)
        wait_until(self.spool_empty, 20, "delivery to finish")
        self.assertEqual(len(self.dovecot.new_messages("carol", before)), 1)

    def test_notify_success_gets_a_success_report_to_the_sender(self):
        before_alice, before_bob = self.dovecot.names("alice"), self.dovecot.names("bob")
        self.send("bob@example.com", ["alice@example.com"], rcpt_options=["NOTIFY=SUCCESS"])
        self.new_mail("alice", before_alice)
        _, recipients = delivery_status(parse(self.new_mail("bob", before_bob)[0]))
        self.assertEqual(recipients[0]["final-recipient"], "rfc822; alice@example.com")
        self.assertIn(recipients[0]["action"], ("delivered", "relayed"))
        self.assertEqual(recipients[0]["status"][:2], "2.")

    def test_bridgehead_local_mailbox_is_delivered_from_the_local_delivery_queue(self):
        before = self.dovecot.names("bob")
        self.send("someone@remote.example", ["bob@example.com"], subject="local store")
        self.assertEqual(parse(self.new_mail("bob", before)[0])["Subject"], "local store")


class RemoteDeliveryAndRetries(PipelineTestCase):
    def make_receiver(self):
        return ScriptedReceiver(transient_transactions=2)

    def test_receiver_answering_4xx_twice_gets_the_message_on_the_third_try(self):
        self.send("alice@example.com", ["friend@remote.example"], subject="third time lucky")
        wait_until(lambda: self.receiver.delivered, 30, "delivery on the third attempt")
        self.assertEqual(self.receiver.transactions, 3)
        sender, rcpts, data = self.receiver.delivered[0]
        self.assertEqual((sender, rcpts), ("alice@example.com", ["friend@remote.example"]))
        self.assertIn(b"Subject: third time lucky", data)
        wait_until(self.spool_empty, 10, "the message to leave the spool")
        log = self.gateway.log_text()
        self.assertEqual(log.count("status=deferred"), 2, log[-3000:])


class PermanentFailureNdr(PipelineTestCase):
    def make_receiver(self):
        return ScriptedReceiver(reject_rcpt=["ghost@remote.example"])

    def virtual_server_extra(self):
        return 'messages { send_ndr_copy_to: "bob@example.com" }'

    def test_ndr_copy_goes_to_the_virtual_servers_copy_address_and_ret_hdrs_returns_headers_only(self):
        before_alice, before_bob = self.dovecot.names("alice"), self.dovecot.names("bob")
        message = "From: <alice@example.com>\r\nSubject: secret body\r\n\r\nthe body text\r\n"
        with smtplib.SMTP("127.0.0.1", self.port, timeout=20) as smtp:
            smtp.ehlo("client.example.net")
            smtp.sendmail("alice@example.com", ["ghost@remote.example"], message, mail_options=["RET=HDRS"])
        report = parse(self.new_mail("alice", before_alice)[0])
        copy = parse(self.new_mail("bob", before_bob)[0])
        self.assertEqual(delivery_status(copy)[1][0]["status"], "5.1.1")
        returned = [p for p in report.walk() if p.get_content_type() == "text/rfc822-headers"]
        self.assertEqual(len(returned), 1, report.as_string())
        self.assertIn("Subject: secret body", returned[0].get_content())
        self.assertNotIn(b"the body text", report.as_bytes())

    def test_5xx_from_the_remote_mta_comes_back_as_one_ndr_with_its_status_and_diagnostic(self):
        before = self.dovecot.names("alice")
        self.send("alice@example.com", ["ghost@remote.example", "friend@remote.example"], subject="half bounces")
        wait_until(lambda: self.receiver.delivered, 20, "the good recipient to be delivered")
        self.assertEqual(self.receiver.delivered[0][1], ["friend@remote.example"])
        report = parse(self.new_mail("alice", before)[0])
        self.assertEqual(report.get_content_type(), "multipart/report")
        self.assertEqual(report.get_param("report-type"), "delivery-status")
        per_message, recipients = delivery_status(report)
        self.assertEqual(per_message["reporting-mta"], "dns; vs1.example.com")
        self.assertEqual(len(recipients), 1)
        self.assertEqual(recipients[0]["final-recipient"], "rfc822; ghost@remote.example")
        self.assertEqual(recipients[0]["action"], "failed")
        self.assertEqual(recipients[0]["status"], "5.1.1")
        self.assertIn("550 5.1.1", recipients[0]["diagnostic-code"])
        self.assertEqual(recipients[0]["remote-mta"], "dns; 127.0.0.1")
        wait_until(self.spool_empty, 20, "original and report to leave the spool")

    def test_unknown_user_found_after_queuing_is_reported_with_5_1_6(self):
        # nohome@ is in the directory but has no home store: categorized as failed 5.1.6.
        before = self.dovecot.names("alice")
        self.send("alice@example.com", ["nohome@example.com"])
        report = parse(self.new_mail("alice", before)[0])
        _, recipients = delivery_status(report)
        self.assertEqual([r["status"] for r in recipients], ["5.1.6"])

    def test_null_sender_message_that_fails_goes_to_badmail_not_to_anyone(self):
        self.send("", ["ghost@remote.example"])
        wait_until(lambda: "badmail from=<>" in self.gateway.log_text(), 20, "badmail")
        ids = self.gateway.queued_ids()
        self.assertEqual(len(ids), 1)
        self.assertIn("queue: BADMAIL", self.gateway.envelope(ids[0]))


USERS = "CN=Users,DC=example,DC=com"


class GroupsThatReachNobody(PipelineTestCase):
    """Groups whose expansion delivers to nobody are reported to the sender,
    never "expanded into nothing": a group whose only member has no mail
    attributes, and a group whose member DN names no object."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.directory.add(f"""dn: CN=Printer Account,{USERS}
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
cn: Printer Account
sn: Account

dn: CN=Quiet List,{USERS}
objectClass: top
objectClass: group
cn: Quiet List
groupType: 8
mail: quiet-list@example.com
proxyAddresses: SMTP:quiet-list@example.com
member: CN=Printer Account,{USERS}

dn: CN=Ghost List,{USERS}
objectClass: top
objectClass: group
cn: Ghost List
groupType: 8
mail: ghost-list@example.com
proxyAddresses: SMTP:ghost-list@example.com
member: CN=Alice Anderson,{USERS}
""")
        # AD refuses a member value naming no object: the ghost exists only on OpenLDAP.
        if not cls.directory.is_ad:
            cls.directory.modify(f"dn: CN=Ghost List,{USERS}\nchangetype: modify\nadd: member\n"
                                 f"member: CN=Departed User,{USERS}\n")

    def test_group_whose_members_cannot_receive_mail_is_returned_with_5_2_4(self):
        before = self.dovecot.names("bob")
        self.send("bob@example.com", ["quiet-list@example.com"], subject="to the quiet list")
        _, recipients = delivery_status(parse(self.new_mail("bob", before)[0]))
        self.assertEqual([(r["final-recipient"], r["action"], r["status"]) for r in recipients],
                         [("rfc822; quiet-list@example.com", "failed", "5.2.4")])
        self.assertIn("Quiet List", recipients[0]["diagnostic-code"])
        wait_until(self.spool_empty, 20, "the message and its report to leave the spool")

    def test_member_that_does_not_exist_is_reported_and_the_others_get_the_message(self):
        if self.directory.is_ad:
            self.skipTest("OpenLDAP only: AD refuses member values that name no object")
        before_alice, before_bob = self.dovecot.names("alice"), self.dovecot.names("bob")
        self.send("bob@example.com", ["ghost-list@example.com"], subject="to the ghost list")
        self.new_mail("alice", before_alice)
        _, recipients = delivery_status(parse(self.new_mail("bob", before_bob)[0]))
        self.assertEqual(len(recipients), 1, recipients)
        self.assertEqual(recipients[0]["status"], "5.1.0")
        self.assertIn("Departed User", recipients[0]["final-recipient"])
        self.assertEqual(recipients[0]["original-recipient"], "rfc822; ghost-list@example.com")
        wait_until(self.spool_empty, 20, "the message and its report to leave the spool")


class ExpiryNdr(PipelineTestCase):
    expiration_seconds = 3

    def make_receiver(self):
        return ScriptedReceiver(always_transient=True)

    def test_message_still_deferred_at_expiry_is_returned_with_4_4_7(self):
        before = self.dovecot.names("alice")
        self.send("alice@example.com", ["friend@remote.example"], subject="never arrives")
        report = parse(self.new_mail("alice", before, timeout=30)[0])
        _, recipients = delivery_status(report)
        self.assertEqual(recipients[0]["status"], "4.4.7")
        self.assertEqual(recipients[0]["action"], "failed")
        self.assertIn("451 4.3.0", recipients[0]["diagnostic-code"])
        wait_until(self.spool_empty, 20, "the expired message to leave the spool")


class DelayDsn(PipelineTestCase):
    delay_notification_seconds = 2

    def make_receiver(self):
        return ScriptedReceiver(always_transient=True)

    def test_sender_asking_for_delay_notices_gets_one_delay_dsn_and_the_message_stays(self):
        before = self.dovecot.names("alice")
        self.send("alice@example.com", ["slow@remote.example"], rcpt_options=["NOTIFY=DELAY,FAILURE"])
        report = parse(self.new_mail("alice", before, timeout=30)[0])
        _, recipients = delivery_status(report)
        self.assertEqual(recipients[0]["action"], "delayed")
        self.assertTrue(recipients[0]["status"].startswith("4."), recipients[0])
        self.assertIn("will-retry-until", recipients[0])
        wait_until(lambda: self.receiver.transactions >= 5, 30, "further retries")
        self.assertEqual(len(self.dovecot.new_messages("alice", before)), 1)  # one delay DSN only
        self.assertEqual(len([i for i in self.gateway.queued_ids()]), 1)


class ConnectorFallback(PipelineTestCase):
    """Two connectors for partner.example: the cheaper one's smart host refuses
    connections, so it goes into retry and the other one carries the mail."""

    def connectors(self):
        self.dead_port = free_port()
        return f"""
connectors {{ name: "Cheap" dn: "CN=Cheap,CN=Connections,{RG}" local_bridgehead: true
  address_spaces {{ pattern: "partner.example" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.dead_port}" }}
connectors {{ name: "Backup" dn: "CN=Backup,CN=Connections,{RG}" local_bridgehead: true
  address_spaces {{ pattern: "partner.example" cost: 5 }} smart_hosts: "[127.0.0.1]:{self.receiver.port}" }}"""

    def test_connector_that_refuses_connections_yields_to_the_next_cheapest(self):
        self.send("alice@example.com", ["pat@partner.example"])
        wait_until(lambda: self.receiver.delivered, 20, "delivery over the backup connector")
        self.assertIn('connector-retry connector=Cheap', self.gateway.log_text())


class NoRoute(PipelineTestCase):
    def connectors(self):
        return f"""
connectors {{ name: "Partner" dn: "CN=Partner,CN=Connections,{RG}" local_bridgehead: true
  address_spaces {{ pattern: "partner.example" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.receiver.port}" }}"""

    def test_domain_without_a_connector_is_returned_with_5_4_4(self):
        before = self.dovecot.names("alice")
        self.send("alice@example.com", ["someone@nowhere.example"])
        _, recipients = delivery_status(parse(self.new_mail("alice", before)[0]))
        self.assertEqual(recipients[0]["status"], "5.4.4")


class DnsMxDelivery(PipelineTestCase):
    """The Internet connector uses DNS: dnsmasq serves two MX hosts for
    remote.example; the preferred one refuses connections."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ca, cls.cert, cls.key = make_pki(cls.work)
        cls.mx_port = free_port("127.0.0.3")
        cls.dns = Dnsmasq(["--local=/example/",
                           "--mx-host=remote.example,mx1.remote.example,10",
                           "--mx-host=remote.example,mx2.remote.example,20",
                           "--host-record=mx1.remote.example,127.0.0.2",
                           "--host-record=mx2.remote.example,127.0.0.3"])

    @classmethod
    def tearDownClass(cls):
        cls.dns.close()
        super().tearDownClass()

    def make_receiver(self):
        return ScriptedReceiver(host="127.0.0.3", port=self.mx_port)

    def connectors(self):
        return f"""
connectors {{ name: "Internet" dn: "CN=Internet,CN=Connections,{RG}" local_bridgehead: true
  address_spaces {{ pattern: "*" cost: 10 }} }}"""

    def outbound(self, extra=""):
        return super().outbound(f'port: {self.mx_port} external_dns_servers: "127.0.0.1:{self.dns.port}"')

    def metabase(self):
        self.submission_port = free_port()
        submission = f"""
virtual_servers {{
  id: "2" name: "Client Submission" fqdn: "vs1.example.com" state: STARTED
  bindings {{ ip: "127.0.0.1" port: {self.submission_port} }}
  authentication {{ basic: true require_tls: true }}
  relay {{ allow_authenticated_relay: true }}
  tls {{ certificate_file: "{self.cert}" key_file: "{self.key}" }}
  limits {{ max_recipients_per_message: 100 max_hop_count: 15 connection_timeout: 30 }}
  {self.outbound()}
}}"""
        return super().metabase() + submission

    def test_mail_goes_to_the_second_mx_when_the_first_refuses_connections(self):
        self.send("alice@example.com", ["friend@remote.example"], subject="via mx2")
        wait_until(lambda: self.receiver.delivered, 20, "delivery to mx2")
        self.assertIn(b"Subject: via mx2", self.receiver.delivered[0][2])

    def test_authenticated_submission_goes_out_through_dns_mx(self):
        # The submission server (TLS and authentication required) sends a POP/IMAP
        # user's message, authenticated against the directory, out by MX.
        with smtplib.SMTP("127.0.0.1", self.submission_port, timeout=20) as smtp:
            smtp.ehlo("laptop.example.com")
            smtp.starttls(context=ssl.create_default_context(cafile=self.ca))
            smtp.ehlo("laptop.example.com")
            smtp.login("alice@example.com", PASSWORD)
            smtp.sendmail("alice@example.com", ["friend@remote.example"],
                          "From: <alice@example.com>\r\nSubject: from my laptop\r\n\r\nhi\r\n")
        wait_until(lambda: self.receiver.delivered, 20, "delivery by MX")
        sender, rcpts, data = self.receiver.delivered[0]
        self.assertEqual((sender, rcpts), ("alice@example.com", ["friend@remote.example"]))
        self.assertIn(b"Subject: from my laptop", data)
        self.assertIn(b"alice@example.com", data.split(b"\r\n\r\n")[0])  # authenticated identity in Received

    def test_domain_without_mail_exchanger_is_returned_with_5_4_0(self):
        before = self.dovecot.names("alice")
        self.send("alice@example.com", ["someone@no-such-domain.example"])
        _, recipients = delivery_status(parse(self.new_mail("alice", before)[0]))
        self.assertEqual(recipients[0]["status"], "5.4.0")


class SmartHostCase(PipelineTestCase):
    """The Military connector's smart host is a second gatewayd with a
    certificate from a test CA that the first one trusts (--tls-ca-file)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ca, cls.cert, cls.key = make_pki(cls.work)

    def gateway_args(self):
        return ["--tls-ca-file", self.ca]

    def setUp(self):
        self.smart_host_port = free_port()
        self.smart_host = Gateway(self.smart_host_metabase())
        self.smart_host.start(wait=[("127.0.0.1", self.smart_host_port)])
        super().setUp()

    def smart_host_metabase(self):
        tls = f'tls {{ certificate_file: "{self.cert}" key_file: "{self.key}" }}'
        return gatewayd_fixture.metabase_text(
            [gatewayd_fixture.virtual_server("1", "127.0.0.1", self.smart_host_port, extra=tls)])

    def tearDown(self):
        super().tearDown()
        self.smart_host.stop()


class TlsRequiredSmartHost(SmartHostCase):
    """The Military connector (*.mil) requires TLS: the smart host's certificate
    and host name are verified."""

    def connectors(self):
        return f"""
connectors {{ name: "Military" dn: "CN=Military,CN=Connections,{RG}" local_bridgehead: true allow_relay: true
  address_spaces {{ pattern: "*.mil" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.smart_host_port}"
  security {{ require_tls: true }} }}"""

    def test_message_for_the_tls_connector_reaches_the_smart_host_over_verified_tls(self):
        self.send("alice@example.com", ["general@army.mil"], subject="classified")
        ids = wait_until(self.smart_host.queued_ids, 20, "the smart host to queue the message")
        envelope = self.smart_host.envelope(ids[0])
        self.assertIn('address: "general@army.mil"', envelope)
        self.assertRegex(envelope, r'tls: "TLSv1\.[23] ')
        wait_until(self.spool_empty, 10, "the relayed message to leave our spool")


class AuthenticatingSmartHostCase(SmartHostCase):
    """The Military connector authenticates (basic: msExchSmtpOutboundSecurity
    user name and password) through the Cyrus SASL client, over verified TLS,
    to a smart host that checks the password against the directory."""

    password = PASSWORD

    def smart_host_metabase(self):
        server = f"""
virtual_servers {{
  id: "1" name: "Smart host" fqdn: "smarthost.example.com" state: STARTED
  bindings {{ ip: "127.0.0.1" port: {self.smart_host_port} }}
  authentication {{ anonymous: true basic: true require_tls: true }}
  tls {{ certificate_file: "{self.cert}" key_file: "{self.key}" }}
  limits {{ max_recipients_per_message: 100 max_hop_count: 15 connection_timeout: 30 }}
}}"""
        return gatewayd_fixture.metabase_text([server], extra=directory_text(self.directory))

    def connectors(self):
        return f"""
connectors {{ name: "Military" dn: "CN=Military,CN=Connections,{RG}" local_bridgehead: true allow_relay: true
  address_spaces {{ pattern: "*.mil" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.smart_host_port}"
  security {{ require_tls: true auth: OUTBOUND_BASIC user_name: "alice@example.com" password: "{self.password}" }} }}"""


class AuthenticatedSmartHost(AuthenticatingSmartHostCase):
    def test_the_smart_host_accepts_the_connectors_account_and_takes_the_message(self):
        self.send("bob@example.com", ["general@army.mil"], subject="with credentials")
        self.smart_host.wait_for_log("AUTH PLAIN user=alice@example.com identity=alice@example.com accepted",
                                     timeout=20)
        self.smart_host.wait_for_log("received from=<bob@example.com>", timeout=20)
        wait_until(self.spool_empty, 10, "the relayed message to leave our spool")


class SmartHostRefusingTheCredentials(AuthenticatingSmartHostCase):
    password = "not-the-password"

    def test_refused_credentials_keep_the_message_waiting_with_4_7_8(self):
        self.send("bob@example.com", ["general@army.mil"])
        wait_until(lambda: self.gateway.queued_ids() and "4.7.8" in self.gateway.envelope(self.gateway.queued_ids()[0]),
                   20, "the refused AUTH to be recorded")
        self.assertNotIn("received from=<bob@example.com>", self.smart_host.log_text())


class TlsRequiredWithoutStarttls(PipelineTestCase):
    """The same TLS-required connector whose smart host offers no STARTTLS: the
    message waits (4.7.4), it is never sent in plaintext. With its only
    connector in retry the destination is unreachable for now."""

    def connectors(self):
        return f"""
connectors {{ name: "Military" dn: "CN=Military,CN=Connections,{RG}" local_bridgehead: true allow_relay: true
  address_spaces {{ pattern: "*.mil" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.receiver.port}"
  security {{ require_tls: true }} }}"""

    def test_peer_without_starttls_gets_nothing_and_the_message_waits_with_4_7_4(self):
        self.send("alice@example.com", ["general@army.mil"])
        wait_until(lambda: self.gateway.queued_ids() and 'status: "4.7.4"' in self.gateway.envelope(
            self.gateway.queued_ids()[0]), 20, "the recipient to wait with 4.7.4")
        envelope = self.gateway.envelope(self.gateway.queued_ids()[0])
        self.assertIn("state: RETRY", envelope)
        self.assertIn("queue: FINAL_DESTINATION_UNREACHABLE", envelope)
        self.assertIn('next_hop: "army.mil"', envelope)
        self.assertEqual(self.receiver.transactions, 0)
        self.assertEqual(self.receiver.delivered, [])


def windows(open_all):
    """A Schedule.windows value in protobuf text: 672 quarter-hour bits, all set or all clear."""
    return ("\\377" if open_all else "\\000") * 84


class ConnectorSchedule(PipelineTestCase):
    """A connector that may send only inside its activation windows holds the
    mail; when the metabase opens the window, the held mail goes at once."""

    window_open = False

    def connectors(self):
        return f"""
connectors {{ name: "Nightly" dn: "CN=Nightly,CN=Connections,{RG}" local_bridgehead: true
  address_spaces {{ pattern: "partner.example" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.receiver.port}"
  schedule {{ style: SELECTED_TIMES windows: "{windows(self.window_open)}" }} }}"""

    def test_mail_waits_outside_the_window_and_goes_when_it_opens(self):
        self.send("alice@example.com", ["pat@partner.example"])
        wait_until(lambda: self.gateway.queued_ids() and "queue: REMOTE_DELIVERY" in self.gateway.envelope(
            self.gateway.queued_ids()[0]), 20, "the message to wait for the connector")
        time.sleep(2)
        self.assertEqual(self.receiver.transactions, 0)
        self.window_open = True
        self.gateway.rewrite(self.metabase().replace("serial: 1", "serial: 2"))
        wait_until(lambda: self.receiver.delivered, 20, "delivery once the window is open")
        wait_until(self.spool_empty, 10, "the message to leave the spool")


class RemoteTriggeredDelivery(PipelineTestCase):
    """A connector that queues mail for remote triggered delivery: held until an
    authorized host sends ETRN for the domain."""

    def connectors(self):
        return f"""
connectors {{ name: "Branch" dn: "CN=Branch,CN=Connections,{RG}" local_bridgehead: true allow_relay: true
  address_spaces {{ pattern: "branch.example" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.receiver.port}"
  queue_for_remote_triggered_delivery: true etrn_enabled: true etrn_domains: "branch.example" }}"""

    def virtual_server_extra(self):
        return "enable_etrn: true etrn_hosts { address: \"127.0.0.1\" prefix_length: 32 }"

    def etrn(self, node, source="127.0.0.1"):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10, source_address=(source, 0)) as sock:
            f = sock.makefile("rb")

            def reply():
                while True:
                    line = f.readline().decode()
                    if line[3:4] != "-":
                        return line.strip()
            reply()
            sock.sendall(b"EHLO branch-office.example\r\n")
            reply()
            sock.sendall(f"ETRN {node}\r\n".encode())
            answer = reply()
            sock.sendall(b"QUIT\r\n")
            return answer

    def test_mail_is_held_until_etrn_and_then_delivered(self):
        self.send("alice@example.com", ["office@branch.example"], subject="held for the branch")
        wait_until(lambda: self.gateway.queued_ids() and "queue: REMOTE_DELIVERY" in self.gateway.envelope(
            self.gateway.queued_ids()[0]), 20, "the message to be held")
        time.sleep(1)
        self.assertEqual(self.receiver.transactions, 0)
        self.assertEqual(self.etrn("branch.example"), "253 2.0.0 OK, 1 pending messages for node branch.example started")
        wait_until(lambda: self.receiver.delivered, 20, "delivery after ETRN")
        self.assertIn(b"Subject: held for the branch", self.receiver.delivered[0][2])
        wait_until(self.spool_empty, 10, "the message to leave the spool")

    def test_etrn_from_a_host_not_in_the_list_is_refused_and_releases_nothing(self):
        self.send("alice@example.com", ["office@branch.example"])
        wait_until(lambda: self.gateway.queued_ids() and "queue: REMOTE_DELIVERY" in self.gateway.envelope(
            self.gateway.queued_ids()[0]), 20, "the message to be held")
        answer = self.etrn("branch.example", source="127.0.0.2")
        self.assertTrue(answer.startswith("459 4.7.1 "), answer)
        time.sleep(1)
        self.assertEqual(self.receiver.transactions, 0)


def splice(tls_sock, address, timeout=30):
    """Copies octets both ways between the reversed ODMR connection and the
    branch's own SMTP server until either side closes, as fetchmail does."""
    with socket.create_connection(address, timeout=timeout) as local:
        while True:
            if tls_sock.pending():
                readable = [tls_sock]
            else:
                readable, _, _ = select.select([tls_sock, local], [], [], timeout)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (local if sock is tls_sock else tls_sock).sendall(data)


class AtrnRoleReversal(PipelineTestCase):
    """On-demand mail relay (RFC 2645): the Branch connector holds mail for
    branch.example until an authorized account sends ATRN; then the gateway
    becomes the SMTP client on that same connection and delivers the held mail
    to whatever answers on the other end -- here the branch's own SMTP server,
    spliced in by the ODMR client as fetchmail does. Alice is authorized on
    Branch; nobody here is on Other."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ca, cls.cert, cls.key = make_pki(cls.work)

    def setUp(self):
        super().setUp()
        self.branch_mta = ScriptedReceiver(name="mail.branch.example", reject_rcpt=["nobody@branch.example"])

    def tearDown(self):
        self.branch_mta.close()
        super().tearDown()

    def connectors(self):
        return f"""
connectors {{ name: "Branch" dn: "CN=Branch,CN=Connections,{RG}" local_bridgehead: true allow_relay: true
  address_spaces {{ pattern: "branch.example" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.receiver.port}"
  queue_for_remote_triggered_delivery: true authorized_trn_accounts: "alice@example.com" }}
connectors {{ name: "Other" dn: "CN=Other,CN=Connections,{RG}" local_bridgehead: true allow_relay: true
  address_spaces {{ pattern: "other.example" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.receiver.port}"
  queue_for_remote_triggered_delivery: true authorized_trn_accounts: "frank@example.com" }}"""

    def metabase(self):
        self.odmr_port = free_port()
        odmr = f"""
virtual_servers {{
  id: "2" name: "On-Demand Mail Relay" fqdn: "vs1.example.com" state: STARTED
  bindings {{ ip: "127.0.0.1" port: {self.odmr_port} }}
  authentication {{ basic: true require_tls: true }}
  tls {{ certificate_file: "{self.cert}" key_file: "{self.key}" }}
  limits {{ max_recipients_per_message: 100 max_hop_count: 15 connection_timeout: 30 }}
  {self.outbound()}
}}"""
        return super().metabase() + odmr

    def held(self, count=1):
        def all_held():
            ids = self.gateway.queued_ids()
            return len(ids) == count and all("queue: REMOTE_DELIVERY" in self.gateway.envelope(i) for i in ids) and ids
        ids = wait_until(all_held, 20, f"{count} message(s) to be held for remote-triggered delivery")
        # The delivery pass stores the envelope before it lets go of the message, and ATRN
        # takes only messages no pass holds; the pass ends by scheduling the next attempt.
        for queue_id in ids:
            self.gateway.wait_for_log(f"queue={queue_id} next attempt in", timeout=20)
        return ids

    def atrn_connection(self, user, domains=""):
        """An ODMR client up to its ATRN: TLS, AUTH, ATRN. Returns the SMTP
        object and the ATRN reply."""
        smtp = smtplib.SMTP("127.0.0.1", self.odmr_port, timeout=20)
        smtp.ehlo("gw.branch.example")
        smtp.starttls(context=ssl.create_default_context(cafile=self.ca))
        code, lines = smtp.ehlo("gw.branch.example")
        self.assertIn(b"\nATRN", b"\n" + lines)
        smtp.login(user, PASSWORD)
        code, text = smtp.docmd("ATRN", domains)
        return smtp, (code, text.decode())

    def atrn(self, user, domains="", drop_after_250=False):
        """An ODMR client: on 250 it hands the connection to the branch's SMTP
        server (or drops it). Returns the ATRN reply."""
        smtp, reply = self.atrn_connection(user, domains)
        try:
            if reply[0] == 250 and not drop_after_250:
                splice(smtp.sock, ("127.0.0.1", self.branch_mta.port))
        finally:
            smtp.close()
        return reply

    def test_held_mail_is_delivered_over_the_clients_own_connection(self):
        self.send("alice@example.com", ["office@branch.example"], subject="for the branch")
        self.held()
        self.assertEqual(self.atrn("alice@example.com", "branch.example"),
                         (250, "2.0.0 OK, now reversing the connection"))
        sender, rcpts, data = self.branch_mta.delivered[0]
        self.assertEqual((sender, rcpts), ("alice@example.com", ["office@branch.example"]))
        self.assertIn(b"Subject: for the branch", data)
        wait_until(self.spool_empty, 10, "the delivered message to leave the spool")
        self.assertEqual(self.receiver.transactions, 0)  # never sent to the connector's smart host

    def test_atrn_takes_only_the_mail_of_the_accounts_connectors(self):
        self.send("alice@example.com", ["office@branch.example"], subject="branch")
        self.send("alice@example.com", ["desk@other.example"], subject="other")
        self.held(2)
        self.assertEqual(self.atrn("alice@example.com")[0], 250)
        self.assertEqual([rcpts for _, rcpts, _ in self.branch_mta.delivered], [["office@branch.example"]])
        remaining = wait_until(lambda: len(self.gateway.queued_ids()) == 1 and self.gateway.queued_ids(), 10,
                               "only the branch message to leave")
        self.assertIn("desk@other.example", self.gateway.envelope(remaining[0]))

    def test_atrn_without_authentication_is_530_and_nothing_leaves(self):
        self.send("alice@example.com", ["office@branch.example"])
        self.held()
        with smtplib.SMTP("127.0.0.1", self.odmr_port, timeout=20) as smtp:
            smtp.ehlo("gw.branch.example")
            smtp.starttls(context=ssl.create_default_context(cafile=self.ca))
            smtp.ehlo("gw.branch.example")
            self.assertEqual(smtp.docmd("ATRN", "branch.example"), (530, b"5.7.0 Authentication required"))
        self.assertEqual(self.branch_mta.connections, 0)
        self.held()

    def test_a_greeting_sent_along_with_atrn_is_not_lost(self):
        # An eager client writes its 220 right behind ATRN, before it has read
        # the 250; those octets are the start of the reversed session.
        self.send("alice@example.com", ["office@branch.example"], subject="eager branch")
        self.held()
        smtp = smtplib.SMTP("127.0.0.1", self.odmr_port, timeout=20)
        try:
            smtp.ehlo("gw.branch.example")
            smtp.starttls(context=ssl.create_default_context(cafile=self.ca))
            smtp.ehlo("gw.branch.example")
            smtp.login("alice@example.com", PASSWORD)
            smtp.send(b"ATRN branch.example\r\n220 gw.branch.example ESMTP ready\r\n")
            self.assertEqual(smtp.getreply(), (250, b"2.0.0 OK, now reversing the connection"))
            lines = smtp.file  # the gateway now sends commands; we answer them
            seen, data = [], []
            while True:
                command = lines.readline().decode().rstrip("\r\n")
                seen.append(command.split(" ")[0].split(":")[0].upper())
                if command.upper().startswith("EHLO"):
                    smtp.send(b"250 gw.branch.example\r\n")
                elif command.upper().startswith(("MAIL", "RCPT")):
                    smtp.send(b"250 2.0.0 Ok\r\n")
                elif command.upper() == "DATA":
                    smtp.send(b"354 go ahead\r\n")
                    while (line := lines.readline()) != b".\r\n":
                        data.append(line)
                    smtp.send(b"250 2.0.0 Ok: queued\r\n")
                elif command.upper() == "QUIT":
                    smtp.send(b"221 2.0.0 Bye\r\n")
                    break
                else:
                    self.fail(f"unexpected command {command!r}")
        finally:
            smtp.close()
        self.assertEqual(seen, ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"])
        self.assertIn(b"Subject: eager branch\r\n", data)
        wait_until(self.spool_empty, 10, "the message to leave the spool")

    def test_mail_out_on_one_atrn_connection_is_not_given_to_a_second(self):
        self.send("alice@example.com", ["office@branch.example"], subject="only once")
        self.held()
        first, reply = self.atrn_connection("alice@example.com")
        try:
            self.assertEqual(reply[0], 250)
            self.assertEqual(self.atrn("alice@example.com"), (453, "4.3.0 You have no mail"))
            splice(first.sock, ("127.0.0.1", self.branch_mta.port))
        finally:
            first.close()
        self.assertEqual(len(self.branch_mta.delivered), 1)
        wait_until(self.spool_empty, 10, "the message to leave the spool")

    def test_nothing_held_is_453_you_have_no_mail(self):
        self.assertEqual(self.atrn("alice@example.com", "branch.example"), (453, "4.3.0 You have no mail"))

    def test_an_account_not_authorized_on_the_connector_is_450_and_nothing_leaves(self):
        self.send("alice@example.com", ["office@branch.example"])
        self.held()
        self.assertEqual(self.atrn("bob@example.com", "branch.example"), (450, "4.7.0 ATRN request refused"))
        self.assertEqual(self.branch_mta.transactions, 0)
        self.held()

    def test_a_recipient_the_branch_refuses_comes_back_in_an_ndr(self):
        before = self.dovecot.names("alice")
        self.send("alice@example.com", ["office@branch.example", "nobody@branch.example"])
        self.held()
        self.assertEqual(self.atrn("alice@example.com")[0], 250)
        self.assertEqual([rcpts for _, rcpts, _ in self.branch_mta.delivered], [["office@branch.example"]])
        _, recipients = delivery_status(parse(self.new_mail("alice", before)[0]))
        self.assertEqual([(r["final-recipient"], r["status"]) for r in recipients],
                         [("rfc822; nobody@branch.example", "5.1.1")])
        self.assertIn("550 5.1.1", recipients[0]["diagnostic-code"])
        self.assertEqual(recipients[0]["remote-mta"], "dns; gw.branch.example")  # the ATRN client, by its EHLO name
        wait_until(self.spool_empty, 10, "the message to leave the spool")

    def test_a_client_that_drops_after_250_leaves_the_mail_held_for_the_next_atrn(self):
        self.send("alice@example.com", ["office@branch.example"], subject="second chance")
        self.held()
        self.assertEqual(self.atrn("alice@example.com", drop_after_250=True)[0], 250)
        # The loan is given back right after the reversed session ends.
        self.gateway.wait_for_log("ATRN: 0 of 1 message(s) sent over the reversed connection")
        self.held()
        self.assertEqual(self.atrn("alice@example.com")[0], 250)
        self.assertIn(b"Subject: second chance", self.branch_mta.delivered[0][2])
        wait_until(self.spool_empty, 10, "the message to leave the spool")


class HeldMailDelayAndExpiry(PipelineTestCase):
    """Mail held for a branch that never sends ETRN or ATRN is still reported on:
    a delay notice after the notification time, a 4.4.7 failure at expiry."""

    delay_notification_seconds = 2
    expiration_seconds = 5

    def connectors(self):
        return f"""
connectors {{ name: "Branch" dn: "CN=Branch,CN=Connections,{RG}" local_bridgehead: true allow_relay: true
  address_spaces {{ pattern: "branch.example" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.receiver.port}"
  queue_for_remote_triggered_delivery: true }}"""

    def test_held_mail_gets_a_delay_notice_and_then_expires_with_4_4_7(self):
        before = self.dovecot.names("alice")
        self.send("alice@example.com", ["office@branch.example"], rcpt_options=["NOTIFY=DELAY,FAILURE"])
        delay, failure = (parse(m) for m in self.new_mail("alice", before, count=2, timeout=30))
        _, delayed = delivery_status(delay)
        self.assertEqual((delayed[0]["action"], delayed[0]["final-recipient"]), ("delayed", "rfc822; office@branch.example"))
        _, failed = delivery_status(failure)
        self.assertEqual((failed[0]["action"], failed[0]["status"]), ("failed", "4.4.7"))
        wait_until(self.spool_empty, 10, "the expired message to leave the spool")
        self.assertEqual(self.receiver.transactions, 0)


class ConnectorDeliveryRestrictions(PipelineTestCase):
    """A connector that accepts mail only from members of Engineering: the
    router applies it from the sender's groups the categorizer found."""

    def connectors(self):
        return f"""
connectors {{ name: "Partner" dn: "CN=Partner,CN=Connections,{RG}" local_bridgehead: true
  address_spaces {{ pattern: "partner.example" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.receiver.port}"
  delivery_restrictions {{ accept_from_group_dns: "CN=Engineering,CN=Users,DC=example,DC=com" }} }}"""

    def test_member_of_the_accepted_group_may_send_over_the_connector(self):
        self.send("carol@example.com", ["pat@partner.example"])
        wait_until(lambda: self.receiver.delivered, 20, "delivery for an Engineering member")

    def test_sender_outside_the_accepted_group_gets_5_7_1(self):
        before = self.dovecot.names("alice")
        self.send("alice@example.com", ["pat@partner.example"])
        _, recipients = delivery_status(parse(self.new_mail("alice", before)[0]))
        self.assertEqual(recipients[0]["status"], "5.7.1")
        self.assertEqual(self.receiver.transactions, 0)


class VirtualServerSmartHost(PipelineTestCase):
    """The Internet connector uses DNS, but the virtual server names a smart
    host (msExchSmtpSmartHost): everything for DNS goes there, no MX lookup."""

    def connectors(self):
        return f"""
connectors {{ name: "Internet" dn: "CN=Internet,CN=Connections,{RG}" local_bridgehead: true
  address_spaces {{ pattern: "*" cost: 10 }} }}"""

    def outbound(self, extra=""):
        dead_dns = free_port()
        return super().outbound(f'smart_hosts: "[127.0.0.1]:{self.receiver.port}" smart_host_type: ALWAYS_SMART_HOST'
                                f' external_dns_servers: "127.0.0.1:{dead_dns}"')

    def test_dns_hop_goes_to_the_virtual_servers_smart_host(self):
        self.send("alice@example.com", ["friend@remote.example"])
        wait_until(lambda: self.receiver.delivered, 20, "delivery to the smart host")
        self.assertEqual(self.receiver.delivered[0][1], ["friend@remote.example"])


class DirectDeliveryBeforeSmartHost(PipelineTestCase):
    """"Attempt direct delivery before sending to smart host": the only MX
    refuses connections, so the virtual server's smart host takes the mail."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mx_port = free_port("127.0.0.2")
        cls.dns = Dnsmasq(["--local=/example/", "--mx-host=remote.example,mx1.remote.example,10",
                           "--host-record=mx1.remote.example,127.0.0.2"])

    @classmethod
    def tearDownClass(cls):
        cls.dns.close()
        super().tearDownClass()

    def connectors(self):
        return f"""
connectors {{ name: "Internet" dn: "CN=Internet,CN=Connections,{RG}" local_bridgehead: true
  address_spaces {{ pattern: "*" cost: 10 }} }}"""

    def outbound(self, extra=""):
        return super().outbound(f'port: {self.mx_port} external_dns_servers: "127.0.0.1:{self.dns.port}"'
                                f' smart_hosts: "[127.0.0.1]:{self.receiver.port}" smart_host_type: DNS_FIRST')

    def test_smart_host_takes_the_mail_when_direct_delivery_fails(self):
        self.send("alice@example.com", ["friend@remote.example"])
        wait_until(lambda: self.receiver.delivered, 20, "delivery through the smart host")
        log = self.gateway.log_text()
        self.assertIn("127.0.0.2", log)  # the MX was tried first


class ConnectorPriorityRestriction(PipelineTestCase):
    """A connector that carries only high-priority mail (content restrictions):
    the priority comes from the message's Importance / Priority / X-Priority."""

    def connectors(self):
        return f"""
connectors {{ name: "Urgent" dn: "CN=Urgent,CN=Connections,{RG}" local_bridgehead: true
  address_spaces {{ pattern: "partner.example" cost: 1 }} smart_hosts: "[127.0.0.1]:{self.receiver.port}"
  content_restrictions {{ allow_high_priority: true allow_system_messages: true allow_non_system_messages: true }} }}"""

    def send_with(self, header):
        message = f"From: <alice@example.com>\r\n{header}Subject: priority\r\n\r\nbody\r\n"
        with smtplib.SMTP("127.0.0.1", self.port, timeout=20) as smtp:
            smtp.ehlo("client.example.net")
            smtp.sendmail("alice@example.com", ["pat@partner.example"], message)

    def test_high_importance_message_goes_over_the_connector(self):
        self.send_with("Importance: High\r\n")
        wait_until(lambda: self.receiver.delivered, 20, "delivery of the urgent message")

    def test_x_priority_1_counts_as_high(self):
        self.send_with("X-Priority: 1 (Highest)\r\n")
        wait_until(lambda: self.receiver.delivered, 20, "delivery of the urgent message")

    def test_normal_priority_message_is_refused_with_5_7_1(self):
        before = self.dovecot.names("alice")
        self.send_with("")
        _, recipients = delivery_status(parse(self.new_mail("alice", before)[0]))
        self.assertEqual(recipients[0]["status"], "5.7.1")
        self.assertEqual(self.receiver.transactions, 0)


if __name__ == "__main__":
    unittest.main()
