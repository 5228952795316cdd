#!/usr/bin/env bash
# Quick start: a running gateway with a private directory and a test message.
#
#   deploy/quickstart.sh [--directory openldap|samba] [--state DIR] [--build DIR]
#                                                      start everything, send a test message
#   deploy/quickstart.sh --stop [--state DIR]          stop the gateway and the directory
#
# 1. starts a private directory with the sample organization: slapd
#    (directory-schema/scripts/slapd-up.sh, the default) or, with --directory samba, a Samba
#    Active Directory domain controller (samba-up.sh; root only; the first start provisions
#    the domain, about a minute),
# 2. starts a private Dovecot LMTP on 127.0.0.1:2424 as the mailbox store of the sample's
#    mailbox servers (their gwDeliveryEndpoint is pointed at it), delivering to DIR/mail/<user>,
# 3. runs `metabase-sync --once` for server BH1 into DIR/metabase.pb,
# 4. starts gatewayd on the sample's virtual servers (127.0.0.1:2525 and 127.0.0.1:2587),
# 5. sends a message with swaks to alice@example.com, shows the "250 2.6.0 ... queued" reply,
#    then the message as Dovecot stored it in alice's maildir and the queues (gatewayctl),
# and leaves gateway, directory and mailbox store running. State (directory data, metabase,
# spool, maildirs, logs, pids) lives in DIR (default: /tmp/mailgw-quickstart-$USER). The
# project is built into --build (default: build/) when a program is missing.
set -euo pipefail

readonly ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=/tmp/mailgw-quickstart-${USER:-$(id -un)}
build=$ROOT/build
stop=0
directory=openldap
readonly LMTP_PORT=2424
while (($#)); do
  case "$1" in
    --state) state=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --stop) stop=1; shift ;;
    --directory) directory=${2:-}; shift 2 ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
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
  if [[ -s "$state/dovecot.pid" ]]; then
    local pid; pid=$(cat "$state/dovecot.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      echo "dovecot (pid $pid) stopped"
    fi
    rm -f "$state/dovecot.pid"
  fi
  if [[ -d "$state/ldap" ]]; then
    if grep -qx 'DIRECTORY_KIND=ad' "$state/ldap/env" 2>/dev/null; then
      "$ROOT/directory-schema/scripts/samba-down.sh" "$state/ldap" && echo "samba stopped"
    else
      "$ROOT/directory-schema/scripts/slapd-down.sh" "$state/ldap" && echo "slapd stopped"
    fi
  fi
}

if ((stop)); then
  stop_all
  exit 0
fi

case "$directory" in
  openldap) directory_server=slapd ;;
  samba) directory_server=samba; ((EUID == 0)) || die "--directory samba: Samba's domain controller runs only as root" ;;
  *) die "--directory must be openldap or samba" ;;
esac
for tool in swaks protoc "$directory_server" dovecot ldapmodify; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || die "$tool is missing: run deploy/install-deps.sh"
done

gatewayd=$build/gateway/main/gatewayd
metabase_sync=$build/metabase-sync/metabase-sync
gatewayctl=$build/gateway/ctl/gatewayctl
if [[ ! -x "$gatewayd" || ! -x "$metabase_sync" || ! -x "$gatewayctl" ]]; then
  say "building gatewayd, metabase-sync and gatewayctl in $build"
  cmake -S "$ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target gatewayd metabase-sync gatewayctl -j"${GW_JOBS:-2}"
fi

if [[ -s "$state/gatewayd.pid" ]] && kill -0 "$(cat "$state/gatewayd.pid")" 2>/dev/null; then
  die "already running (state in $state); stop it first with: $0 --stop --state $state"
fi
mkdir -p "$state"

say "starting a private directory ($directory_server) with the sample organization"
"$ROOT/directory-schema/scripts/$directory_server-up.sh" "$state/ldap" >/dev/null
# shellcheck disable=SC1091
source "$state/ldap/env"
echo "$directory_server on $LDAP_URI (pid $DIRECTORY_PID), base $LDAP_BASE"
umask 077
printf '%s\n' "$LDAP_SERVICE_PW" >"$state/service.password"
umask 022

say "starting a private Dovecot LMTP on 127.0.0.1:$LMTP_PORT as the mailbox store"
mkdir -p "$state/mail" "$state/dovecot/run"
if ((EUID == 0)); then
  mail_user=nobody mail_group=nogroup      # Dovecot never delivers as root
  chown nobody:nogroup "$state/mail"
  chmod 711 "$state"
