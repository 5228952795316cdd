#!/usr/bin/env bash
# Stops the Samba DC that samba-up.sh started in DIR, by the pid in
# DIR/run/samba.pid.
#
#   samba-down.sh DIR
#
# Sends SIGTERM (and SIGCONT, in case the process was stopped with SIGSTOP),
# waits up to 10 s, then SIGKILLs. The data stays in DIR, so samba-up.sh DIR
# --restart can start it again on the same address. Succeeds when nothing is
# running.
set -euo pipefail

die() { echo "samba-down: $*" >&2; exit 1; }
[[ $# -eq 1 ]] || die "usage: samba-down.sh DIR"
pid_file="$1/run/samba.pid"
[[ -s "$pid_file" ]] || exit 0
pid=$(tr -dc '0-9' <"$pid_file")
[[ -n "$pid" ]] || die "$pid_file does not hold a pid"

# A dead samba nobody has reaped yet (PID 1 in a container may not reap) is a
# zombie: it holds no socket and no database lock, so it counts as stopped.
alive() {
  local stat
  kill -0 "$pid" 2>/dev/null || return 1
  stat=$(<"/proc/$pid/stat") 2>/dev/null || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]]
}

if alive; then
  kill -TERM "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do
    alive || break
    sleep 0.05
  done
  if alive; then
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive || break; sleep 0.05; done
  fi
fi
rm -f "$pid_file"
