#!/usr/bin/env bash
# Runs every test of the solution. First installs and starts what the tests need: a real S3 server on loopback
# (OpenStack Swift with s3api, from Debian 12's packages: installing them needs root), on its own ports and data
# folder, stopped again when the tests end. Set DATAFLOW_TEST_S3_ENDPOINT (and the _ACCESS_KEY, _SECRET_KEY and
# _STORAGE_DOMAIN variables) to use a server of your own instead. Also installs Debian's Chromium and its
# chromium-driver, which open the HTML run reports headless and drive pages through Selenium WebDriver
# (scripts/chromium.sh), and clang with zlib's headers, with which a test publishes merge-files as a Native AOT
# program (scripts/native-aot.sh).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET SDK (10.0.100 or newer) is needed: https://dotnet.microsoft.com/download" >&2
  exit 1
fi

scripts/chromium.sh install
scripts/native-aot.sh install

if [ -z "${DATAFLOW_TEST_S3_ENDPOINT:-}" ]; then
  scripts/s3-test-server.sh install
  scripts/s3-test-server.sh start
  trap 'scripts/s3-test-server.sh stop' EXIT
  eval "$(scripts/s3-test-server.sh env)"
fi

dotnet build Dataflow.sln -c Release
dotnet test Dataflow.sln -c Release --no-build "$@"
