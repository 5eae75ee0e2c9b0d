#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make profile: count the guest instructions and function calls of one 1 MiB import round trip and
# of one 4 KiB create and close, through vdmabuf, the system heap and the floor exporter, on the
# bench kernel, by stepping the guest through QEMU's gdbstub (scripts/root/profile.py). Unlike
# times under TCG, the counts repeat from run to run to within about 1 %. Writes build/profile.txt.
. "$(dirname "$0")/lib.sh"

kdir=$(sh "$TOP/scripts/bench-build.sh")
port=${VDMABUF_GDB_PORT:-12345}
in_root sh -euc '
	kdir=$1 port=$2
	rm -rf /src/build/vm/profile
	VDMABUF_GDB_PORT=$port VDMABUF_MODULES=/src/build/bench sh /src/scripts/root/vm.sh "$kdir" profile &
	vm=$!
	rc=0
	python3 /src/scripts/root/profile.py "$port" "$kdir/System.map" /src/build/vm/profile/user.log \
		>/src/build/profile.txt || rc=$?
	wait $vm || rc=$?
	exit $rc
' profile "$kdir" "$port" || { cat "$TOP/build/profile.txt" >&2; die "make profile failed"; }
cat "$TOP/build/profile.txt"
log "written to build/profile.txt"
