#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make bench and make profile: build the bench kernel (kernel/vdmabuf.config without its debugging,
# cached like the test kernel) and the modules and programs for it, in a copy of the tree under
# build/bench/ so that the test build stays as it is. Prints the kernel's directory in the root.
. "$(dirname "$0")/lib.sh"

sh "$TOP/scripts/build.sh" >/dev/null
kdir=$(VDMABUF_KERNEL=bench sh "$TOP/scripts/kernel.sh")
in_root sh -euc '
	kdir=$1 b=/src/build/bench
	mkdir -p "$b"
	rsync -a --delete --exclude build --exclude .git --exclude "*.o" --exclude "*.ko" \
		--exclude ".*.cmd" --exclude "*.mod" --exclude "*.mod.c" /src/ "$b/"
	make -C "$b" KDIR="$kdir" modules
	floor=$b/tools/testing/selftests/drivers/dma-buf/vdmabuf/floor
	make -C "$kdir" LLVM=1 M="$floor" modules
	mkdir -p "$b/build/selftests"
	make -C "$b/tools/testing/selftests/drivers/dma-buf/vdmabuf" \
		KSELFTEST_DIR="$kdir/source/tools/testing/selftests" \
		KHDR_INCLUDES="-isystem $kdir/hdr/usr/include" \
		VDMABUF_UAPI="$b/include/uapi" OUTPUT="$b/build/selftests"
	# The reference exporter goes with the programs (the VM has them under /tests).
	cp "$floor/vdmabuf_floor.ko" "$b/build/selftests/"
' bench "$kdir" >"$TOP/build/bench-build.log" 2>&1 ||
	{ cat "$TOP/build/bench-build.log" >&2; die "bench build failed"; }
echo "$kdir"
