#!/usr/bin/env bash
# Benchmark (not a test): the image index (issue 13's performance bar). Prints a Markdown table.
#
# A realistic Python-style image, built FROM scratch at run time (never committed): busybox,
# the host's /usr/lib/python3.11 tree, the host's /usr/lib/python3/dist-packages (real
# dist-info/egg-info) as site-packages, generated node_modules/*/package.json files, and one
# big random file, about 185 MB. The same spec (five glob queries, a file's content through
# the cache, the user's uid, the OS packages) is checked by:
#   first run    `dspec check` with an empty cache (reads `docker save` once, writes the index)
#   second run   `dspec check` again (answers from the index, no layer read)
# against the floors `docker save IMAGE > /dev/null` and `docker run --rm IMAGE find /`.
# Peak RSS of dspec from /usr/bin/time -v; the index's size on disk; and, as the floor of any
# run, `dspec check` of `expect py.built` (start-up, engine connection, inspect).
#
# Env: RUNS (default 3) timed runs per command, interleaved, after one untimed verification
#      run. DSPEC_BIN: a dspec binary instead of `cargo build --release`. BIG_MB (default 75):
#      the random file's size.
# Cleans up the image, its build context and the cache directory at exit (also on Ctrl-C).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
runs="${RUNS:-3}"
big_mb="${BIG_MB:-75}"
tag="dspec-bench/pyindex:$$"

