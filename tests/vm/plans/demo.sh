# SPDX-License-Identifier: GPL-2.0
# vm: mem=1G
# make demo: load both modules and show what they did.
kunit vdmabuf
kunit vdmabuf_importer
show devices ls -l /dev/vdmabuf /dev/vdmabuf-importer
show modules cat /proc/modules
check rmmod-vdmabuf_importer rmmod vdmabuf_importer
check rmmod-vdmabuf rmmod vdmabuf
