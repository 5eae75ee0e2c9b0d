# SPDX-License-Identifier: GPL-2.0
# vm: mem=1G
# make profile: the 1 MiB import round trip of make bench through vdmabuf, the system heap and the
# floor exporter in turn, while scripts/root/profile.py steps the guest through QEMU's gdbstub.
# Counts, not tests. The module symbols are printed for the profiler to name the code it steps.
kunit vdmabuf
kunit vdmabuf_importer
show floor insmod /tests/vdmabuf_floor.ko
show symbols grep -F "[vdmabuf" /proc/kallsyms
show loop-vdmabuf /tests/vdmabuf_bench loop vdmabuf 20
show loop-heap /tests/vdmabuf_bench loop heap 20
show loop-floor /tests/vdmabuf_bench loop floor 20
