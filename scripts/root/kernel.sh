#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the toolchain root: build the test kernel (and the peer kselftests from the same source)
# into /cache/kernel/<version>-<hash>, unless that directory is complete already. Prints its path.
set -eu

log() { printf '[vdmabuf] %s\n' "$*" >&2; }
die() { printf '[vdmabuf] error: %s\n' "$*" >&2; exit 1; }

# VDMABUF_KERNEL=bench: the bench kernel, kernel/vdmabuf.config with kernel/bench.config on top
# (a line for an option replaces the earlier line for it).
frag=/src/kernel/vdmabuf.config
if [ "${VDMABUF_KERNEL:-test}" = bench ]; then
	frag=/tmp/vdmabuf-bench.config
	awk 'match($0, /CONFIG_[A-Z0-9_]+/) { k = substr($0, RSTART, RLENGTH); if (!(k in seen)) order[n++] = k; seen[k] = $0; next }
	     END { for (i = 0; i < n; i++) print seen[order[i]] }' \
		/src/kernel/vdmabuf.config /src/kernel/bench.config >"$frag"
fi
tarball=/usr/src/linux-source-7.2.tar.xz
[ -f "$tarball" ] || die "linux-source-7.2 is not installed in the toolchain root"
ver=$(dpkg-query -W -f '${Version}' linux-source-7.2)
key=$( { cat "$frag"; echo "$ver"; rustc --version; bindgen --version; clang --version | head -1; } |
	sha256sum | cut -c1-12)
src=/cache/kernel/src-$ver
out=/cache/kernel/$ver-$key
jobs=$(( $(nproc) + 1 ))

if [ -f "$out/.vdmabuf-complete" ]; then
	log "kernel $ver (fragment $key) cached: $out"
	echo "$out"
	exit 0
fi

if [ ! -f "$src/.vdmabuf-extracted" ]; then
	log "extracting linux-source $ver"
	rm -rf "$src" && mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	touch "$src/.vdmabuf-extracted"
fi

mkdir -p "$out"
start=$(date +%s)
# Each stage leaves a stamp, so an interrupted build resumes where it stopped.
if [ ! -f "$out/.vdmabuf-configured" ]; then
	log "configuring kernel $ver: tinyconfig + $(basename "$frag")"
	make -s -C "$src" O="$out" LLVM=1 tinyconfig >/dev/null
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag" >/dev/null
	make -s -C "$src" O="$out" LLVM=1 olddefconfig >/dev/null

	# Every option of the fragment must have resolved as asked: a silently dropped debug option would make
	# the test runs prove less than they claim.
	# An option asked off may also be gone because what it depends on is off.
	bad=$(grep -E '^(CONFIG_[A-Z0-9_]+=.*|# CONFIG_[A-Z0-9_]+ is not set)$' "$frag" | while read -r line; do
		case $line in
		"# "*) opt=${line#\# }; opt=${opt%% *}
			! grep -q "^$opt=" "$out/.config" || echo "  $line" ;;
		*) grep -qxF "$line" "$out/.config" || echo "  $line" ;;
		esac
	done)
	[ -z "$bad" ] || die "these fragment options did not resolve in $out/.config:
$bad"
	touch "$out/.vdmabuf-configured"
fi

log "building kernel $ver with LLVM=1 -j$jobs (about 15 minutes on 2 cores)"
make -C "$src" O="$out" LLVM=1 -j"$jobs" bzImage modules >"$out/build.log" 2>&1 ||
	{ tail -30 "$out/build.log" >&2; die "kernel build failed, see $out/build.log"; }
make -s -C "$src" O="$out" LLVM=1 headers_install INSTALL_HDR_PATH="$out/hdr/usr" >/dev/null

log "building the peer kselftests (sync, drivers/dma-buf, dmabuf-heaps)"
for t in sync drivers/dma-buf dmabuf-heaps; do
	mkdir -p "$out/selftests/$t"
	make -s -C "$src/tools/testing/selftests/$t" KHDR_INCLUDES="-isystem $out/hdr/usr/include" \
		OUTPUT="$out/selftests/$t" LDFLAGS=-static >>"$out/build.log" 2>&1 ||
		{ tail -30 "$out/build.log" >&2; die "peer kselftest $t failed to build"; }
done

touch "$out/.vdmabuf-complete"
log "kernel $ver ready after $(( $(date +%s) - start )) s: $out"
echo "$out"
