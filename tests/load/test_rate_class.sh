#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A trusted server that exceeds its rate class, with real TCP through
# smtpgated (XDP on the server-facing veth):
#
#   app1 198.18.1.5 (trusted, class conn_per_sec 20, burst 5) -+
#   app2 198.18.1.6 (not trusted) ----------------------------+- lan -- srv0 [XDP] gw up0 -- relay 198.18.0.25
#
# 1. app1 tries 100 connections/s for 5 s: the relay accepts
#    burst + rate x 5 s = 105 (within 10 %); the gateway's counters show
#    exactly the connections that completed as pass/trusted and every other
#    attempt as drop/rate_limited.
# 2. The same from two processes pinned to CPU 0 and CPU 1 (50/s each):
#    the bucket's spin lock holds the class across CPUs: still 105 +/- 10 %,
#    and both CPUs judged some of the traffic.
# 3. A reload adds a ban rule (20 violations in 5 s -> 5 s ban): app1 at
#    100/s is banned after exactly 20 rate-limited SYNs; then every
#    connection fails (drop/banned); a "ban" event and a "ban.auto" audit
#    record name app1; after duration_sec an "unban" event and a
#    "ban.expire" audit record, and app1 connects again.
#
# Each attempt gets 500 ms (less than the first SYN retransmission), so
# one attempt is one SYN.  Runs as root; BUILD selects the build dir.
# shellcheck disable=SC2178,SC2128 # before/after: see tests/load/lib.sh
set -uo pipefail

# shellcheck source=tests/load/lib.sh
. "$(dirname "$0")/lib.sh"

RATE=20          # class conn_per_sec
BURST=5          # class conn_burst
WINDOW=5         # seconds each measured phase lasts
OFFERED=100      # attempts per second
BAN_VIOLATIONS=20
BAN_WINDOW=5
BAN_DURATION=5
APP1=198.18.1.5
RELAY=198.18.0.25

policy() {
	local ban="${1:-}"

	cat <<-JSON
	{
	  "ports": [25],
	  "scope": ["198.18.1.0/24"],
	  "relays": {"internal": [{"addr": "$RELAY"}]},
	  "rate_classes": {"limited": {"conn_per_sec": $RATE, "conn_burst": $BURST}},
	  "unregistered": {"action": "drop"},$ban
	  "trusted": [
	    {"addr": "$APP1", "relays": ["internal"], "rate": "limited",
	     "ticket": "LOAD-1", "owner": "load-tests"}
	  ]
	}
	JSON
}

counters() {
	load_counters gw "$PIN" srv0:xdp
}

# check_phase LABEL BEFORE AFTER ATTEMPTED CONNECTED: the class held and
# the counters account for every attempt.
check_phase() {
	local label="$1" before="$2" after="$3" attempted="$4" connected="$5" passed limited want

	want=$((BURST + RATE * WINDOW))
	check_within "$label: accepted connections within 10 % of burst + rate x ${WINDOW}s ($want)" \
		"$connected" "$want" 10
	passed=$(sg_delta "$before" "$after" pass trusted conns)
	limited=$(sg_delta "$before" "$after" drop rate_limited conns)
	check_eq "$label: pass/trusted connections = connections that completed" \
		"$passed" "$connected"
	check_eq "$label: pass/trusted + drop/rate_limited connections = attempts" \
		"$((passed + limited))" "$attempted"
	check_eq "$label: no other counter moved" \
		"$(load_moved_except "$before" "$after" pass/trusted drop/rate_limited)" ""
}

phase_one_cpu() {
	local before after

	before=$(counters)
	load_connrate app1 "$RELAY" 25 "$OFFERED" "$WINDOW"
	after=$(counters)
	tap_diag "one process: $CR_OUT"
	check_cmp "one CPU: ${OFFERED}/s for ${WINDOW}s were attempted" "$CR_ATTEMPTED" -eq $((OFFERED * WINDOW))
	check_phase "one CPU" "$before" "$after" "$CR_ATTEMPTED" "$CR_CONNECTED"
}

