#!/usr/bin/env bash
# Runs every test of the solution. Installs and starts whatever the tests need first (nothing yet beyond the
# .NET SDK: later milestones add an S3 test server installed with apt, which needs root on Debian 12).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET SDK (10.0.100 or newer) is needed: https://dotnet.microsoft.com/download" >&2
  exit 1
fi

dotnet build Dataflow.sln -c Release
dotnet test Dataflow.sln -c Release --no-build "$@"
