#!/usr/bin/env bash
# Starts a private slapd with the gateway's directory schema and the sample
# organization, for tests and the quick start.
#
#   slapd-up.sh DIR [--port N] [--empty] [--restart] [--tls CERT KEY]
#               [--mirror PEER_URI --server-id ID [--no-data]]
#
# DIR          created if missing; holds slapd.d/ (cn=config), data/ (mdb),
#              slapd.pid, slapd.log and env. Existing config and data in DIR are
#              replaced unless --restart is given.
# --port N     listen on ldap://127.0.0.1:N/ (default: a free port, chosen at
#              random and retried when another process wins the race for it).
# --empty      load only the base entries (domain, CN=Users, the gateway's
#              service account, CN=Configuration,CN=Services), no organization.
# --restart    start again on DIR's existing config, data and port.
# --tls CERT KEY  serve TLS with this PEM certificate (chain) and key: StartTLS
#              on the ldap:// port and a second listener ldaps://127.0.0.1:M/
#              (a free port; --restart keeps it). Adds LDAPS_URI and LDAPS_PORT
#              to DIR/env.
# --mirror PEER_URI --server-id ID
#              one of two providers in multi-provider (mirror mode) replication:
#              this instance (olcServerID ID, 1..4095) replicates the whole
#              suffix from PEER_URI with syncrepl (refreshAndPersist, retried
#              every second) and PEER_URI replicates from it. Start the first
#              with the sample data and the second with --no-data; each names
#              the other's URI (pick both ports first, --port).
# --no-data    load nothing: the entries come from the --mirror peer.
#
# When slapd answers, DIR/env is written and printed: shell-sourceable
# KEY=value lines (values never need quoting): LDAP_URI, LDAP_HOST, LDAP_PORT,
# LDAP_BASE, LDAP_ADMIN_DN, LDAP_ADMIN_PW, LDAP_SERVICE_DN, LDAP_SERVICE_PW,
# DIRECTORY_KIND=openldap, DIRECTORY_PID and SLAPD_PID (the same pid).
# Stop it with slapd-down.sh DIR. Exit status is non-zero, with the reason on
# stderr, when slapd cannot be configured, started or loaded.
set -euo pipefail
# The directory holds password hashes and the data: private to the caller.
umask 077

readonly SCHEMA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly SLAPD=${SLAPD:-/usr/sbin/slapd}
readonly SLAPADD=${SLAPADD:-/usr/sbin/slapadd}
readonly SLAPMODIFY=${SLAPMODIFY:-/usr/sbin/slapmodify}
readonly SYSTEM_SCHEMA_DIR=${SYSTEM_SCHEMA_DIR:-/etc/ldap/schema}
readonly MODULE_DIR=${SLAPD_MODULE_DIR:-/usr/lib/ldap}

readonly BASE_DN="dc=example,dc=com"
readonly ADMIN_DN="cn=admin,${BASE_DN}"
readonly ADMIN_PW="Admin-Passw0rd"
readonly SERVICE_DN="CN=svc-gateway,CN=Users,DC=example,DC=com"
readonly SERVICE_PW="Gateway-Passw0rd"

die() { echo "slapd-up: $*" >&2; exit 1; }

usage() { die "usage: slapd-up.sh DIR [--port N] [--empty] [--restart] [--tls CERT KEY] [--mirror PEER_URI --server-id ID [--no-data]]"; }

dir="" port="" empty=0 restart=0 tls_cert="" tls_key="" tls_port="" mirror="" server_id="" no_data=0
while (($#)); do
  case "$1" in
    --port) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || usage; port=$2; shift 2 ;;
    --port=*) port=${1#--port=}; [[ "$port" =~ ^[0-9]+$ ]] || usage; shift ;;
    --empty) empty=1; shift ;;
    --restart) restart=1; shift ;;
    --tls) [[ $# -ge 3 ]] || usage; tls_cert=$2; tls_key=$3; shift 3 ;;
    --mirror) [[ $# -ge 2 && "$2" =~ ^ldaps?://[^[:space:]]+$ ]] || usage; mirror=$2; shift 2 ;;
    --server-id) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -ge 1 && "$2" -le 4095 ]] || usage; server_id=$2; shift 2 ;;
    --no-data) no_data=1; shift ;;
    -h|--help) sed -n '2,33p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) usage ;;
    *) [[ -z "$dir" ]] || usage; dir=$1; shift ;;
  esac
done
[[ -n "$dir" ]] || usage
[[ -z "$mirror" || -n "$server_id" ]] || die "--mirror needs --server-id"
[[ -n "$mirror" || -z "$server_id" ]] || die "--server-id is for --mirror"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [[ -n "$tls_cert" ]]; then
  [[ -r "$tls_cert" && -r "$tls_key" ]] || die "--tls: cannot read $tls_cert or $tls_key"
  tls_cert=$(cd "$(dirname "$tls_cert")" && pwd)/$(basename "$tls_cert")
  tls_key=$(cd "$(dirname "$tls_key")" && pwd)/$(basename "$tls_key")
