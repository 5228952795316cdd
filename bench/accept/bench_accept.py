#!/usr/bin/env python3
"""Accept-path benchmark: messages per second and per-message latency (p50/p99)
for 4 KiB messages at 1, 10 and 50 concurrent sessions, and the server's peak
RSS. Each session sends its messages over one connection (MAIL, RCPT and DATA
pipelined, per message). Every "250" is a durable commit (fsync of files and
directory), so the figures depend on the disk. Point --port at another MTA
already listening (e.g. a private Postfix) to measure it with the same load.
Prints figures; asserts nothing.

  bench/accept/bench_accept.py [--gatewayd build/gateway/main/gatewayd] [--threads N]
  bench/accept/bench_accept.py --port 10025      # an MTA you started yourself
"""

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "gateway"))
os.environ.setdefault("PROTO_DIR", os.path.join(ROOT, "proto"))

from gatewayd_fixture import free_port, metabase_text, virtual_server, wait_for_port, write_metabase  # noqa: E402

BODY = (b"Subject: bench\r\nFrom: bench@example.net\r\nTo: alice@example.com\r\n\r\n"
        + b"".join(b"%-78s\r\n" % (b"line %d of a 4 KiB benchmark message" % i) for i in range(51)))


async def read_reply(reader):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return int(line[:3])


async def session(port, count, latencies):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await read_reply(reader)
    writer.write(b"EHLO bench.example.net\r\n")
    await read_reply(reader)
    for _ in range(count):
        started = time.perf_counter()
        # PIPELINING: MAIL, RCPT and DATA in one write.
        writer.write(b"MAIL FROM:<bench@example.net>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n")
        for expected in (250, 250, 354):
            code = await read_reply(reader)
            if code != expected:
                raise RuntimeError(f"unexpected reply {code}")
        writer.write(BODY + b".\r\n")
        if await read_reply(reader) != 250:
            raise RuntimeError("message refused")
        latencies.append(time.perf_counter() - started)
    writer.write(b"QUIT\r\n")
    await read_reply(reader)
    writer.close()


async def run_level(port, sessions, total):
    per_session = max(1, total // sessions)
    latencies = []
    started = time.perf_counter()
    await asyncio.gather(*(session(port, per_session, latencies) for _ in range(sessions)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "sessions": sessions,
        "messages": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def peak_rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def report(name, results, rss_kib):
    print(f"\n{name}")
    print(f"{'sessions':>8} {'messages':>8} {'msg/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(f"{r['sessions']:>8} {r['messages']:>8} {r['rate']:>9.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")
    print(f"peak RSS: {rss_kib / 1024:.1f} MiB")


def bench_gatewayd(args, levels):
    work = tempfile.mkdtemp(prefix="bench-accept-")
    port = free_port()
    mb = os.path.join(work, "metabase.pb")
    write_metabase(mb, metabase_text([virtual_server("1", "127.0.0.1", port)]).replace(
        "max_recipients_per_message: 100", "max_recipients_per_message: 100 max_connections_per_ip: 0"))
    cmd = [args.gatewayd, "--metabase", mb, "--spool", os.path.join(work, "spool"), "--log-level", "warn"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.Popen(cmd)
    try:
        wait_for_port("127.0.0.1", port, proc=proc)
        results = [asyncio.run(run_level(port, n, args.messages)) for n in levels]
        report(f"gatewayd ({args.gatewayd})", results, peak_rss_kib([proc.pid]))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gatewayd", default=os.path.join(ROOT, "build", "gateway", "main", "gatewayd"))
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--messages", type=int, default=500, help="messages per concurrency level")
    parser.add_argument("--sessions", default="1,10,50")
    parser.add_argument("--port", type=int, default=0, help="measure an MTA already listening on 127.0.0.1:PORT")
    args = parser.parse_args()
    levels = [int(n) for n in args.sessions.split(",")]
    print(f"{len(BODY)}-octet messages, {args.messages} per level, {os.cpu_count()} CPU(s)")
    if args.port:
        results = [asyncio.run(run_level(args.port, n, args.messages)) for n in levels]
        report(f"MTA on 127.0.0.1:{args.port} (RSS not measured)", results, 0)
    else:
        bench_gatewayd(args, levels)


if __name__ == "__main__":
    main()
