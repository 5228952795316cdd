"""Shutdown under load: SIGTERM while many sessions send (and, with a directory,
while RCPT-time look-ups and categorizations are in flight) ends gatewayd with
exit status 0 within seconds -- no abort in the tear-down of the event loops --
and every message that got a 250 is still in the spool for the next start.

A second SIGTERM stops the loops at once, dropping sessions mid-command: their
coroutine frames are destroyed by the tear-down, some of them holding objects of
another loop (the directory client lives on the control loop)."""

import os
import re
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))

from gatewayd_fixture import (Gateway, RawSmtp, directory_text, free_port, metabase_text,  # noqa: E402
                              virtual_server, wait_until)
from directory_fixture import Slapd  # noqa: E402

SESSIONS = 24
ROUNDS = 3
# gatewayd drains open sessions for up to 10 s; these clients quit when told to, so
# the exit must come well before that.
EXIT_WITHIN = 8.0
BODY = (b"Subject: shutdown test\r\n\r\n"
        + b"".join(b"line %03d of a body long enough to take a few reads\r\n" % i for i in range(40)))
CRASH_MARKERS = ("AddressSanitizer", "Assertion", "terminate called", "runtime error:", "futex facility")


def client_loop(port, recipients, stop, acked, lock):
    """Sends messages back to back on one session until `stop`, then QUITs; reconnects
    while the gateway is still accepting."""
    while not stop.is_set():
        try:
            client = RawSmtp("127.0.0.1", port, timeout=20)
            try:
                client.reply()
                client.command("EHLO load.example.net")
                while not stop.is_set():
                    client.command("MAIL FROM:<load@remote.example>")
                    accepted = sum(client.command(f"RCPT TO:<{recipient}>")[0] == 250 for recipient in recipients)
                    if not accepted:
                        client.command("RSET")
                        continue
                    client.command("DATA")
                    client.send(BODY + b".\r\n")
                    code, text = client.reply()
                    match = re.match(r"2\.6\.0 <([0-9A-F]{24})>", text)
                    if code == 250 and match:
                        with lock:
                            acked.append(match.group(1))
                client.send(b"QUIT\r\n")
            finally:
                client.close()
        except OSError:
            time.sleep(0.02)


