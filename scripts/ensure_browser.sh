#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing and we may (root, apt available).
# Never fails the caller: without a browser the browser tests skip with a message saying why.
set -u
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_browser: no chromium and cannot install it (need root and apt-get); browser tests will skip" >&2
  exit 0
fi
echo "ensure_browser: installing Debian's chromium for the browser tests" >&2
( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ) \
  || echo "ensure_browser: apt-get could not install chromium; browser tests will skip" >&2
exit 0