fi

running_pid() {
  local pid
  [[ -s "$dir/slapd.pid" ]] || return 1
  pid=$(<"$dir/slapd.pid")
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A killed slapd nobody has reaped yet (e.g. PID 1 in a container does not
  # reap) is a zombie: it holds no port and no database lock.
  local stat
  stat=$(<"/proc/$pid/stat") 2>/dev/null || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]] || return 1
  echo "$pid"
}

if pid=$(running_pid); then
  die "slapd already running in $dir (pid $pid); stop it with slapd-down.sh first"
fi
rm -f "$dir/slapd.pid"

# ---- configuration (cn=config, written by slapadd -n0) ----
write_config() {
  local admin_hash
  admin_hash=$(/usr/sbin/slappasswd -h '{SSHA}' -s "$ADMIN_PW")
  {
    cat <<CONFIG
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/slapd.pid
olcArgsFile: $dir/slapd.args
olcLogLevel: none
olcPasswordHash: {SSHA}
CONFIG
    if [[ -n "$mirror" ]]; then printf 'olcServerID: %s\n' "$server_id"; fi
    if [[ -n "$tls_cert" ]]; then
      printf 'olcTLSCertificateFile: %s\nolcTLSCertificateKeyFile: %s\n' "$tls_cert" "$tls_key"
    fi
    cat <<CONFIG

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $MODULE_DIR
olcModuleLoad: back_mdb
olcModuleLoad: syncprov
olcModuleLoad: memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

CONFIG
    for schema in "$SYSTEM_SCHEMA_DIR"/{core,cosine,inetorgperson}.ldif \
                  "$SCHEMA_ROOT"/schema/ad-exchange.ldif "$SCHEMA_ROOT"/schema/gateway.ldif; do
      grep -v '^#' "$schema"
      echo
    done
    cat <<CONFIG
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcAccess: {0}to dn.base="" by * read
olcAccess: {1}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcRootDN: cn=config
olcRootPW: $admin_hash

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $BASE_DN
olcRootDN: $ADMIN_DN
olcRootPW: $admin_hash
olcDbDirectory: $dir/data
olcDbMaxSize: 1073741824
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: entryCSN,entryUUID eq
olcDbIndex: proxyAddresses eq,sub
olcDbIndex: mail eq,sub
olcDbIndex: cn eq,sub
olcDbIndex: mailNickname,legacyExchangeDN,sAMAccountName,userPrincipalName eq
olcDbIndex: member,memberOf eq
olcDbIndex: homeMDB,msExchOwningServer,msExchHomeServerName,altRecipient,targetAddress eq
olcDbIndex: networkAddress eq
olcSizeLimit: size.soft=1000 size.hard=unlimited size.pr=unlimited size.prtotal=unlimited
olcAccess: {0}to attrs=userPassword by self =wx by dn.exact="$SERVICE_DN" compare by anonymous auth by * none
olcAccess: {1}to dn.subtree="$BASE_DN" by dn.exact="$SERVICE_DN" read by users read by anonymous auth by * none
CONFIG
    if [[ -n "$mirror" ]]; then
      # The root DN replicates: it reads everything, entryCSN and memberOf included.
      printf 'olcSyncrepl: rid=%03d provider=%s bindmethod=simple binddn="%s" credentials="%s" searchbase="%s" type=refreshAndPersist retry="1 +" timeout=3 network-timeout=3\n' \
        "$server_id" "$mirror" "$ADMIN_DN" "$ADMIN_PW" "$BASE_DN"
      printf 'olcMirrorMode: TRUE\n'
    fi
    cat <<CONFIG

dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
olcSpCheckpoint: 100 10
olcSpSessionlog: 10000

dn: olcOverlay={1}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {1}memberof
olcMemberOfGroupOC: group
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf
olcMemberOfRefInt: TRUE
olcMemberOfDangling: ignore
CONFIG
  } >"$dir/config.ldif"
  # AD clients find the naming contexts in the root DSE.
  cat >"$dir/rootdse.ldif" <<ROOTDSE
dn:
configurationNamingContext: CN=Configuration,DC=example,DC=com
defaultNamingContext: DC=example,DC=com
ROOTDSE
  rm -rf "$dir/slapd.d" "$dir/data"
  mkdir -p "$dir/slapd.d" "$dir/data"
  "$SLAPADD" -n0 -F "$dir/slapd.d" -l "$dir/config.ldif" >"$dir/slapadd.log" 2>&1 \
    || die "cn=config rejected (see $dir/slapadd.log): $(tail -n 3 "$dir/slapadd.log")"
  # The root DSE file can name attributes only once the schema exists, so it
  # is attached to cn=config after the initial load.
  printf 'dn: cn=config\nchangetype: modify\nadd: olcRootDSE\nolcRootDSE: %s\n' "$dir/rootdse.ldif" \
    | "$SLAPMODIFY" -n0 -F "$dir/slapd.d" >>"$dir/slapadd.log" 2>&1 \
    || die "root DSE rejected (see $dir/slapadd.log): $(tail -n 3 "$dir/slapadd.log")"
}

