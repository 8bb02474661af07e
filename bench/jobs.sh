#!/usr/bin/env bash
# Benchmark (not a test): a suite of 8 independent container specs run with
# --jobs 1 and --jobs 4. Prints a table of wall times.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${RUNS:-3}"
bin="${DSPEC_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin="$PWD/target/release/dspec"
fi
tests/fixtures/prepare.sh >/dev/null
suite="$(mktemp -d)"
trap 'rm -rf "$suite"' EXIT
for i in 1 2 3 4 5 6 7 8; do
  cat > "$suite/s$i.dspec" <<SPEC
story "JOBS-$i" "independent container $i"
image prod = build "$PWD/tests/fixtures/app" { target "prod" }
container api = run prod { publish 8000 }
criterion AC1 "runs" {
  expect api.health == "healthy" within 30s
  expect api.get("/health").status == 200
  expect api.memory < 256MB for 2s
  expect api.stop(10s).exit_code == 0
}
SPEC
done
"$bin" check --color never "$suite" >/dev/null 2>&1 || true # warm the build cache
printf '\n8 container specs, %s runs each, %s cores\n\n' "$runs" "$(nproc)"
printf '| %-10s | %8s | %8s | %8s |\n' "jobs" "mean s" "min s" "max s"
printf '|%s|%s|%s|%s|\n' "------------" "----------" "----------" "----------"
for jobs in 1 4; do
  times=()
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N)
    "$bin" check --color never --jobs "$jobs" "$suite" >/dev/null 2>&1 || { echo "run failed with --jobs $jobs" >&2; exit 1; }
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v j="--jobs $jobs" '{a[NR]=$1; s+=$1} END {printf "| %-10s | %8.2f | %8.2f | %8.2f |\n", j, s/NR/1000, a[1]/1000, a[NR]/1000}'
done
