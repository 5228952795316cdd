#!/usr/bin/env bash
# Starts a private Samba AD domain controller with the Exchange schema
# extension, the gateway's extension and the sample organization, for tests and
# the quick start: the Active Directory counterpart of slapd-up.sh.
#
#   samba-up.sh DIR [--empty] [--restart] [--tls CERT KEY] [--address A]
#
# DIR          created if missing; holds the DC (etc/smb.conf, private/ with
#              sam.ldb, state/, cache/), run/samba.pid, samba.log and env.
#              Existing data in DIR is replaced unless --restart is given.
# --empty      only the base entries (sample/00-base.ldif: the gateway's
#              service account), no Exchange organization and no recipients.
# --restart    start again on DIR's data and address.
# --tls CERT KEY  serve this PEM certificate (chain) and key for StartTLS and
#              ldaps:// instead of the self-signed one every instance has.
# --address A  listen on 127.x.y.z address A (default: a free one, see below).
# --port 389   accepted for symmetry with slapd-up.sh; Samba's LDAP port is
#              fixed (389, ldaps 636, Global Catalog 3268/3269).
#
# Several instances run side by side because each listens on its own loopback
# address (interfaces = A/8, bind interfaces only = yes): an address is drawn
# at random from 127.64.0.0-127.127.255.255, so tests need no lock and no fixed
# address. If another instance wins the race for the address, Samba exits at
# start ("failed to bind") and another address is tried.
#
# Provisioning a domain, loading the schema extension and the sample takes
# half a minute, so it is done once into a template that every instance
# copies (a start then takes 2-4 s). Templates live in
# $MAILGW_SAMBA_TEMPLATES (default ${TMPDIR:-/tmp}/mailgw-samba-templates),
# one per content hash of everything they are built from (Samba version,
# directory-schema/ad/*.ldf, the sample, this script, adldif.py); concurrent
# first starts build it once (flock). Templates unused for 7 days are removed.
#
# When the DC answers, DIR/env is written and printed: the keys of
# slapd-up.sh (LDAP_URI, LDAP_PORT, LDAP_BASE, LDAP_ADMIN_DN, LDAP_ADMIN_PW,
# LDAP_SERVICE_DN, LDAP_SERVICE_PW, LDAPS_URI, LDAPS_PORT) plus LDAP_HOST,
# LDAP_GC_URI, LDAP_DOMAIN (NetBIOS name), LDAP_REALM, DIRECTORY_KIND=ad,
# DIRECTORY_PID and SAMBA_PID. Stop it with samba-down.sh DIR. Exit status is
# non-zero, with the reason on stderr, when the DC cannot be built or started.
# Needs root (Samba's DC refuses to run otherwise).
set -euo pipefail
umask 077

readonly SCHEMA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly SCRIPT_PATH="$SCHEMA_ROOT/scripts/samba-up.sh"
readonly SAMBA=${SAMBA:-/usr/sbin/samba}
readonly SAMBA_TOOL=${SAMBA_TOOL:-/usr/bin/samba-tool}
readonly LDBMODIFY=${LDBMODIFY:-/usr/bin/ldbmodify}
# Debian's python3-samba belongs to Debian's interpreter, whatever python3 is on PATH.
readonly SAMBA_PYTHON=${SAMBA_PYTHON:-/usr/bin/python3}
readonly TEMPLATES=${MAILGW_SAMBA_TEMPLATES:-${TMPDIR:-/tmp}/mailgw-samba-templates}

readonly REALM="EXAMPLE.COM"
readonly DOMAIN="EXAMPLE"
readonly BASE_DN="DC=example,DC=com"
readonly ADMIN_DN="CN=Administrator,CN=Users,${BASE_DN}"
readonly ADMIN_PW="Admin-Passw0rd"
readonly SERVICE_DN="CN=svc-gateway,CN=Users,${BASE_DN}"
readonly SERVICE_PW="Gateway-Passw0rd"
# The cleartexts behind the sample's {SSHA} userPassword values (see
# directory-schema/README.md); AD needs cleartext to set a password.
readonly SAMPLE_PASSWORDS=("Passw0rd!" "$SERVICE_PW")

die() { echo "samba-up: $*" >&2; exit 1; }
usage() { die "usage: samba-up.sh DIR [--empty] [--restart] [--tls CERT KEY] [--address A]"; }

