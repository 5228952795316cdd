"""deploy/site/site-up.sh, as an administrator trying the small site would run
it: it brings the site up, the test message it sends crosses BH1 -> BH2 ->
mailbox, and --stop leaves no process behind. Environment (set by CMake):
BUILD_DIR."""

import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures"))
sys.path.insert(0, str(HERE.parent / "gateway"))
sys.path.insert(0, str(HERE.parent / "pipeline"))

from test_site import free_port_on_both  # noqa: E402

SCRIPT = HERE.parents[2] / "deploy" / "site" / "site-up.sh"


class SiteScript(unittest.TestCase):
    def test_brings_the_site_up_delivers_across_it_and_stops_everything(self):
        parent = Path(tempfile.mkdtemp(prefix="gw-site-script-"))
        parent.chmod(0o711)  # Dovecot delivers as an unprivileged account: it must reach DIR/mail
        state = parent / "site"
        env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
        build = ["--build", os.environ["BUILD_DIR"]]
        up = subprocess.run([str(SCRIPT), "--state", str(state), *build, "--port", str(free_port_on_both())],
                            capture_output=True, text=True, env=env, timeout=240, check=False)
        try:
            self.assertEqual(up.returncode, 0, up.stdout + up.stderr)
            self.assertIn("by bh1.example.com with ESMTP", up.stdout)
            self.assertIn("by bh2.example.com with ESMTP", up.stdout)
            pids = [int(p.read_text()) for p in state.rglob("*.pid") if p.read_text().strip().isdigit()]
            self.assertGreaterEqual(len(pids), 6)  # 2 gatewayd, 2 metabase-sync, dovecot, dnsmasq (+ 2 slapd)
        finally:
            down = subprocess.run([str(SCRIPT), "--stop", "--state", str(state)], capture_output=True, text=True,
                                  env=env, timeout=120, check=False)
        self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
        for pid in pids:
            self.assertFalse(Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2],
                             f"process {pid} still running after --stop")

    def test_help_starts_nothing(self):
        result = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, timeout=10, check=False)
        self.assertEqual(result.returncode, 0)
        self.assertIn("--stop", result.stdout)

    def test_unknown_argument_is_an_error(self):
        result = subprocess.run([str(SCRIPT), "--bogus"], capture_output=True, text=True, timeout=10, check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("unknown argument --bogus", result.stderr)


if __name__ == "__main__":
    unittest.main()
