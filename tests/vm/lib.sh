# SPDX-License-Identifier: GPL-2.0
# Step helpers for the VM plans. Each step prints "@@vm begin <kind>:<name>" and
# "@@vm end <kind>:<name> rc=<status>" around its output; scripts/results.py reads them.
#   kunit NAME [PARAMS]   insmod NAME.ko; its KUnit suites report KTAP on the kernel console
#   tap NAME CMD...       run a TAP-producing program (kselftest)
#   check NAME CMD...     a command that must succeed; counts as one test
#   show NAME CMD...      output for the reader (make demo); its status is not a test

STEP_TIMEOUT=${STEP_TIMEOUT:-600}

step() {
	kind=$1 name=$2
	shift 2
	echo "@@vm begin $kind:$name up=$(cut -d' ' -f1 /proc/uptime)"
	timeout -s KILL "$STEP_TIMEOUT" "$@"
	echo "@@vm end $kind:$name rc=$? up=$(cut -d' ' -f1 /proc/uptime)"
}

kunit() { m=$1; shift; step kunit "$m" insmod "/lib/modules/$m.ko" "$@"; }
tap() { n=$1; shift; step tap "$n" "$@"; }
check() { n=$1; shift; step check "$n" "$@"; }
show() { n=$1; shift; step show "$n" "$@"; }

finish() {
	# kmemleak only reports objects older than 5 s, so give the last test's objects time to age,
	# and only objects it found unreferenced in two scans in a row, so scan twice.
	sleep 6
	echo "@@vm begin kmemleak:scan"
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak
	echo "@@vm end kmemleak:scan rc=0"
	echo "@@vm done"
	sync
	reboot -f
}
