# SPDX-License-Identifier: GPL-2.0
# vm: mem=3G
# make bench: numbers, not tests. Under TCG they compare the exporters with each other; they are
# not what hardware would show. Room for a 1 GiB buffer and 10k live ones.
kunit vdmabuf max_size_mb=1024 max_total_mb=2048 max_buffers=20000
kunit vdmabuf_importer
show floor insmod /tests/vdmabuf_floor.ko
show bench /tests/vdmabuf_bench
