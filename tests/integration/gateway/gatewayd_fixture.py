"""Test fixture for gatewayd integration tests: a private gatewayd on free
loopback ports, a metabase written from protobuf text format with
`protoc --encode`, and helpers to inspect the spool and talk SMTP over raw
sockets. Environment (set by CMake): GATEWAYD, PROTO_DIR."""

import contextlib
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import sanitizer  # noqa: E402

GATEWAYD = os.environ.get("GATEWAYD", "gatewayd")
PROTO_DIR = os.environ.get("PROTO_DIR", "proto")


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def encode_proto(message_type, proto_file, text):
    result = subprocess.run(
        ["protoc", f"--encode={message_type}", f"--proto_path={PROTO_DIR}", os.path.join(PROTO_DIR, proto_file)],
        input=text.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"protoc --encode failed: {result.stderr.decode()}")
    return result.stdout


def decode_proto(message_type, proto_file, data):
    result = subprocess.run(
        ["protoc", f"--decode={message_type}", f"--proto_path={PROTO_DIR}", os.path.join(PROTO_DIR, proto_file)],
        input=data, capture_output=True, check=True)
    return result.stdout.decode()


def virtual_server(vs_id, ip, port, extra="", limits="", state="STARTED"):
    """Text format of one VirtualServer: anonymous access, no TLS, 127.0.0.1 may relay."""
    return f"""
virtual_servers {{
  id: "{vs_id}" name: "VS {vs_id}" fqdn: "vs{vs_id}.example.com" state: {state}
  bindings {{ ip: "{ip}" port: {port} }}
  authentication {{ anonymous: true }}
  limits {{ max_recipients_per_message: 100 max_hop_count: 15 connection_timeout: 30 {limits} }}
  {extra}
}}"""


def metabase_text(servers, serial=1, extra=""):
    return f"""
format_version: 1
provenance {{ serial: {serial} }}
this_server {{ name: "BH1" fqdn: "bh1.example.com" }}
domains {{ name: "example.com" authoritative: true }}
domains {{ name: "shared.example.org" authoritative: false }}
connectors {{ name: "Internet" address_spaces {{ pattern: "*" cost: 10 }} }}
connectors {{ name: "Partner" allow_relay: true address_spaces {{ pattern: "partner.example" cost: 1 }} }}
connectors {{ name: "Military" allow_relay: true address_spaces {{ pattern: "*.mil" cost: 1 }} }}
{extra}
{"".join(servers)}
"""


def directory_text(slapd, extra=""):
    """The metabase's directory section for a Slapd fixture with the sample
    organization: its URI, base and service identity."""
    return (f'directory {{ uris: "{slapd.uri}" recipient_base_dn: "DC=example,DC=com" '
            f'bind_dn: "{slapd.service_dn}" bind_password_file: "{slapd.service_password_file()}" {extra} }}')


def write_metabase(path, text):
    """Writes atomically, the way metabase-sync does: temp file, fsync, rename."""
    data = encode_proto("gw.metabase.Metabase", "metabase.proto", text)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def wait_for_port(host, port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"gatewayd exited with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5) as s:
                s.settimeout(2)
                s.recv(512)  # the greeting
                s.sendall(b"QUIT\r\n")
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} not answering")


