#!/usr/bin/env bash
# The small site of deploy/site/README.md on one machine, for trying it.
#
#   deploy/site/site-up.sh [--state DIR] [--build DIR] [--port N]   start the site, send a test message
#   deploy/site/site-up.sh --stop [--state DIR]                     stop everything of DIR
#
# Starts, as the calling user:
#  1. two slapd providers in mirror mode (directory-schema/scripts/slapd-up.sh
#     --mirror) with the sample organization and the second routing group of
#     deploy/site/second-routing-group.ldif,
#  2. dnsmasq on 127.0.0.1 naming bh1.example.com 127.0.0.2 and bh2.example.com 127.0.0.3,
#  3. Dovecot LMTP on 127.0.0.1 as the store of mailbox servers BH1 and MBX1,
#     delivering to DIR/mail/<user>,
#  4. for BH1 (127.0.0.2:N) and BH2 (127.0.0.3:N): metabase-sync --follow on
#     both providers in failover order, and gatewayd,
# then sends a message to BH1 for alice@example.com, whose mailbox is on MBX1
# behind BH2, and shows it as it arrived, with both bridgeheads' Received fields.
# N is --port (default 2525). The project is built into --build (default build/)
# when a program is missing. State, logs and pids live in DIR (default
# /tmp/mailgw-site-$USER).
set -euo pipefail

readonly ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly SCRIPTS=$ROOT/directory-schema/scripts
state=/tmp/mailgw-site-${USER:-$(id -un)}
build=$ROOT/build
port=2525
stop=0
while (($#)); do
  case "$1" in
    --state) [[ $# -ge 2 ]] || { echo "site-up: --state needs a directory" >&2; exit 1; }; state=$2; shift 2 ;;
    --build) [[ $# -ge 2 ]] || { echo "site-up: --build needs a directory" >&2; exit 1; }; build=$2; shift 2 ;;
    --port) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || { echo "site-up: --port needs a number" >&2; exit 1; }; port=$2; shift 2 ;;
    --stop) stop=1; shift ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "site-up: unknown argument $1 (see --help)" >&2; exit 1 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }
die() { echo "site-up: $*" >&2; exit 1; }

stop_pid() {  # name pid-file
  [[ -s "$2" ]] || return 0
  local pid; pid=$(<"$2")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "$1 (pid $pid) stopped"
  fi
  rm -f "$2"
}

stop_all() {
  local bh
  for bh in bh1 bh2; do
    stop_pid "gatewayd $bh" "$state/$bh/gatewayd.pid"
    stop_pid "metabase-sync $bh" "$state/$bh/metabase-sync.pid"
  done
  stop_pid dovecot "$state/dovecot.pid"
  stop_pid dnsmasq "$state/dnsmasq.pid"
  for ldap in ldap-a ldap-b; do
    if [[ -d "$state/$ldap" ]]; then "$SCRIPTS/slapd-down.sh" "$state/$ldap" && echo "slapd $ldap stopped"; fi
  done
}

if ((stop)); then
  stop_all
  exit 0
fi

for tool in slapd dovecot dnsmasq swaks ldapmodify ss; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || die "$tool is missing (deploy/install-deps.sh installs it)"
done
for program in gateway/main/gatewayd metabase-sync/metabase-sync gateway/ctl/gatewayctl; do
  if [[ ! -x "$build/$program" ]]; then
    say "building the project into $build"
    cmake -S "$ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" --target gatewayd metabase-sync gatewayctl
    break
  fi
done
[[ ! -e "$state" ]] || stop_all
rm -rf "$state"
mkdir -p "$state"

listening() { ss -Htln "sport = :$1" | grep -q .; }
listening_on() { ss -Htln "src $1 sport = :$2" | grep -q .; }
free_port() {  # a port nobody listens on, 20000..31999
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 12000))
    listening "$p" || { echo "$p"; return 0; }
  done
  die "no free port"
}
wait_for() {  # seconds what command...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq $((seconds * 10))); do "$@" && return 0; sleep 0.1; done
  die "timed out waiting for $what"
}
for ip in 127.0.0.2 127.0.0.3; do
  ! listening_on "$ip" "$port" || die "$ip:$port is taken (choose another --port)"
done

say "starting two slapd providers in mirror mode"
port_a=$(free_port)
port_b=$(free_port)
[[ "$port_a" != "$port_b" ]] || port_b=$(free_port)
"$SCRIPTS/slapd-up.sh" "$state/ldap-a" --port "$port_a" --mirror "ldap://127.0.0.1:$port_b/" --server-id 1 >/dev/null
"$SCRIPTS/slapd-up.sh" "$state/ldap-b" --port "$port_b" --mirror "ldap://127.0.0.1:$port_a/" --server-id 2 --no-data >/dev/null
# shellcheck source=/dev/null
source "$state/ldap-a/env"
printf '%s\n' "$LDAP_SERVICE_PW" >"$state/service.secret"
chmod 600 "$state/service.secret"
uris="ldap://127.0.0.1:$port_a ldap://127.0.0.1:$port_b"
echo "providers: $uris (admin $LDAP_ADMIN_DN)"

