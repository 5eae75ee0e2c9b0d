# SPDX-License-Identifier: GPL-2.0
# vm: mem=1G cache=peer
# Baseline: the kernel's own dma-buf KUnit suites (fence, fence-chain, fence-unwrap, resv), built
# by scripts/build.sh from the kernel's source with patches/upstream/0005, the fix of the suite's
# own leak.
kunit dmabuf_kunit
check rmmod-dmabuf_kunit rmmod dmabuf_kunit
