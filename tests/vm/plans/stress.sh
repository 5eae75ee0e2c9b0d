# SPDX-License-Identifier: GPL-2.0
# vm: mem=2G cmdline=kunit.enable=0 after=project
# Race tests: real threads and processes race for a bounded time each and check data afterwards.
# The modules' KUnit suites already ran in the project plan, so this VM turns KUnit off. Small
# limits make the limit races cheap; short fence timeouts make the fence races quick.
export VDMABUF_MAX_SIZE_MB=4 VDMABUF_MAX_TOTAL_MB=32 VDMABUF_MAX_BUFFERS=64
export VDMABUF_FENCE_TIMEOUT_MS=1000
export VDMABUF_STRESS_SECONDS=${VDMABUF_STRESS_SECONDS:-5}
# The fuzzer: a seeded run, three processes; the seed is printed, VDMABUF_FUZZ_SEED replays it.
export VDMABUF_FUZZ_SECONDS=${VDMABUF_FUZZ_SECONDS:-15} VDMABUF_FUZZ_CALLS=${VDMABUF_FUZZ_CALLS:-100000}
check insmod-vdmabuf insmod /lib/modules/vdmabuf.ko max_size_mb=$VDMABUF_MAX_SIZE_MB \
	max_total_mb=$VDMABUF_MAX_TOTAL_MB max_buffers=$VDMABUF_MAX_BUFFERS \
	fence_timeout_ms=$VDMABUF_FENCE_TIMEOUT_MS
check insmod-vdmabuf_importer insmod /lib/modules/vdmabuf_importer.ko
tap vdmabuf_stress /tests/vdmabuf_stress
tap vdmabuf_fuzz /tests/vdmabuf_fuzz
# Loaded without show_phys: debugfs keeps physical addresses to itself.
tap vdmabuf_test-no-phys /tests/vdmabuf_test -t debugfs_list_shows_addresses_only_when_asked
check rmmod-vdmabuf_importer rmmod vdmabuf_importer
check rmmod-vdmabuf rmmod vdmabuf
