#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make bench: build for the bench kernel (scripts/bench-build.sh), boot a VM and print
# vdmabuf_bench's table.
. "$(dirname "$0")/lib.sh"

kdir=$(sh "$TOP/scripts/bench-build.sh")
in_root env VDMABUF_MODULES=/src/build/bench sh /src/scripts/root/vm.sh "$kdir" bench
out=$TOP/build/vm/bench/user.log
sed -n '/^@@vm begin show:bench/,/^@@vm end show:bench/p' "$out" | sed '1d;$d' |
	sed '/^@@json begin/,/^@@json end/d'
sed -n '/^@@json begin/,/^@@json end/p' "$out" | sed '1d;$d' >"$TOP/build/bench.json"
# A run that lost figures or printed a malformed one fails here rather than leaving a file that
# a reader of the JSON finds broken later.
in_root python3 -c '
import json, sys
figs = json.load(open(sys.argv[1]))
bad = [f["figure"] for f in figs if f.get("ratio_to_best_peer", 1) <= 0 or "vdmabuf" not in f]
if not figs or bad:
    sys.exit("bench.json: no figures" if not figs else "bench.json: no result for " + ", ".join(bad))
' /src/build/bench.json
log "the figures as JSON: build/bench.json"
