#!/usr/bin/env python3
"""End-to-end pipeline benchmark: messages per second accepted over SMTP,
resolved in the directory and delivered over LMTP into maildirs, at 50
concurrent sessions, for gatewayd and for Postfix doing the same pipeline, in
the same run, against the same private slapd (sample organization) and the same
private Dovecot LMTP.

  gatewayd: metabase from `metabase-sync --once` against the slapd; RCPT checked
            in the directory, post-queue categorization, routing to MBX1's
            gwDeliveryEndpoint (pointed at the Dovecot LMTP port), LMTP delivery.
  Postfix:  relay_domains example.com, relay_recipient_maps and transport_maps
            in LDAP (through proxymap) over the same proxyAddresses and
            msExchHomeServerName attributes, LMTP delivery to the same Dovecot.

Each message has one recipient (rotating over MBX1's mailbox users) and a
unique X-Bench-Id header; the run counts delivered files in the maildirs and
their distinct ids, and requires delivered == accepted. Prints figures;
asserts nothing. Needs root for the Postfix side (see bench/accept/private_postfix.py)
and the Debian package postfix-ldap.

  bench/pipeline/bench_pipeline.py [--gatewayd build/gateway/main/gatewayd]
      [--metabase-sync build/metabase-sync/metabase-sync] [--messages 2000] [--sessions 50]
"""

import argparse
import asyncio
import os
import platform
import shutil
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "gateway"))
sys.path.insert(0, os.path.join(ROOT, "bench", "accept"))
sys.path.insert(0, HERE)
os.environ.setdefault("PROTO_DIR", os.path.join(ROOT, "proto"))

from gatewayd_fixture import free_port, wait_for_port  # noqa: E402
from private_dovecot import PrivateDovecot  # noqa: E402
from private_postfix import PrivatePostfix  # noqa: E402
from directory_fixture import Slapd  # noqa: E402

ORG = "CN=Example,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com"
SERVERS = f"CN=Servers,CN=First Administrative Group,CN=Administrative Groups,{ORG}"
BH1 = f"CN=BH1,{SERVERS}"
MBX1 = f"CN=MBX1,{SERVERS}"
MBX1_LEGACY_DN = "/o=Example/ou=First Administrative Group/cn=Configuration/cn=Servers/cn=MBX1"

# Enabled mailbox users of the sample organization whose home server is MBX1
# and who have no alternate recipient (grace's mail also goes to alice,
# henry's only to bob on BH1): one message, one delivery, on both servers.
RECIPIENTS = ["alice", "carol", "erin", "ivy", "sam"]

FILLER = b"".join(b"%-78s\r\n" % (b"line %d of a 4 KiB benchmark message" % i) for i in range(50))


def message(run_tag, number, recipient):
    return (b"From: bench@remote.example\r\nTo: %s@example.com\r\nSubject: pipeline bench\r\n"
            b"X-Bench-Id: %s-%d\r\n\r\n" % (recipient.encode(), run_tag.encode(), number)) + FILLER


async def read_reply(reader):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return int(line[:3]), line


async def session(port, numbers, run_tag, latencies, refused):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await read_reply(reader)
    writer.write(b"EHLO bench.remote.example\r\n")
    await read_reply(reader)
    for number in numbers:
        recipient = RECIPIENTS[number % len(RECIPIENTS)]
        started = time.perf_counter()
        writer.write(b"MAIL FROM:<bench@remote.example>\r\nRCPT TO:<%s@example.com>\r\nDATA\r\n" % recipient.encode())
        replies = [await read_reply(reader) for _ in range(3)]
        if [code for code, _ in replies] != [250, 250, 354]:
            refused.append(b" / ".join(line.strip() for _, line in replies).decode(errors="replace"))
            writer.write(b"RSET\r\n")
            await read_reply(reader)
            continue
        writer.write(message(run_tag, number, recipient) + b".\r\n")
        code, line = await read_reply(reader)
        if code != 250:
            refused.append(line.strip().decode(errors="replace"))
            continue
        latencies.append(time.perf_counter() - started)
    writer.write(b"QUIT\r\n")
    await read_reply(reader)
    writer.close()


async def send_all(port, sessions, total, run_tag):
    latencies, refused = [], []
    shares = [list(range(i, total, sessions)) for i in range(sessions)]
    await asyncio.gather(*(session(port, share, run_tag, latencies, refused) for share in shares))
    return latencies, refused


def delivered_ids(dovecot, run_tag):
    """X-Bench-Id values of this run found in the maildirs (a list: duplicates count)."""
    ids = []
    prefix = f"X-Bench-Id: {run_tag}-".encode()
    for path in dovecot.delivered_files():
        try:
            with open(path, "rb") as f:
                head = f.read(4096)
        except FileNotFoundError:  # moved from new/ to cur/ meanwhile; never happens without a reader
            continue
        at = head.find(prefix)
        if at >= 0:
            end = head.find(b"\n", at)
            ids.append(head[at + len(b"X-Bench-Id: "):end].strip())
    return ids


