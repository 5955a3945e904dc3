#!/usr/bin/env bash
# What `dotnet publish -p:PublishAot=true` needs beside the .NET SDK on Debian 12: the clang linker driver and zlib's
# headers (the ahead-of-time compiler itself comes from NuGet on the first publish).
#
# usage: scripts/native-aot.sh install | check
#   install  apt-get the packages (root, Debian 12); does nothing when they are there
#   check    fail, saying what is missing, when they are not
set -euo pipefail

missing() {
  local packages=()
  command -v clang >/dev/null 2>&1 || packages+=(clang)
  [ -e /usr/include/zlib.h ] || packages+=(zlib1g-dev)
  echo "${packages[@]:-}"
}

install() {
  local packages
  packages=$(missing)
  if [ -z "$packages" ]; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "native-aot: missing $packages; install Debian's packages as root (apt-get install --no-install-recommends $packages)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -qq --no-install-recommends $packages >/dev/null
  check
}

check() {
  local packages
  packages=$(missing)
  if [ -n "$packages" ]; then
    echo "native-aot: missing $packages (scripts/native-aot.sh install, as root)" >&2
    exit 1
  fi
}

"${1:?usage: $0 install|check}"
