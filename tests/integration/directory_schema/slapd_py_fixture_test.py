"""The Python slapd fixture keeps the same contract as the C++ one."""

import subprocess
import unittest

from slapd import Slapd, SlapdError, process_alive


def probe(slapd):
    return subprocess.run(["timeout", "2", "ldapsearch", "-x", "-LLL", "-H", slapd.uri, "-D", slapd.service_dn,
                           "-w", slapd.service_password, "-b", "", "-s", "base", "namingContexts"],
                          capture_output=True, text=True, check=False).returncode


class SlapdFixtureTest(unittest.TestCase):
    def test_sample_organization_resolves_proxy_address_case_insensitively(self):
        with Slapd() as slapd:
            found = slapd.search(slapd.base_dn, "(proxyAddresses=smtp:ERIN@example.NET)", ["mail"])
            self.assertIn("mail: erin@example.com", found)

    def test_pause_and_resume(self):
        with Slapd(empty=True) as slapd:
            slapd.pause()
            self.assertEqual(probe(slapd), 124)
            slapd.resume()
            self.assertEqual(probe(slapd), 0)

    def test_kill_then_restart_keeps_port_and_data(self):
        with Slapd(empty=True) as slapd:
            port = slapd.port
            slapd.add("dn: CN=Survivor,CN=Users,DC=example,DC=com\nobjectClass: top\n"
                      "objectClass: container\ncn: Survivor\n")
            old_pid = slapd.pid
            slapd.kill()
            self.assertFalse(process_alive(old_pid))
            slapd.restart()
            self.assertEqual(slapd.port, port)
            self.assertIn("dn: cn=Survivor", slapd.search(slapd.base_dn, "(cn=Survivor)", ["1.1"]))

    def test_failed_modify_raises_with_server_message(self):
        with Slapd(empty=True) as slapd:
            with self.assertRaisesRegex(SlapdError, "No such object"):
                slapd.modify("dn: CN=Missing,DC=example,DC=com\nchangetype: modify\n"
                             "replace: description\ndescription: x\n")

    def test_close_stops_server_and_removes_directory(self):
        slapd = Slapd(empty=True)
        pid, directory = slapd.pid, slapd.directory
        slapd.close()
        self.assertFalse(process_alive(pid))
        self.assertFalse(directory.exists())


if __name__ == "__main__":
    unittest.main()
