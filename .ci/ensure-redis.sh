#!/usr/bin/env bash
# Makes sure a Redis answers on 127.0.0.1:6379: uses the running one, starts an installed
# redis-server, or installs Debian's package first. The node's queues and several tests need it.
set -euo pipefail

redis_answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]
  else
    # No client: speak RESP over bash's /dev/tcp.
    exec 3<>/dev/tcp/127.0.0.1/6379 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    local reply
    read -r -t 2 reply <&3 || true
    exec 3>&-
    [[ "$reply" == +PONG* ]]
  fi
}

if redis_answers; then
  echo "redis: answering on 127.0.0.1:6379"
  exit 0
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis: not installed; installing Debian's redis-server"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

echo "redis: starting redis-server on 127.0.0.1:6379"
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no
for _ in $(seq 1 50); do
  if redis_answers; then
    echo "redis: answering on 127.0.0.1:6379"
    exit 0
  fi
  sleep 0.1
done
echo "redis: did not answer on 127.0.0.1:6379 after starting it" >&2
exit 1