class ShutdownUnderLoad(unittest.TestCase):
    def run_rounds(self, gateway, port, recipients, second_signal):
        """ROUNDS times: start, load, SIGTERM (twice when asked), check the exit."""
        acked, lock = [], threading.Lock()
        for round_number in range(ROUNDS):
            gateway.start(wait=[("127.0.0.1", port)])
            log_start = len(gateway.log_text())
            stop = threading.Event()
            clients = [threading.Thread(target=client_loop, args=(port, recipients, stop, acked, lock))
                       for _ in range(SESSIONS)]
            for client in clients:
                client.start()
            # Load first: a batch of acknowledgements, so commits and the stages are busy.
            acked_before = len(acked)
            wait_until(lambda: len(acked) >= acked_before + 2 * SESSIONS, 20, "messages to be acknowledged")
            time.sleep(0.1 * round_number)
            signalled = time.monotonic()
            gateway.proc.send_signal(signal.SIGTERM)
            wait_until(lambda: "shutting down" in gateway.log_text()[log_start:], 5, "the signal to be taken")
            if second_signal:
                gateway.proc.send_signal(signal.SIGTERM)
            else:
                # The listeners are closed; the clients finish their transaction and QUIT.
                stop.set()
            try:
                status = gateway.proc.wait(timeout=EXIT_WITHIN + 10)
            finally:
                stop.set()
                for client in clients:
                    client.join()
                gateway.log.close()
            took = time.monotonic() - signalled
            log = gateway.log_text()[log_start:]
            found = [marker for marker in CRASH_MARKERS if marker in log]
            self.assertEqual(found, [], f"round {round_number}: crash report in the log:\n{log[-4000:]}")
            self.assertEqual(status, 0, f"round {round_number}: exit status {status}:\n{log[-2000:]}")
            self.assertLess(took, EXIT_WITHIN, f"round {round_number}: exit took {took:.1f} s")
            self.assertIn("stopped", log.splitlines()[-1])
            queued = set(gateway.queued_ids())
            self.assertEqual([queue_id for queue_id in acked if queue_id not in queued], [],
                             f"round {round_number}: acknowledged messages missing from the spool")
        # The next start recovers every one of them.
        gateway.start(wait=[("127.0.0.1", port)])
        gateway.stop()
        recovered = [int(n) for n in re.findall(r"recovered (\d+) message", gateway.log_text())]
        self.assertGreaterEqual(recovered[-1], len(set(acked)))
        return acked

    def test_sigterm_under_load_exits_zero_promptly_and_keeps_every_acknowledged_message(self):
        port = free_port()
        gateway = Gateway(metabase_text([virtual_server("1", "127.0.0.1", port,
                                                        limits="max_connections_per_ip: 0")]))
        try:
            acked = self.run_rounds(gateway, port, ["alice@example.com"], second_signal=False)
        finally:
            gateway.stop()
        self.assertGreater(len(acked), 0)

    def test_second_sigterm_with_directory_lookups_in_flight_exits_zero(self):
        with Slapd() as slapd:
            # Every message leaves through a smart host named in DNS, and the DNS server
            # takes the queries but never answers: at the signal, look-ups of the
            # resolver are pending (c-ares calls their callbacks while the resolver is
            # destroyed), and every message is still in the spool.
            silent_dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            silent_dns.bind(("127.0.0.1", 0))
            outbound = (f'outbound {{ smart_hosts: "relay.partner.example" smart_host_type: ALWAYS_SMART_HOST '
                        f'port: {free_port()} external_dns_servers: "127.0.0.1:{silent_dns.getsockname()[1]}" }}')
            port = free_port()
            gateway = Gateway(metabase_text([virtual_server("1", "127.0.0.1", port, extra=outbound,
                                                            limits="max_connections_per_ip: 0")],
                                            extra=directory_text(slapd)))
            try:
                acked = self.run_rounds(gateway, port, ["alice@example.com", "user@partner.example"],
                                        second_signal=True)
            finally:
                gateway.stop()
                silent_dns.close()
            self.assertGreater(len(acked), 0)
            log = gateway.log_text()
            self.assertIn("status=resolved (MAILBOX alice@example.com", log, "the directory was never asked")


class ShutdownWithOpenSessions(unittest.TestCase):
    """Sessions open at SIGTERM are not left to the drain timeout: one waiting
    for its next command outside a transaction gets 421 4.3.2 at once; one
    sending a message finishes it (250) and then gets the 421."""

    def test_idle_sessions_get_421_and_a_message_in_progress_is_still_accepted(self):
        port = free_port()
        gateway = Gateway(metabase_text([virtual_server("1", "127.0.0.1", port,
                                                        limits="max_connections_per_ip: 0")]))
        gateway.start(wait=[("127.0.0.1", port)])
        sessions = []
        try:
            def session():
                client = RawSmtp("127.0.0.1", port)
                client.reply()
                client.command("EHLO idle.example.net")
                sessions.append(client)
                return client

            idle = [session() for _ in range(5)]
            sending = session()
            sending.send(b"MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n")
            self.assertEqual([sending.reply()[0] for _ in range(3)], [250, 250, 354])
            sending.send(b"Subject: half way\r\n\r\nfirst part\r\n")
            time.sleep(0.2)
            signalled = time.monotonic()
            gateway.proc.send_signal(signal.SIGTERM)
            for client in idle:
                code, text = client.reply()
                self.assertEqual((code, text[:5]), (421, "4.3.2"))
            sending.send(b"second part\r\n.\r\n")
            code, text = sending.reply()
            self.assertEqual((code, text[:5]), (250, "2.6.0"))
            code, text = sending.reply()
            self.assertEqual((code, text[:5]), (421, "4.3.2"))
            self.assertEqual(gateway.proc.wait(timeout=10), 0)
            self.assertLess(time.monotonic() - signalled, 5.0)  # not the 10 s drain
        finally:
            for client in sessions:
                client.close()
            gateway.stop()
        self.assertEqual(len(gateway.queued_ids()), 1)


if __name__ == "__main__":
    unittest.main()
