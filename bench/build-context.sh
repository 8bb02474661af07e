#!/usr/bin/env bash
# Benchmark (not a test): peak RSS and wall time of `dspec check` building a context that holds
# a 3 GB sparse file (issue 11, item 7). Prints a Markdown table.
#
# The context is FROM scratch + `COPY small.txt /`: the 3 GB file is only sent, so the figures
# are those of sending the context (and of the daemon unpacking it), not of a layer.
#
# Env: SIZE (default 3G, any `truncate -s` size), RUNS (default 2) runs per binary.
#      DSPEC_BIN: the binary to measure ("after"), default `cargo build --release`.
#      BEFORE_BIN: a binary built before the change (e.g. from commit ed693c0:
#        git archive ed693c0 | tar -x -C /tmp/before && cd /tmp/before && cargo build --release);
#        measured too when given. It holds the whole context in memory: about 2x SIZE of RAM.
# Cleans up: the temp dir (sparse file), the images built, on success, failure and Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
size="${SIZE:-3G}"
runs="${RUNS:-2}"
tag="dspec-bench/ctx-stream:$$"

die() {
	printf 'build-context.sh: ERROR: %s\n' "$*" >&2
	exit 1
}
work="$(mktemp -d)"
cleanup() {
	local id
	id="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
	[ -z "$id" ] || docker rmi -f "$id" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

docker info >/dev/null 2>&1 || die "the Docker daemon does not answer (docker info)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: apt-get install -y time"

if [ -n "${DSPEC_BIN:-}" ]; then
	after="$DSPEC_BIN"
else
	printf '== building dspec (cargo build --release)\n' >&2
	cargo build --release --locked --quiet
	after="$root/target/release/dspec"
fi

mkdir -p "$work/ctx"
printf 'FROM scratch\nCOPY small.txt /small.txt\n' >"$work/ctx/Dockerfile"
echo small >"$work/ctx/small.txt"
truncate -s "$size" "$work/ctx/big.bin"
cat >"$work/ctx/t.dspec" <<EOF
image big = build "." { tag "$tag"; no_cache }
expect big.built
EOF
bytes=$(stat -c %s "$work/ctx/big.bin")

# measure NAME BIN: one run; appends "wall_s rss_kib" to $work/NAME.
measure() {
	local name="$1" bin="$2" t0 t1 rc=0
	t0=$(date +%s%N)
	/usr/bin/time -v -o "$work/time.txt" "$bin" check --color never "$work/ctx/t.dspec" >"$work/out.txt" 2>&1 || rc=$?
	t1=$(date +%s%N)
	if [ "$rc" != 0 ]; then
		tail -n 5 "$work/out.txt" >&2
		printf '%s: exit code %s\n' "$name" "$rc" >&2
		echo "fail fail" >>"$work/$name"
		return
	fi
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b-a)/1e9}') $rss" >>"$work/$name"
}

bins=()
[ -z "${BEFORE_BIN:-}" ] || bins+=("before:$BEFORE_BIN")
bins+=("after:$after")
for i in $(seq "$runs"); do
	for b in "${bins[@]}"; do
		printf '== run %s/%s: %s\n' "$i" "$runs" "${b%%:*}" >&2
		measure "${b%%:*}" "${b#*:}"
	done
done

row() {
	local name="$1" bin="$2"
	awk -v n="$name" -v b="$bin" '
		$1 == "fail" { fails++; next }
		{ t += $1; if ($2 > r) r = $2; k++; if (min == "" || $1 < min) min = $1 }
		END {
			if (k == 0) { printf "| %s | `%s` | failed | | | |\n", n, b; exit }
			printf "| %s | `%s` | %.2f | %.2f | %.1f | %s |\n", n, b, t/k, min, r/1024, (r*1024 < 64e6) ? "met" : "NOT met"
		}' "$work/$name"
}
echo
printf 'dspec check building a context with a %s sparse file (%s bytes; FROM scratch, COPY small.txt); %s run(s) each; %s cores; Docker %s (%s)\n' \
	"$size" "$bytes" "$runs" "$(nproc)" "$(docker version -f '{{.Server.Version}}' 2>/dev/null)" "$(docker info -f '{{.Driver}}' 2>/dev/null)"
echo
echo '| binary | path | mean wall s | min wall s | peak RSS MiB (max) | goal RSS < 64 MB |'
echo '| --- | --- | ---: | ---: | ---: | --- |'
[ -z "${BEFORE_BIN:-}" ] || row before "$BEFORE_BIN"
row after "$after"
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
