"""RCPT-time directory checks and post-queue categorization against the sample organization."""

import unittest

from directory_gateway import DirectoryGateway


class DirectoryLookupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = DirectoryGateway()

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def test_unknown_user_in_authoritative_domain_is_refused_550_5_1_1(self):
        code, text = self.env.rcpt("nobody@example.com")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith("5.1.1"), text)

    def test_known_user_by_primary_address_is_accepted(self):
        self.assertEqual(self.env.rcpt("alice@example.com")[0], 250)

    def test_known_user_by_secondary_proxy_address_in_other_case_is_accepted(self):
        self.assertEqual(self.env.rcpt("A.Anderson@EXAMPLE.com")[0], 250)

    def test_unknown_user_in_non_authoritative_domain_is_accepted(self):
        self.assertEqual(self.env.rcpt("stranger@shared.example.org")[0], 250)

    def test_restricted_group_refuses_unauthorized_known_sender_550_5_7_1(self):
        code, text = self.env.rcpt("executives@example.com", sender="bob@example.com")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith("5.7.1"), text)

    def test_queued_message_is_categorized_and_handed_to_delivery(self):
        queue_id = self.env.send(["alice@example.com", "platform@example.com"])
        envelope = self.env.wait_for_categorized(queue_id)
        self.assertIn('home_server_fqdn: "mbx1.example.com"', envelope)
        self.assertIn("kind: MAILBOX", envelope)
        # The group is expanded into its members.
        self.assertIn("kind: GROUP", envelope)
        self.assertIn('address: "carol@example.com"', envelope)
        self.assertIn('address: "frank@example.com"', envelope)
        self.assertNotIn("state: FAILED", envelope)
        self.assertNotIn("state: PENDING", envelope)


if __name__ == "__main__":
    unittest.main()
