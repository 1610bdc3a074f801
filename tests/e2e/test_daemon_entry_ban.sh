#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# An automatic ban of a prefix entry, through smtpgated (XDP on srv0) and
# smtpgatectl.  The policy trusts 198.18.1.0/24 as one entry with one
# class (2 connections at once, then one per 5 s) and bans after 3 violations,
# until removed:
#
#   - app1 (198.18.1.5) opens 2 connections (the class's burst), then app2
#     (198.18.1.6, same entry) opens 10: its first 3 are the violations,
#     and the ban is the entry's: app1 and app2 are both dropped as banned,
#     whoever sent the violating packets;
#   - `ban list` shows the entry 198.18.1.0/24 (kind auto, scope entry,
#     source app2); the ban event and the ban.auto audit record name it;
#     nothing is in the manual ban table, so `ban add` still works;
#   - `ban del 198.18.1.0/24` lifts it: app1 connects again.
#
# Lab: lab_gw_build (tests/e2e/test_daemon_enforce.sh).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

NAME=eban
NET=198.18.1.0/24

ctl() {
	lab_daemon_ctl "$NAME" "$@"
}

# burst NS DST PORT N: N connection attempts in a row, each given 0.3 s.
burst() {
	local i

	for ((i = 0; i < $4; i++)); do
		lab_tcp_try "$1" "$2" "$3" 0.3 >/dev/null
	done
}

main() {
	local t0 relay app1 app2 before after bans line audit out i burst_end wait_ms

	t0=$(lab_now_ms)
	e2e_daemon_lab jq
	relay=${LAB_GW[relay_4]} app1=${LAB_GW[app1_4]} app2=${LAB_GW[app2_4]}
	lab_daemon_config "$NAME" if=srv0:xdp policy=- <<-EOF
	{
	  "ports": [25],
	  "scope": ["198.18.1.0/24"],
	  "relays": {"internal": [{"addr": "$relay"}]},
	  "rate_classes": {"tight": {"conn_per_sec": 0.2, "conn_burst": 2}},
	  "unregistered": {"action": "drop"},
	  "ban": {"violations": 3, "window_sec": 30, "duration_sec": 0},
	  "trusted": [
	    {"addr": "$NET", "relays": ["internal"], "rate": "tight",
	     "ticket": "EB-1", "owner": "tests"}
	  ]
	}
	EOF
	lab_daemon_paths "$NAME" >/dev/null
	if lab_daemon_start gw "$NAME"; then
		ok "smtpgated starts (one /24 entry, class burst 2, ban after 3 violations)"
	else
		tap_bail "smtpgated does not start: $(lab_daemon_log "$NAME")"
	fi
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"

	before=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv0:xdp)
	check_match "app1's first connection passes" "$(lab_tcp_try app1 "$relay" 25 1)" '^connected'
	check_match "app1's second connection passes (the burst)" \
		"$(lab_tcp_try app1 "$relay" 25 1)" '^connected'
	burst app2 "$relay" 25 6
	burst_end=$(lab_now_ms)
	after=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv0:xdp)
	check_eq "app2: 3 SYNs rate_limited (the violations), then banned" \
		"$(sg_delta "$before" "$after" drop rate_limited conns)" 3
	check_cmp "app2: the rest dropped as banned" \
		"$(sg_delta "$before" "$after" drop banned conns)" -ge 3
	check_match "ban: app1, which did not violate, is banned with its entry" \
		"$(lab_tcp_try app1 "$relay" 25 0.5)" '^timeout'

	bans=$(ctl --json ban list)
	check_eq "ban list: one ban, the entry $NET, automatic, active, app2 the source" \
		"$(jq -c '[.[] | [.addr, .kind, .scope, .source, .active, .expires]]' <<<"$bans")" \
		"[[\"$NET\",\"auto\",\"entry\",\"$app2\",true,null]]"
	check_eq "status: 1 ban active" "$(ctl --json status | jq '.bans_active')" 1
	line=$(lab_daemon_wait_log "$NAME" "warning: banned $NET after repeated rate-limit violations" 3)
	check_match "log: the entry is banned, app2 reached the threshold" "$line" \
		"the whole trusted entry; $app2 reached the threshold"
	sleep 0.5
	check_match "events.jsonl: the ban event names the entry" \
		"$(jq -c 'select(.event == "ban")' "$LAB_DAEMON_LOG_DIR/events.jsonl")" \
		"\"source\":\"$app2\".*\"entry\":\"${NET//./\\.}\""
	audit=$(jq -c 'select(.command == "ban.auto")' "$LAB_DAEMON_LOG_DIR/audit.jsonl" 2>/dev/null)
	check_match "audit: ban.auto names the entry and the source" "$audit" \
		"\"args\":\\{\"addr\":\"${NET//./\\.}\",\"scope\":\"entry\",\"source\":\"$app2\""

	out=$(ctl ban add 198.18.1.99 --duration 1h --reason test 2>&1)
	check_eq "ban add: a manual ban still goes in (exit 0)" "$?" 0
	check_eq "ban list: now the manual ban and the entry's" \
		"$(ctl --json ban list | jq -c '[.[] | [.addr, .kind]]')" \
		"[[\"198.18.1.99\",\"manual\"],[\"$NET\",\"auto\"]]"
	ctl ban del 198.18.1.99 >/dev/null 2>&1

	out=$(ctl ban del 198.18.1.77 2>&1)
	check_eq "ban del of a host of the entry: not banned (exit 1)" "$?" 1
	check_match "... says so" "$out" 'not banned'
	out=$(ctl --json ban del "$NET" 2>&1)
	check_eq "ban del $NET: lifts the entry's ban (exit 0)" "$?" 0
	check_eq "ban list: empty" "$(ctl --json ban list | jq length)" 0
	# The bucket is not refilled by the lift: a token comes back 5 s
	# after the burst emptied it.  Trying before then would be new
	# violations (three ban the entry again, and how many fit before the
	# token depends on how fast the steps above ran), so app1 tries once
	# the token must be there.
	wait_ms=$((burst_end + 5500 - $(lab_now_ms)))
	((wait_ms > 0)) && sleep "$((wait_ms / 1000)).$(printf '%03d' $((wait_ms % 1000)))"
	before=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv0:xdp)
	for ((i = 0; i < 6; i++)); do
		out=$(lab_tcp_try app1 "$relay" 25 1)
		[[ "$out" == connected* ]] && break
	done
	check_match "app1 connects again (the token 5 s after the burst)" "$out" '^connected'
	after=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv0:xdp)
	check_eq "... and nothing is dropped as banned any more" \
		"$(sg_delta "$before" "$after" drop banned conns)" 0

	lab_daemon_stop "$NAME"
	check_eq "SIGTERM: exit status 0" "$LAB_DAEMON_RC" 0
	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
