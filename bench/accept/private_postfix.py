"""A private Postfix instance for benchmarks: its own configuration directory,
queue directory, data directory and log file under one temporary directory,
an smtpd on a free 127.0.0.1 port, stopped by the master's pid.

The system instance is never touched: /etc/postfix is only read for what every
Postfix program reads there (meta_directory: dynamicmaps.cf, postfix-files).
The master is started directly (`master -c DIR`) instead of through
`postfix -c DIR start`, because postfix(1) insists that a non-default
configuration directory be listed in alternate_config_directories of the
default main.cf; the master and its daemons accept `-c DIR` as given when they
run as root (the daemons read main.cf before they drop privileges to
mail_owner). Running it therefore needs root, like any Postfix instance that
binds, chroots or changes users.

Durability is Postfix's default: cleanup(8) fsyncs each queue file before
smtpd sends "250" (and the queue directories are set up as post-install would).
"""

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

DAEMON_DIRECTORY = "/usr/lib/postfix/sbin"

# Queue subdirectories and their modes, as postfix-files creates them.
QUEUE_DIRS = {
    "active": 0o700, "bounce": 0o700, "corrupt": 0o700, "defer": 0o700, "deferred": 0o700,
    "flush": 0o700, "hold": 0o700, "incoming": 0o700, "private": 0o700, "saved": 0o700, "trace": 0o700,
    "maildrop": 0o1730, "public": 0o2710,
}

# Daemons an instance that receives by SMTP and delivers by LMTP needs. No
# chroot: the queue lives in a temporary directory without the chroot's copies
# of /etc files.
MASTER_CF = """\
{listen}  inet  n - n - {smtpd_limit} smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _children_of(pid):
    """Every descendant of pid, found through /proc/<pid>/stat's ppid field."""
    parents = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may contain spaces; the fields after ")" are fixed.
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class PrivatePostfix:
    """One private Postfix. `main_cf` adds to or overrides the base main.cf
    (a dict of parameter -> value); `smtpd_limit` is the smtpd process limit,
    i.e. how many SMTP sessions are served at once."""

    def __init__(self, main_cf=None, smtpd_limit=100, keep=False):
        if os.geteuid() != 0:
            raise PermissionError("a private Postfix master must run as root (it changes to mail_owner itself)")
        self.dir = tempfile.mkdtemp(prefix="bench-postfix-")
        os.chmod(self.dir, 0o755)
        self.config_dir = os.path.join(self.dir, "etc")
        self.queue_dir = os.path.join(self.dir, "spool")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "maillog")
        self.port = free_port()
        self.smtpd_limit = smtpd_limit
        self.keep = keep
        self.proc = None
        self.main_cf = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "postfix-bench.example.net",
            "mydomain": "example.net",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.dir,
            "smtpd_banner": "$myhostname ESMTP",
            "smtpd_relay_restrictions": "permit_mynetworks reject_unauth_destination",
            # A benchmark client is not an attacker: no per-client limits.
            "smtpd_client_connection_count_limit": "0",
            "smtpd_client_connection_rate_limit": "0",
            "smtpd_client_message_rate_limit": "0",
            "smtpd_error_sleep_time": "0",
            "default_process_limit": str(max(100, smtpd_limit)),
        }
        self.main_cf.update(main_cf or {})

    def start(self, timeout=20.0):
        self._make_directories()
        with open(os.path.join(self.config_dir, "main.cf"), "w") as f:
            for key, value in self.main_cf.items():
                f.write(f"{key} = {value}\n")
        with open(os.path.join(self.config_dir, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen=f"127.0.0.1:{self.port}", smtpd_limit=self.smtpd_limit))
        check = subprocess.run(["postconf", "-c", self.config_dir, "-n"], capture_output=True, text=True)
        if check.returncode != 0 or "warning" in check.stderr:
            raise RuntimeError(f"postconf rejects the private main.cf: {check.stderr}")
        env = dict(os.environ, MAIL_CONFIG=self.config_dir)
        # -s keeps the master in the foreground-visible process table as our child;
        # it does not fork away (only -w does), so proc.pid is the master's pid.
        self.proc = subprocess.Popen([os.path.join(DAEMON_DIRECTORY, "master"), "-c", self.config_dir, "-s"],
                                     env=env, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postfix master exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.settimeout(5)
                    if s.recv(512).startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"private postfix did not answer on {self.port}:\n{self.log_text()[-3000:]}")

    def _make_directories(self):
        owner = pwd.getpwnam(self.main_cf["mail_owner"])
        postdrop = grp.getgrnam(self.main_cf["setgid_group"]).gr_gid
        os.makedirs(self.config_dir)
        os.makedirs(self.queue_dir, mode=0o755)
        os.makedirs(os.path.join(self.queue_dir, "pid"), mode=0o755)
        os.makedirs(self.data_dir, mode=0o700)
        os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
        for name, mode in QUEUE_DIRS.items():
            path = os.path.join(self.queue_dir, name)
            os.makedirs(path)
            os.chown(path, owner.pw_uid, postdrop if name in ("maildrop", "public") else owner.pw_gid)
            os.chmod(path, mode)
        # postlogd opens the log as root, but keep it readable for whoever runs the bench.
        open(self.log_path, "a").close()

    def pids(self):
        if self.proc is None or self.proc.poll() is not None:
            return []
        return [self.proc.pid] + _children_of(self.proc.pid)

    def queued_files(self, queue):
        """Number of queue files in one queue (hold, incoming, active, deferred, ...)."""
        count = 0
        for _root, _dirs, files in os.walk(os.path.join(self.queue_dir, queue)):
            count += len(files)
        return count

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            # SIGTERM: the master passes it on to its children and exits.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
