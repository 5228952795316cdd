#!/usr/bin/env python3
"""Accept-path benchmark: messages per second and per-message latency (p50/p99)
for 4 KiB messages at 1, 10 and 50 concurrent sessions, for a private gatewayd
and, in the same run, a private Postfix that accepts the same mail and only
queues it (HOLD). Each session sends its messages over one connection (MAIL,
RCPT and DATA pipelined, per message). Every "250" is a durable commit on both
(gatewayd: fsync of files and directory; Postfix: cleanup's fsync of the queue
file), so the figures depend on the disk. Then a fresh gatewayd holds 1,000
idle SMTP sessions (greeted, EHLO answered) and its resident memory is read
from /proc against the 64 MiB target. Prints figures; asserts nothing.

  bench/accept/bench_accept.py [--gatewayd build/gateway/main/gatewayd] [--threads N]
  bench/accept/bench_accept.py --no-postfix --idle 0          # gatewayd throughput only
  bench/accept/bench_accept.py --port 10025                   # an MTA you started yourself

The Postfix reference needs root (its master changes to the postfix user).
"""

import argparse
import asyncio
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "gateway"))
sys.path.insert(0, HERE)
os.environ.setdefault("PROTO_DIR", os.path.join(ROOT, "proto"))

from gatewayd_fixture import free_port, metabase_text, virtual_server, wait_for_port, write_metabase  # noqa: E402
from private_postfix import PrivatePostfix  # noqa: E402

BODY = (b"Subject: bench\r\nFrom: bench@example.net\r\nTo: alice@example.com\r\n\r\n"
        + b"".join(b"%-78s\r\n" % (b"line %d of a 4 KiB benchmark message" % i) for i in range(51)))

IDLE_RSS_TARGET_MIB = 64


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


def status_kib(pid, field):
    """A "VmRSS:"-style field of /proc/<pid>/status in KiB; 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def pss_kib(pid):
    """Proportional set size: shared pages divided among the processes sharing them,
    so the sum over a multi-process server does not count its code N times."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class MemorySampler:
    """Samples the summed RSS and PSS of a server's processes every `interval`
    seconds while the load runs, and keeps the peaks. For one process, VmHWM
    (read at the end) is the exact peak; for Postfix, whose smtpd and cleanup
    processes come and go, the sampled sum is the only meaningful figure."""

    def __init__(self, pids_of, interval=0.25):
        self.pids_of = pids_of
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            pids = self.pids_of()
            self.peak_rss = max(self.peak_rss, sum(status_kib(p, "VmRSS") for p in pids))
            self.peak_pss = max(self.peak_pss, sum(pss_kib(p) for p in pids))
            self.peak_processes = max(self.peak_processes, len(pids))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def gatewayd_metabase(port, limits, connection_timeout=30):
    text = metabase_text([virtual_server("1", "127.0.0.1", port, limits=limits)])
    return text.replace("connection_timeout: 30", f"connection_timeout: {connection_timeout}")


