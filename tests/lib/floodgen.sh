# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Reading floodgen's result line (tests/tools/floodgen.c), for the load
# tests and the live benchmark alike.

# floodgen_parse OUTPUT: sets FG_SENT (frames handed to the kernel),
# FG_REFUSED (of those, dropped by the driver at once: af_packet only),
# FG_SECS and FG_GENERATOR (live or af_packet) from floodgen's output;
# FG_SENT is 0 and FG_GENERATOR empty if it has no result line.
# shellcheck disable=SC2034 # FG_* are for the callers
floodgen_parse() {
	local re='^floodgen: sent ([0-9]+) frames in ([0-9.]+) s .*generator ([a-z_]+)'
	local line

	FG_SENT=0 FG_REFUSED=0 FG_SECS=0 FG_GENERATOR=""
	line=$(grep '^floodgen: sent ' <<<"$1" | tail -1)
	if [[ "$line" =~ $re ]]; then
		FG_SENT=${BASH_REMATCH[1]} FG_SECS=${BASH_REMATCH[2]} FG_GENERATOR=${BASH_REMATCH[3]}
	fi
	re='the driver refused ([0-9]+)'
	[[ "$line" =~ $re ]] && FG_REFUSED=${BASH_REMATCH[1]}
	return 0
}
