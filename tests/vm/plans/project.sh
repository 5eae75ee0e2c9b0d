# SPDX-License-Identifier: GPL-2.0
# vm: mem=2G
# vm-cmdline: vivid.n_devs=2 vivid.allocators=0,1 vivid.node_types=0x1,0x1
# The project's own suites: KUnit in both modules, the kselftests, then a clean unload.
# vdmabuf gets small limits so the limit tests stay cheap; the tests learn them from the
# environment, as Rust module parameters do not show in sysfs.
export VDMABUF_MAX_SIZE_MB=16 VDMABUF_MAX_TOTAL_MB=64 VDMABUF_MAX_BUFFERS=256
export VDMABUF_FENCE_TIMEOUT_MS=4000
export VDMABUF_SHOW_PHYS=1
kunit vdmabuf max_size_mb=$VDMABUF_MAX_SIZE_MB max_total_mb=$VDMABUF_MAX_TOTAL_MB \
	max_buffers=$VDMABUF_MAX_BUFFERS fence_timeout_ms=$VDMABUF_FENCE_TIMEOUT_MS \
	show_phys=$VDMABUF_SHOW_PHYS
# The KUnit suites that just ran made and migrated buffers of their own: the counters show only
# userspace's buffers, so a fresh load shows zeros.
check debugfs-counts-zero-after-kunit sh -c 'cd /sys/kernel/debug/vdmabuf/counts &&
	for c in buffers bytes attachments maps migrations; do test "$(cat $c)" = 0 || exit 1; done'
kunit vdmabuf_importer
tap vdmabuf_test /tests/vdmabuf_test
tap vdmabuf_fence_test /tests/vdmabuf_fence_test
tap vdmabuf_importer_test /tests/vdmabuf_importer_test
# Format-aware buffers, scanned out and written back by vkms, captured into by vivid (one
# vmalloc and one dma-contig instance, video capture nodes only).
tap vdmabuf_formats /tests/vdmabuf_formats
# Importer-testing modes: table layouts, injected failures, map delays, self-signalling fences.
tap vdmabuf_modes /tests/vdmabuf_modes
tap vdmabuf_faults /tests/vdmabuf_faults
check rmmod-vdmabuf_importer rmmod vdmabuf_importer
check rmmod-vdmabuf rmmod vdmabuf
check debugfs-removed-on-unload test ! -e /sys/kernel/debug/vdmabuf
# Fences on shared buffers must signal in bounded time: a longer timeout refuses to load, saying
# why.
check fence-timeout-capped sh -c '! insmod /lib/modules/vdmabuf.ko fence_timeout_ms=10001 &&
	test ! -e /dev/vdmabuf && dmesg | grep -q "fence_timeout_ms=10001 is above 10000"'
