#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Checks that run in the toolchain root before the VMs: build hygiene and the KDIR checks.
# Usage: checks.sh KDIR_ON_HOST KSRC_ON_HOST. Prints TAP between @@vm step markers for results.py.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
kdir=$1
ksrc=$2
n=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; shift; printf '# %s\n' "$@"; }
expect() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

# make KDIR=<dir> must fail with a message naming the reason.
make_fails_with() {
	name=$1 dir=$2 pattern=$3
	if make -s -C "$top" KDIR="$dir" modules >"$tmp/out" 2>&1; then
		not_ok "$name" "make succeeded"
	elif grep -q "$pattern" "$tmp/out"; then
		ok "$name"
	else
		not_ok "$name" "message lacks '$pattern':" "$(cat "$tmp/out")"
	fi
}

echo "@@vm begin tap:host"
echo "TAP version 13"
echo "1..10"

warnings=$(grep -E '(^|: )warning(\[|:)' "$top/build/build.log")
if [ -z "$warnings" ]; then ok "build has no compiler or clippy warnings"; else not_ok "build has no compiler or clippy warnings" "$warnings"; fi

files=$(cd "$top" && git ls-files '*.rs' 2>/dev/null || find rust drivers samples -name '*.rs')
if (cd "$top" && rustfmt --check --edition 2021 --config-path "$ksrc/.rustfmt.toml" $files) >"$tmp/fmt" 2>&1; then
	ok "rustfmt clean"
else
	not_ok "rustfmt clean" "$(head -20 "$tmp/fmt")"
fi

# Every uAPI struct and field has kernel-doc.
if (cd "$top" && "$ksrc/scripts/kernel-doc" -none -Wall include/uapi/linux/*.h) >"$tmp/kdoc" 2>&1 &&
	[ ! -s "$tmp/kdoc" ]; then
	ok "uAPI headers have complete kernel-doc"
else
	not_ok "uAPI headers have complete kernel-doc" "$(head -20 "$tmp/kdoc")"
fi

# Built into one kernel (both =y), the two modules' copies of the layer's C helpers must not define
# a symbol twice: link them together as vmlinux would.
if ld.lld -r "$top/drivers/vdmabuf/vdmabuf_helpers.o" \
	"$top/samples/vdmabuf_importer/vdmabuf_importer_helpers.o" -o "$tmp/helpers.o" >"$tmp/ld" 2>&1; then
	ok "both modules' C helpers link into one kernel"
else
	not_ok "both modules' C helpers link into one kernel" "$(head -5 "$tmp/ld")"
fi

# The peer-kunit baseline is the kernel's own dma-buf KUnit suite with exactly the project's fixes
# of it (scripts/build.sh, patches/upstream/peer-kunit.series): taking them out again, last first,
# gives the kernel's sources.
peer_kunit_is_fixed() {
	p=$top/build/peer-kunit
	for c in "$p"/st-*.c; do
		cp "$c" "$tmp/"
	done
	for f in $(tac "$top/patches/upstream/peer-kunit.series"); do
		(cd "$tmp" && busybox patch -R -p3 -i "$top/patches/upstream/$f" >/dev/null 2>&1) ||
			return 1
	done
	for c in "$p"/st-*.c; do
		cmp -s "$tmp/${c##*/}" "$ksrc/drivers/dma-buf/${c##*/}" || return 1
	done
	[ -f "$p/st-dma-fence-unwrap.c" ] && [ -f "$p/dmabuf_kunit.ko" ]
}
expect "the peer dmabuf_kunit is the kernel's suite with patches/upstream/0005" peer_kunit_is_fixed

expect "kdir-check accepts the test kernel" sh "$top/scripts/kdir-check.sh" "$kdir"

make_fails_with "make KDIR=<missing dir> fails" "$tmp/nowhere" "no such directory"

mkdir -p "$tmp/norust/include/config"
grep -v '^CONFIG_RUST=' "$kdir/include/config/auto.conf" >"$tmp/norust/include/config/auto.conf"
make_fails_with "make KDIR=<kernel without Rust> fails" "$tmp/norust" "built without Rust support"

mkdir -p "$tmp/nometa/include/config"
cp "$kdir/include/config/auto.conf" "$tmp/nometa/include/config/auto.conf"
make_fails_with "make KDIR=<Rust kernel, headers only> fails" "$tmp/nometa" "compiled Rust crates are missing"

mkdir -p "$tmp/unconfigured"
make_fails_with "make KDIR=<unconfigured tree> fails" "$tmp/unconfigured" "not a configured kernel build tree"

echo "@@vm end tap:host rc=0"