phase_two_cpus() {
	local before after split0 split1 o0 o1 attempted connected per_cpu

	before=$(counters)
	split0=$(load_sgstate "$PIN" --cpu-split srv0:xdp | grep '^drop rate_limited')
	lab_exec app1 taskset -c 0 "$CONNRATE" --connect "$RELAY:25" --rate $((OFFERED / 2)) \
		--duration "$WINDOW" >"$LAB_DIR/cr0" 2>&1 &
	o0=$!
	lab_exec app1 taskset -c 1 "$CONNRATE" --connect "$RELAY:25" --rate $((OFFERED / 2)) \
		--duration "$WINDOW" >"$LAB_DIR/cr1" 2>&1 &
	o1=$!
	wait "$o0" "$o1"
	after=$(counters)
	split1=$(load_sgstate "$PIN" --cpu-split srv0:xdp | grep '^drop rate_limited')
	load_parse_connrate "$(<"$LAB_DIR/cr0")"
	attempted=$CR_ATTEMPTED connected=$CR_CONNECTED
	tap_diag "cpu 0: $(<"$LAB_DIR/cr0")"
	load_parse_connrate "$(<"$LAB_DIR/cr1")"
	attempted=$((attempted + CR_ATTEMPTED)) connected=$((connected + CR_CONNECTED))
	tap_diag "cpu 1: $(<"$LAB_DIR/cr1")"
	check_phase "two CPUs" "$before" "$after" "$attempted" "$connected"
	# Both CPUs must have judged (and limited) app1's SYNs, else this
	# phase proved nothing about the lock.
	per_cpu=$(load_cpu_delta "$split0" "$split1")
	tap_diag "drop/rate_limited per CPU in this phase: $per_cpu"
	check_match "two CPUs: both CPUs rate-limited SYNs of app1 ($per_cpu)" "$per_cpu" \
		'^[1-9][0-9]* [1-9][0-9]*$'
}

# Lines of FILE (a .jsonl) after its first SKIP bytes that match REGEX.
jsonl_grep() {
	tail -c +$(($2 + 1)) -- "$1" 2>/dev/null | grep -E -- "$3"
}

# wait_jsonl FILE SKIP REGEX TIMEOUT_S: waits for a matching line; prints it.
wait_jsonl() {
	lab_poll "$4" jsonl_grep "$1" "$2" "$3"
}

