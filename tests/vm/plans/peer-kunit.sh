# SPDX-License-Identifier: GPL-2.0
# vm: mem=1G cache=peer
# Baseline: the kernel's own dma-buf KUnit suites (fence, fence-chain, fence-unwrap, resv).
kunit dmabuf_kunit
check rmmod-dmabuf_kunit rmmod dmabuf_kunit
