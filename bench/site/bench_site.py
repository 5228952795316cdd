#!/usr/bin/env python3
"""The small site under load: two bridgeheads receiving at once, every message
crossing to the other routing group before delivery.

The site is deploy/site/site-up.sh's (two mirrored slapd providers, dnsmasq,
Dovecot LMTP, BH1 on 127.0.0.2 and BH2 on 127.0.0.3, each with metabase-sync
--follow). Half the sessions talk to BH1 for mailboxes on MBX1 (behind BH2),
half to BH2 for bob's mailbox on BH1 (behind BH1): each message is accepted
by one bridgehead, relayed over a routing group connector to the other and
delivered there over LMTP. Prints the accept rate, the end-to-end rate (until
the last message is in a maildir) and delivered == accepted, counted by a
unique X-Bench-Id header. Asserts nothing.

  bench/site/bench_site.py [--build build] [--messages 2000] [--sessions 50] [--port 2525]
"""

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SITE_UP = ROOT / "deploy" / "site" / "site-up.sh"
BH1_IP, BH2_IP = "127.0.0.2", "127.0.0.3"
# (bridgehead to send to, mailbox behind the other one)
TARGETS = [(BH1_IP, "alice"), (BH2_IP, "bob"), (BH1_IP, "carol"), (BH2_IP, "bob")]
FILLER = b"".join(b"%-78s\r\n" % (b"line %d of a 4 KiB site benchmark message" % i) for i in range(50))


async def reply(reader):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return int(line[:3]), line


async def session(host, port, user, numbers, tag, accepted, refused):
    reader, writer = await asyncio.open_connection(host, port)
    await reply(reader)
    writer.write(b"EHLO bench.remote.example\r\n")
    await reply(reader)
    for number in numbers:
        writer.write(b"MAIL FROM:<bench@remote.example>\r\nRCPT TO:<%s@example.com>\r\nDATA\r\n" % user.encode())
        codes = [(await reply(reader))[0] for _ in range(3)]
        if codes != [250, 250, 354]:
            refused.append(codes)
            writer.write(b"RSET\r\n")
            await reply(reader)
            continue
        writer.write(b"Subject: site bench\r\nX-Bench-Id: %s-%d\r\n\r\n%s.\r\n" % (tag.encode(), number, FILLER))
        code, _ = await reply(reader)
        (accepted if code == 250 else refused).append(number)
    writer.write(b"QUIT\r\n")
    await reply(reader)
    writer.close()


async def send_all(port, sessions, total, tag):
    accepted, refused = [], []
    jobs = []
    for s in range(sessions):
        host, user = TARGETS[s % len(TARGETS)]
        jobs.append(session(host, port, user, range(s, total, sessions), tag, accepted, refused))
    await asyncio.gather(*jobs)
    return accepted, refused


def delivered(mail_dir, tag):
    prefix = f"X-Bench-Id: {tag}-".encode()
    ids = []
    for path in Path(mail_dir).glob("*/new/*"):
        head = path.read_bytes()[:2048]
        at = head.find(prefix)
        if at >= 0:
            ids.append(head[at:head.find(b"\n", at)].strip())
    return ids


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--port", type=int, default=2525)
    args = parser.parse_args()

    load = os.getloadavg()
    print(f"site bench: {args.messages} messages of 4 KiB, {args.sessions} sessions, half to each bridgehead; "
          f"{platform.node()}, {os.cpu_count()} CPUs, load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    parent = Path(tempfile.mkdtemp(prefix="gw-bench-site-"))
    parent.chmod(0o711)  # Dovecot delivers as an unprivileged account
    state = parent / "site"
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    up = subprocess.run([str(SITE_UP), "--state", str(state), "--build", args.build, "--port", str(args.port)],
                        capture_output=True, text=True, env=env, check=False)
    if up.returncode != 0:
        sys.exit(f"site-up.sh failed:\n{up.stdout}{up.stderr}")
    try:
        tag = f"run{int(time.time())}"
        started = time.perf_counter()
        accepted, refused = asyncio.run(send_all(args.port, args.sessions, args.messages, tag))
        accept_seconds = time.perf_counter() - started
        deadline = time.monotonic() + 600
        while len(delivered(state / "mail", tag)) < len(accepted) and time.monotonic() < deadline:
            time.sleep(0.2)
        end_seconds = time.perf_counter() - started
        ids = delivered(state / "mail", tag)
        print(f"accepted {len(accepted)}, refused {len(refused)} in {accept_seconds:.1f} s: "
              f"{len(accepted) / accept_seconds:.0f} msg/s accepted by the two bridgeheads")
        print(f"delivered {len(ids)} ({len(set(ids))} distinct) in {end_seconds:.1f} s: "
              f"{len(ids) / end_seconds:.0f} msg/s end to end, every message crossing the site")
        print("delivered == accepted: " + ("yes" if len(ids) == len(set(ids)) == len(accepted) else "NO"))
    finally:
        subprocess.run([str(SITE_UP), "--stop", "--state", str(state)], capture_output=True, env=env, check=False)
        shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    main()