def unknown_recipient_reply(port):
    """The reply to RCPT for an address nobody in the directory owns: proof
    that the server asks the directory before it accepts."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("probe.remote.example")
        client.mail("probe@remote.example")
        code, text = client.rcpt("nobody-here@example.com")
        return f"{code} {text.decode(errors='replace').split()[0] if text else ''}".strip()


def run_load(name, port, dovecot, args):
    """Sends the load, then waits until every accepted message is in a maildir
    or nothing arrived for --stall seconds. Returns the figures."""
    run_tag = f"{name.split()[0].lower()}{int(time.time())}"
    unknown = unknown_recipient_reply(port)
    started = time.perf_counter()
    latencies, refused = asyncio.run(send_all(port, args.sessions, args.messages, run_tag))
    accepted_at = time.perf_counter()
    accepted = len(latencies)
    delivered, last_count, last_change = [], -1, time.perf_counter()
    while True:
        count = len(dovecot.delivered_files())
        now = time.perf_counter()
        if count != last_count:
            last_count, last_change = count, now
            delivered = delivered_ids(dovecot, run_tag)
            if len(set(delivered)) >= accepted:
                break
        elif now - last_change > args.stall:
            break
        time.sleep(0.05)
    finished = last_change
    latencies.sort()
    distinct = len(set(delivered))
    return {
        "name": name, "unknown_rcpt": unknown, "accepted": accepted, "refused": refused, "delivered": distinct,
        "duplicates": len(delivered) - distinct,
        "accept_rate": accepted / (accepted_at - started),
        "end_to_end_rate": distinct / (finished - started) if distinct else 0.0,
        "drain_s": finished - accepted_at,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else 0.0,
    }


def point_directory_at(slapd, dovecot, work):
    """BH1 reads this slapd; its virtual servers listen on free ports; MBX1's
    mailboxes are reached over LMTP at the private Dovecot."""
    password_file = os.path.join(work, "service.secret")
    with open(password_file, "w") as f:
        f.write(slapd.service_password + "\n")
    os.chmod(password_file, 0o600)
    smtp_port, submission_port = free_port(), free_port()
    slapd.modify(f"""dn: {BH1}
changetype: modify
replace: gwDirectoryUri
gwDirectoryUri: {slapd.uri}
-
replace: gwDirectoryBindPasswordFile
gwDirectoryBindPasswordFile: {password_file}
-

dn: CN=1,CN=SMTP,CN=Protocols,{BH1}
changetype: modify
replace: msExchServerBindings
msExchServerBindings: 127.0.0.1:{smtp_port}:
-

dn: CN=2,CN=SMTP,CN=Protocols,{BH1}
changetype: modify
replace: msExchServerBindings
msExchServerBindings: 127.0.0.1:{submission_port}:
-

dn: {MBX1}
changetype: modify
replace: gwDeliveryEndpoint
gwDeliveryEndpoint: 127.0.0.1:{dovecot.port}
-
replace: gwDeliveryProtocol
gwDeliveryProtocol: LMTP
-
""")
    return smtp_port


def bench_gatewayd(args, slapd, dovecot):
    work = tempfile.mkdtemp(prefix="bench-pipeline-gw-")
    port = point_directory_at(slapd, dovecot, work)
    metabase = os.path.join(work, "metabase.pb")
    sync = subprocess.run([args.metabase_sync, "--uri", slapd.uri, "--bind-dn", slapd.service_dn,
                           "--password-file", os.path.join(work, "service.secret"), "--server", "BH1",
                           "--out", metabase, "--once"], capture_output=True, text=True)
    if sync.returncode != 0:
        raise RuntimeError(f"metabase-sync --once failed ({sync.returncode}): {sync.stderr}")
    log_path = os.path.join(work, "gatewayd.log")
    cmd = [args.gatewayd, "--metabase", metabase, "--spool", os.path.join(work, "spool"), "--log-level", "warn"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    result = None
    try:
        wait_for_port("127.0.0.1", port, proc=proc)
        result = run_load("gatewayd", port, dovecot, args)
        queue_dir = os.path.join(work, "spool", "queue")
        if os.path.isdir(queue_dir):
            result["left_in_queue"] = len([n for n in os.listdir(queue_dir) if n.endswith(".env")])
        return result
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        complete = result is not None and result["delivered"] == result["accepted"]
        if proc.returncode not in (0, None):
            print(f"note: gatewayd exited with {proc.returncode} after SIGTERM", file=sys.stderr)
            complete = False
        if complete and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"note: gatewayd's metabase, spool and log kept in {work}", file=sys.stderr)


def ldap_table(path, slapd, query_filter, result_attribute, result_format="%s"):
    with open(path, "w") as f:
        f.write(f"""server_host = {slapd.uri}
