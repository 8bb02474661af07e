#!/usr/bin/env bash
# Prepares the build contexts of the bundled examples (nothing here is committed):
#   .build/server                       the tiny static Rust service (tests/fixtures/svc/main.rs),
#                                       compiled once with rustc, then copied into each context:
#   web-api/server, db-stack/server, hardened/server
#   web-api/busybox, db-stack/busybox, hardened/busybox   a copy of the host's static busybox
#   web-api/build/app/*.pyc             the bytecode-only Python layout of web-api's prod stage
# Idempotent: each output is only redone when it is missing or older than its inputs, and copies
# are only made when the bytes differ, so Docker's layer cache stays warm.
# Installs nothing; fails with a clear message when a prerequisite is missing.
# Works from any cwd. Concurrent callers should serialise with flock (tests/examples.rs does).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
svc_src="$(cd "$here/../tests/fixtures/svc" && pwd)/main.rs"
python="${DSPEC_FIXTURE_PYTHON:-/usr/bin/python3.11}"
contexts=(web-api db-stack hardened)

say() { printf 'examples/prepare.sh: %s\n' "$*"; }
die() {
	printf 'examples/prepare.sh: ERROR: %s\n' "$*" >&2
	exit 1
}

# --- prerequisites -----------------------------------------------------------------------
busybox="$(command -v busybox || true)"
[ -n "$busybox" ] || die "busybox not found on PATH. Install it: apt-get install -y busybox-static"
busybox="$(readlink -f "$busybox")"
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked; a FROM scratch image needs the static one: apt-get install -y busybox-static"
fi
[ -x "$python" ] || die "$python not found (needed to compile web-api's .pyc files). Install it: apt-get install -y python3.11 (or set DSPEC_FIXTURE_PYTHON)"
command -v rustc >/dev/null || die "rustc not found on PATH (needed to compile the example service)"
[ -f "$svc_src" ] || die "$svc_src not found"

# --- the service -------------------------------------------------------------------------
# --remap-path-prefix keeps the bytes independent of the checkout path, so the COPY layer cache
# survives a move of the repository.
mkdir -p "$here/.build"
server="$here/.build/server"
if [ ! -x "$server" ] || [ "$svc_src" -nt "$server" ]; then
	tmp="$(mktemp -d "$here/.build/svc.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	rustc --edition 2021 -O -C panic=abort -C strip=symbols -C target-feature=+crt-static \
		--target x86_64-unknown-linux-gnu --crate-name server \
		--remap-path-prefix "$(dirname "$svc_src")=svc" \
		"$svc_src" -o "$tmp/server" ||
		die "rustc failed to compile $svc_src"
	mv -f "$tmp/server" "$server"
	rm -rf "$tmp"
	trap - EXIT
	say "compiled server ($(stat -c %s "$server") bytes)"
else
	say "server up to date"
fi

# copy_if_changed SRC DST: copies (mode 755) only when the bytes differ.
copy_if_changed() {
	if [ -f "$2" ] && cmp -s "$1" "$2"; then
		return
	fi
	cp -f "$1" "$2.tmp.$$"
	chmod 755 "$2.tmp.$$"
	mv -f "$2.tmp.$$" "$2"
	say "copied $1 -> ${2#"$here"/}"
}
for ctx in "${contexts[@]}"; do
	copy_if_changed "$server" "$here/$ctx/server"
	copy_if_changed "$busybox" "$here/$ctx/busybox"
done

# --- web-api: the bytecode-only layout -----------------------------------------------------
# web-api/src/app/*.py -> web-api/build/app/*.pyc, no .py kept. unchecked-hash makes the bytes
# identical from run to run; -d records the in-image path (/app) for tracebacks.
src="$here/web-api/src"
out="$here/web-api/build"
stamp="$out/.stamp"
sources="$(cd "$src" && find . -type f -name '*.py' | LC_ALL=C sort)"
stale=0
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sources" ]; then
	stale=1
elif [ -n "$(find "$src" -type f -name '*.py' -newer "$stamp")" ]; then
	stale=1
fi
if [ "$stale" = 1 ]; then
	tmp="$(mktemp -d "$here/web-api/.pyc-build.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	cp -R "$src/app" "$tmp/app"
	find "$tmp" -name __pycache__ -prune -exec rm -rf {} +
	"$python" -m compileall -q -b --invalidation-mode unchecked-hash -d /app "$tmp/app" >/dev/null ||
		die "$python -m compileall failed"
	find "$tmp" -type f ! -name '*.pyc' -delete
	printf '%s\n' "$sources" >"$tmp/.stamp"
	rm -rf "$out"
	mv "$tmp" "$out"
	chmod 755 "$out"
	trap - EXIT
	say "compiled $(find "$out" -name '*.pyc' | wc -l) .pyc files into web-api/build"
else
	say "web-api/build .pyc up to date"
fi
