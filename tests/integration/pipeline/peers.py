"""Private peers for end-to-end tests of the gateway's delivery side, each on a
free loopback port in a temporary directory and stopped by pid:

* DovecotLmtp: the real Dovecot LMTP server (Debian dovecot-lmtpd) delivering
  into maildirs, standing in for the mailbox servers;
* ScriptedReceiver: a small SMTP server whose replies follow a script (answer
  4xx to the first n transactions, 5xx to some recipients, no STARTTLS ...),
  recording what it received -- the remote MTA whose behaviour a test needs;
* Dnsmasq: a real DNS server serving MX and A records for test domains."""

import grp
import os
import pwd
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gateway"))

from gatewayd_fixture import free_port, wait_until  # noqa: E402,F401  (re-exported for the tests)






def _wait_for_listener(host, port, proc, log_path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log_path, errors="replace") as f:
                raise RuntimeError(f"{proc.args[0]} exited: {f.read()[-2000:]}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} not listening")


def _stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class DovecotLmtp:
    """Dovecot LMTP on 127.0.0.1 delivering to <dir>/mail/<user>/ (maildir); users by local part."""

    def __init__(self, users):
        self.dir = tempfile.mkdtemp(prefix="gw-dovecot-")
        self.mail = os.path.join(self.dir, "mail")
        run_dir = os.path.join(self.dir, "run")
        os.makedirs(self.mail)
        os.makedirs(run_dir)
        # Dovecot delivers as an unprivileged account: it must reach the maildirs.
        os.chmod(self.dir, 0o711)
        # As root, deliver as nobody (a uid Dovecot's first_valid_uid allows).
        if os.getuid() == 0:
            account, group = "nobody", "nogroup"
            subprocess.run(["chown", f"{account}:{group}", self.mail], check=True)
        else:
            account = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
        passwd = os.path.join(self.dir, "passwd")
        with open(passwd, "w") as f:
            f.writelines(f"{user}:{{PLAIN}}unused::::::\n" for user in users)
        self.port = free_port()
        log = os.path.join(self.dir, "dovecot.log")
        conf = [f"base_dir = {run_dir}", f"state_dir = {self.dir}/state", f"log_path = {log}",
                "protocols = lmtp", "listen = 127.0.0.1", "ssl = no",
                f"mail_location = maildir:{self.mail}/%n", "auth_username_format = %n",
                f"passdb {{\n  driver = passwd-file\n  args = {passwd}\n}}",
                f"userdb {{\n  driver = passwd-file\n  args = {passwd}\n"
                f"  default_fields = uid={account} gid={group} home={self.mail}/%n\n}}",
                f"service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {self.port}\n  }}\n}}"]
        if os.getuid() != 0:
            conf += [f"default_internal_user = {account}", f"default_login_user = {account}",
                     f"default_internal_group = {group}"]
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")
        out = os.path.join(self.dir, "dovecot.out")
        with open(out, "wb") as output:
            self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf], stdout=output, stderr=subprocess.STDOUT)
        _wait_for_listener("127.0.0.1", self.port, self.proc, out)

    def names(self, user):
        """The file names in the user's maildir new/ (a snapshot to compare against)."""
        new = os.path.join(self.mail, user, "new")
        return set(os.listdir(new)) if os.path.isdir(new) else set()

    def new_messages(self, user, before):
        """Messages that arrived since the snapshot `before`, in delivery order."""
        new = os.path.join(self.mail, user, "new")
        paths = [os.path.join(new, name) for name in self.names(user) - before]
        out = []
        for path in sorted(paths, key=lambda p: (os.stat(p).st_mtime_ns, p)):
            with open(path, "rb") as f:
                out.append(f.read())
        return out

    def messages(self, user):
        """The messages delivered to `user` (local part), oldest first, as bytes."""
        new = os.path.join(self.mail, user, "new")
        if not os.path.isdir(new):
            return []
        names = sorted(os.listdir(new))
        out = []
        for name in names:
            with open(os.path.join(new, name), "rb") as f:
                out.append(f.read())
        return out

    def close(self):
        _stop(self.proc)


