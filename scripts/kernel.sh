#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Make sure the 7.2 test kernel for kernel/vdmabuf.config is built, and print its build directory (as
# seen inside the toolchain root). The build is cached keyed on kernel version, toolchain and fragment.
. "$(dirname "$0")/lib.sh"

sh "$TOP/scripts/toolchain.sh"
in_root sh /src/scripts/root/kernel.sh
