#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make demo: bring up the toolchain and test kernel if needed, boot a VM, load both modules and
# show what they did.
. "$(dirname "$0")/lib.sh"

kdir=$(sh "$TOP/scripts/build.sh")
in_root sh /src/scripts/root/vm.sh "$kdir" demo
d=$TOP/build/vm/demo
log "the modules' KUnit suites at load (kernel log: build/vm/demo/console.log):"
tr -d '\r' <"$d/console.log" | sed -n 's/^\[[ 0-9.]*\] \(\(not \)\{0,1\}ok [0-9]* [a-z_]*\)$/  \1/p'
log "what the demo did in the VM (build/vm/demo/user.log):"
sed -e '/^@@vm \(start\|end\|done\|begin kmemleak\)/d' -e 's/^@@vm begin [a-z]*:\([^ ]*\).*/--- \1/' "$d/user.log" |
	sed -n '/^--- demo/,$p'
in_root python3 /src/scripts/results.py /src/build/vm demo
