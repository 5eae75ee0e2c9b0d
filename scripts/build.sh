#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the two modules (with clippy) and the project's kselftests against the project's test
# kernel, inside the toolchain root. The compiler output goes to build/build.log; the kernel build
# directory (as seen in the root) is printed on stdout.
. "$(dirname "$0")/lib.sh"

kdir=$(sh "$TOP/scripts/kernel.sh")
mkdir -p "$TOP/build"
in_root sh -euc '
	kdir=$1
	make -C /src KDIR="$kdir" CLIPPY=1 modules
	mkdir -p /src/build/selftests
	make -C /src/tools/testing/selftests/drivers/dma-buf/vdmabuf \
		KSELFTEST_DIR="$kdir/source/tools/testing/selftests" \
		KHDR_INCLUDES="-isystem $kdir/hdr/usr/include" \
		VDMABUF_UAPI=/src/include/uapi OUTPUT=/src/build/selftests
' build "$kdir" >"$TOP/build/build.log" 2>&1 || { cat "$TOP/build/build.log" >&2; die "build failed"; }
grep -E '(^|: )(warning|error)(\[|:)' "$TOP/build/build.log" >&2 || true
echo "$kdir"
