# SPDX-License-Identifier: GPL-2.0
# vm: mem=1G
# make demo: load both modules, walk through the main flow, unload.
kunit vdmabuf show_phys=1
kunit vdmabuf_importer
check demo /tests/vdmabuf_demo
show devices ls -l /dev/vdmabuf /dev/vdmabuf-importer
check rmmod-vdmabuf_importer rmmod vdmabuf_importer
check rmmod-vdmabuf rmmod vdmabuf
