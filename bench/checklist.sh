#!/usr/bin/env bash
# Benchmark checklist (bench/containers.sh): the same checks as bench/checklist.dspec, written
# the way a careful engineer would with bash, the docker CLI, curl and python3.
#   build the prod image (cached), run it on an ephemeral 127.0.0.1 port, wait until healthy,
#   GET /health /live /ready /metrics (200 + JSON fields), exec whoami == appuser,
#   memory < 256MB sampled for 5 s, logs: no ERROR and every line JSON, stop -> exit 0, rm.
# Prints one line per check; exits 1 if any check failed, 2 on a setup failure.
# CHECKLIST_TIMES=1 prints the wall time of each phase on stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ctx="$root/tests/fixtures/app"
tag="${CHECKLIST_TAG:-dspec-bench/checklist:prod}"
label="bench=checklist-sh"
py="/usr/bin/python3"                  # Debian's python; the pyenv shim adds ~0.1 s per call
[ -x "$py" ] || py="python3"
limit=$((256 * 1000 * 1000))           # 256MB (decimal, as dspec's MB)
cid=""
failed=0
work="$(mktemp -d)"

cleanup() {
	[ -n "$cid" ] && docker rm -f "$cid" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- phase timing (no forks: $EPOCHREALTIME) -------------------------------------------------
t_last="$EPOCHREALTIME"
phase() {
	local now="$EPOCHREALTIME"
	if [ "${CHECKLIST_TIMES:-0}" = 1 ]; then
		awk -v a="$t_last" -v b="$now" -v n="$1" 'BEGIN { printf "phase %-16s %6.3f s\n", n, b - a }' >&2
	fi
	t_last="$EPOCHREALTIME"
}

pass() { printf '  ✓ %s\n' "$1"; }
fail() {
	printf '  ✗ %s%s\n' "$1" "${2:+: $2}"
	failed=1
}
die() {
	printf '  ✗ %s\n' "$*"
	exit 2
}
now_ms() { local t="${EPOCHREALTIME/./}"; printf '%s' "${t:0:13}"; } # ms since the epoch

# --- build (cached) --------------------------------------------------------------------------
if ! DOCKER_BUILDKIT=0 docker build -q --target prod -t "$tag" "$ctx" >"$work/build.log" 2>&1; then
	cat "$work/build.log" >&2
	die "docker build failed"
fi
pass "build $tag"
phase build

# --- start -----------------------------------------------------------------------------------
cid="$(docker run -d -p 127.0.0.1::8000 --label "$label" --name "checklist-sh-$$" "$tag")" ||
	die "docker run failed"
phase run

# --- wait until healthy (poll every 0.2 s, 30 s deadline) --------------------------------------
deadline=$(($(now_ms) + 30000))
health=""
while :; do
	health="$(docker inspect -f '{{.State.Health.Status}}' "$cid")"
	case "$health" in
	healthy) break ;;
	unhealthy) break ;;
	esac
	[ "$(now_ms)" -lt "$deadline" ] || break
	sleep 0.2
done
if [ "$health" = healthy ]; then pass "health == healthy"; else die "health == healthy within 30s (last: $health)"; fi
phase healthy

# --- HTTP ------------------------------------------------------------------------------------
hostport="$(docker port "$cid" 8000/tcp | head -n 1)"
case "$hostport" in 127.0.0.1:*) ;; *) die "port 8000 is not published on 127.0.0.1 ($hostport)" ;; esac
base="http://$hostport"

# get PATH PYTHON-EXPR: status 200, then the expression over the parsed body `j` must be true.
get() {
	local path="$1" expr="$2" code
	if ! code="$(curl -sS --max-time 5 -o "$work/body" -w '%{http_code}' "$base$path")"; then
		fail "GET $path" "curl failed"
		return
	fi
	if [ "$code" = 200 ]; then pass "GET $path status == 200"; else fail "GET $path status == 200" "got $code"; fi
	if "$py" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ('"$expr"') else 1)' "$work/body" 2>/dev/null; then
		pass "GET $path json: $expr"
	else
		fail "GET $path json: $expr" "body $(head -c 200 "$work/body")"
	fi
}
get /health 'j["status"] == "ok"'
get /live 'j["status"] == "ok"'
get /ready 'j["status"] == "ok"'
get /metrics 'j["status"] == "ok" and j["requests_total"] >= 1'
phase http

# --- exec --------------------------------------------------------------------------------------
who="$(docker exec "$cid" whoami 2>&1)" || who="exec failed: $who"
if [ "$who" = appuser ]; then pass "exec whoami == appuser"; else fail "exec whoami == appuser" "got $who"; fi
phase exec

# --- memory < 256MB, sampled for 5 s -------------------------------------------------------------
to_bytes() { # "12.5MiB" -> bytes
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		m["B"]=1; m["kB"]=1e3; m["KB"]=1e3; m["MB"]=1e6; m["GB"]=1e9
		m["KiB"]=1024; m["MiB"]=1048576; m["GiB"]=1073741824
		if (!(u in m)) { print -1; exit }
		printf "%d\n", n * m[u] }'
}
deadline=$(($(now_ms) + 5000))
samples=0 maxb=0 mem_ok=1 last=""
while [ "$(now_ms)" -lt "$deadline" ]; do
	usage="$(docker stats --no-stream --format '{{.MemUsage}}' "$cid")" # "1.8MiB / 23.5GiB"
	last="${usage%% /*}"
	b="$(to_bytes "$last")"
	samples=$((samples + 1))
	if [ "$b" -lt 0 ] || [ "$b" -ge "$limit" ]; then
		mem_ok=0
		break
	fi
	[ "$b" -gt "$maxb" ] && maxb="$b"
done
if [ "$mem_ok" = 1 ] && [ "$samples" -gt 0 ]; then
	pass "memory < 256MB for 5s ($samples samples, max $((maxb / 1024)) KiB)"
else
	fail "memory < 256MB for 5s" "sample $samples: $last"
fi
phase memory

# --- logs: no ERROR, every line JSON -------------------------------------------------------------
docker logs "$cid" >"$work/logs" 2>&1
if grep -q ERROR "$work/logs"; then fail "logs not matches /ERROR/" "$(grep -m1 ERROR "$work/logs")"; else pass "logs not matches /ERROR/"; fi
if bad="$("$py" - "$work/logs" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines() if l.strip()]
for n, l in enumerate(lines, 1):
    try:
        json.loads(l)
    except ValueError:
        print(f"line {n}: {l[:120]}")
        sys.exit(1)
sys.exit(0 if lines else 1)
PY
)"; then pass "logs is json"; else fail "logs is json" "$bad"; fi
phase logs

# --- stop -> exit 0, then remove -----------------------------------------------------------------
docker stop -t 10 "$cid" >/dev/null
code="$(docker inspect -f '{{.State.ExitCode}}' "$cid")"
if [ "$code" = 0 ]; then pass "stop(10s).exit_code == 0"; else fail "stop(10s).exit_code == 0" "got $code"; fi
phase stop
docker rm "$cid" >/dev/null && cid=""
phase rm

if [ "$failed" = 0 ]; then echo "checklist.sh: all checks passed"; else echo "checklist.sh: FAILED"; fi
exit "$failed"