def start_gatewayd(args, work, port, limits, connection_timeout=30):
    mb = os.path.join(work, "metabase.pb")
    write_metabase(mb, gatewayd_metabase(port, limits, connection_timeout))
    cmd = [args.gatewayd, "--metabase", mb, "--spool", os.path.join(work, "spool"), "--log-level", "warn"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    soft = args.gatewayd_nofile

    def limit_descriptors():
        # What a service gets by default (systemd: 1024 soft); gatewayd must raise it itself if it needs more.
        if soft:
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, hard), hard))

    with open(os.path.join(work, "gatewayd.log"), "ab") as log:
        proc = subprocess.Popen(cmd, preexec_fn=limit_descriptors, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port("127.0.0.1", port, proc=proc)
    return proc


def stop_gatewayd(proc, work):
    """SIGTERM, then reports an unclean exit with the end of gatewayd's log."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        with open(os.path.join(work, "gatewayd.log"), errors="replace") as f:
            tail = [line.rstrip() for line in f if " warning " not in line][-3:]
        print(f"note: gatewayd exited with {proc.returncode} after SIGTERM: " + " | ".join(tail), file=sys.stderr)


def bench_gatewayd(args, levels):
    work = tempfile.mkdtemp(prefix="bench-accept-")
    port = free_port()
    proc = start_gatewayd(args, work, port, "max_connections_per_ip: 0")
    try:
        results = [asyncio.run(run_level(port, n, args.messages)) for n in levels]
        queued = len([n for n in os.listdir(os.path.join(work, "spool", "queue")) if n.endswith(".env")])
        return {"name": "gatewayd", "results": results, "queued": queued,
                "memory": f"VmHWM {status_kib(proc.pid, 'VmHWM') / 1024:.1f} MiB (1 process)"}
    finally:
        stop_gatewayd(proc, work)
        shutil.rmtree(work, ignore_errors=True)


def postfix_version():
    out = subprocess.run(["postconf", "-h", "-d", "mail_version"], capture_output=True, text=True)
    return out.stdout.strip()


def bench_postfix(args, levels):
    # Accept for the test domain, fsync the queue file as always, and put the
    # message on hold: no queue manager or delivery work, like gatewayd's
    # accept path without a directory or next hop to deliver to.
    postfix = PrivatePostfix({
        "relay_domains": "example.com",
        "smtpd_data_restrictions": "check_client_access static:HOLD",
    }, smtpd_limit=max(levels) + 10)
    postfix.start()
    try:
        with MemorySampler(postfix.pids) as memory:
            results = [asyncio.run(run_level(postfix.port, n, args.messages)) for n in levels]
        return {"name": f"Postfix {postfix_version()}", "results": results, "queued": postfix.queued_files("hold"),
                "memory": f"peak sum of PSS {memory.peak_pss / 1024:.1f} MiB, of RSS {memory.peak_rss / 1024:.1f} MiB "
                          f"({memory.peak_processes} processes at most)"}
    finally:
        postfix.stop()


async def open_idle_sessions(port, count, batch, timeout=10.0):
    """Opens up to `count` sessions, each greeted and EHLO answered, `batch`
    connects at a time. Returns the open sessions and the first failure seen
    (a connect, greeting or EHLO that failed or took longer than `timeout`)."""
    sessions, failure = [], None

    async def open_one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            if await read_reply(reader) != 220:
                raise RuntimeError("no 220 greeting")
            writer.write(b"EHLO idle.example.net\r\n")
            if await read_reply(reader) != 250:
                raise RuntimeError("EHLO refused")
        except BaseException:
            writer.close()
            raise
        return reader, writer

    while len(sessions) < count and failure is None:
        n = min(batch, count - len(sessions))
        opened = await asyncio.gather(*(asyncio.wait_for(open_one(), timeout) for _ in range(n)),
                                      return_exceptions=True)
        for result in opened:
            if isinstance(result, BaseException):
                failure = failure or f"{type(result).__name__} {result}".strip()
            else:
                sessions.append(result)
    return sessions, failure


async def still_served(sessions, timeout=10.0):
    """How many idle sessions still answer NOOP with 250: held, not dropped."""
    async def noop(reader, writer):
        writer.write(b"NOOP\r\n")
        return await asyncio.wait_for(read_reply(reader), timeout) == 250
    answers = await asyncio.gather(*(noop(r, w) for r, w in sessions), return_exceptions=True)
    return sum(1 for a in answers if a is True)


async def idle_measurement(proc, port, count, settle):
    before = status_kib(proc.pid, "VmRSS")
    sessions, failure = await open_idle_sessions(port, count, batch=50)
    await asyncio.sleep(settle)
    rss = status_kib(proc.pid, "VmRSS")
    hwm = status_kib(proc.pid, "VmHWM")
    threads = status_kib(proc.pid, "Threads")  # a count, not KiB; same line format
    answering = await still_served(sessions)
    for _, writer in sessions:
        writer.close()
    return {"before": before, "rss": rss, "hwm": hwm, "threads": threads, "opened": len(sessions),
            "failure": failure, "answering": answering, "alive": proc.poll() is None}


def bench_idle(args):
    needed = args.idle + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    work = tempfile.mkdtemp(prefix="bench-idle-")
    port = free_port()
    # Room for every session on one client address, and no idle timeout while they are counted.
    limits = f"max_connections: {args.idle + 100} max_connections_per_ip: {args.idle + 100}"
    proc = start_gatewayd(args, work, port, limits, connection_timeout=600)
    try:
        return asyncio.run(idle_measurement(proc, port, args.idle, args.settle))
    finally:
        stop_gatewayd(proc, work)
        shutil.rmtree(work, ignore_errors=True)


def print_table(runs):
    width = 28
    print()
    print(f"{'':>8} " + " ".join(f"{run['name'][:width]:^{width}}" for run in runs))
    print(f"{'sessions':>8} " + " ".join(f"{'msg/s':>9} {'p50 ms':>8} {'p99 ms':>9}" for _ in runs))
    for i, level in enumerate(runs[0]["results"]):
        cells = []
        for run in runs:
            r = run["results"][i]
            cells.append(f"{r['rate']:>9.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>9.2f}")
        print(f"{level['sessions']:>8} " + " ".join(cells))
    for run in runs:
        sent = sum(r["messages"] for r in run["results"])
        print(f"{run['name']}: {sent} messages accepted, {run['queued']} in its queue; memory: {run['memory']}")


def print_idle(args, idle):
    print(f"\ngatewayd with {args.idle} idle sessions (greeted, EHLO answered; soft RLIMIT_NOFILE "
          f"{args.gatewayd_nofile or 'inherited'}):")
    if idle["opened"] < args.idle:
        print(f"  only {idle['opened']} sessions opened; then: {idle['failure']} "
              f"(gatewayd {'still running' if idle['alive'] else 'exited'})")
    per_session = (idle["rss"] - idle["before"]) / max(1, idle["opened"])
    verdict = "within" if idle["hwm"] < IDLE_RSS_TARGET_MIB * 1024 else "OVER"
    print(f"  VmRSS {idle['before'] / 1024:.1f} MiB before, {idle['rss'] / 1024:.1f} MiB with {idle['opened']} "
          f"sessions open ({per_session:.1f} KiB per session); VmHWM {idle['hwm'] / 1024:.1f} MiB; "
          f"{idle['threads']} threads")
    print(f"  {verdict} the {IDLE_RSS_TARGET_MIB} MiB target; {idle['answering']} of {idle['opened']} sessions "
          f"answered NOOP afterwards")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gatewayd", default=os.path.join(ROOT, "build", "gateway", "main", "gatewayd"))
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--messages", type=int, default=500, help="messages per concurrency level")
    parser.add_argument("--sessions", default="1,10,50")
    parser.add_argument("--port", type=int, default=0, help="measure an MTA already listening on 127.0.0.1:PORT")
    parser.add_argument("--no-postfix", action="store_true", help="skip the private Postfix reference")
    parser.add_argument("--idle", type=int, default=1000, help="idle sessions for the memory figure (0: skip)")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to wait before reading the idle RSS")
    parser.add_argument("--gatewayd-nofile", type=int, default=1024,
                        help="soft RLIMIT_NOFILE gatewayd starts with (0: inherit the bench's)")
    args = parser.parse_args()
    levels = [int(n) for n in args.sessions.split(",")]
    load = os.getloadavg()
    print(f"{len(BODY)}-octet messages, {args.messages} per level, {os.cpu_count()} CPU(s), "
          f"{platform.node()} {platform.release()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.port:
        results = [asyncio.run(run_level(args.port, n, args.messages)) for n in levels]
        print_table([{"name": f"127.0.0.1:{args.port}", "results": results, "queued": "?", "memory": "not measured"}])
        return
    runs = [bench_gatewayd(args, levels)]
    if not args.no_postfix:
        runs.append(bench_postfix(args, levels))
    print_table(runs)
    if args.idle:
        print_idle(args, bench_idle(args))


if __name__ == "__main__":
    main()