phase_ban() {
	local before after events audit ev0 au0 line ban_ms unban_ms try seconds

	events="$LAB_DAEMON_LOG_DIR/events.jsonl"
	audit="$LAB_DAEMON_LOG_DIR/audit.jsonl"
	ev0=$(stat -c %s "$events" 2>/dev/null || echo 0)
	au0=$(stat -c %s "$audit" 2>/dev/null || echo 0)
	lab_daemon_policy gw - <<<"$(policy "
	  \"ban\": {\"violations\": $BAN_VIOLATIONS, \"window_sec\": $BAN_WINDOW, \"duration_sec\": $BAN_DURATION},")"
	check "ban: the daemon reloads the policy with a ban rule" lab_daemon_hup gw
	sleep 1 # a full bucket again: the first phases left it empty

	before=$(counters)
	load_connrate app1 "$RELAY" 25 "$OFFERED" 2
	after=$(counters)
	tap_diag "ban phase: $CR_OUT"
	check_eq "ban: exactly $BAN_VIOLATIONS rate-limited SYNs before the ban" \
		"$(sg_delta "$before" "$after" drop rate_limited conns)" "$BAN_VIOLATIONS"
	check_cmp "ban: then every SYN is dropped as banned (> 100 of 200)" \
		"$(sg_delta "$before" "$after" drop banned conns)" -gt 100
	check_eq "ban: every attempt is counted once" \
		"$(($(sg_delta "$before" "$after" pass trusted conns) + $(sg_delta "$before" "$after" drop rate_limited conns) + $(sg_delta "$before" "$after" drop banned conns)))" \
		"$CR_ATTEMPTED"
	# Before the ban: the burst, plus at most one token per 50 ms while
	# the 20 violations accumulated (4 per token at 100/s): 5..12.
	check_cmp "ban: few connections completed before the ban ($CR_CONNECTED)" "$CR_CONNECTED" -le 12
	check_match "ban: nothing completed in the run's last second" "$CR_PER_SECOND" '^[0-9]+ 0'

	try=$(lab_tcp_try app1 "$RELAY" 25 1)
	check_match "ban: a new connection from app1 fails while banned" "$try" '^timeout'
	check_match "ban: the kernel holds an automatic ban for app1" \
		"$(load_sgstate "$PIN" --bans)" \
		"^(::ffff:)?$APP1 since_ns [0-9]+ expires_ns [1-9][0-9]* flags 1 source (::ffff:)?$APP1\$"

	line=$(wait_jsonl "$events" "$ev0" "\"event\":\"ban\".*\"source\":\"(::ffff:)?$APP1\"" 3)
	check_match "ban: events.jsonl has a ban event for app1" "$line" '"reason":"banned"'
	ban_ms=$(load_event_ms "$(jq -r .time <<<"$line" 2>/dev/null)")
	line=$(wait_jsonl "$audit" "$au0" "\"ban.auto\"" 3)
	check_match "ban: audit.jsonl has a ban.auto record for app1" "$line" "$APP1"

	line=$(wait_jsonl "$events" "$ev0" "\"event\":\"unban\".*\"source\":\"(::ffff:)?$APP1\"" \
		$((BAN_DURATION + 5)))
	check_match "unban: events.jsonl has an unban event for app1" "$line" '"kind":"auto"'
	unban_ms=$(load_event_ms "$(jq -r .time <<<"$line" 2>/dev/null)")
	# The kernel lifts the ban at its deadline; the daemon notices within
	# its 1 s tick (event times are in ms; the unban's is the tick's second).
	seconds=$(((unban_ms - ban_ms) / 1000))
	if [ "$ban_ms" -gt 0 ] && [ "$unban_ms" -gt 0 ] &&
		[ $((unban_ms - ban_ms)) -ge $((BAN_DURATION * 1000 - 1000)) ] &&
		[ $((unban_ms - ban_ms)) -le $((BAN_DURATION * 1000 + 2500)) ]; then
		ok "unban: recorded ${seconds}s after the ban (duration_sec $BAN_DURATION)"
	else
		not_ok "unban: recorded about duration_sec after the ban" \
			"ban at $ban_ms ms, unban at $unban_ms ms"
	fi
	line=$(wait_jsonl "$audit" "$au0" "\"ban.expire\"" 3)
	check_match "unban: audit.jsonl has a ban.expire record for app1" "$line" "$APP1"
	check_eq "unban: the ban is gone from the kernel" "$(load_sgstate "$PIN" --bans)" ""
	check_match "unban: app1 connects again" "$(lab_tcp_try app1 "$RELAY" 25 2)" '^connected'
}

main() {
	local t0

	t0=$(lab_now_ms)
	load_init 90
	load_gw_build || tap_bail "building the lab failed"
	lab_daemon_config gw if=srv0:xdp:native policy=- <<<"$(policy)"
	lab_daemon_start gw gw || tap_bail "smtpgated did not start"
	lab_daemon_paths gw >/dev/null
	PIN="$LAB_DAEMON_PIN_DIR"
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"

	check_match "baseline: app1 reaches the relay through smtpgate" \
		"$(lab_tcp_try app1 "$RELAY" 25 2)" '^connected'
	sleep 0.5 # let the bucket refill after the baseline connection
	phase_one_cpu
	sleep 1
	phase_two_cpus
	phase_ban

	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
