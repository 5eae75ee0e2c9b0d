# SPDX-License-Identifier: GPL-2.0
# vm: mem=2G cmdline=kunit.enable=0
# make stress: the race tests of the stress plan, each running ten times longer.
VDMABUF_STRESS_SECONDS=50
# Each race test runs 50 s; the fuzzer about 25 minutes: steps get more than the default 10.
STEP_TIMEOUT=3000
# At least a million fuzzed calls: three processes of 350000.
VDMABUF_FUZZ_SECONDS=3000 VDMABUF_FUZZ_CALLS=350000
. /vm/plans/stress.sh
