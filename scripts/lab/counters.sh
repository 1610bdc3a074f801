# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Reading smtpgate counter lines, "verdict reason packets bytes conns"
# (one per counter of an attachment), as the lab's site_counters and the
# tests' sgload --counters print them.  Sourced by scripts/lab.sh and the tests.

# sg_field COUNTERS VERDICT REASON [FIELD]: FIELD (packets, bytes or
# conns, the default) of (VERDICT, REASON) in COUNTERS; 0 if absent.
sg_field() {
	local v r p b c

	while read -r v r p b c; do
		[ "$v" = "$2" ] || continue
		[ "$r" = "$3" ] || continue
		case "${4:-conns}" in
		packets) echo "$p" ;;
		bytes) echo "$b" ;;
		*) echo "$c" ;;
		esac
		return
	done <<<"$1"
	echo 0
}

# sg_delta BEFORE AFTER VERDICT REASON [FIELD]
# How much FIELD (as sg_field; conns by default) of (VERDICT, REASON)
# grew between two sg_counters outputs.
sg_delta() {
	local a b

	b=$(sg_field "$1" "$3" "$4" "${5:-conns}")
	a=$(sg_field "$2" "$3" "$4" "${5:-conns}")
	echo $((a - b))
}
