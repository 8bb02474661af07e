#!/usr/bin/env bash
# Benchmark (not a test): `dspec validate` on a generated 10,000-line spec
# and on 1,000 small files. Prints a table of wall times (release build).
# Goals from issue 2: under 100 ms and under 1 s on the project machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${RUNS:-10}"
cargo build --release --quiet
bin="$PWD/target/release/dspec"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$work" <<'PY'
import os, sys
work = sys.argv[1]
# One big file: 250 images/containers, each with a criterion of expectations.
lines = ['story "BENCH" "ten thousand lines"', 'let budget = 200MB']
i = 0
while True:
    block = [
        f'image img{i} = build "ctx{i % 7}" {{',
        f'  target "prod"',
        f'  arg VERSION = "1.{i}"',
        f'}}',
        f'container c{i} = run img{i} {{ publish 8000; memory 256MB; read_only; tmpfs "/tmp" }}',
        f'criterion AC{i} "criterion {i}" {{',
        f'  expect img{i}.size < budget',
        f'  expect img{i}.user == "appuser"',
        f'  expect img{i}.files("/app/**/*.py") is empty',
        f'  expect img{i}.file("/app").mode == 0o755',
        f'  expect c{i}.health == "healthy" within 30s',
        f'  expect c{i}.get("/health").json.status == "ok"',
        f'  expect c{i}.memory < 256MiB for 5s',
        f'  expect c{i}.logs not matches /ERROR|CRITICAL/',
        f'  expect c{i}.stop(10s).exit_code == 0',
        f'}}',
    ]
    if len(lines) + len(block) > 10000:
        break
    lines += block
    i += 1
lines += ['# padding'] * (10000 - len(lines))
open(os.path.join(work, 'big.dspec'), 'w').write('\n'.join(lines) + '\n')
os.makedirs(os.path.join(work, 'many'))
for n in range(1000):
    open(os.path.join(work, 'many', f'story{n:04}.dspec'), 'w').write(
f'''story "S-{n}" "small story {n}"
image app = build "ctx" {{ target "prod" }}
container api = run app {{ publish 8000 }}
criterion AC1 "image" {{
  expect app.size < 50MB
  expect app.user == "appuser"
}}
criterion AC2 "runs" {{
  expect api.health == "healthy" within 30s
  expect api.get("/health").status == 200
}}
''')
PY

measure() { # label, then the command; prints "label | mean | min | max"
  local label="$1"; shift
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v l="$label" '{a[NR]=$1; s+=$1} END {printf "| %-34s | %9.1f | %9.1f | %9.1f |\n", l, s/NR/1000, a[1]/1000, a[NR]/1000}'
}

printf '\ndspec validate, release build, %s runs each (%s)\n\n' "$runs" "$(nproc) cores"
printf '| %-34s | %9s | %9s | %9s |\n' "case" "mean ms" "min ms" "max ms"
printf '|%s|%s|%s|%s|\n' "------------------------------------" "-----------" "-----------" "-----------"
measure "1 file, $(wc -l < "$work/big.dspec") lines" "$bin" validate "$work/big.dspec"
measure "1,000 files, $(cat "$work"/many/*.dspec | wc -l) lines" "$bin" validate "$work/many"
measure "plan of the 10,000-line file" "$bin" plan "$work/big.dspec"
"$bin" validate "$work/big.dspec" "$work/many" 2>&1 | tail -n 1
