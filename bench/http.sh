#!/usr/bin/env bash
# Benchmark (not a test): HTTP requests to one container of the HTTP fixture service
# (tests/fixtures/http, FROM scratch), and a Markdown table.
#   1. 200 sequential GET /health: dspec (one spec with 200 inline expectations; the time of a
#      spec with one subtracted, so image, start, health and cleanup do not count) against
#      `curl` in a bash loop against a container started with `docker run` (hurl is used
#      instead of curl when it is installed).
#   2. what `within 5s` adds over one request: the durations dspec reports (JSON) for an inline
#      `expect api.get("/health").status == 200` (one request) and for `expect w.status == 200
#      within 5s` on a request subject (its sample sends the request again), median of 20 each.
# RUNS (default 3) repeats part 1; the median is shown. BIN picks the dspec binary
# (default target/release/dspec when present, else target/debug/dspec).
# Needs Docker and curl. About a minute.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${RUNS:-3}"
bin="${BIN:-}"
if [ -z "$bin" ]; then
	if [ -x target/release/dspec ]; then bin=target/release/dspec; else bin=target/debug/dspec; fi
fi
[ -x "$bin" ] || { echo "build dspec first (cargo build)" >&2; exit 1; }
tests/fixtures/prepare.sh >/dev/null
work="$(mktemp -d)"
cid=""
cleanup() {
	[ -z "$cid" ] || docker rm -f "$cid" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
fixture="$PWD/tests/fixtures/http"

header='image svc = build "'"$fixture"'"
container api = run svc { publish 8000; health_interval 200ms }'
{
	echo "$header"
	echo 'expect api.get("/health").status == 200'
} >"$work/one.dspec"
{
	echo "$header"
	for _ in $(seq 200); do echo 'expect api.get("/health").status == 200'; done
} >"$work/many.dspec"
{
	echo "$header"
	for i in $(seq 20); do
		echo "request r$i = api.get(\"/health\")"
		echo "request w$i = api.get(\"/health\")"
	done
	for i in $(seq 20); do
		echo 'expect api.get("/health").status == 200'
		echo "expect w$i.status == 200 within 5s"
	done
} >"$work/within.dspec"

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

run_spec() {
	local t0 t1
	t0="$EPOCHREALTIME"
	"$bin" check --color never -q "$1" >"$work/out.log" 2>&1 || {
		cat "$work/out.log" >&2
		exit 1
	}
	t1="$EPOCHREALTIME"
	secs "$t0" "$t1"
}

echo "warm-up (builds the fixture image)..." >&2
run_spec "$work/one.dspec" >/dev/null

# --- client for the loop: hurl if installed, else curl ---------------------------------------
docker build -q -t dspec-bench/http "$fixture" >/dev/null
cid="$(docker run -d -p 127.0.0.1::8000 dspec-bench/http)"
port="$(docker port "$cid" 8000/tcp | head -1 | sed 's/.*://')"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
if command -v hurl >/dev/null 2>&1; then
	peer="hurl"
	for _ in $(seq 200); do printf 'GET http://127.0.0.1:%s/health\nHTTP 200\n\n' "$port"; done >"$work/many.hurl"
	loop() { hurl --test "$work/many.hurl" >/dev/null 2>&1; }
else
	peer="curl loop"
	loop() {
		for _ in $(seq 200); do
			[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ] || return 1
		done
	}
fi

declare -a d_many=() d_one=() d_peer=()
for i in $(seq "$runs"); do
	echo "run $i/$runs..." >&2
	d_one+=("$(run_spec "$work/one.dspec")")
	d_many+=("$(run_spec "$work/many.dspec")")
	t0="$EPOCHREALTIME"
	loop
	d_peer+=("$(secs "$t0" "$EPOCHREALTIME")")
done
one="$(printf '%s\n' "${d_one[@]}" | median)"
many="$(printf '%s\n' "${d_many[@]}" | median)"
peer_s="$(printf '%s\n' "${d_peer[@]}" | median)"
dspec_200="$(awk -v a="$one" -v b="$many" 'BEGIN { printf "%.3f", (b - a) * 200 / 199 }')"

# --- within 5s over one request ----------------------------------------------------------------
"$bin" check --color never -q --report "json:$work/within.json" "$work/within.dspec" >/dev/null 2>&1
read -r plain within < <(python3 - "$work/within.json" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"]
plain = [x["duration_ms"] for x in r if x["modifier"] is None]
within = [x["duration_ms"] for x in r if x["modifier"] is not None]
print(statistics.median(plain), statistics.median(within))
PY
)

echo
echo "| measurement | dspec ($bin) | $peer |"
echo "| --- | --- | --- |"
printf '| 200 sequential GET /health, one container | %s s (%s ms each) | %s s (%s ms each) |\n' \
	"$dspec_200" "$(awk -v s="$dspec_200" 'BEGIN { printf "%.1f", s * 5 }')" \
	"$peer_s" "$(awk -v s="$peer_s" 'BEGIN { printf "%.1f", s * 5 }')"
printf '| one check `api.get("/health").status == 200` (median of 20) | %s ms | |\n' "$plain"
printf '| `expect w.status == 200 within 5s` on a request, holding at once (median of 20) | %s ms (%+.1f ms) | |\n' "$within" \
	"$(awk -v a="$plain" -v b="$within" 'BEGIN { print b - a }')"
echo
echo "(dspec's 200: the median wall time of a spec with 200 such expectations minus one with 1,"
echo " scaled to 200; medians of $runs runs. Each dspec request also inspects the container for"
echo " its published port.)"
