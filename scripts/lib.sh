# SPDX-License-Identifier: GPL-2.0
# Shared settings for the vdmabuf scripts: cache location and running commands inside the toolchain root.
# Sourced, not executed.

set -eu

TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
# Everything expensive (the Debian root, the kernel tree) lives outside the repository, keyed so that a
# second run reuses it and a changed input rebuilds it.
VDMABUF_CACHE=${VDMABUF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vdmabuf}
ROOT=$VDMABUF_CACHE/root-forky
# The Debian mirror: VDMABUF_MIRROR, else the one the host's apt uses for Debian's main archive
# (the first "URIs:" of a deb822 source, or the first "deb" line, that ends in /debian), else
# deb.debian.org.
host_mirror() {
	{
		sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n'
		sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
	} | grep -m1 '/debian/\{0,1\}$' | sed 's#/$##'
}
MIRROR=${VDMABUF_MIRROR:-$(host_mirror)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=forky

# Packages of the toolchain root. Changing this list rebuilds the root.
PACKAGES="gcc libc6-dev make flex bison bc libelf-dev libssl-dev cpio gzip xz-utils kmod
  rustc rust-src bindgen libclang-dev clang lld llvm rustfmt rust-clippy
  linux-source-7.2 qemu-system-x86 busybox-static python3 rsync ca-certificates"

log() { printf '[vdmabuf] %s\n' "$*" >&2; }
die() { printf '[vdmabuf] error: %s\n' "$*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" = 0 ] || die "this step needs root (debootstrap, chroot and mounts); run it as root"
}

# in_root CMD...: run CMD inside the toolchain root, in a private mount namespace so that nothing stays
# mounted afterwards. The repository is visible as /src and the cache as /cache.
in_root() {
	need_root
	# The root sees a clean environment but for these knobs.
	export VDMABUF_FRESH="${VDMABUF_FRESH:-0}" VM_TIMEOUT="${VM_TIMEOUT:-900}" \
		VDMABUF_KERNEL="${VDMABUF_KERNEL:-test}"
	unshare --mount --propagation private -- /bin/sh -eu -c '
		root=$1; top=$2; cache=$3; shift 3
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mount -t tmpfs tmpfs "$root/tmp"
		mkdir -p "$root/src" "$root/cache"
		mount --bind "$top" "$root/src"
		mount --bind "$cache" "$root/cache"
		exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			VDMABUF_FRESH="$VDMABUF_FRESH" VM_TIMEOUT="$VM_TIMEOUT" \
			VDMABUF_KERNEL="$VDMABUF_KERNEL" "$@"
	' in_root "$ROOT" "$TOP" "$VDMABUF_CACHE" "$@"
}
