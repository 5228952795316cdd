"""The Python Directory fixture keeps the same contract as the C++ one, on the
directory under test (GW_TEST_DIRECTORY)."""

import re
import subprocess
import unittest

from directory_fixture import Directory, DirectoryError, process_alive


def probe(directory):
    return subprocess.run(["timeout", "2", "ldapsearch", "-x", "-LLL", "-H", directory.uri, "-D",
                           directory.service_dn, "-w", directory.service_password, "-b", "", "-s", "base",
                           "namingContexts"],
                          capture_output=True, text=True, check=False).returncode


def dns(ldif):
    return re.findall(r"^dn: (.*)$", ldif, re.M)


class DirectoryFixtureTest(unittest.TestCase):
    def test_sample_organization_resolves_proxy_address_case_insensitively(self):
        with Directory() as directory:
            found = directory.search(directory.base_dn, "(proxyAddresses=smtp:ERIN@example.NET)", ["mail"])
            self.assertIn("mail: erin@example.com", found)

    def test_pause_and_resume(self):
        with Directory(empty=True) as directory:
            directory.pause()
            self.assertEqual(probe(directory), 124)
            directory.resume()
            self.assertEqual(probe(directory), 0)

    def test_kill_then_restart_keeps_address_and_data(self):
        with Directory(empty=True) as directory:
            uri = directory.uri
            directory.add("dn: CN=Survivor,CN=Users,DC=example,DC=com\nobjectClass: top\n"
                          "objectClass: container\ncn: Survivor\n")
            old_pid = directory.pid
            directory.kill()
            self.assertFalse(process_alive(old_pid))
            directory.restart()
            self.assertEqual(directory.uri, uri)
            self.assertEqual(len(dns(directory.search(directory.base_dn, "(cn=Survivor)", ["1.1"]))), 1)

    def test_failed_modify_raises_with_server_message(self):
        with Directory(empty=True) as directory:
            with self.assertRaisesRegex(DirectoryError, "No such object"):
                directory.modify("dn: CN=Missing,DC=example,DC=com\nchangetype: modify\n"
                                 "replace: description\ndescription: x\n")

    def test_password_set_by_add_lets_the_user_bind(self):
        with Directory(empty=True) as directory:
            directory.add("dn: CN=Pat Py,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: person\n"
                          "objectClass: organizationalPerson\nobjectClass: user\ncn: Pat Py\nsn: Py\n"
                          "sAMAccountName: patpy\nuserAccountControl: 512\nuserPassword: Py-Secret-1\n")
            bind = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", directory.uri, "-D",
                                   "CN=Pat Py,CN=Users,DC=example,DC=com", "-w", "Py-Secret-1", "-b", "", "-s",
                                   "base", "1.1"], capture_output=True, text=True, check=False)
            self.assertEqual(bind.returncode, 0, bind.stderr)

    def test_close_stops_server_and_removes_directory(self):
        directory = Directory(empty=True)
        pid, path = directory.pid, directory.directory
        directory.close()
        self.assertFalse(process_alive(pid))
        self.assertFalse(path.exists())


if __name__ == "__main__":
    unittest.main()
