#!/usr/bin/env bash
# Installs the Debian 12 packages the gateway needs to build, run and test
# (postfix-ldap only for the Postfix reference of bench/pipeline; Samba's AD
# domain controller for the tests and the quick start against Active
# Directory, directory-schema/scripts/samba-up.sh).
# Packages are installed with --no-install-recommends, so every package a test
# touches is named here, including what a tool only recommends (swaks's TLS
# module libnet-ssleay-perl, its IPv6 socket module).
# Run as root, or as a user with sudo (the script then uses sudo itself).
# Safe to run again.
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<'USAGE'
Usage: deploy/install-deps.sh [--help]
Installs, with apt-get, the Debian 12 packages that build, run and test the
gateway. Installs nothing when given --help. Needs root: run it as root, or as
a user with sudo (it calls sudo itself when not root).
USAGE
    exit 0 ;;
  "") ;;
  *) echo "install-deps: unknown argument: $1 (try --help)" >&2; exit 1 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -- bash "$0" "$@"; fi
  echo "install-deps: must run as root (no sudo on this machine)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Packaged daemons must not start on installation (Samba's would take ports
# 139/445 and winbind's socket): a policy-rc.d that denies every start, for
# the length of the install, unless the machine already has one.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config git ca-certificates ccache \
  libboost-dev libboost-system-dev libssl-dev libsasl2-dev libsasl2-modules sasl2-bin \
  libldap-dev slapd ldap-utils \
  libprotobuf-dev protobuf-compiler \
  libspdlog-dev libfmt-dev libcli11-dev libc-ares-dev \
  libgtest-dev libgmock-dev \
  python3 swaks libnet-ssleay-perl libio-socket-inet6-perl openssl procps iproute2 \
  postfix postfix-ldap dovecot-lmtpd dnsmasq-base \
  samba samba-ad-dc samba-ad-provision ldb-tools python3-samba winbind \
  chromium fonts-dejavu-core >/dev/null
# The packaged daemons are not used: tests and the quick start run private
# instances on loopback. Stop the system ones so they hold no ports.
for svc in slapd postfix dovecot samba-ad-dc smbd nmbd winbind; do
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
echo "install-deps: done"
