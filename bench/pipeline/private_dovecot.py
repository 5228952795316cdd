"""A private Dovecot LMTP server for benchmarks: its own configuration, run and
state directories and maildirs under one temporary directory, LMTP on a free
127.0.0.1 port, stopped by pid. The same set-up as the delivery integration
tests' DovecotLmtp (tests/integration/delivery/peers.cpp): users come from a
passwd-file, the LMTP recipient's local part names the user, each accepted
message becomes one file in <maildir>/<user>/new (Dovecot's default
mail_fsync = optimized: the file is fsync'd before LMTP's "250").
"""

import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _server_account():
    """Dovecot never delivers as uid 0: "nobody" when we are root, otherwise ourselves."""
    if os.geteuid() == 0:
        return "nobody", "nogroup"
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


class PrivateDovecot:
    def __init__(self, users, process_limit=100):
        self.dir = tempfile.mkdtemp(prefix="bench-dovecot-")
        os.chmod(self.dir, 0o755)  # the delivering user must reach the maildirs
        self.mail_dir = os.path.join(self.dir, "mail")
        self.users = list(users)
        self.process_limit = process_limit
        self.port = None
        self.proc = None

    def start(self, timeout=15.0):
        run_dir = os.path.join(self.dir, "run")
        os.makedirs(run_dir)
        os.makedirs(self.mail_dir)
        user, group = _server_account()
        if os.geteuid() == 0:
            shutil.chown(self.mail_dir, user, group)
        passwd = os.path.join(self.dir, "passwd")
        with open(passwd, "w") as f:
            f.writelines(f"{name}:{{PLAIN}}unused::::::\n" for name in self.users)
        for _attempt in range(5):  # another process may take the free port first
            self.port = free_port()
            conf = os.path.join(self.dir, "dovecot.conf")
            with open(conf, "w") as f:
                f.write(self._config(run_dir, passwd, user, group))
            with open(os.path.join(self.dir, "dovecot.out"), "ab") as out:
                self.proc = subprocess.Popen(["dovecot", "-F", "-c", conf], stdout=out, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                        s.settimeout(5)
                        if s.recv(512).startswith(b"220"):
                            s.sendall(b"QUIT\r\n")
                            return self
                except OSError:
                    time.sleep(0.05)
            self.stop(remove=False)
        raise RuntimeError(f"dovecot LMTP did not start; see {self.dir}/dovecot.log")

    def _config(self, run_dir, passwd, user, group):
        internal = "" if os.geteuid() == 0 else (
            f"default_internal_user = {user}\ndefault_login_user = {user}\ndefault_internal_group = {group}\n")
        return f"""base_dir = {run_dir}
state_dir = {os.path.join(self.dir, "state")}
log_path = {os.path.join(self.dir, "dovecot.log")}
protocols = lmtp
listen = 127.0.0.1
ssl = no
{internal}mail_location = maildir:{self.mail_dir}/%n
auth_username_format = %n
passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
  default_fields = uid={user} gid={group} home={self.mail_dir}/%n
}}
service lmtp {{
  process_limit = {self.process_limit}
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
"""

    def delivered_files(self):
        """Paths of every delivered message (all users' maildir new/ and cur/)."""
        paths = []
        for name in self.users:
            for sub in ("new", "cur"):
                folder = os.path.join(self.mail_dir, name, sub)
                try:
                    paths += [os.path.join(folder, f) for f in os.listdir(folder)]
                except FileNotFoundError:
                    pass
        return paths

    def stop(self, remove=True):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
