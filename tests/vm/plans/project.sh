# SPDX-License-Identifier: GPL-2.0
# vm: mem=2G
# The project's own suites: KUnit in both modules, the kselftests, then a clean unload.
kunit vdmabuf
kunit vdmabuf_importer
tap vdmabuf_test /tests/vdmabuf_test
tap vdmabuf_importer_test /tests/vdmabuf_importer_test
check rmmod-vdmabuf_importer rmmod vdmabuf_importer
check rmmod-vdmabuf rmmod vdmabuf