def wait_until(predicate, timeout=10.0, what="condition"):
    """Polls until predicate() is true and returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def make_pki(directory):
    """A test CA (ca.pem) and a server certificate (server.pem, server.key) signed by it for
    vs1.example.com, vs2.example.com, 127.0.0.1 and 127.0.0.2, made with openssl in `directory`."""
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=Gateway Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=vs1.example.com")
    with open(os.path.join(directory, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:vs1.example.com,DNS:vs2.example.com,IP:127.0.0.1,IP:127.0.0.2\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "1", "-extfile", "san.ext")
    return [os.path.join(directory, name) for name in ("ca.pem", "server.pem", "server.key")]


class Gateway:
    """A private gatewayd in a temporary directory."""

    def __init__(self, metabase, threads=2, args=(), max_open_files=None):
        self.dir = tempfile.mkdtemp(prefix="gatewayd-test-")
        self.metabase_path = os.path.join(self.dir, "metabase.pb")
        self.spool = os.path.join(self.dir, "spool")
        self.log_path = os.path.join(self.dir, "gatewayd.log")
        self.threads = threads
        self.args = list(args)  # further gatewayd options
        self.max_open_files = max_open_files  # RLIMIT_NOFILE of the gatewayd process; None = inherited
        self.proc = None
        write_metabase(self.metabase_path, metabase)

    def start(self, wait=()):
        self.started_at = len(self.log_text()) if os.path.exists(self.log_path) else 0
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [GATEWAYD, "--metabase", self.metabase_path, "--spool", self.spool, "--threads", str(self.threads),
             "--log-level", "debug", *self.args],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=self._limit_open_files)
        try:
            for host, port in wait:
                wait_for_port(host, port, proc=self.proc)
        except RuntimeError:
            self.check_log()  # died of a sanitizer report?
            raise
        if wait:
            # The probes' sessions must be over before a test counts connections.
            since = self.started_at
            probes = self.log_text()[since:].count("session-opened")
            wait_until(lambda: self.log_text()[since:].count("session-closed") >= probes, 10, "probe sessions to end")
        return self

    def _limit_open_files(self):
        if self.max_open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.max_open_files, self.max_open_files))

    def rewrite(self, metabase):
        write_metabase(self.metabase_path, metabase)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for_log(self, needle, count=1, timeout=10.0):
        wait_until(lambda: self.log_text().count(needle) >= count, timeout, f"log line {needle!r}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
            self.check_log()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()
        self.check_log()

    def check_log(self):
        """Fails (sanitizer.SanitizerReport) when this run of gatewayd wrote a
        sanitizer report into its log (sanitizer builds only)."""
        sanitizer.check(self.log_text()[self.started_at:], f"gatewayd (log {self.log_path})")

    def queued_ids(self):
        qdir = os.path.join(self.spool, "queue")
        if not os.path.isdir(qdir):
            return []
        return sorted(name[:-4] for name in os.listdir(qdir) if name.endswith(".env"))

    def body(self, queue_id):
        with open(os.path.join(self.spool, "queue", queue_id + ".body"), "rb") as f:
            return f.read()

    def envelope(self, queue_id):
        """The envelope as protobuf text (frame: 16-octet header, then the message)."""
        with open(os.path.join(self.spool, "queue", queue_id + ".env"), "rb") as f:
            frame = f.read()
        magic, _version, length, _crc = struct.unpack("<4sIII", frame[:16])
        assert magic == b"GWQE", magic
        return decode_proto("gw.envelope.Envelope", "envelope.proto", frame[16:16 + length])


class GatewayTestCase(unittest.TestCase):
    """Starts one gateway per test from self.metabase() and stops it afterwards."""

    threads = 2
    gateway_args = ()  # further gatewayd options
    max_open_files = None  # RLIMIT_NOFILE for gatewayd

    def setUp(self):
        self.port = free_port()
        self.gateway = Gateway(self.metabase(), threads=self.threads, args=self.gateway_args,
                               max_open_files=self.max_open_files)
        self.gateway.start(wait=[("127.0.0.1", self.port)])

    def tearDown(self):
        self.gateway.stop()
        if self._outcome_failed():
            print("---- gatewayd log ----\n" + self.gateway.log_text()[-6000:])

    def _outcome_failed(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        return any(test is self for test, _ in result.failures + result.errors)

    def metabase(self):
        return metabase_text([virtual_server("1", "127.0.0.1", self.port)])


class RawSmtp:
    """A line-oriented SMTP client over a raw socket, for exact byte sequences."""

    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        """Reads one complete (possibly multi-line) reply; returns (code, text of the last line)."""
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("connection closed; got " + repr(self.buffer))
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line.decode(errors="replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(lines[-1][:3]), lines[-1][4:]

    def command(self, line):
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True when the server closed the connection (EOF) within the timeout."""
        self.sock.settimeout(timeout)
        with contextlib.suppress(ConnectionResetError):
            rest = self.sock.recv(65536)
            while rest:
                rest = self.sock.recv(65536)
        return True

    def close(self):
        self.sock.close()

    def __del__(self):
        sock = getattr(self, "sock", None)
        if sock is not None:
            sock.close()