version = 3
bind = yes
bind_dn = {slapd.service_dn}
bind_pw = {slapd.service_password}
search_base = {slapd.base_dn}
scope = sub
query_filter = {query_filter}
result_attribute = {result_attribute}
result_format = {result_format}
""")
    os.chmod(path, 0o644)  # proxymap reads it after dropping privileges; a throw-away password
    return path


def bench_postfix(args, slapd, dovecot):
    tables = tempfile.mkdtemp(prefix="bench-pipeline-pf-")
    os.chmod(tables, 0o755)
    # The same questions the categorizer asks: who owns this proxy address (an
    # enabled user, a contact or a group), and which server holds its mailbox.
    recipients = ldap_table(
        os.path.join(tables, "recipients.cf"), slapd,
        "(&(proxyAddresses=smtp:%s)(|(objectClass=user)(objectClass=contact)(objectClass=group)))", "mail")
    transport = ldap_table(
        os.path.join(tables, "transport.cf"), slapd,
        f"(&(objectClass=user)(proxyAddresses=smtp:%s)(msExchHomeServerName={MBX1_LEGACY_DN}))",
        "msExchHomeServerName", f"lmtp:[127.0.0.1]:{dovecot.port}")
    postfix = PrivatePostfix({
        "relay_domains": "example.com",
        "relay_recipient_maps": f"proxy:ldap:{recipients}",
        "transport_maps": f"proxy:ldap:{transport}",
        "proxy_read_maps": f"proxy:ldap:{recipients} proxy:ldap:{transport}",
    }, smtpd_limit=args.sessions + 10)
    postfix.start()
    try:
        result = run_load(f"Postfix {postconf_version()}", postfix.port, dovecot, args)
        result["left_in_queue"] = sum(postfix.queued_files(q) for q in ("incoming", "active", "deferred", "hold"))
        deferred = postfix.log_text().count("status=deferred")
        result["note"] = f"{deferred} delivery attempts deferred"
        return result
    finally:
        postfix.stop()
        for name in os.listdir(tables):
            os.remove(os.path.join(tables, name))
        os.rmdir(tables)


def postconf_version():
    return subprocess.run(["postconf", "-h", "-d", "mail_version"], capture_output=True, text=True).stdout.strip()


def print_results(args, results):
    print(f"\n{args.messages} messages of ~4 KiB, one recipient each, {args.sessions} concurrent sessions")
    print(f"{'':<16} {'accepted':>8} {'delivered':>9} {'accept/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'end-to-end/s':>12} {'drain s':>8}")
    for r in results:
        print(f"{r['name']:<16} {r['accepted']:>8} {r['delivered']:>9} {r['accept_rate']:>9.1f} {r['p50_ms']:>8.2f} "
              f"{r['p99_ms']:>8.2f} {r['end_to_end_rate']:>12.1f} {r['drain_s']:>8.2f}")
    for r in results:
        verdict = "delivered == accepted" if r["delivered"] == r["accepted"] else (
            f"MISSING {r['accepted'] - r['delivered']} (delivered != accepted)")
        extra = f", {r['duplicates']} duplicate deliveries" if r["duplicates"] else ""
        left = f", {r['left_in_queue']} left in its queue" if "left_in_queue" in r else ""
        refused = f", {len(r['refused'])} refused (first: {r['refused'][0]})" if r["refused"] else ""
        print(f"{r['name']}: {verdict}{extra}{left}{refused}; RCPT of an unknown address: {r['unknown_rcpt']}; "
              f"{r.get('note', '')}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gatewayd", default=os.path.join(ROOT, "build", "gateway", "main", "gatewayd"))
    parser.add_argument("--metabase-sync", default=os.path.join(ROOT, "build", "metabase-sync", "metabase-sync"))
    parser.add_argument("--threads", type=int, default=0, help="gatewayd --threads (default: one per core)")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--stall", type=float, default=30.0,
                        help="stop waiting for deliveries after this many seconds without one")
    parser.add_argument("--keep", action="store_true", help="keep gatewayd's work directory (spool, log)")
    parser.add_argument("--no-gatewayd", action="store_true")
    parser.add_argument("--no-postfix", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPU(s), {platform.node()} {platform.release()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    results = []
    with Slapd() as slapd, PrivateDovecot(RECIPIENTS) as dovecot:
        if not args.no_gatewayd:
            results.append(bench_gatewayd(args, slapd, dovecot))
        if not args.no_postfix:
            results.append(bench_postfix(args, slapd, dovecot))
    print_results(args, results)


if __name__ == "__main__":
    main()
