#!/usr/bin/env bash
# Benchmark (not a test): `dspec validate` on generated large specs (issue 11, item 9).
# Prints wall time, CPU time (user + system: steadier than wall time on a busy machine) and
# peak memory (max RSS, from /usr/bin/time) for a 5 MB and a 50 MB spec of two shapes, and the
# ratio of peak memory to the input's size:
#   criteria  blocks of an image, a container and a criterion of nine expectations
#   commands  host commands, each with two top-level expectations (many subjects, each looked
#             up by its checks: a lookup that scans the subjects makes this one quadratic)
#
#   scripts/bench-validate.sh                 # release build of this checkout
#   DSPEC=path/to/dspec scripts/bench-validate.sh   # another binary (e.g. a build from before)
#   SIZES="5 50 100" scripts/bench-validate.sh      # sizes in MB
#   SHAPES=commands scripts/bench-validate.sh         # one shape
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${DSPEC:-}" ]; then
	cargo build --release --locked --quiet
	DSPEC="$PWD/target/release/dspec"
fi
[ -x /usr/bin/time ] || { echo "bench-validate: needs /usr/bin/time (package time)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

gen_commands() { # size in bytes, output file
	python3 - "$1" "$2" <<'PY'
import sys
target, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as out:
    out.write('story "BENCH" "host commands"\n')
    size, i = 0, 0
    while size < target:
        block = f'command h{i} = host "true {i}"\nexpect h{i}.exit_code == 0\nexpect h{i}.stdout is empty\n'
        out.write(block)
        size += len(block)
        i += 1
PY
}

gen_criteria() { # size in bytes, output file: blocks of subjects and a criterion of expectations
	python3 - "$1" "$2" <<'PY'
import sys
target, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as out:
    head = 'story "BENCH" "large spec"\nlet budget = 200MB\n'
    out.write(head)
    size, i = len(head), 0
    while size < target:
        block = f'''image img{i} = build "ctx{i % 7}" {{
  target "prod"
  arg VERSION = "1.{i}"
}}
container c{i} = run img{i} {{ publish 8000; memory 256MB; read_only; tmpfs "/tmp" }}
criterion AC{i} "criterion {i}" {{
  expect img{i}.size < budget
  expect img{i}.user == "appuser"
  expect img{i}.files("/app/**/*.py") is empty
  expect img{i}.file("/app").mode == 0o755
  expect c{i}.health == "healthy" within 30s
  expect c{i}.get("/health").json.status == "ok"
  expect c{i}.memory < 256MiB for 5s
  expect c{i}.logs not matches /ERROR|CRITICAL/
  expect c{i}.stop(10s).exit_code == 0
}}
'''
        out.write(block)
        size += len(block)
        i += 1
PY
}

printf '\ndspec validate on generated specs (%s, %s cores)\n\n' "$DSPEC" "$(nproc)"
printf '| %-8s | %-8s | %10s | %10s | %10s | %12s | %12s |\n' "shape" "spec" "lines" "wall s" "CPU s" "max RSS MB" "RSS / input"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "----------" "----------" "------------" "------------" "------------" "--------------" "--------------"
for shape in ${SHAPES:-criteria commands}; do
for mb in ${SIZES:-5 50}; do
	f="$work/spec-${shape}-${mb}mb.dspec"
	"gen_$shape" "$((mb * 1000000))" "$f"
	bytes=$(stat -c %s "$f")
	lines=$(wc -l <"$f")
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$DSPEC" validate "$f" >/dev/null 2>&1 || true
	read -r wall user sys kb <"$work/time"
	awk -v sh="$shape" -v mb="$mb" -v l="$lines" -v w="$wall" -v u="$user" -v s="$sys" -v kb="$kb" -v b="$bytes" \
		'BEGIN { printf "| %-8s | %5d MB | %10d | %10.2f | %10.2f | %12.1f | %11.1fx |\n", sh, mb, l, w, u + s, kb / 1024, kb * 1024 / b }'
	rm -f "$f"
done
done
