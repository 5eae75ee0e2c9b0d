#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Create (once) the Debian testing root that holds the whole toolchain: rustc, bindgen, clang/lld,
# the 7.2 kernel source, QEMU and busybox. Only Debian's package registry is used.
. "$(dirname "$0")/lib.sh"

stamp=$ROOT/.vdmabuf-packages
want=$(printf '%s\n' $PACKAGES | sort | tr '\n' ' ')

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	log "toolchain root up to date: $ROOT"
else
	need_root
	mkdir -p "$VDMABUF_CACHE"
	if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
		if ! command -v debootstrap >/dev/null; then
			log "installing debootstrap on the host"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null ||
				{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; } ||
				die "cannot install debootstrap"
		fi
		# Older debootstrap has no script for forky; sid's script works for it.
		script=/usr/share/debootstrap/scripts/$SUITE
		[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
		rm -rf "$ROOT.tmp"
		log "debootstrap $SUITE into $ROOT (about a minute)"
		debootstrap --variant=minbase "$SUITE" "$ROOT.tmp" "$MIRROR" "$script" >"$VDMABUF_CACHE/debootstrap.log" 2>&1 ||
			die "debootstrap failed, see $VDMABUF_CACHE/debootstrap.log"
		mv "$ROOT.tmp" "$ROOT"
	fi
	log "installing the toolchain packages (about a minute and a half)"
	in_root sh -c "apt-get -o Acquire::Check-Valid-Until=false update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $want" \
		>"$VDMABUF_CACHE/apt.log" 2>&1 || {
		grep -q 'Unable to locate package linux-source-7.2' "$VDMABUF_CACHE/apt.log" &&
			die "Debian $SUITE no longer carries linux-source-7.2; pin a snapshot mirror with VDMABUF_MIRROR"
		die "package installation failed, see $VDMABUF_CACHE/apt.log"
	}
	in_root apt-get clean
	echo "$want" >"$stamp"
fi

in_root sh -c 'printf "  %-16s %s\n" rustc "$(rustc --version)" bindgen "$(bindgen --version)" \
	clang "$(clang --version | head -1)" qemu "$(qemu-system-x86_64 --version | head -1)" \
	linux-source "$(dpkg-query -W -f "\${Version}" linux-source-7.2)" busybox "$(dpkg-query -W -f "\${Version}" busybox-static)"' >&2
