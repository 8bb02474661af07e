#!/usr/bin/env bash
# Builds a release archive of dspec for one target, with its SHA-256 checksum,
# and (for Linux targets) stages the build context of dspec's own image.
#
#   dist/build.sh                                   static Linux x86_64 binary, `dist` profile
#   dist/build.sh --profile release                 the same, built faster (what CI uses)
#   dist/build.sh --target aarch64-unknown-linux-musl --zig     cross-build with cargo-zigbuild
#   dist/build.sh --target aarch64-apple-darwin     on a Mac
#
# Writes, under target/dist/:
#   dspec-TARGET.tar.gz          dspec, README.md, LICENSE-MIT, LICENSE-APACHE
#   dspec-TARGET.tar.gz.sha256   its checksum, in `sha256sum -c` format
#   image/                       Dockerfile + dspec: `docker build target/dist/image`
#                                (Linux targets only)
#
# Installs what a static musl build needs when it is missing: the Rust target
# (rustup) and musl-gcc (Debian's musl-tools), for ring's C code.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile=dist
target=x86_64-unknown-linux-musl
zig=false
while [ $# -gt 0 ]; do
	case "$1" in
	--profile) profile="$2"; shift 2 ;;
	--target) target="$2"; shift 2 ;;
	--zig) zig=true; shift ;;
	-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "dist/build.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done

say() { printf '==> %s\n' "$*" >&2; }
sudo_if_needed() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$target"; then
	say "rustup target add $target"
	rustup target add "$target"
fi

build=(cargo build)
case "$target" in
*-linux-musl)
	if [ "$zig" = true ]; then
		command -v cargo-zigbuild >/dev/null 2>&1 || {
			echo "dist/build.sh: --zig needs cargo-zigbuild (cargo install cargo-zigbuild, and zig on PATH)" >&2
			exit 3
		}
		build=(cargo zigbuild)
	elif [ "$target" = "$(uname -m)-unknown-linux-musl" ]; then
		# ring compiles C and assembly: with musl's gcc wrapper for a native build.
		if ! command -v musl-gcc >/dev/null 2>&1; then
			say "installing musl-tools (musl-gcc, for ring)"
			export DEBIAN_FRONTEND=noninteractive
			sudo_if_needed apt-get install -y --no-install-recommends musl-tools </dev/null ||
				{ sudo_if_needed apt-get update </dev/null &&
					sudo_if_needed apt-get install -y --no-install-recommends musl-tools </dev/null; }
		fi
		cc_var="CC_$(echo "$target" | tr '-' '_')"
		export "${cc_var}=musl-gcc"
	else
		echo "dist/build.sh: $target is not this machine's architecture: pass --zig" >&2
		exit 2
	fi
	;;
esac

say "${build[*]} --locked --profile $profile --target $target"
start=$(date +%s)
"${build[@]}" --locked --profile "$profile" --target "$target" --bin dspec
say "built in $(($(date +%s) - start))s"

bin="target/$target/$profile/dspec"
out=target/dist
name="dspec-$target"
rm -rf "${out:?}/$name" "$out/$name.tar.gz" "$out/$name.tar.gz.sha256"
mkdir -p "$out/$name"
cp "$bin" README.md LICENSE-MIT LICENSE-APACHE "$out/$name/"
tar -C "$out" -czf "$out/$name.tar.gz" "$name"
rm -rf "${out:?}/$name"
(cd "$out" && if command -v sha256sum >/dev/null 2>&1; then
	sha256sum "$name.tar.gz"
else
	shasum -a 256 "$name.tar.gz"
fi >"$name.tar.gz.sha256")

case "$target" in
*-linux-*)
	rm -rf "$out/image"
	mkdir -p "$out/image"
	cp "$bin" "$out/image/dspec"
	cp dist/Dockerfile "$out/image/Dockerfile"
	;;
esac

size=$(wc -c <"$bin")
say "$bin: $size bytes ($(file -b "$bin" 2>/dev/null | cut -d, -f1-2 || echo "?"))"
say "$out/$name.tar.gz: $(wc -c <"$out/$name.tar.gz") bytes"
cat "$out/$name.tar.gz.sha256"
