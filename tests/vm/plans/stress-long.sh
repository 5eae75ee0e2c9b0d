# SPDX-License-Identifier: GPL-2.0
# vm: mem=2G cmdline=kunit.enable=0
# make stress: the race tests of the stress plan, each running ten times longer.
VDMABUF_STRESS_SECONDS=50
. /vm/plans/stress.sh
