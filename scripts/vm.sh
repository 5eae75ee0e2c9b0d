#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Usage: vm.sh PLAN...
# Build what is missing, then boot one VM per plan (tests/vm/plans/PLAN.sh), in parallel, and
# report the combined results. Exits nonzero on any failure.
. "$(dirname "$0")/lib.sh"

kdir=$(sh "$TOP/scripts/build.sh")
in_root sh /src/scripts/root/vm.sh "$kdir" "$@"
in_root python3 /src/scripts/results.py /src/build/vm "$@"
