#!/usr/bin/env bash
# Quick start: a running gateway with a private directory and a test message.
#
#   deploy/quickstart.sh [--state DIR] [--build DIR]   start everything, send a test message
#   deploy/quickstart.sh --stop [--state DIR]          stop the gateway and the directory
#
# 1. starts a private slapd with the sample organization (directory-schema/scripts/slapd-up.sh),
# 2. runs `metabase-sync --once` for server BH1 into DIR/metabase.pb,
# 3. starts gatewayd on the sample's virtual servers (127.0.0.1:2525 and 127.0.0.1:2587),
# 4. sends a message with swaks to alice@example.com and shows the "250 2.6.0 ... queued"
#    reply and the queued files in the spool,
# and leaves gateway and directory running. State (directory data, metabase, spool,
# logs, pids) lives in DIR (default: /tmp/mailgw-quickstart-$USER). The project is
# built into --build (default: build/) when gatewayd or metabase-sync is missing.
set -euo pipefail

readonly ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=/tmp/mailgw-quickstart-${USER:-$(id -un)}
build=$ROOT/build
stop=0
while (($#)); do
  case "$1" in
    --state) state=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --stop) stop=1; shift ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "quickstart: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }
die() { echo "quickstart: $*" >&2; exit 1; }

stop_all() {
  if [[ -s "$state/gatewayd.pid" ]]; then
    local pid; pid=$(cat "$state/gatewayd.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done  # it drains sessions for up to 10 s
      echo "gatewayd (pid $pid) stopped"
    fi
    rm -f "$state/gatewayd.pid"
  fi
  if [[ -d "$state/ldap" ]]; then
    "$ROOT/directory-schema/scripts/slapd-down.sh" "$state/ldap" && echo "slapd stopped"
  fi
}

if ((stop)); then
  stop_all
  exit 0
fi

for tool in swaks protoc slapd; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || die "$tool is missing: run deploy/install-deps.sh"
done

gatewayd=$build/gateway/main/gatewayd
metabase_sync=$build/metabase-sync/metabase-sync
if [[ ! -x "$gatewayd" || ! -x "$metabase_sync" ]]; then
  say "building gatewayd and metabase-sync in $build"
  cmake -S "$ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target gatewayd metabase-sync -j"${GW_JOBS:-2}"
fi

if [[ -s "$state/gatewayd.pid" ]] && kill -0 "$(cat "$state/gatewayd.pid")" 2>/dev/null; then
  die "already running (state in $state); stop it first with: $0 --stop --state $state"
fi
mkdir -p "$state"

say "starting a private directory with the sample organization"
"$ROOT/directory-schema/scripts/slapd-up.sh" "$state/ldap" >/dev/null
# shellcheck disable=SC1091
source "$state/ldap/env"
echo "slapd on $LDAP_URI (pid $SLAPD_PID), base $LDAP_BASE"
umask 077
printf '%s\n' "$LDAP_SERVICE_PW" >"$state/service.password"

say "metabase-sync --once: directory configuration of BH1 -> $state/metabase.pb"
"$metabase_sync" --once --uri "$LDAP_URI" --bind-dn "$LDAP_SERVICE_DN" \
  --password-file "$state/service.password" --server BH1 --out "$state/metabase.pb"
"$metabase_sync" --dump "$state/metabase.pb" | awk '
  /^virtual_servers \{/ { in_vs = 1; id = name = ip = port = ""; state = "STARTED"; next }
  in_vs && /^  id:/      { id = $2 }
  in_vs && /^  name:/    { sub(/^  name: /, ""); name = $0 }
  in_vs && /^  bindings \{/ { in_binding = 1 }
  in_vs && /^  \}/       { in_binding = 0 }
  in_binding && /^    ip:/   { ip = $2 }
  in_binding && /^    port:/ { port = $2 }
  in_vs && /^  state:/   { state = $2 }
  in_vs && /^\}/         { gsub(/"/, "", id); gsub(/"/, "", ip)
                           printf "virtual server %s %s on %s:%s, %s\n", id, name, ip, port, state; in_vs = 0 }'


say "starting gatewayd"
# Detached from this terminal: it keeps running after the script ends.
nohup "$gatewayd" --metabase "$state/metabase.pb" --spool "$state/spool" --log-file "$state/gatewayd.log" \
  </dev/null >>"$state/gatewayd.out" 2>&1 &
echo $! >"$state/gatewayd.pid"
for _ in $(seq 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null; then break; fi
  kill -0 "$(cat "$state/gatewayd.pid")" 2>/dev/null || { cat "$state/gatewayd.out" >&2; die "gatewayd exited"; }
  sleep 0.1
done
echo "gatewayd (pid $(cat "$state/gatewayd.pid")) listening on 127.0.0.1:2525; log: $state/gatewayd.log"

say "sending a test message with swaks"
swaks --server 127.0.0.1 --port 2525 --helo quickstart.example.net \
  --from postmaster@example.net --to alice@example.com \
  --header "Subject: mailgw quick start" --body "Hello from the quick start." | tee "$state/swaks.txt"
grep -qE '^<-  250 2\.6\.0 <[0-9A-F]{24}> queued' "$state/swaks.txt" || die "the message was not accepted"
queue_id=$(sed -nE 's/^<-  250 2\.6\.0 <([0-9A-F]{24})> queued.*/\1/p' "$state/swaks.txt")

say "queued message $queue_id in the spool"
ls -l "$state/spool/queue/$queue_id".*
echo "-- envelope (spool frame: 16-octet header, then gw.envelope.Envelope):"
tail -c +17 "$state/spool/queue/$queue_id.env" |
  protoc --decode=gw.envelope.Envelope --proto_path="$ROOT/proto" "$ROOT/proto/envelope.proto" |
  grep -E '^(queue_id|sender|queue|virtual_server_id|helo):|^  address:'
echo "-- first lines of the body:"
head -n 4 "$state/spool/queue/$queue_id.body"

cat <<INFO

The gateway and the directory keep running:
  send more mail:   swaks --server 127.0.0.1 --port 2525 --to bob@example.com
  application log:  $state/gatewayd.log
  spool:            $state/spool/queue/
  reconfigure:      edit the directory ($LDAP_URI, admin $LDAP_ADMIN_DN), then run
                    $metabase_sync --once --uri $LDAP_URI --bind-dn '$LDAP_SERVICE_DN' \\
                      --password-file $state/service.password --server BH1 --out $state/metabase.pb
                    (gatewayd reloads the metabase when the file is replaced)
  stop everything:  $0 --stop --state $state
INFO
