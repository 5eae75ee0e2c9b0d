# SPDX-License-Identifier: GPL-2.0
# vm: mem=4G cache=peer
# Baseline: the kernel's own dma-buf kselftests. udmabuf's hugetlb tests map 1024 x 2 MiB pages.
echo 1100 >/proc/sys/vm/nr_hugepages
tap sync_test /tests/sync_test
tap udmabuf /tests/udmabuf
tap dmabuf-heap /tests/dmabuf-heap
