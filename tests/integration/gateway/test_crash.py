"""Crash safety (contract 1, docs/architecture.md): SIGKILL gatewayd at random moments while
clients send. After a restart (which runs Spool::recover()) every message that
got a 250 is in the spool exactly once and intact; a message that did not get
one is in the spool only if the client had sent its end of data (the window
between the commit and the reply reaching the client), and never partially."""

import os
import random
import re
import socket
import threading
import time
import unittest
import uuid

from gatewayd_fixture import Gateway, free_port, metabase_text, virtual_server, wait_for_port

CLIENTS = 4
ROUNDS = 3


class Outcome:
    def __init__(self, marker):
        self.marker = marker
        self.end_sent = False
        self.acked = False
        self.queue_id = None


def send_one(port, outcome):
    body = (f"Subject: crash {outcome.marker}\r\nX-Marker: {outcome.marker}\r\n\r\n".encode()
            + b"".join(b"line %04d of the crash test body, padded to a typical length\r\n" % i
                       for i in range(60))
            + f"END {outcome.marker}\r\n".encode())
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        f = s.makefile("rb")

        def reply():
            while True:
                line = f.readline()
                if not line:
                    raise ConnectionError("closed")
                if line[3:4] != b"-":
                    return line.decode()

        reply()
        for command in (b"EHLO crash.example.net", b"MAIL FROM:<c@example.net>", b"RCPT TO:<alice@example.com>",
                        b"DATA"):
            s.sendall(command + b"\r\n")
            reply()
        s.sendall(body)
        s.sendall(b".\r\n")
        outcome.end_sent = True
        line = reply()
        match = re.match(r"250 2\.6\.0 <([0-9A-F]{24})> queued", line)
        if match:
            outcome.acked = True
            outcome.queue_id = match.group(1)
        s.sendall(b"QUIT\r\n")


def client_loop(port, stop, outcomes, lock):
    while not stop.is_set():
        outcome = Outcome(uuid.uuid4().hex)
        with lock:
            outcomes.append(outcome)
        try:
            send_one(port, outcome)
        except OSError:
            time.sleep(0.02)  # the gateway is down: try again shortly


class CrashSafety(unittest.TestCase):
    def test_every_acknowledged_message_survives_sigkill_exactly_once(self):
        port = free_port()
        gateway = Gateway(metabase_text([virtual_server("1", "127.0.0.1", port)]))
        outcomes, lock = [], threading.Lock()
        rng = random.Random(int(os.environ.get("CRASH_SEED", time.time())))
        try:
            for _ in range(ROUNDS):
                gateway.start(wait=[("127.0.0.1", port)])
                stop = threading.Event()
                threads = [threading.Thread(target=client_loop, args=(port, stop, outcomes, lock))
                           for _ in range(CLIENTS)]
                for t in threads:
                    t.start()
                # At least one acknowledgement per round, however slow the machine, then a
                # random moment: mid-command, mid-body, mid-commit or between messages.
                acked_before = sum(o.acked for o in outcomes)
                deadline = time.monotonic() + 20
                while sum(o.acked for o in outcomes) == acked_before and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 0.6))
                gateway.kill()
                stop.set()
                for t in threads:
                    t.join()
            gateway.start(wait=[("127.0.0.1", port)])  # recover() runs before the listener opens
        finally:
            gateway.stop()

        acked = [o for o in outcomes if o.acked]
        self.assertGreater(len(acked), 0, "no message was acknowledged; the test proved nothing")

        spool = gateway.spool
        self.assertEqual(os.listdir(os.path.join(spool, "incoming")), [], "recover() left incoming files")
        queue_dir = os.path.join(spool, "queue")
        names = os.listdir(queue_dir)
        envelopes = {n[:-4] for n in names if n.endswith(".env")}
        bodies = {n[:-5] for n in names if n.endswith(".body")}
        self.assertEqual(envelopes, bodies, "every queued envelope has its body and vice versa")

        found = {}
        for queue_id in envelopes:
            body = gateway.body(queue_id).decode()
            marker = re.search(r"X-Marker: ([0-9a-f]{32})", body).group(1)
            self.assertIn(f"END {marker}\r\n", body, f"{queue_id} is incomplete")
            found.setdefault(marker, []).append(queue_id)

        by_marker = {o.marker: o for o in outcomes}
        for outcome in acked:
            self.assertEqual(found.get(outcome.marker), [outcome.queue_id],
                             f"acknowledged message {outcome.marker} must be queued exactly once")
        for marker, ids in found.items():
            self.assertEqual(len(ids), 1, f"{marker} queued twice")
            self.assertTrue(by_marker[marker].end_sent, f"{marker} queued although its end of data was never sent")
        unacked_but_queued = sum(1 for m in found if not by_marker[m].acked)
        print(f"crash test: {len(outcomes)} attempts, {len(acked)} acknowledged, "
              f"{unacked_but_queued} committed without the client seeing the 250")


if __name__ == "__main__":
    unittest.main()
