#!/usr/bin/env bash
# Headless Chromium for Dataflow's tests (the HTML run report is opened and screenshotted in a real browser, and
# browser tests drive pages through Selenium WebDriver): Debian 12's own packages 'chromium' and 'chromium-driver',
# no snap, no download from Google.
#
# usage: scripts/chromium.sh install | path | driver-path
#   install      apt-get the packages (root, Debian 12); does nothing when /usr/bin/chromium and /usr/bin/chromedriver
#                are there; then checks that the browser's and the driver's major versions match
#   path         print the browser's path, or fail when it is not installed
#   driver-path  print chromedriver's path, or fail when it is not installed or its major version is not the browser's
set -euo pipefail
CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

install() {
  if [ ! -x "$CHROMIUM" ] || [ ! -x "$CHROMEDRIVER" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "chromium: $CHROMIUM or $CHROMEDRIVER is missing; install Debian's packages 'chromium' and 'chromium-driver' as root (apt-get install --no-install-recommends chromium chromium-driver)" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Both at once: the driver's package depends on the browser's exact version, so an older browser is upgraded.
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
    for program in "$CHROMIUM" "$CHROMEDRIVER"; do
      if [ ! -x "$program" ]; then
        echo "chromium: installed the packages but $program is still missing" >&2
        exit 1
      fi
    done
  fi
  check_versions
}

# The major version in a program's --version line ("Chromium 156.0.8078.114 built on ...",
# "ChromeDriver 156.0.8078.114 (...)"). Debian's chromium wrapper prints shell noise on stderr: dropped.
major() {
  "$1" --version 2>/dev/null | sed -nE 's/^[A-Za-z ]+ ([0-9]+)\.[0-9.]+.*/\1/p' | head -n 1
}

check_versions() {
  local browser driver
  browser=$(major "$CHROMIUM")
  driver=$(major "$CHROMEDRIVER")
  if [ -z "$browser" ] || [ -z "$driver" ]; then
    echo "chromium: could not read the major versions of $CHROMIUM ('${browser}') and $CHROMEDRIVER ('${driver}') from --version" >&2
    exit 1
  fi
  if [ "$browser" != "$driver" ]; then
    echo "chromium: $CHROMIUM is version $browser but $CHROMEDRIVER is version $driver; a driver only drives its own browser version: as root, apt-get install --no-install-recommends chromium chromium-driver (both from the same Debian release)" >&2
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

driver-path() {
  if [ ! -x "$CHROMEDRIVER" ] || [ ! -x "$CHROMIUM" ]; then
    echo "chromium: $CHROMEDRIVER or $CHROMIUM is missing; run scripts/chromium.sh install (as root)" >&2
    exit 1
  fi
  check_versions
  echo "$CHROMEDRIVER"
}

case "${1:-}" in
  install | path | driver-path) "$1" ;;
  *)
    echo "usage: $0 install|path|driver-path" >&2
    exit 2
    ;;
esac
