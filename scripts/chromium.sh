#!/usr/bin/env bash
# Headless Chromium for Dataflow's tests (the HTML run report is opened and screenshotted in a real browser): Debian
# 12's own package, no snap, no download from Google.
#
# usage: scripts/chromium.sh install | path
#   install  apt-get the package (root, Debian 12); does nothing when /usr/bin/chromium is there
#   path     print the browser's path, or fail when it is not installed
set -euo pipefail
CHROMIUM=/usr/bin/chromium

install() {
  if [ -x "$CHROMIUM" ]; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "chromium: $CHROMIUM is missing; install Debian's package 'chromium' as root (apt-get install --no-install-recommends chromium)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  if [ ! -x "$CHROMIUM" ]; then
    echo "chromium: installed the package but $CHROMIUM is still missing" >&2
    exit 1
  fi
}

path() {
  if [ ! -x "$CHROMIUM" ]; then
    echo "chromium: $CHROMIUM is missing; run scripts/chromium.sh install (as root)" >&2
    exit 1
  fi
  echo "$CHROMIUM"
}

"${1:?usage: $0 install|path}"
