#!/usr/bin/env bash
# Makes sure Debian's chromium is at /usr/bin/chromium for the explorer's browser test
# (test/explorer/), installing the package when it is missing. Browser downloads by npm packages
# are not used: playwright-core drives this binary.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
  exit 0
fi
echo "chromium: not installed; installing Debian's chromium"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
if [ ! -x /usr/bin/chromium ]; then
  echo "chromium: /usr/bin/chromium still missing after installing the package" >&2
  exit 1
fi
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
