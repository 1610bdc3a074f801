#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Unregistered sources under `throttle`, with real TCP through smtpgated
# (XDP on the server-facing veth):
#
#   app1 198.18.1.5 (trusted) ------------------+
#   app2 198.18.1.6 and 198.18.1.7 (unregistered) +- lan -- srv0 [XDP] gw up0 -- relay 198.18.0.25 (approved)
#                                                                              198.18.0.99 (any other host)
#
# Policy: unregistered: {"action": "throttle", "rate": "trickle"} with
# trickle = 5 connections/s, burst 5.
#  - Both unregistered addresses try 40 connections/s to the relay for
#    4 s at the same time: each gets its own allowance, burst + rate x 4 s
#    = 25 (within 10 %), counted as pass/throttle_allowance, the rest as
#    drop/rate_limited.  (Their hashed throttle buckets differ: checked.)
#  - Towards any other host they get nothing: drop/unapproved_relay.
#  - The trusted app1 is not throttled.
#
# Runs as root; BUILD selects the build dir.
set -uo pipefail

# shellcheck source=tests/load/lib.sh
. "$(dirname "$0")/lib.sh"

RATE=5
BURST=5
WINDOW=4
OFFERED=40
RELAY=198.18.0.25
OUTSIDE=198.18.0.99
SRC_A=198.18.1.6
SRC_B=198.18.1.7

policy() {
	cat <<-JSON
	{
	  "ports": [25],
	  "scope": ["198.18.1.0/24"],
	  "relays": {"internal": [{"addr": "$RELAY"}]},
	  "rate_classes": {"trickle": {"conn_per_sec": $RATE, "conn_burst": $BURST}},
	  "unregistered": {"action": "throttle", "rate": "trickle"},
	  "trusted": [
	    {"addr": "198.18.1.5", "relays": ["internal"], "rate": null,
	     "ticket": "LOAD-2", "owner": "load-tests"}
	  ]
	}
	JSON
}

# The throttle bucket of an IPv4 source: sg_throttle_hash() of
# include/smtpgate/abi.h over the IPv4-mapped address, on this
# (little-endian) machine.
throttle_bucket() {
	local a b c d w2 w3 h m=0xffffffff

	IFS=. read -r a b c d <<<"$1"
	w2=$((0xffff0000))
	w3=$((a | b << 8 | c << 16 | d << 24))
	h=0 # words 0 and 1 are zero: the first two rounds leave 0
	h=$(((h ^ w2) * 0xc2b2ae3d & m))
	h=$(((h ^ w3) * 0x27d4eb2f & m))
	echo $(((h ^ (h >> 15)) & 0xffff))
}

counters() {
	load_counters gw "$PIN" srv0:xdp
}

main() {
	local t0 before after pa pb want ha hb per

	t0=$(lab_now_ms)
	load_init 60
	load_gw_build || tap_bail "building the lab failed"
	lab_addr app2 eth0 "$SRC_B/24"
	lab_daemon_config gw if=srv0:xdp:native policy=- <<<"$(policy)"
	lab_daemon_start gw gw || tap_bail "smtpgated did not start"
	lab_daemon_paths gw >/dev/null
	PIN="$LAB_DAEMON_PIN_DIR"
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"

	ha=$(throttle_bucket "$SRC_A")
	hb=$(throttle_bucket "$SRC_B")
	check_cmp "precondition: $SRC_A and $SRC_B hash to different throttle buckets ($ha, $hb)" \
		"$ha" -ne "$hb"

	before=$(counters)
	lab_exec app2 "$CONNRATE" --connect "$RELAY:25" --rate "$OFFERED" --duration "$WINDOW" \
		--bind "$SRC_A" >"$LAB_DIR/cr.a" 2>&1 &
	pa=$!
	lab_exec app2 "$CONNRATE" --connect "$RELAY:25" --rate "$OFFERED" --duration "$WINDOW" \
		--bind "$SRC_B" >"$LAB_DIR/cr.b" 2>&1 &
	pb=$!
	wait "$pa" "$pb"
	after=$(counters)
	want=$((BURST + RATE * WINDOW))
	for per in a b; do
		load_parse_connrate "$(<"$LAB_DIR/cr.$per")"
		tap_diag "source $per: $CR_OUT"
		check_eq "throttle $per: ${OFFERED}/s for ${WINDOW}s were attempted" \
			"$CR_ATTEMPTED" $((OFFERED * WINDOW))
		check_within "throttle $per: its allowance, burst + rate x ${WINDOW}s = $want, within 10 %" \
			"$CR_CONNECTED" "$want" 10
		eval "connected_$per=$CR_CONNECTED"
	done
	# shellcheck disable=SC2154 # set by the eval above
	check_eq "throttle: pass/throttle_allowance connections = both sources' completed connections" \
		"$(sg_delta "$before" "$after" pass throttle_allowance conns)" \
		"$((connected_a + connected_b))"
	check_eq "throttle: the other attempts are drop/rate_limited" \
		"$(sg_delta "$before" "$after" drop rate_limited conns)" \
		"$((2 * OFFERED * WINDOW - connected_a - connected_b))"
	check_eq "throttle: no other counter moved" \
		"$(load_moved_except "$before" "$after" pass/throttle_allowance drop/rate_limited)" ""

	sleep 1.5 # a full allowance again: it must still not reach other hosts
	before=$(counters)
	load_connrate app2 "$OUTSIDE" 25 20 2 --bind "$SRC_A"
	after=$(counters)
	tap_diag "to another host: $CR_OUT"
	check_eq "other host: no connection from an unregistered source to $OUTSIDE:25" \
		"$CR_CONNECTED" 0
	check_eq "other host: every attempt is drop/unapproved_relay" \
		"$(sg_delta "$before" "$after" drop unapproved_relay conns)" "$CR_ATTEMPTED"
	check_eq "other host: no other counter moved" \
		"$(load_moved_except "$before" "$after" drop/unapproved_relay)" ""

	before=$(counters)
	load_connrate app1 "$RELAY" 25 40 2
	after=$(counters)
	tap_diag "trusted app1: $CR_OUT"
	check_eq "trusted: app1 is not throttled (80 of 80 connect)" "$CR_CONNECTED" 80
	check_eq "trusted: counted as pass/trusted" \
		"$(sg_delta "$before" "$after" pass trusted conns)" 80

	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
