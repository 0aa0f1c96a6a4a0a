#!/usr/bin/env bash
# System packages the tests use: SIPp and Kamailio (real SIP peers) and Chromium (the HTML report);
# gcc and the Python headers for `make compile`.
# Installs only what is missing, only as root; otherwise the tests that need them skip (fail under CI=true).
set -u
missing=()
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ] || missing+=(kamailio)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# `make compile` (the dialer's core, mypyc): a C compiler and the interpreter's headers
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
include=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)
[ -f "$include/Python.h" ] || missing+=(python3-dev)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: not root; missing ${missing[*]} (those tests will skip)" >&2
  exit 0
fi
echo "install-test-deps: apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
