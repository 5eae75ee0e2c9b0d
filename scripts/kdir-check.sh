#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Usage: kdir-check.sh KDIR
# Succeeds if KDIR is a kernel build tree that can build the vdmabuf Rust modules; otherwise says why.
kdir=$1
conf=$kdir/include/config/auto.conf
fail() { printf 'vdmabuf: cannot build against KDIR=%s:\n  %s\n' "$kdir" "$*" >&2; exit 1; }

[ -d "$kdir" ] || fail "no such directory"
[ -f "$conf" ] || fail "not a configured kernel build tree (no include/config/auto.conf); run 'make' in the kernel tree first"
grep -q '^CONFIG_RUST=y' "$conf" ||
	fail "this kernel was built without Rust support (CONFIG_RUST is not set); vdmabuf is written in Rust and needs a kernel built with CONFIG_RUST=y"
[ -f "$kdir/rust/libkernel.rmeta" ] ||
	fail "CONFIG_RUST=y but the compiled Rust crates are missing (rust/libkernel.rmeta): distribution headers packages do not ship them; point KDIR at the kernel's build (O=) directory"
for opt in CONFIG_DMA_SHARED_BUFFER CONFIG_SYNC_FILE CONFIG_MODULE_UNLOAD; do
	grep -q "^$opt=y" "$conf" || fail "$opt is not set; vdmabuf needs it built in"
done
exit 0
