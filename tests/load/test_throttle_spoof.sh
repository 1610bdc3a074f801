#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A spoofed flood under `unregistered: throttle` against a capped relay
# group, with real TCP through smtpgated (XDP on the server-facing veth):
#
#   app1 198.18.1.5 (trusted, no class) -----------+
#   app2: floodgen, SYNs from random sources in    +- lan -- srv0 [XDP] gw up0 -- relay 198.18.0.25
#         198.18.1.128/25 (in scope, unregistered) -+
#
# Every spoofed source has a throttle bucket of its own (hashed, fresh),
# so the throttle passes most of them; what holds them is the relay cap
# (30/s, burst 5), of which unregistered sources may only use their share
# (a tenth: 3/s, burst 1).  During the flood the trusted app1 opens 10
# connections a second for 4 s: every one of them must succeed, counted
# as pass/trusted, while the flood is counted as pass/throttle_allowance
# (at most the share) and drop/rate_limited.
#
# Runs as root; BUILD selects the build dir.
set -uo pipefail

# shellcheck source=tests/load/lib.sh
. "$(dirname "$0")/lib.sh"

CAP_RATE=30
CAP_BURST=5
TRUSTED_RATE=10
WINDOW=4
FLOOD_S=6          # the flood starts 1 s before app1 and ends after it
FLOOD_BURST=2000   # frames per floodgen run (a run takes about 0.3 s): ~6,000 SYNs/s
RELAY=198.18.0.25
SPOOF_PREFIX=198.18.1.128/25

policy() {
	cat <<-JSON
	{
	  "ports": [25],
	  "scope": ["198.18.1.0/24"],
	  "relays": {"internal": [{"addr": "$RELAY"}]},
	  "rate_classes": {"trickle": {"conn_per_sec": 5, "conn_burst": 5}},
	  "unregistered": {"action": "throttle", "rate": "trickle"},
	  "relay_cap": {"internal": {"conn_per_sec": $CAP_RATE, "conn_burst": $CAP_BURST}},
	  "trusted": [
	    {"addr": "198.18.1.5", "relays": ["internal"], "rate": null,
	     "ticket": "LOAD-5", "owner": "load-tests"}
	  ]
	}
	JSON
}

counters() {
	load_counters gw "$PIN" srv0:xdp
}

# flood MAC: paced bursts of spoofed SYNs from app2 for FLOOD_S seconds
# (a bounded rate, so that what is measured is the cap, not a CPU the
# flood saturates); prints the frames sent.
flood() {
	local mac="$1" end sent=0

	end=$(($(lab_now_ms) + FLOOD_S * 1000))
	while [ "$(lab_now_ms)" -lt "$end" ]; do
		lab_exec app2 "$FLOODGEN" --dev eth0 --dst-mac "$mac" --dst "$RELAY" \
			--src-prefix "$SPOOF_PREFIX" --count "$FLOOD_BURST" --generator af_packet \
			--quiet >"$LAB_DIR/gen.last" 2>&1 || break
		floodgen_parse "$(<"$LAB_DIR/gen.last")"
		sent=$((sent + FG_SENT - FG_REFUSED))
		sleep 0.05
	done
	echo "$sent"
}

main() {
	local t0 mac before after pf sent share_max flood_pkts

	t0=$(lab_now_ms)
	load_init 60
	load_gw_build || tap_bail "building the lab failed"
	lab_daemon_config gw if=srv0:xdp:native policy=- <<<"$(policy)"
	lab_daemon_start gw gw || tap_bail "smtpgated did not start"
	lab_daemon_paths gw >/dev/null
	PIN="$LAB_DAEMON_PIN_DIR"
	mac=$(load_mac gw srv0)
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"

	check_match "baseline: app1 reaches the relay" "$(lab_tcp_try app1 "$RELAY" 25 2)" '^connected'
	sleep 1 # the cap refills after the baseline

	before=$(counters)
	flood "$mac" >"$LAB_DIR/flood.sent" &
	pf=$!
	sleep 1
	load_connrate app1 "$RELAY" 25 "$TRUSTED_RATE" "$WINDOW"
	wait "$pf"
	sleep 0.5
	after=$(counters)
	sent=$(<"$LAB_DIR/flood.sent")
	tap_diag "trusted app1 during the flood: $CR_OUT" "flood: $sent spoofed SYNs sent"

	flood_pkts=$(($(sg_delta "$before" "$after" pass throttle_allowance conns) +
		$(sg_delta "$before" "$after" drop rate_limited conns)))
	check_cmp "flood: at least 10,000 spoofed SYNs reached the gateway ($flood_pkts)" \
		"$flood_pkts" -ge 10000
	check_eq "trusted: every connection of app1 during the flood succeeds" \
		"$CR_CONNECTED/$CR_ATTEMPTED" "$((TRUSTED_RATE * WINDOW))/$((TRUSTED_RATE * WINDOW))"
	check_eq "trusted: counted as pass/trusted (baseline excluded)" \
		"$(sg_delta "$before" "$after" pass trusted conns)" "$((TRUSTED_RATE * WINDOW))"
	# The share: burst 1 + 3/s over the flood (and the half second after).
	share_max=$((1 + CAP_RATE * (FLOOD_S + 1) / 10))
	check_cmp "flood: at most the unregistered share passed ($(sg_delta "$before" "$after" \
		pass throttle_allowance conns) <= $share_max)" \
		"$(sg_delta "$before" "$after" pass throttle_allowance conns)" -le "$share_max"
	check_eq "flood: nothing but pass/trusted, pass/throttle_allowance, drop/rate_limited moved" \
		"$(load_moved_except "$before" "$after" pass/trusted pass/throttle_allowance \
			drop/rate_limited)" ""

	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
