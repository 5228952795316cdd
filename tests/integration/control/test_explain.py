"""gatewayctl explain against a real gatewayd and slapd with the sample
organization: a known mailbox user, an unknown address in an authoritative
domain, nested groups and a membership loop, a delivery restriction checked
against the sender, a remote domain, and a directory outage. Environment (set
by CMake): GATEWAYD, GATEWAYCTL, METABASE_SYNC, PROTO_DIR."""

import json
import os
import subprocess
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures"))
sys.path.insert(0, str(HERE.parent / "gateway"))
sys.path.insert(0, str(HERE.parent / "directory"))

from directory_gateway import DirectoryGateway  # noqa: E402
from gatewayd_fixture import wait_until  # noqa: E402

GATEWAYCTL = os.environ.get("GATEWAYCTL", "gatewayctl")


class Explain(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = DirectoryGateway()
        cls.socket = os.path.join(cls.env.gateway.spool, "control.sock")
        try:
            wait_until(lambda: os.path.exists(cls.socket), 10, "the control socket")
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is not None and any(t is self for t, _ in result.failures + result.errors):
            print("---- gatewayd log ----\n" + self.env.gateway.log_text()[-6000:])

    def explain(self, *args, text=False):
        argv = [GATEWAYCTL, "--socket", self.socket, "explain", *args] + ([] if text else ["--json"])
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout if text else json.loads(result.stdout)

    def test_a_mailbox_user_is_found_routed_and_accepted(self):
        answer = self.explain("bob@example.com")
        self.assertEqual(answer["explain"]["rcpt_reply"], "250 2.1.5 Recipient OK")
        self.assertEqual(answer["explain"]["domain_class"], "authoritative")
        searches = answer["searches"]
        self.assertTrue(any("bob@example.com" in s["filter"] and s["entries"] == 1 and s["result"] == "ok"
                            for s in searches), searches)
        # Every search names its base; only the root DSE read (the directory kind) has the empty one.
        self.assertTrue(all(s["base"] or s["scope"] == "base" for s in searches), searches)
        [found] = answer["objects"]
        self.assertEqual(found["dn"].lower(), "cn=bob brown,cn=users,dc=example,dc=com")
        self.assertTrue(found["matched"] == "mail" or found["matched"].startswith("proxyAddresses"), found)
        [bob] = answer["recipients"]
        self.assertEqual((bob["resolution"], bob["depth"]), ("mailbox", 0))
        self.assertTrue(bob["target"].startswith("home server "), bob)
        [route] = answer["routes"]
        self.assertEqual(route["kind"], "mailbox server")
        self.assertIn("cache", answer)

    def test_the_text_form_reads_like_the_answer(self):
        text = self.explain("bob@example.com", text=True)
        self.assertIn("RCPT TO reply:  250 2.1.5 Recipient OK", text)
        self.assertIn("Directory searches:\n  1. base=", text)
        self.assertIn("Recipients:\n  bob@example.com: mailbox", text)
        self.assertIn("route: mailbox server", text)

    def test_an_unknown_address_in_an_authoritative_domain_gets_550_5_1_1(self):
        answer = self.explain("nobody@example.com")
        self.assertTrue(answer["explain"]["rcpt_reply"].startswith("550 5.1.1"), answer["explain"])
        self.assertTrue(answer["searches"])
        self.assertTrue(all(s["entries"] == 0 for s in answer["searches"] if "nobody@example.com" in s["filter"]))
        self.assertEqual(answer["objects"], [])
        [nobody] = answer["recipients"]
        self.assertEqual((nobody["state"], nobody["status"]), ("failed", "5.1.1"))

    def test_nested_groups_show_their_expansion_tree(self):
        answer = self.explain("engineering@example.com")
        self.assertEqual(answer["explain"]["rcpt_reply"], "250 2.1.5 Recipient OK")
        tree = {(r["address"], r["depth"]) for r in answer["recipients"]}
        self.assertIn(("engineering@example.com", 0), tree)
        self.assertEqual(answer["recipients"][0]["resolution"], "group (expanded)")
        # Members of nested groups are listed under the group the message was sent to
        # (the envelope names the group a member came from), each once.
        self.assertIn(("bob@example.com", 1), tree)
        self.assertIn(("carol@example.com", 1), tree)
        self.assertIn(("frank@example.com", 1), tree)  # through Platform
        self.assertEqual([r["address"] for r in answer["recipients"]].count("carol@example.com"), 1)
        # The expansion read Platform from the directory too.
        self.assertTrue(any("platform" in (s["filter"] + s["base"]).lower() for s in answer["searches"]),
                        answer["searches"])
        # Every member that will be delivered has its route.
        routed = {r["address"] for r in answer["routes"]}
        self.assertIn("frank@example.com", routed)

    def test_a_membership_loop_is_cut_and_its_members_still_delivered(self):
        answer = self.explain("loop-a@example.com")
        addresses = [r["address"] for r in answer["recipients"]]
        self.assertIn("alice@example.com", addresses)
        self.assertEqual(addresses.count("loop-a@example.com"), 1, addresses)

    def test_a_delivery_restriction_is_checked_against_the_sender(self):
        # Executives: only Alice and Engineering's members, and only when authenticated.
        allowed = self.explain("executives@example.com", "--from", "alice@example.com", "--authenticated")
        self.assertEqual(allowed["explain"]["rcpt_reply"], "250 2.1.5 Recipient OK")
        self.assertEqual(allowed["sender"]["dn"].lower(), "cn=alice anderson,cn=users,dc=example,dc=com")
        unauthenticated = self.explain("executives@example.com", "--from", "alice@example.com")
        self.assertTrue(unauthenticated["explain"]["rcpt_reply"].startswith("550 5.7.1"), unauthenticated["explain"])
        not_listed = self.explain("executives@example.com", "--from", "henry@example.com", "--authenticated")
        self.assertTrue(not_listed["explain"]["rcpt_reply"].startswith("550 5.7.1"), not_listed["explain"])

    def test_a_remote_domain_is_refused_for_relaying(self):
        answer = self.explain("someone@elsewhere.example")
        self.assertEqual(answer["explain"]["rcpt_reply"], "550 5.7.1 Unable to relay")
        self.assertEqual(answer["explain"]["domain_class"], "remote")
        self.assertIn("anonymous client", answer["explain"]["rcpt_assumption"])

    def test_a_bad_address_is_refused_by_the_gateway_with_one_message(self):
        result = subprocess.run([GATEWAYCTL, "--socket", self.socket, "explain", "not an address"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 3)
        self.assertEqual(result.stderr.count("gatewayctl:"), 1, result.stderr)

    def test_zz_during_a_directory_outage_the_reply_is_451_4_4_3(self):
        # Last (zz): it stops the directory for the rest of the class.
        self.env.directory.kill()
        answer = self.explain("henry@example.com")
        self.assertTrue(answer["explain"]["rcpt_reply"].startswith("451 4.4.3"), answer["explain"])
        self.assertTrue(any(s["result"] != "ok" for s in answer["searches"]), answer["searches"])
        self.assertIn("awaiting directory lookup", answer["recipients"][0]["resolution"])


if __name__ == "__main__":
    unittest.main()
