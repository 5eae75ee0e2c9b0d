#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make stress: the race tests of make check's stress plan, each running ten times longer.
. "$(dirname "$0")/lib.sh"

VM_TIMEOUT=${VM_TIMEOUT:-4000}
export VM_TIMEOUT
exec sh "$TOP/scripts/vm.sh" stress-long
