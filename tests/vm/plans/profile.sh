# SPDX-License-Identifier: GPL-2.0
# vm: mem=1G
# make profile: the 1 MiB import round trip, then the 4 KiB create and close, of make bench through
# vdmabuf, the system heap and the floor exporter in turn, while scripts/root/profile.py steps the
# guest through QEMU's gdbstub, in this order.
# Counts, not tests. The module symbols are printed for the profiler to name the code it steps.
kunit vdmabuf
kunit vdmabuf_importer
show floor insmod /tests/vdmabuf_floor.ko
show symbols grep -F "[vdmabuf" /proc/kallsyms
show loop-map-vdmabuf /tests/vdmabuf_bench loop vdmabuf map 20
show loop-map-heap /tests/vdmabuf_bench loop heap map 20
show loop-map-floor /tests/vdmabuf_bench loop floor map 20
show loop-create-vdmabuf /tests/vdmabuf_bench loop vdmabuf create 20
show loop-create-heap /tests/vdmabuf_bench loop heap create 20
show loop-create-floor /tests/vdmabuf_bench loop floor create 20
