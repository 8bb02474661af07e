#!/bin/sh
# Installs a released dspec binary for this machine, after checking its SHA-256
# checksum. POSIX sh; needs curl or wget, tar, and sha256sum or shasum.
#
#   sh dist/install.sh                       the latest release into ~/.local/bin
#   DSPEC_VERSION=v0.1.0 sh dist/install.sh  a given release
#
# Settings (environment):
#   DSPEC_VERSION       a release tag (`v0.1.0`) or `latest` (default)
#   DSPEC_REPO          the GitHub repository to download from (default dspec/dspec)
#   DSPEC_INSTALL_DIR   where to put the binary (default ~/.local/bin)
#   DSPEC_DOWNLOAD_URL  the folder holding the release files, instead of GitHub's
#                       (a mirror, or file:///path for a local copy)
#   GITHUB_TOKEN        sent to GitHub when set (rate limits on shared runners)
#
# In GitHub Actions the install folder is added to GITHUB_PATH.
set -eu

repo="${DSPEC_REPO:-dspec/dspec}"
version="${DSPEC_VERSION:-latest}"
dir="${DSPEC_INSTALL_DIR:-${HOME:-/tmp}/.local/bin}"

fail() {
	echo "dspec install: $*" >&2
	exit 1
}

os="$(uname -s)"
arch="$(uname -m)"
case "$arch" in
x86_64 | amd64) arch=x86_64 ;;
aarch64 | arm64) arch=aarch64 ;;
*) fail "no released binary for the architecture $arch: build it with cargo install --locked dspec" ;;
esac
case "$os" in
Linux) target="$arch-unknown-linux-musl" ;;
Darwin) target="$arch-apple-darwin" ;;
*) fail "no released binary for $os: build it with cargo install --locked dspec" ;;
esac

if [ -n "${DSPEC_DOWNLOAD_URL:-}" ]; then
	base="${DSPEC_DOWNLOAD_URL%/}"
elif [ "$version" = latest ]; then
	base="https://github.com/$repo/releases/latest/download"
else
	base="https://github.com/$repo/releases/download/$version"
fi
archive="dspec-$target.tar.gz"

tmp="$(mktemp -d 2>/dev/null || mktemp -d -t dspec)"
trap 'rm -rf "$tmp"' EXIT INT TERM

fetch() { # URL FILE
	case "$1" in
	https://github.com/*)
		auth="${GITHUB_TOKEN:+Authorization: token $GITHUB_TOKEN}"
		;;
	*) auth="" ;;
	esac
	if command -v curl >/dev/null 2>&1; then
		if [ -n "$auth" ]; then
			curl -fsSL --retry 3 -H "$auth" -o "$2" "$1"
		else
			curl -fsSL --retry 3 -o "$2" "$1"
		fi
	elif command -v wget >/dev/null 2>&1; then
		if [ -n "$auth" ]; then
			wget -q --header "$auth" -O "$2" "$1"
		else
			wget -q -O "$2" "$1"
		fi
	else
		fail "needs curl or wget"
	fi
}

echo "dspec install: $base/$archive" >&2
fetch "$base/$archive" "$tmp/$archive" || fail "cannot download $base/$archive"
fetch "$base/$archive.sha256" "$tmp/$archive.sha256" || fail "cannot download $base/$archive.sha256"

want="$(cut -d' ' -f1 <"$tmp/$archive.sha256")"
if command -v sha256sum >/dev/null 2>&1; then
	got="$(sha256sum "$tmp/$archive" | cut -d' ' -f1)"
elif command -v shasum >/dev/null 2>&1; then
	got="$(shasum -a 256 "$tmp/$archive" | cut -d' ' -f1)"
else
	fail "needs sha256sum or shasum to check the download"
fi
[ -n "$want" ] && [ "$want" = "$got" ] || fail "checksum mismatch for $archive: expected $want, got $got"

tar -xzf "$tmp/$archive" -C "$tmp"
mkdir -p "$dir"
cp "$tmp/dspec-$target/dspec" "$dir/dspec.tmp"
chmod 755 "$dir/dspec.tmp"
mv -f "$dir/dspec.tmp" "$dir/dspec"

if [ -n "${GITHUB_PATH:-}" ]; then
	echo "$dir" >>"$GITHUB_PATH"
fi
"$dir/dspec" --version >&2
case ":${PATH}:" in
*":$dir:"*) ;;
*) echo "dspec install: add $dir to PATH" >&2 ;;
esac
