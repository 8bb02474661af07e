#!/usr/bin/env bash
# dspec's test suite, on any Debian or Ubuntu machine with Docker and Rust: installs what the
# tests need when it is missing, checks that the Docker daemon answers (the engine tests are
# never skipped), then runs `cargo test --locked` with any arguments given
# (`scripts/test.sh --test check_images`).
#
# What the tests need besides Rust and a Docker daemon (with docker-compose or docker compose):
#   busybox (static)  the FROM scratch fixture images       package busybox-static
#   python3.11        compiles the .pyc fixtures            package python3.11 (/usr/bin/python3.11)
#   xmllint           validates JUnit reports against XSD   package libxml2-utils
#   openssl, python3  the TLS engine proxy of the remote-engine tests
#   script            the live progress view on a pseudo-terminal   package bsdutils
#   flock             serialises fixture preparation        package util-linux
#   curl              a host command of the container specs
#   time              /usr/bin/time: the peak memory of `dspec validate` on a large spec
# Packages are installed with apt-get, as root or through `sudo -n`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'test.sh: %s\n' "$*"; }
fail() {
	printf 'test.sh: ERROR: %s\n' "$*" >&2
	exit 1
}

missing=()
busybox="$(command -v busybox || true)"
if [ -z "$busybox" ] || ldd "$(readlink -f "$busybox")" >/dev/null 2>&1; then
	missing+=(busybox-static)
fi
[ -x /usr/bin/python3.11 ] || [ -n "${DSPEC_FIXTURE_PYTHON:-}" ] || missing+=(python3.11)
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
command -v flock >/dev/null 2>&1 || missing+=(util-linux)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ -x /usr/bin/time ] || missing+=(time)

if [ "${#missing[@]}" -gt 0 ]; then
	say "installing ${missing[*]}"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 ||
			fail "missing ${missing[*]}, and this user can neither install them (not root) nor sudo; install them and run again"
		sudo="sudo -n"
	fi
	command -v apt-get >/dev/null 2>&1 ||
		fail "missing ${missing[*]} and there is no apt-get here: install them and run again"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq </dev/null
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

if ! info_err="$(timeout 60 docker info 2>&1 >/dev/null)"; then
	fail "the Docker daemon does not answer ('docker info' failed):
${info_err}
Start it (e.g. 'sudo service docker start'); the engine tests are never skipped."
fi
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
	fail "no Compose tool: install 'docker compose' (v2) or 'docker-compose' (v1)"
fi

exec cargo test --locked "$@"
