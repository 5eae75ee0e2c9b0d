# SPDX-License-Identifier: GPL-2.0
# vm: mem=1G
# make bench: numbers, not tests. Under TCG they compare the memory kinds with each other; they
# are not what hardware would show.
kunit vdmabuf max_size_mb=64 max_total_mb=512
show bench /tests/vdmabuf_bench