else
  mail_user=$(id -un) mail_group=$(id -gn)
fi
{
  echo "base_dir = $state/dovecot/run"
  echo "state_dir = $state/dovecot/state"
  echo "log_path = $state/dovecot/dovecot.log"
  echo "protocols = lmtp"
  echo "listen = 127.0.0.1"
  echo "ssl = no"
  echo "mail_location = maildir:$state/mail/%n"
  echo "auth_username_format = %n"
  ((EUID == 0)) || printf 'default_internal_user = %s\ndefault_login_user = %s\ndefault_internal_group = %s\n' \
    "$mail_user" "$mail_user" "$mail_group"
  echo "passdb {"
  echo "  driver = static"
  echo "  args = nopassword=y"
  echo "}"
  echo "userdb {"
  echo "  driver = static"
  echo "  args = uid=$mail_user gid=$mail_group home=$state/mail/%n allow_all_users=yes"
  echo "}"
  echo "service lmtp {"
  echo "  inet_listener lmtp {"
  echo "    address = 127.0.0.1"
  echo "    port = $LMTP_PORT"
  echo "  }"
  echo "}"
} >"$state/dovecot/dovecot.conf"
nohup dovecot -F -c "$state/dovecot/dovecot.conf" </dev/null >>"$state/dovecot/dovecot.out" 2>&1 &
echo $! >"$state/dovecot.pid"
for _ in $(seq 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/$LMTP_PORT) 2>/dev/null; then break; fi
  kill -0 "$(cat "$state/dovecot.pid")" 2>/dev/null || { cat "$state/dovecot/dovecot.out" >&2; die "dovecot exited"; }
  sleep 0.1
done
# The sample's mailbox servers deliver to this store (gwDeliveryEndpoint of BH1 and MBX1).
admin_group="CN=First Administrative Group,CN=Administrative Groups,CN=Example,CN=Microsoft Exchange,CN=Services,CN=Configuration,$LDAP_BASE"
for server in BH1 MBX1; do
  printf 'dn: CN=%s,CN=Servers,%s\nchangetype: modify\nreplace: gwDeliveryEndpoint\ngwDeliveryEndpoint: 127.0.0.1:%s\n-\nreplace: gwDeliveryProtocol\ngwDeliveryProtocol: LMTP\n-\n\n' \
    "$server" "$admin_group" "$LMTP_PORT"
done | ldapmodify -x -H "$LDAP_URI" -D "$LDAP_ADMIN_DN" -w "$LDAP_ADMIN_PW" >/dev/null
echo "dovecot (pid $(cat "$state/dovecot.pid")) is the mailbox store of BH1 and MBX1; maildirs in $state/mail"

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

say "message $queue_id: categorized in the directory, delivered by LMTP to alice's mailbox"
delivered=""
for _ in $(seq 150); do
  delivered=$(grep -l "$queue_id" "$state"/mail/alice/new/* 2>/dev/null | head -n 1 || true)
  [[ -n "$delivered" ]] && break
  sleep 0.1
done
[[ -n "$delivered" ]] || { grep "$queue_id" "$state/gatewayd.log" >&2 || true; die "the message did not reach alice's mailbox"; }
grep "$queue_id" "$state/gatewayd.log" | grep -E 'categorizer|delivery' | sed 's/^/  log: /'
echo "-- $delivered (first lines):"
head -n 8 "$delivered"

say "gatewayctl queues"
"$gatewayctl" --spool "$state/spool" queues

cat <<INFO

The gateway, the directory and the mailbox store keep running:
  send more mail:   swaks --server 127.0.0.1 --port 2525 --to bob@example.com
  mailboxes:        $state/mail/<user>/new/
  application log:  $state/gatewayd.log
  queues:           $gatewayctl --spool $state/spool queues
  spool:            $state/spool/queue/
  reconfigure:      edit the directory ($LDAP_URI, admin $LDAP_ADMIN_DN), then run
                    $metabase_sync --once --uri $LDAP_URI --bind-dn '$LDAP_SERVICE_DN' \\
                      --password-file $state/service.password --server BH1 --out $state/metabase.pb
                    (gatewayd reloads the metabase when the file is replaced)
  stop everything:  $0 --stop --state $state
INFO
