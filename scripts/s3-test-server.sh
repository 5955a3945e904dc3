#!/usr/bin/env bash
# A real S3 server on loopback for Dataflow's tests: OpenStack Swift with its s3api middleware, from Debian 12's
# own packages (no Docker needed). Its own ports and data folder, so it never collides with another instance.
#
# usage: scripts/s3-test-server.sh install | start | stop | status | env
#   install  apt-get the packages (root, Debian 12); does nothing when they are there
#   start    (re)create the data folder and start the servers; waits until the endpoint answers
#   stop     stop the processes this script started (by PID), nothing else
#   env      print the variables the tests read (eval "$(scripts/s3-test-server.sh env)")
#
# Settings (environment):
#   DATAFLOW_S3_HOME  data, config and logs (default: <repo>/.s3-test-server; needs extended attributes, so not tmpfs)
#   DATAFLOW_S3_PORT  the S3 endpoint's port (default 18480); backends use the next three ports up from
#                     DATAFLOW_S3_BACKEND_PORT (default 18410), memcached DATAFLOW_S3_MEMCACHED_PORT (default 18420)
# Credentials: access key "test:tester", secret "testing", region us-east-1. Path-style requests work; so do
# virtual-hosted ones for buckets under the storage domain "s3.dataflow.test" (the tests resolve it to loopback).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
S3_HOME=${DATAFLOW_S3_HOME:-$repo/.s3-test-server}
S3_PORT=${DATAFLOW_S3_PORT:-18480}
BACKEND=${DATAFLOW_S3_BACKEND_PORT:-18410}
MEMCACHED_PORT=${DATAFLOW_S3_MEMCACHED_PORT:-18420}
OBJECT_PORT=$BACKEND; CONTAINER_PORT=$((BACKEND + 1)); ACCOUNT_PORT=$((BACKEND + 2))
STORAGE_DOMAIN=s3.dataflow.test
PACKAGES="swift-proxy swift-account swift-container swift-object memcached s3cmd"

install() {
  if command -v swift-proxy-server >/dev/null && command -v memcached >/dev/null && command -v s3cmd >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "s3-test-server: the packages ($PACKAGES) are missing; install them as root on Debian 12" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
}

server_conf() { # name port
  cat > "$S3_HOME/etc/$1-server.conf" <<C
[DEFAULT]
devices = $S3_HOME/srv
mount_check = false
swift_dir = $S3_HOME/etc
bind_ip = 127.0.0.1
bind_port = $2
workers = 0
log_level = WARNING
log_address = $S3_HOME/log/no-syslog
[pipeline:main]
pipeline = $1-server
[app:$1-server]
use = egg:swift#$1
C
}

start() {
  stop
  # Another server on our ports would answer the health check in our place: refuse rather than test against it.
  for port in "$S3_PORT" "$OBJECT_PORT" "$CONTAINER_PORT" "$ACCOUNT_PORT" "$MEMCACHED_PORT"; do
    if /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 0.5)" "$port" 2>/dev/null; then
      echo "s3-test-server: port $port is in use by another process; set DATAFLOW_S3_PORT, DATAFLOW_S3_BACKEND_PORT and DATAFLOW_S3_MEMCACHED_PORT to free ones" >&2
      exit 1
    fi
  done
  rm -rf "$S3_HOME"
  mkdir -p "$S3_HOME"/{etc,srv/d1,run,log}
  # Swift keeps object metadata in extended attributes; a tmpfs (or a file system without them) fails later, obscurely.
  if ! /usr/bin/python3 -c "import os,sys; os.setxattr(sys.argv[1], 'user.dataflow', b'1')" "$S3_HOME/srv/d1" 2>/dev/null; then
    echo "s3-test-server: $S3_HOME does not support extended attributes; set DATAFLOW_S3_HOME to a folder on ext4 or xfs" >&2
    exit 1
  fi
  cat > "$S3_HOME/etc/swift.conf" <<'C'
