#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the toolchain root. Usage: vm.sh KDIR PLAN...
# Boots one VM per plan, in parallel; scripts/results.py reads their logs in build/vm/PLAN/.
set -eu

kdir=$1
shift
out=/src/build/vm
VM_TIMEOUT=${VM_TIMEOUT:-900}

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
cp /src/drivers/vdmabuf/vdmabuf.ko /src/samples/vdmabuf_importer/vdmabuf_importer.ko \
	"$kdir/drivers/dma-buf/dmabuf_kunit.ko" "$stage/lib/modules/"
cp /src/build/selftests/vdmabuf_test /src/build/selftests/vdmabuf_importer_test \
	"$kdir/selftests/sync/sync_test" "$kdir/selftests/drivers/dma-buf/udmabuf" \
	"$kdir/selftests/dmabuf-heaps/dmabuf-heap" "$stage/tests/"
chmod +x "$stage/init"
mkdir -p "$out"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"

log "booting $# VM(s) under $(echo $accel | tr a-z A-Z): $*"
for plan in "$@"; do
	[ -f "/src/tests/vm/plans/$plan.sh" ] || { log "no plan $plan"; exit 2; }
	dir=$out/$plan
	rm -rf "$dir" && mkdir -p "$dir"
	mem=$(sed -n 's/^# vm: mem=//p' "/src/tests/vm/plans/$plan.sh")
	(
		start=$(date +%s)
		rc=0
		timeout -s KILL "$VM_TIMEOUT" qemu-system-x86_64 -accel "$accel" -smp 2 -m "${mem:-1G}" \
			-kernel "$kdir/arch/x86/boot/bzImage" -initrd "$out/initramfs.cpio.gz" \
			-append "console=ttyS0 panic=-1 oops=panic plan=$plan" \
			-display none -monitor none -no-reboot \
			-serial "file:$dir/console.log" -serial "file:$dir/user.log" \
			>"$dir/qemu.log" 2>&1 || rc=$?
		echo "rc=$rc seconds=$(( $(date +%s) - start )) timeout=$VM_TIMEOUT" >"$dir/status"
	) &
done
wait