class ScriptedReceiver:
    """An SMTP server on host:port whose answers follow a script.

    `transient_transactions`: the first n MAIL transactions get 451 4.3.0 after
    DATA; `reject_rcpt`: addresses answered 550 5.1.1 at RCPT; `always_transient`:
    every transaction gets 451 4.4.0 at end of data. No STARTTLS, no PIPELINING.
    `delivered` holds (mail_from, [rcpts], data) of every accepted message and
    `transactions` counts every MAIL command."""

    def __init__(self, host="127.0.0.1", port=None, transient_transactions=0, reject_rcpt=(),
                 always_transient=False, name="receiver.test"):
        self.host = host
        self.port = port or free_port(host)
        self.transient_transactions = transient_transactions
        self.reject_rcpt = {r.lower() for r in reject_rcpt}
        self.always_transient = always_transient
        self.name = name
        self.delivered = []
        self.transactions = 0
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, self.port))
        self.sock.listen(16)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buffer = b""
        conn.settimeout(30)

        def line():
            nonlocal buffer
            while b"\r\n" not in buffer:
                chunk = conn.recv(65536)
                if not chunk:
                    raise ConnectionError
                buffer += chunk
            text, buffer = buffer.split(b"\r\n", 1)
            return text

        def say(text):
            conn.sendall(text.encode() + b"\r\n")

        try:
            say(f"220 {self.name} ESMTP scripted")
            sender, rcpts = None, []
            while True:
                command = line().decode(errors="replace")
                verb = command[:4].upper()
                if verb in ("EHLO", "LHLO"):
                    say(f"250-{self.name}\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE 10485760")
                elif verb == "HELO":
                    say(f"250 {self.name}")
                elif verb == "MAIL":
                    with self.lock:
                        self.transactions += 1
                    sender, rcpts = command[10:].split(">")[0].lstrip("<"), []
                    say("250 2.1.0 Ok")
                elif verb == "RCPT":
                    address = command[8:].split(">")[0].lstrip("<").lower()
                    if address in self.reject_rcpt:
                        say(f"550 5.1.1 <{address}>: Recipient address rejected: User unknown")
                    else:
                        rcpts.append(address)
                        say("250 2.1.5 Ok")
                elif verb == "DATA":
                    if not rcpts:
                        say("554 5.5.1 No valid recipients")
                        continue
                    say("354 End data with <CR><LF>.<CR><LF>")
                    data = []
                    while True:
                        text = line()
                        if text == b".":
                            break
                        data.append(text[1:] if text.startswith(b".") else text)
                    with self.lock:
                        transient = self.always_transient or self.transactions <= self.transient_transactions
                        if not transient:
                            self.delivered.append((sender, list(rcpts), b"\r\n".join(data) + b"\r\n"))
                    say("451 4.3.0 Try again later" if transient else "250 2.0.0 Ok: queued")
                elif verb == "RSET":
                    sender, rcpts = None, []
                    say("250 2.0.0 Ok")
                elif verb == "NOOP":
                    say("250 2.0.0 Ok")
                elif verb == "QUIT":
                    say("221 2.0.0 Bye")
                    return
                else:
                    say("502 5.5.2 Error: command not recognized")
        except (OSError, ConnectionError):
            pass
        finally:
            conn.close()

    def close(self):
        self.closed = True
        # shutdown() wakes the accept() of the server thread; close() alone would not.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Dnsmasq:
    """dnsmasq on 127.0.0.1:<port> answering only the records given
    (e.g. "--mx-host=remote.example,mx1.remote.example,10", "--host-record=mx1.remote.example,127.0.0.2")."""

    def __init__(self, records):
        self.dir = tempfile.mkdtemp(prefix="gw-dnsmasq-")
        self.port = free_port()
        argv = ["dnsmasq", "--no-daemon", f"--port={self.port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                "--no-resolv", "--no-hosts", f"--pid-file={self.dir}/dnsmasq.pid", *records]
        if os.getuid() == 0:
            argv.append("--user=root")
        out = os.path.join(self.dir, "dnsmasq.log")
        with open(out, "wb") as output:
            self.proc = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)
        # Up when it answers a query (any answer: it knows only the records given).
        query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05probe\x00\x00\x01\x00\x01"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(out, errors="replace") as f:
                    raise RuntimeError("dnsmasq exited: " + f.read())
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.settimeout(0.2)
                try:
                    probe.sendto(query, ("127.0.0.1", self.port))
                    if probe.recv(512)[:2] == b"\x12\x34":
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise TimeoutError("dnsmasq not answering")

    def close(self):
        _stop(self.proc)
