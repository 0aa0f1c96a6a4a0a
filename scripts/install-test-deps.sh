#!/usr/bin/env bash
# System packages the tests use: SIPp and Kamailio (real SIP peers) and Chromium (the HTML report).
# Installs only what is missing, only as root; otherwise the tests that need them skip (fail under CI=true).
set -u
missing=()
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ] || missing+=(kamailio)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: not root; missing ${missing[*]} (those tests will skip)" >&2
  exit 0
fi
echo "install-test-deps: apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