[swift-hash]
swift_hash_path_suffix = dataflow-tests
swift_hash_path_prefix = dataflow-tests
[storage-policy:0]
name = Policy-0
default = yes
C
  server_conf account "$ACCOUNT_PORT"
  server_conf container "$CONTAINER_PORT"
  server_conf object "$OBJECT_PORT"
  cat > "$S3_HOME/etc/proxy-server.conf" <<C
[DEFAULT]
swift_dir = $S3_HOME/etc
bind_ip = 127.0.0.1
bind_port = $S3_PORT
workers = 0
log_level = WARNING
log_address = $S3_HOME/log/no-syslog
[pipeline:main]
# tempauth needs "cache"; s3api must come before tempauth
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
allow_account_management = true
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
storage_domain = $STORAGE_DOMAIN
# as on AWS: up to 10,000 parts of at least 5 MiB (all but the last)
max_upload_part_num = 10000
multi_delete_concurrency = 16
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED_PORT
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
C
  # One-replica rings through Debian's own python (the first python3 on PATH may not see the swift module).
  /usr/bin/python3 - "$S3_HOME/etc" "$ACCOUNT_PORT" "$CONTAINER_PORT" "$OBJECT_PORT" <<'PY'
import sys
from swift.common.ring import RingBuilder
folder, ports = sys.argv[1], dict(account=int(sys.argv[2]), container=int(sys.argv[3]), object=int(sys.argv[4]))
for name, port in ports.items():
    builder = RingBuilder(8, 1, 1)
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port, "device": "d1", "weight": 1})
    builder.rebalance()
    builder.get_ring().save(f"{folder}/{name}.ring.gz")
PY
  memcached $([ "$(id -u)" = 0 ] && echo "-u root") -l 127.0.0.1 -p "$MEMCACHED_PORT" -m 64 >"$S3_HOME/log/memcached.log" 2>&1 </dev/null &
  echo $! > "$S3_HOME/run/memcached.pid"
  for s in account container object proxy; do
    "swift-$s-server" "$S3_HOME/etc/$s-server.conf" -v >"$S3_HOME/log/$s.log" 2>&1 </dev/null &
    echo $! > "$S3_HOME/run/$s.pid"
  done
  # Ready when the backends and memcached accept connections and the proxy's /healthcheck answers OK.
  if ! /usr/bin/python3 - "$S3_PORT" "$OBJECT_PORT" "$CONTAINER_PORT" "$ACCOUNT_PORT" "$MEMCACHED_PORT" <<'PY'
import socket, sys, time, urllib.request
port, others = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
deadline = time.time() + 90
def listening(p):
    try:
        socket.create_connection(("127.0.0.1", p), 0.5).close()
        return True
    except OSError:
        return False
while time.time() < deadline:
    if all(listening(p) for p in others):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=1).read() == b"OK":
                sys.exit(0)
        except Exception:
            pass
    time.sleep(0.1)
sys.exit(1)
PY
  then
    echo "s3-test-server: not ready after 90 s; logs in $S3_HOME/log" >&2
    tail -n 20 "$S3_HOME"/log/*.log >&2 || true
    stop
    exit 1
  fi
  echo "s3-test-server: ready at http://127.0.0.1:$S3_PORT (data in $S3_HOME)" >&2
}

stop() {
  local pids=() f
  for s in proxy object container account memcached; do
    f="$S3_HOME/run/$s.pid"
    [ -f "$f" ] || continue
    pids+=("$(cat "$f")")
    rm -f "$f"
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 100); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
}

status() {
  curl -fsS "http://127.0.0.1:$S3_PORT/healthcheck" >/dev/null 2>&1 && echo "running at http://127.0.0.1:$S3_PORT" || { echo "not running"; return 1; }
}

env() {
  cat <<V
export DATAFLOW_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export DATAFLOW_TEST_S3_ACCESS_KEY=test:tester
export DATAFLOW_TEST_S3_SECRET_KEY=testing
export DATAFLOW_TEST_S3_STORAGE_DOMAIN=$STORAGE_DOMAIN
V
}

"${1:?usage: $0 install|start|stop|status|env}"
