#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# relay_cap: the total new-connection rate towards a relay group, whoever
# opens them, with real TCP through smtpgated (XDP on the server-facing veth):
#
#   app1 198.18.1.5                 (trusted) -+
#   app2 198.18.1.6 and 198.18.1.7  (trusted) -+- lan -- srv0 [XDP] gw up0 -- relay 198.18.0.25
#
# Each of the three sources has its own class (20 connections/s, burst 5)
# and stays inside it (15/s each); together they offer 45/s to a group
# capped at 30/s (burst 5).  Over 5 s the relay accepts burst + cap x 5 s
# = 155 connections (within 10 %) from all three together; the gateway
# counts exactly those as pass/trusted and every other attempt as
# drop/rate_limited.  A fourth run, one source alone at 15/s, gets all
# of its connections: the cap is not a per-source limit.
#
# Runs as root; BUILD selects the build dir.
set -uo pipefail

# shellcheck source=tests/load/lib.sh
. "$(dirname "$0")/lib.sh"

CLASS_RATE=20
CLASS_BURST=5
CAP_RATE=30
CAP_BURST=5
PER_SOURCE=15
WINDOW=5
RELAY=198.18.0.25
# source address -> namespace
declare -A SOURCES=([198.18.1.5]=app1 [198.18.1.6]=app2 [198.18.1.7]=app2)

policy() {
	local a sep="" entries=""

	for a in "${!SOURCES[@]}"; do
		entries+="$sep"$'\n'"    {\"addr\": \"$a\", \"relays\": [\"internal\"], \"rate\": \"per_server\","
		entries+=" \"ticket\": \"LOAD-3\", \"owner\": \"load-tests\"}"
		sep=","
	done
	cat <<-JSON
	{
	  "ports": [25],
	  "scope": ["198.18.1.0/24"],
	  "relays": {"internal": [{"addr": "$RELAY"}]},
	  "rate_classes": {"per_server": {"conn_per_sec": $CLASS_RATE, "conn_burst": $CLASS_BURST}},
	  "relay_cap": {"internal": {"conn_per_sec": $CAP_RATE, "conn_burst": $CAP_BURST}},
	  "unregistered": {"action": "drop"},
	  "trusted": [$entries
	  ]
	}
	JSON
}

counters() {
	load_counters gw "$PIN" srv0:xdp
}

main() {
	local t0 before after a pids=() attempted=0 connected=0 want i=0

	t0=$(lab_now_ms)
	load_init 60
	load_gw_build || tap_bail "building the lab failed"
	lab_addr app2 eth0 198.18.1.7/24
	lab_daemon_config gw if=srv0:xdp:native policy=- <<<"$(policy)"
	lab_daemon_start gw gw || tap_bail "smtpgated did not start"
	lab_daemon_paths gw >/dev/null
	PIN="$LAB_DAEMON_PIN_DIR"
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"

	before=$(counters)
	for a in "${!SOURCES[@]}"; do
		lab_exec "${SOURCES[$a]}" "$CONNRATE" --connect "$RELAY:25" --rate "$PER_SOURCE" \
			--duration "$WINDOW" --bind "$a" >"$LAB_DIR/cr.$a" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	after=$(counters)
	for a in "${!SOURCES[@]}"; do
		load_parse_connrate "$(<"$LAB_DIR/cr.$a")"
		tap_diag "$a: $CR_OUT"
		attempted=$((attempted + CR_ATTEMPTED))
		connected=$((connected + CR_CONNECTED))
		i=$((i + 1))
	done
	check_eq "3 sources x ${PER_SOURCE}/s x ${WINDOW}s were attempted" "$attempted" \
		$((3 * PER_SOURCE * WINDOW))
	want=$((CAP_BURST + CAP_RATE * WINDOW))
	check_within "together: accepted within 10 % of the cap's burst + rate x ${WINDOW}s ($want)" \
		"$connected" "$want" 10
	check_eq "pass/trusted connections = connections that completed" \
		"$(sg_delta "$before" "$after" pass trusted conns)" "$connected"
	check_eq "every other attempt is drop/rate_limited" \
		"$(sg_delta "$before" "$after" drop rate_limited conns)" $((attempted - connected))
	check_eq "no other counter moved" \
		"$(load_moved_except "$before" "$after" pass/trusted drop/rate_limited)" ""

	sleep 1 # the cap's burst back
	load_connrate app1 "$RELAY" 25 "$PER_SOURCE" 2 --bind 198.18.1.5
	tap_diag "alone: $CR_OUT"
	check_eq "alone: one source within its class and under the cap gets every connection" \
		"$CR_CONNECTED" $((PER_SOURCE * 2))

	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
