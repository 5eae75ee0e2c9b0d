#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make demo: bring up the toolchain and test kernel if needed, boot a VM, load both modules and
# show what they did.
. "$(dirname "$0")/lib.sh"

kdir=$(sh "$TOP/scripts/build.sh")
status=0
in_root sh /src/scripts/root/vm.sh "$kdir" demo || status=$?
log "what the VM did (build/vm/demo/user.log, kernel log in build/vm/demo/console.log):"
sed -n '/^@@vm start/,$p' "$TOP/build/vm/demo/user.log" | grep -v '^@@vm \(end\|done\)' |
	sed 's/^@@vm begin [a-z]*:\(.*\)/--- \1/'
log "the modules on the kernel console:"
grep -E 'vdmabuf|KTAP|^\[[ 0-9.]+\] +(not )?ok ' "$TOP/build/vm/demo/console.log" | grep -v 'Command line' || true
in_root python3 /src/scripts/results.py /src/build/vm demo
