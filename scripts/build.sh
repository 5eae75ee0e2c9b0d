#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the two modules (with clippy), the project's kselftests and the kernel's dma-buf KUnit
# suite (with the project's fix of it) against the project's test kernel, inside the toolchain
# root. The compiler output goes to build/build.log; the kernel build directory (as seen in the
# root) is printed on stdout.
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
	# The kernel'"'"'s own dma-buf KUnit suite, the peer-kunit baseline: built from the kernel'"'"'s
	# source as its Makefile builds dmabuf_kunit.ko, with the patches that
	# patches/upstream/peer-kunit.series names applied in order (0005: the fix of the suite'"'"'s own
	# leak, which kmemleak reports now and then and which would fail the run at random).
	# Files whose content is unchanged keep their times, so an unchanged suite is not rebuilt and
	# its kept passing run stays valid.
	src=$kdir/source/drivers/dma-buf p=/src/build/peer-kunit
	rm -rf "$p.new" && mkdir -p "$p.new"
	sed -n "/^dmabuf_kunit-y/,/^\$/p" "$src/Makefile" >"$p.new/Kbuild"
	echo "obj-m := dmabuf_kunit.o" >>"$p.new/Kbuild"
	for o in $(sed -n "s/^\t\(st-[a-z-]*\)\.o.*/\1/p" "$p.new/Kbuild"); do
		cp "$src/$o.c" "$p.new/"
	done
	for f in $(cat /src/patches/upstream/peer-kunit.series); do
		(cd "$p.new" && busybox patch -p3 -i "/src/patches/upstream/$f")
	done
	mkdir -p "$p" && rsync -rc --delete --exclude "*.o" --exclude "*.ko" --exclude ".*" \
		--exclude "*.mod*" --exclude modules.order --exclude Module.symvers "$p.new/" "$p/"
	rm -rf "$p.new"
	make -C "$kdir" LLVM=1 M="$p" modules
' build "$kdir" >"$TOP/build/build.log" 2>&1 || { cat "$TOP/build/build.log" >&2; die "build failed"; }
grep -E '(^|: )(warning|error)(\[|:)' "$TOP/build/build.log" >&2 || true
echo "$kdir"