dir="" empty=0 restart=0 tls_cert="" tls_key="" address=""
while (($#)); do
  case "$1" in
    --empty) empty=1; shift ;;
    --restart) restart=1; shift ;;
    --tls) [[ $# -ge 3 ]] || usage; tls_cert=$2; tls_key=$3; shift 3 ;;
    --address) [[ $# -ge 2 ]] || usage; address=$2; shift 2 ;;
    --port) [[ $# -ge 2 ]] || usage
            [[ "$2" == 389 ]] || die "--port $2: Samba's LDAP port is always 389; instances differ by --address"
            shift 2 ;;
    -h|--help) sed -n '2,40p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) usage ;;
    *) [[ -z "$dir" ]] || usage; dir=$1; shift ;;
  esac
done
[[ -n "$dir" ]] || usage
[[ "$(id -u)" -eq 0 ]] || die "Samba's domain controller runs only as root"
[[ -x "$SAMBA" && -x "$SAMBA_TOOL" && -x "$LDBMODIFY" ]] \
  || die "Samba AD DC not installed (deploy/install-deps.sh installs samba, samba-ad-dc, ldb-tools)"
if [[ -n "$address" && ! "$address" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  die "--address $address: not a 127.0.0.0/8 address"
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [[ -n "$tls_cert" ]]; then
  [[ -r "$tls_cert" && -r "$tls_key" ]] || die "--tls: cannot read $tls_cert or $tls_key"
  tls_cert=$(cd "$(dirname "$tls_cert")" && pwd)/$(basename "$tls_cert")
  tls_key=$(cd "$(dirname "$tls_key")" && pwd)/$(basename "$tls_key")
fi

# A pid that is alive and not a zombie (PID 1 in a container may not reap).
alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(<"/proc/$1/stat") 2>/dev/null || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]]
}

running_pid() {
  local pid
  [[ -s "$dir/run/samba.pid" ]] || return 1
  pid=$(tr -dc '0-9' <"$dir/run/samba.pid")
  [[ -n "$pid" ]] && alive "$pid" || return 1
  echo "$pid"
}

if pid=$(running_pid); then
  die "samba already running in $dir (pid $pid); stop it with samba-down.sh first"
fi

# ---- template: provisioned domain + schema + sample, built once per content ----

variant() { if ((empty)); then echo empty; else echo sample; fi; }

template_inputs() {
  "$SAMBA" -V
  cat "$SCRIPT_PATH" "$SCHEMA_ROOT"/scripts/adldif.py "$SCHEMA_ROOT"/ad/*.ldf \
      "$SCHEMA_ROOT"/schema/*.ldif
  if ((empty)); then cat "$SCHEMA_ROOT"/sample/00-base.ldif; else cat "$SCHEMA_ROOT"/sample/*.ldif; fi
}

# Loads an .ldf file (DC=X = the forest root) into a stopped DC, one
# ldbmodify run per section: a section may use what earlier ones defined
# only once the schema is re-read, which ldbmodify does at start.
load_ldf() {
  local target=$1 file=$2 section=0 part
  local parts="$target/ldf.$(basename "$file")"
  mkdir -p "$parts"
  awk -v out="$parts/part" '
    BEGIN { n = 0; file = sprintf("%s.%03d", out, n) }
    /^dn:[ \t]*$/ { marker = 1 }
    marker && /^-$/ { marker = 0; n++; file = sprintf("%s.%03d", out, n); next }
    marker { next }
    { sub(/DC=X$/, "'"$BASE_DN"'"); print > file }
  ' "$file"
  for part in "$parts"/part.*; do
    grep -q '^dn:' "$part" || continue
    section=$((section + 1))
    "$LDBMODIFY" -H "$target/private/sam.ldb" --configfile="$target/etc/smb.conf" --nosync \
        --option="dsdb:schema update allowed = true" "$part" >>"$target/build.log" 2>&1 \
      || die "loading $(basename "$file") section $section failed (see $target/build.log): $(tail -n 3 "$target/build.log")"
  done
  rm -rf "$parts"
}

build_template() {
  local out=$1 tmp
  tmp=$(mktemp -d "$TEMPLATES/build.XXXXXX")
  : >"$tmp/build.log"
  "$SAMBA_TOOL" domain provision --targetdir="$tmp" --realm="$REALM" --domain="$DOMAIN" \
      --server-role=dc --dns-backend=NONE --host-name=dc1 --adminpass="$ADMIN_PW" \
      --option="server services = ldap" >>"$tmp/build.log" 2>&1 \
    || die "samba-tool domain provision failed (see $tmp/build.log): $(tail -n 3 "$tmp/build.log")"
  # Test passwords need no complexity, age or history; no lockout unless a
  # test sets a threshold on the domain object.
  "$SAMBA_TOOL" domain passwordsettings set -H "$tmp/private/sam.ldb" --configfile="$tmp/etc/smb.conf" \
      --complexity=off --history-length=0 --min-pwd-age=0 --max-pwd-age=0 --min-pwd-length=0 \
      >>"$tmp/build.log" 2>&1 || die "password settings failed (see $tmp/build.log)"
  load_ldf "$tmp" "$SCHEMA_ROOT/ad/exchange.ldf"
  load_ldf "$tmp" "$SCHEMA_ROOT/ad/gateway.ldf"
  # Objects of the Exchange classes carry no default ACEs (as in Exchange,
  # whose setup grants access on its containers): authenticated users, the
  # service account among them, may read everything below CN=Services, as
  # every bound user reads the directory in slapd-up.sh.
  "$SAMBA_TOOL" dsacl set -H "$tmp/private/sam.ldb" --configfile="$tmp/etc/smb.conf" \
      --objectdn="CN=Services,CN=Configuration,$BASE_DN" --sddl="(A;CI;RPLCLORC;;;AU)" \
      >>"$tmp/build.log" 2>&1 || die "granting read on CN=Services failed (see $tmp/build.log)"
  local files=("$SCHEMA_ROOT"/sample/00-base.ldif)
  if ((!empty)); then files=("$SCHEMA_ROOT"/sample/[0-9][0-9]-*.ldif); fi
  local password_args=()
  for password in "${SAMPLE_PASSWORDS[@]}"; do password_args+=(--password "$password"); done
  "$SAMBA_PYTHON" "$SCHEMA_ROOT/scripts/adldif.py" load --samdb "$tmp/private/sam.ldb" \
      --smbconf "$tmp/etc/smb.conf" "${password_args[@]}" "${files[@]}" 2>"$tmp/sample-differences.txt" \
    || die "loading the sample failed: $(tail -n 3 "$tmp/sample-differences.txt")"
  # A self-signed certificate for ldaps:// and StartTLS, made once instead of
  # by every instance at its first start.
  mkdir -p "$tmp/private/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=dc1.example.com" \
      -keyout "$tmp/private/tls/key.pem" -out "$tmp/private/tls/cert.pem" >>"$tmp/build.log" 2>&1 \
    || die "openssl could not make the DC's certificate (see $tmp/build.log)"
  cp "$tmp/private/tls/cert.pem" "$tmp/private/tls/ca.pem"
  rm -f "$tmp"/etc/smb.conf "$tmp"/*.log
  rmdir "$tmp/etc" 2>/dev/null || true
  mv "$tmp" "$out"
}

ensure_template() {
  local key out
  mkdir -p "$TEMPLATES"
  key=$(template_inputs | sha256sum | cut -c1-16)
  out="$TEMPLATES/$key-$(variant)"
  if [[ ! -d "$out" ]]; then
    exec 9>"$out.lock"
    flock 9
    [[ -d "$out" ]] || build_template "$out"
    exec 9>&-
    rm -f "$out.lock"
  fi
  touch "$out"
  find "$TEMPLATES" -mindepth 1 -maxdepth 1 -type d -mtime +7 -exec rm -rf {} + 2>/dev/null || true
  echo "$out"
}

# ---- instance ----

write_config() {
  local tls_lines
  if [[ -n "$tls_cert" ]]; then
    tls_lines=$(printf '\ttls certfile = %s\n\ttls keyfile = %s\n\ttls cafile =\n' "$tls_cert" "$tls_key")
  else
    tls_lines=$(printf '\ttls certfile = %s\n\ttls keyfile = %s\n\ttls cafile = %s\n' \
      "$dir/private/tls/cert.pem" "$dir/private/tls/key.pem" "$dir/private/tls/ca.pem")
  fi
  mkdir -p "$dir/etc" "$dir/run" "$dir/lock" "$dir/cache" "$dir/state" "$dir/bind-dns"
  cat >"$dir/etc/smb.conf" <<CONF
[global]
	netbios name = DC1
	realm = $REALM
	workgroup = $DOMAIN
	server role = active directory domain controller
	server services = ldap
	interfaces = $address/8
	bind interfaces only = yes
	# Simple binds over plain LDAP, as the tests and the quick start use.
	ldap server require strong auth = no
	private dir = $dir/private
	state directory = $dir/state
	cache directory = $dir/cache
	lock directory = $dir/lock
	pid directory = $dir/run
	ncalrpc dir = $dir/run/ncalrpc
	binddns dir = $dir/bind-dns
	winbindd socket directory = $dir/run/winbindd
	ntp signd socket directory = $dir/run/ntp_signd
	log file = $dir/samba.log
	logging = file
	max log size = 0
	# Throw-away test data: no fsync per write (50 times faster; a crash of
	# samba itself loses nothing, only an OS crash could).
	ldb:nosync = true
$tls_lines
CONF
}

listening() {
  ss -Hltn "src $1 and sport = :389" 2>/dev/null | grep -q .
}

pick_address() {
  local candidate i
  for ((i = 0; i < 50; i++)); do
    candidate="127.$((64 + SRANDOM % 64)).$((SRANDOM % 256)).$((1 + SRANDOM % 254))"
    listening "$candidate" || { echo "$candidate"; return 0; }
  done
  return 1
}

# Starts samba on $address; succeeds once it answers LDAP from that address
# with our pid holding the listener, fails when it exits (address taken).
start_samba() {
  local pid="" i
  rm -f "$dir/run/samba.pid"
  "$SAMBA" -s "$dir/etc/smb.conf" -M single -D >>"$dir/samba.log" 2>&1 || return 1
  for ((i = 0; i < 600; i++)); do
    if [[ -z "$pid" && -s "$dir/run/samba.pid" ]]; then pid=$(tr -dc '0-9' <"$dir/run/samba.pid"); fi
    if [[ -n "$pid" ]] && ! alive "$pid"; then return 1; fi
    if [[ -n "$pid" ]] && ss -Hltnp "src $address and sport = :389" 2>/dev/null | grep -q "pid=$pid,"; then
      if ldapsearch -x -H "ldap://$address/" -b "" -s base -LLL 1.1 >/dev/null 2>&1; then return 0; fi
    fi
    sleep 0.1
  done
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null
  return 1
}

if ((restart)); then
  [[ -s "$dir/env" && -d "$dir/private" ]] || die "--restart: no previous instance in $dir"
  [[ -n "$address" ]] || address=$(sed -n 's/^LDAP_HOST=//p' "$dir/env")
  [[ -n "$address" ]] || die "--restart: no LDAP_HOST in $dir/env"
  write_config
  started=0
  # The old listener may take a moment to be released.
  for ((attempt = 0; attempt < 50; attempt++)); do
    if start_samba; then started=1; break; fi
    sleep 0.1
  done
  ((started)) || die "cannot restart on $address (see $dir/samba.log)"
else
  template=$(ensure_template)
  rm -rf "$dir"/{etc,private,state,cache,lock,run,bind-dns,samba.log,env}
  cp -a "$template/." "$dir/"
  : >"$dir/samba.log"
  started=0
  for ((attempt = 0; attempt < 10; attempt++)); do
    if [[ -z "$address" || $attempt -gt 0 ]]; then
      address=$(pick_address) || die "no free loopback address found"
    fi
    write_config
    if start_samba; then started=1; break; fi
  done
  ((started)) || die "samba did not start (see $dir/samba.log): $(tail -n 3 "$dir/samba.log")"
fi

pid=$(running_pid) || die "samba started but left no live pid in $dir/run/samba.pid"
cat >"$dir/env" <<ENV
LDAP_URI=ldap://$address:389
LDAP_HOST=$address
LDAP_PORT=389
LDAP_BASE=$BASE_DN
LDAP_ADMIN_DN=$ADMIN_DN
LDAP_ADMIN_PW=$ADMIN_PW
LDAP_SERVICE_DN=$SERVICE_DN
LDAP_SERVICE_PW=$SERVICE_PW
LDAPS_URI=ldaps://$address:636
LDAPS_PORT=636
LDAP_GC_URI=ldap://$address:3268
LDAP_DOMAIN=$DOMAIN
LDAP_REALM=$REALM
DIRECTORY_KIND=ad
DIRECTORY_PID=$pid
SAMBA_PID=$pid
ENV
cat "$dir/env"