# ---- start ----
start_on() {
  local try_port=$1 urls="ldap://127.0.0.1:$1/"
  if [[ -n "$tls_port" ]]; then urls+=" ldaps://127.0.0.1:${tls_port}/"; fi
  # slapd's parent process waits for the child to open its listeners, so a
  # port lost to another process shows up here as a non-zero exit status.
  "$SLAPD" -F "$dir/slapd.d" -h "$urls" >>"$dir/slapd.log" 2>&1
}

# A port for the ldaps:// listener (new instances with --tls).
pick_tls_port() {
  if [[ -n "$tls_cert" ]]; then tls_port=$((20000 + (SRANDOM % 12000))); fi
}

wait_until_answering() {
  local i
  for ((i = 0; i < 100; i++)); do
    if ldapsearch -x -H "ldap://127.0.0.1:$port/" -b "" -s base -LLL 1.1 >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.05
  done
  return 1
}

if ((restart)); then
  [[ -d "$dir/slapd.d" && -s "$dir/env" ]] || die "--restart: no previous instance in $dir"
  if [[ -z "$port" ]]; then
    port=$(sed -n 's/^LDAP_PORT=//p' "$dir/env")
  fi
  [[ -n "$port" ]] || die "--restart: no LDAP_PORT in $dir/env"
  tls_port=$(sed -n 's/^LDAPS_PORT=//p' "$dir/env")
  started=0
  # The old listener may take a moment to be released by the kernel.
  for ((attempt = 0; attempt < 50; attempt++)); do
    if start_on "$port"; then started=1; break; fi
    sleep 0.1
  done
  ((started)) || die "cannot restart on port $port (see $dir/slapd.log)"
else
  write_config
  : >"$dir/slapd.log"
  if [[ -n "$port" ]]; then
    started=0
    for ((attempt = 0; attempt < 40; attempt++)); do
      pick_tls_port
      if start_on "$port"; then started=1; break; fi
      [[ -n "$tls_cert" ]] || break
    done
    ((started)) || die "cannot listen on 127.0.0.1:$port (see $dir/slapd.log)"
  else
    started=0
    # Ports below the Linux ephemeral range (32768+) so outgoing connections of
    # parallel tests do not collide with listeners.
    for ((attempt = 0; attempt < 40; attempt++)); do
      port=$((20000 + (SRANDOM % 12000)))
      pick_tls_port
      if [[ "$tls_port" == "$port" ]]; then continue; fi
      if start_on "$port"; then started=1; break; fi
    done
    ((started)) || die "no free port found after 40 attempts (see $dir/slapd.log)"
  fi
fi

wait_until_answering || die "slapd on port $port does not answer (see $dir/slapd.log)"
pid=$(running_pid) || die "slapd started but left no live pid in $dir/slapd.pid"

cat >"$dir/env" <<ENV
LDAP_URI=ldap://127.0.0.1:$port
LDAP_HOST=127.0.0.1
LDAP_PORT=$port
LDAP_BASE=$BASE_DN
LDAP_ADMIN_DN=$ADMIN_DN
LDAP_ADMIN_PW=$ADMIN_PW
LDAP_SERVICE_DN=$SERVICE_DN
LDAP_SERVICE_PW=$SERVICE_PW
DIRECTORY_KIND=openldap
DIRECTORY_PID=$pid
SLAPD_PID=$pid
ENV
if [[ -n "$tls_port" ]]; then
  printf 'LDAPS_URI=ldaps://127.0.0.1:%s\nLDAPS_PORT=%s\n' "$tls_port" "$tls_port" >>"$dir/env"
fi

# ---- data (loaded over LDAP so the memberof overlay maintains memberOf) ----
if ((!restart && !no_data)); then
  files=("$SCHEMA_ROOT"/sample/00-base.ldif)
  if ((!empty)); then
    files=("$SCHEMA_ROOT"/sample/[0-9][0-9]-*.ldif)
  fi
  for file in "${files[@]}"; do
    if ! ldapmodify -a -x -H "ldap://127.0.0.1:$port/" -D "$ADMIN_DN" -w "$ADMIN_PW" \
         -f "$file" >"$dir/load.log" 2>&1; then
      kill "$pid" 2>/dev/null || true
      die "loading $(basename "$file") failed: $(tail -n 4 "$dir/load.log")"
    fi
  done
fi

cat "$dir/env"