die() {
	printf 'image-index.sh: ERROR: %s\n' "$*" >&2
	exit 1
}
log() { printf '== %s\n' "$*" >&2; }
work="$(mktemp -d)"
cleanup() {
	docker image inspect "$tag" >/dev/null 2>&1 && docker rmi -f "$tag" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

docker info >/dev/null 2>&1 || die "the Docker daemon does not answer (docker info)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: apt-get install -y time"
[ -d /usr/lib/python3.11 ] || die "/usr/lib/python3.11 is missing (Debian's python3.11)"
busybox="$(command -v busybox || true)"
[ -n "$busybox" ] || die "busybox is missing: apt-get install -y busybox-static"

if [ -n "${DSPEC_BIN:-}" ]; then
	dspec="$DSPEC_BIN"
else
	log "building dspec (cargo build --release)"
	cargo build --release --locked --quiet
	dspec="$root/target/release/dspec"
fi

log "preparing a ~185 MB Python-style context"
ctx="$work/ctx"
mkdir -p "$ctx/etc" "$ctx/node_modules"
cp "$(readlink -f "$busybox")" "$ctx/busybox"
cp -a /usr/lib/python3.11 "$ctx/python3.11"
if [ -d /usr/lib/python3/dist-packages ]; then
	cp -a /usr/lib/python3/dist-packages "$ctx/site-packages"
else
	mkdir -p "$ctx/site-packages"
fi
# Python-style dist-info for a few well-known packages (besides the host's own).
for p in fastapi:0.110.0 uvicorn:0.30.1 pydantic:2.7.4 starlette:0.37.2; do
	d="$ctx/site-packages/${p%%:*}-${p#*:}.dist-info"
	mkdir -p "$d"
	printf 'Metadata-Version: 2.1\nName: %s\nVersion: %s\n\nlong description\n' "${p%%:*}" "${p#*:}" >"$d/METADATA"
done
# Node-style: 400 packages, every 10th with a nested node_modules, some scoped.
for i in $(seq 1 400); do
	name="pkg$i"
	[ $((i % 7)) = 0 ] && name="@scope$((i % 5))/pkg$i"
	d="$ctx/node_modules/$name"
	mkdir -p "$d/lib"
	printf '{"name": "%s", "version": "1.%s.0", "main": "lib/index.js"}\n' "$name" "$i" >"$d/package.json"
	printf 'module.exports = %s;\n' "$i" >"$d/lib/index.js"
	if [ $((i % 10)) = 0 ]; then
		mkdir -p "$d/node_modules/dep$i"
		printf '{"name": "dep%s", "version": "0.%s.0"}\n' "$i" "$i" >"$d/node_modules/dep$i/package.json"
	fi
done
head -c "${big_mb}M" /dev/urandom >"$ctx/big.bin"
printf 'root:x:0:0:root:/root:/bin/sh\nappuser:x:1000:1000::/home/appuser:/bin/sh\n' >"$ctx/etc/passwd"
printf 'root:x:0:\nappuser:x:1000:\n' >"$ctx/etc/group"
cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY etc/ /etc/
COPY python3.11/ /usr/lib/python3.11/
COPY site-packages/ /usr/local/lib/python3.11/site-packages/
COPY node_modules/ /app/node_modules/
COPY big.bin /opt/model/big.bin
USER appuser
EOF
log "building $tag"
DOCKER_BUILDKIT=0 docker build -q --force-rm -t "$tag" "$ctx" >"$work/build.log" 2>&1 || {
	cat "$work/build.log" >&2
	die "building $tag failed"
}
rm -rf "$ctx"
size=$(docker image inspect -f '{{.Size}}' "$tag")
files=$(docker run --rm --network none "$tag" find / -xdev 2>/dev/null | wc -l)

cat >"$work/index.dspec" <<EOF
image py = existing "$tag"
expect py.files("/usr/lib/python3.11/**/*.py") is not empty
expect py.files("/usr/local/lib/python3.11/site-packages/*.dist-info/METADATA") is not empty
expect py.files("/app/node_modules/**/package.json").count > 400
expect py.files("/usr/lib/python3.11/**/__pycache__/*.pyc").count >= 0
expect py.files("/nothing/**") is empty
expect py.file("/etc/passwd").content matches /appuser/
expect py.file("/opt/model/big.bin").size > 1MB
expect py.uid == 1000
expect py.packages is empty
EOF

printf 'image py = existing "%s"\nexpect py.built\n' "$tag" >"$work/floor.dspec"

cache="$work/cache"
now_ns() { date +%s%N; }
# timed KEY CMD...: wall time in µs appended to $work/KEY.us; dies if CMD fails.
timed() {
	local key="$1" t0 t1 rc=0
	shift
	t0=$(now_ns)
	"$@" >"$work/$key.out" 2>&1 || rc=$?
	t1=$(now_ns)
	if [ "$rc" != 0 ]; then
		tail -n 20 "$work/$key.out" >&2
		die "$key: exit code $rc: $*"
	fi
	echo $(((t1 - t0) / 1000)) >>"$work/$key.us"
}
mean_s() { awk '{s+=$1} END {printf "%.3f", s/NR/1e6}' "$work/$1.us"; }
min_s() { sort -n "$work/$1.us" | head -n 1 | awk '{printf "%.3f", $1/1e6}'; }
rss_mib() { awk -F': ' '/Maximum resident set size/ {if ($2 > m) m = $2} END {printf "%.1f", m/1024}' "$work"/rss."$1".* 2>/dev/null; }

n=0
check() { # KIND: run dspec check under /usr/bin/time
	n=$((n + 1))
	DSPEC_CACHE_DIR="$cache" /usr/bin/time -v -o "$work/rss.$1.$n" "$dspec" check --color never "$work/index.dspec"
}
first() {
	rm -rf "$cache"
	check first
}
second() { check second; }
floor() { DSPEC_CACHE_DIR="$cache" "$dspec" check --color never "$work/floor.dspec"; }
save() { docker save "$tag" >/dev/null; }
find_() { docker run --rm --network none "$tag" find / -xdev >/dev/null; }

log "verification run"
first >"$work/verify.txt" 2>&1 || {
	cat "$work/verify.txt" >&2
	die "the checks do not all pass"
}
grep -qE '^9 passed, 0 failed' "$work/verify.txt" || {
	cat "$work/verify.txt" >&2
	die "unexpected result"
}
second >"$work/verify2.txt" 2>&1 || {
	cat "$work/verify2.txt" >&2
	die "the second run does not pass"
}
rm -f "$work"/rss.*
log "$runs timed runs each"
for i in $(seq "$runs"); do
	timed first first
	timed second second
	timed floor floor
	timed save save
	timed find find_
	log "  run $i/$runs done"
done
index_bytes=$(du -b "$cache"/images/*.idx | awk '{s+=$1} END {print s}')

echo
printf 'Image index: `dspec check` (9 checks: 5 globs, a content, a size, uid, packages) on a %s MB FROM-scratch Python/Node-style image with %s paths; %s runs each, interleaved; %s cores; Docker %s (%s)\n' \
	"$(awk -v b="$size" 'BEGIN {printf "%.1f", b/1e6}')" "$files" "$runs" "$(nproc)" \
	"$(docker version -f '{{.Server.Version}}' 2>/dev/null)" "$(docker info -f '{{.Driver}}' 2>/dev/null)"
echo
echo '| command | mean s | min s | peak RSS MiB | vs docker save (mean) |'
echo '| --- | ---: | ---: | ---: | ---: |'
ratio() { awk -v a="$(mean_s "$1")" -v b="$(mean_s save)" 'BEGIN {printf "%.2f", a/b}'; }
printf '| dspec first run (empty cache: reads the layers, writes the index) | %s | %s | %s | %s |\n' "$(mean_s first)" "$(min_s first)" "$(rss_mib first)" "$(ratio first)"
printf '| dspec second run (from the index) | %s | %s | %s | %s |\n' "$(mean_s second)" "$(min_s second)" "$(rss_mib second)" "$(ratio second)"
printf '| dspec with no filesystem property (`expect py.built`: start, engine, inspect; the floor of any run) | %s | %s | | %s |\n' "$(mean_s floor)" "$(min_s floor)" "$(ratio floor)"
printf '| `docker save IMAGE > /dev/null` | %s | %s | | 1.00 |\n' "$(mean_s save)" "$(min_s save)"
printf '| `docker run --rm IMAGE find / -xdev` | %s | %s | | %s |\n' "$(mean_s find)" "$(min_s find)" "$(ratio find)"
echo
printf 'Index on disk: %s bytes (%s paths). Goals: second run < 0.200 s (%s); first run <= docker save (%s).\n' \
	"$index_bytes" "$files" \
	"$(awk -v a="$(mean_s second)" 'BEGIN {print (a < 0.2) ? "met" : "NOT met"}')" \
	"$(awk -v a="$(mean_s first)" -v b="$(mean_s save)" 'BEGIN {print (a <= b) ? "met" : "NOT met"}')"
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
