#!/usr/bin/env bash
# Stops the slapd that slapd-up.sh started in DIR, by the pid in DIR/slapd.pid.
#
#   slapd-down.sh DIR
#
# Sends SIGTERM (and SIGCONT, in case the process was stopped with SIGSTOP),
# waits up to 10 s for a clean shutdown, then SIGKILLs. Config and data stay in
# DIR, so slapd-up.sh DIR --restart can start it again. Succeeds when nothing
# is running.
set -euo pipefail

die() { echo "slapd-down: $*" >&2; exit 1; }
[[ $# -eq 1 ]] || die "usage: slapd-down.sh DIR"
dir=$1
pid_file="$dir/slapd.pid"
[[ -s "$pid_file" ]] || exit 0
pid=$(<"$pid_file")
[[ "$pid" =~ ^[0-9]+$ ]] || die "$pid_file does not hold a pid"

# A dead slapd nobody has reaped yet (PID 1 in a container may not reap) is a
# zombie: it holds no port and no database lock, so it counts as stopped.
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
