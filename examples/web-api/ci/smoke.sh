#!/bin/sh
# The ci stage's test suite: start the server, wait for /ready, check /health, stop it.
set -eu
PORT=8099 /app/server >/tmp/server.log 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
i=0
until wget -qO- http://127.0.0.1:8099/ready >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || { echo "FAIL: /ready never answered"; cat /tmp/server.log; exit 1; }
	sleep 0.1
done
body="$(wget -qO- http://127.0.0.1:8099/health)"
[ "$body" = '{"status":"ok"}' ] || { echo "FAIL: /health said $body"; exit 1; }
for f in /app/app/*.py; do
	grep -q '"""' "$f" || { echo "FAIL: $f has no docstring"; exit 1; }
done
echo "smoke: 3 checks passed"
