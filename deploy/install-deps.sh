#!/usr/bin/env bash
# Installs the Debian 12 packages the gateway needs to build, run and test
# (postfix-ldap only for the Postfix reference of bench/pipeline).
# Run as root (or through sudo). Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config git ca-certificates \
  libboost-dev libboost-system-dev libssl-dev libsasl2-dev libsasl2-modules sasl2-bin \
  libldap-dev slapd ldap-utils \
  libprotobuf-dev protobuf-compiler \
  libspdlog-dev libfmt-dev libcli11-dev libc-ares-dev \
  libgtest-dev libgmock-dev \
  python3 swaks openssl procps iproute2 \
  postfix postfix-ldap dovecot-lmtpd dnsmasq-base >/dev/null
# The packaged daemons are not used: tests and the quick start run private
# instances on loopback. Stop the system ones so they hold no ports.
for svc in slapd postfix dovecot; do
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
echo "install-deps: done"
