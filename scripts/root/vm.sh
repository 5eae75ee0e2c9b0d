#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the toolchain root. Usage: vm.sh KDIR PLAN...
# Boots one VM per plan, in parallel; scripts/results.py reads their logs in build/vm/PLAN/.
set -eu

kdir=$1
shift
out=/src/build/vm
VM_TIMEOUT=${VM_TIMEOUT:-900}
# VDMABUF_GDB_PORT=N: QEMU's gdbstub on localhost:N, for one plan at a time (make profile).
gdb=
if [ -n "${VDMABUF_GDB_PORT:-}" ]; then
	[ $# -eq 1 ] || { echo "VDMABUF_GDB_PORT takes one plan" >&2; exit 1; }
	gdb="-gdb tcp:127.0.0.1:$VDMABUF_GDB_PORT"
fi

log() { printf '[vdmabuf] %s\n' "$*" >&2; }

# KVM only if the CPU really has it: /dev/kvm can exist while the CPU lacks vmx/svm, and then a
# KVM boot hangs.
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	accel=kvm
else
	accel=tcg
fi

# One initramfs for every plan: busybox, the modules, the test programs and the plans.
stage=/tmp/initramfs
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lib/modules" "$stage/tests" "$stage/vm"
cp /bin/busybox "$stage/bin/busybox"
cp /src/tests/vm/init "$stage/init"
cp -r /src/tests/vm/lib.sh /src/tests/vm/plans "$stage/vm/"
# VDMABUF_MODULES: the tree whose modules and selftests to use (make bench builds a copy for its
# kernel); the repository by default.
mods=${VDMABUF_MODULES:-/src}
cp "$mods/drivers/vdmabuf/vdmabuf.ko" "$mods/samples/vdmabuf_importer/vdmabuf_importer.ko" \
	"$stage/lib/modules/"
# The kernel's dma-buf KUnit suite as scripts/build.sh builds it for the test kernel (with the
# project's fix of its leak); the bench kernel's VM does not load it.
peer_kunit=/src/build/peer-kunit/dmabuf_kunit.ko
[ -n "${VDMABUF_MODULES:-}" ] || cp "$peer_kunit" "$stage/lib/modules/"
cp "$mods/build/selftests"/* \
	"$kdir/selftests/sync/sync_test" "$kdir/selftests/drivers/dma-buf/udmabuf" \
	"$kdir/selftests/dmabuf-heaps/dmabuf-heap" "$stage/tests/"
chmod +x "$stage/init"
mkdir -p "$out"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"

# Plans marked "cache=peer" load nothing of this project: their outcome depends only on the
# kernel, the peer test programs and this harness. A passing run of such a plan is kept, keyed on
# all of those, and reused until one of them changes (VDMABUF_FRESH=1 reruns them anyway).
peer_key() {
	{
		cat "$kdir/arch/x86/boot/bzImage" "$peer_kunit" \
			"$kdir/selftests/sync/sync_test" "$kdir/selftests/drivers/dma-buf/udmabuf" \
			"$kdir/selftests/dmabuf-heaps/dmabuf-heap" /bin/busybox "/src/tests/vm/plans/$1.sh" \
			/src/tests/vm/init /src/tests/vm/lib.sh /src/scripts/root/vm.sh /src/scripts/results.py
		qemu-system-x86_64 --version
		echo "$accel $VM_TIMEOUT"
	} | sha256sum | cut -c1-16
}
plan_opt() { sed -n "s/^# vm: .*\b$2=\([^ ]*\).*/\1/p" "/src/tests/vm/plans/$1.sh"; }
# "# vm-cmdline: ARGS": more kernel parameters for the plan, the whole rest of the line.
plan_cmdline() { sed -n "s/^# vm-cmdline: //p" "/src/tests/vm/plans/$1.sh"; }

# How many VMs will boot (kept peer runs do not): "after=" only matters with more than two.
booting=0
for plan in "$@"; do
	if [ "$(plan_opt "$plan" cache)" = peer ] && [ "${VDMABUF_FRESH:-0}" != 1 ] &&
		[ -f "/cache/results/$plan-$(peer_key "$plan")/status" ]; then
		continue
	fi
	booting=$((booting + 1))
done

log "booting VMs under $(echo $accel | tr a-z A-Z): $*"
for plan in "$@"; do
	[ -f "/src/tests/vm/plans/$plan.sh" ] || { log "no plan $plan"; exit 2; }
	dir=$out/$plan
	rm -rf "$dir" && mkdir -p "$dir"
	if [ "$(plan_opt "$plan" cache)" = peer ]; then
		kept=/cache/results/$plan-$(peer_key "$plan")
		if [ -f "$kept/status" ] && [ "${VDMABUF_FRESH:-0}" != 1 ]; then
			cp "$kept"/* "$dir/"
			echo "$kept" >"$dir/cached"
			continue
		fi
		echo "$kept" >"$dir/cache-to"
	fi
	mem=$(plan_opt "$plan" mem)
	# "after=PLAN": when more than two VMs boot, start once that plan's VM has ended, so that
	# no more VMs run at once than the two host cores carry without starving the guests
	# (hung-task reports under TCG).
	after=$(plan_opt "$plan" after)
	case " $* " in *" $after "*) ;; *) after= ;; esac
	[ "$booting" -gt 2 ] || after=
	# Two sockets of one core each: without ACPI the guest learns its CPUs from SeaBIOS's MP
	# table, which lists only one core per socket.
	(
		if [ -n "$after" ]; then
			while [ ! -f "$out/$after/status" ]; do sleep 1; done
		fi
		start=$(date +%s)
		rc=0
		timeout -s KILL "$VM_TIMEOUT" qemu-system-x86_64 -accel "$accel" -smp 2,sockets=2,cores=1 \
			-m "${mem:-1G}" -kernel "$kdir/arch/x86/boot/bzImage" -initrd "$out/initramfs.cpio.gz" \
			-append "console=ttyS0 panic=-1 oops=panic plan=$plan $(plan_opt "$plan" cmdline) $(plan_cmdline "$plan")" \
			-display none -monitor none -no-reboot $gdb \
			-serial "file:$dir/console.log" -serial "file:$dir/user.log" \
			>"$dir/qemu.log" 2>&1 || rc=$?
		echo "rc=$rc seconds=$(( $(date +%s) - start )) timeout=$VM_TIMEOUT" >"$dir/status"
	) &
done
wait

# Keep the passing runs of peer plans.
for plan in "$@"; do
	dir=$out/$plan
	[ -f "$dir/cache-to" ] || continue
	if python3 /src/scripts/results.py "$out" "$plan" >/dev/null; then
		kept=$(cat "$dir/cache-to")
		rm -rf "$kept" && mkdir -p "$kept"
		cp "$dir/console.log" "$dir/user.log" "$dir/status" "$kept/"
	fi
done
