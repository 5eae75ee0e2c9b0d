#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make bench: boot a VM and print vdmabuf_bench's table.
. "$(dirname "$0")/lib.sh"

kdir=$(sh "$TOP/scripts/build.sh")
in_root sh /src/scripts/root/vm.sh "$kdir" bench
sed -n '/^@@vm begin show:bench/,/^@@vm end show:bench/p' "$TOP/build/vm/bench/user.log" | sed '1d;$d'