say "starting dnsmasq for the bridgeheads' names"
dns_port=$(free_port)
dnsmasq_user=()
if ((EUID == 0)); then dnsmasq_user=(--user=root); fi
dnsmasq --port="$dns_port" --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
  --pid-file="$state/dnsmasq.pid" --host-record=bh1.example.com,127.0.0.2 \
  --host-record=bh2.example.com,127.0.0.3 "${dnsmasq_user[@]}"
wait_for 10 "dnsmasq" test -s "$state/dnsmasq.pid"

say "starting Dovecot LMTP as the mailbox store"
lmtp_port=$(free_port)
mkdir -p "$state/mail" "$state/dovecot/run"
chmod 711 "$state"
if ((EUID == 0)); then
  account=nobody group=nogroup
  chown "$account:$group" "$state/mail"
else
  account=$(id -un) group=$(id -gn)
fi
for user in alice bob carol; do echo "$user:{PLAIN}unused::::::"; done >"$state/dovecot/passwd"
{
  echo "base_dir = $state/dovecot/run"
  echo "state_dir = $state/dovecot/state"
  echo "log_path = $state/dovecot/dovecot.log"
  echo "protocols = lmtp"
  echo "listen = 127.0.0.1"
  echo "ssl = no"
  echo "mail_location = maildir:$state/mail/%n"
  echo "auth_username_format = %n"
  printf 'passdb {\n  driver = passwd-file\n  args = %s\n}\n' "$state/dovecot/passwd"
  printf 'userdb {\n  driver = passwd-file\n  args = %s\n  default_fields = uid=%s gid=%s home=%s/mail/%%n\n}\n' \
    "$state/dovecot/passwd" "$account" "$group" "$state"
  printf 'service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n    port = %s\n  }\n}\n' "$lmtp_port"
  if ((EUID != 0)); then
    echo "default_internal_user = $account"
    echo "default_login_user = $account"
    echo "default_internal_group = $group"
  fi
} >"$state/dovecot/dovecot.conf"
nohup dovecot -F -c "$state/dovecot/dovecot.conf" </dev/null >>"$state/dovecot/dovecot.out" 2>&1 &
echo $! >"$state/dovecot.pid"
wait_for 10 "Dovecot on port $lmtp_port" listening "$lmtp_port"

say "adding the second routing group to the directory"
sed -e "s/@PORT@/$port/g" -e "s/@DNS_PORT@/$dns_port/g" -e "s/@LMTP_PORT@/$lmtp_port/g" \
  "$ROOT/deploy/site/second-routing-group.ldif" >"$state/second-routing-group.ldif"
ldapmodify -x -H "ldap://127.0.0.1:$port_a" -D "$LDAP_ADMIN_DN" -w "$LDAP_ADMIN_PW" \
  -f "$state/second-routing-group.ldif" >"$state/ldapmodify.log"
replicated() {
  ldapsearch -x -LLL -H "ldap://127.0.0.1:$port_b" -D "$LDAP_ADMIN_DN" -w "$LDAP_ADMIN_PW" -b "$LDAP_BASE" \
    "(cn=RG2-RG1)" 1.1 2>/dev/null | grep -q '^dn:'
}
wait_for 20 "the second provider to replicate the change" replicated

for bh in bh1 bh2; do
  server=${bh^^}
  ip=127.0.0.2
  [[ $bh == bh2 ]] && ip=127.0.0.3
  say "starting $server on $ip:$port"
  mkdir -p "$state/$bh"
  sync_args=(--uri "$uris" --bind-dn "$LDAP_SERVICE_DN" --password-file "$state/service.secret"
             --server "$server" --out "$state/$bh/metabase.pb")
  "$build/metabase-sync/metabase-sync" "${sync_args[@]}" --once
  nohup "$build/metabase-sync/metabase-sync" "${sync_args[@]}" --follow </dev/null \
    >>"$state/$bh/metabase-sync.log" 2>&1 &
  echo $! >"$state/$bh/metabase-sync.pid"
  nohup "$build/gateway/main/gatewayd" --metabase "$state/$bh/metabase.pb" --spool "$state/$bh/spool" \
    --log-file "$state/$bh/gatewayd.log" </dev/null >>"$state/$bh/gatewayd.out" 2>&1 &
  echo $! >"$state/$bh/gatewayd.pid"
  wait_for 20 "$server on $ip:$port" listening_on "$ip" "$port"
done

say "sending a message to BH1 for alice@example.com (mailbox on MBX1, behind BH2)"
swaks --server 127.0.0.2 --port "$port" --from outsider@remote.example --to alice@example.com \
  --header "Subject: across the site" --body "Hello from outside." --hide-all
arrived() { compgen -G "$state/mail/alice/new/*" >/dev/null; }
wait_for 60 "the message in alice's maildir" arrived
file=$(ls -t "$state/mail/alice/new/"* | head -n 1)
echo "delivered to $file:"
grep -E '^(Received:|[[:space:]]+by )' "$file" || true

cat <<DONE

The site is running. BH1: 127.0.0.2:$port, BH2: 127.0.0.3:$port; providers: $uris.
  queues:   $build/gateway/ctl/gatewayctl --spool $state/bh1/spool queues
  logs:     $state/bh1/gatewayd.log, $state/bh2/gatewayd.log
  stop:     $0 --stop --state $state
DONE
