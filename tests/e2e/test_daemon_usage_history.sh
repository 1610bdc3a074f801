#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The usage history against real traffic: smtpgated (XDP on the gateway
# of a namespace lab) counts into <state_dir>/usage/YYYY-MM-DD.json
# exactly the TCP connections made through it:
#   1. connections from an approved source: the day's passed connections
#      equal the connections made, and the source has its row; an
#      untrusted source's attempts are counted as drops, in its row;
#   2. a restart (pins reused) counts on from the file: no connection
#      counted twice, none lost;
#   3. --detach and a start (fresh maps, counters from zero: a reset)
#      adds to the day instead of replacing it;
#   4. smtpgatectl report --config (the daemon stopped) shows the same
#      totals, the approval with its ticket and who made it, and the
#      state events: enforce mode, srv0's XDP attached.
set -uo pipefail

. "$(dirname "$0")/ctl_lib.sh"

ctl_up 180
USAGE="$CTL_STATE/usage"

# connect N SRC: N connections from SRC to the relay; prints how many
# connected.
connect() {
	local n="$1" src="$2" i made=0

	for ((i = 0; i < n; i++)); do
		ctl_try "$src" >/dev/null && made=$((made + 1))
	done
	echo "$made"
}

# day_sum JQ: the sum of JQ (a number per file) over every day file
# (a test that runs across midnight UTC has two).
day_sum() {
	local f total=0 n

	for f in "$USAGE"/*.json; do
		[ -e "$f" ] || continue
		n=$(jq "$1" "$f") || return 1
		total=$((total + n))
	done
	echo "$total"
}

passed_conns() {
	day_sum '[.counters[] | select(.verdict == "pass") | .connections] | add // 0'
}

src_packets() {
	day_sum "[.sources[] | select(.source == \"$1\") | .packets.$2] | add // 0"
}

ctl trust add 198.18.1.5 --relay internal --ticket CHG-USAGE --owner usage-test \
	--contact ops@example.org >/dev/null || tap_bail "trust add failed"

# ---- 1. counted = made ---------------------------------------------------------

made1=$(connect 7 198.18.1.5)
check_eq "approved source: 7 connections made" "$made1" 7
failed=$(connect 2 198.18.1.6)
check_eq "untrusted source: no connection made" "$failed" 0
ctl_stop
check "the day file exists after the stop" compgen -G "$USAGE/*.json"
check_eq "passed connections counted = connections made" "$(passed_conns)" "$made1"
check_cmp "the approved source has its row, with its packets passed" \
	"$(src_packets 198.18.1.5 pass)" -ge "$((made1 * 3))"
check_cmp "the untrusted source has its row, with its packets dropped" \
	"$(src_packets 198.18.1.6 drop)" -ge 2
check_cmp "the drops are counted by reason" \
	"$(day_sum '[.counters[] | select(.verdict == "drop" and .reason == "untrusted_source") | .packets] | add // 0')" \
	-ge 2
check "the day file carries the counters' last values" \
	jq -e '.baseline | length > 0' "$(ls "$USAGE"/*.json | tail -1)"

# ---- 2. a restart counts on ---------------------------------------------------

# The report counts stopped stretches in whole seconds: a stop shorter
# than one would not show, and two stops around a run shorter than one
# are one stretch, so each stop and each run here lasts over a second.
sleep 1.2
ctl_start || tap_bail "smtpgated does not start again"
made2=$(connect 4 198.18.1.5)
check_eq "after a restart: 4 connections made" "$made2" 4
sleep 1.2 # a run shorter than a second would not separate two stops either
ctl_stop
check_eq "after a restart: counted = made, none twice" "$(passed_conns)" "$((made1 + made2))"

# ---- 3. a counter reset -------------------------------------------------------

out=$(lab_daemon_detach gw "$CTL_NAME" 2>&1)
check_eq "--detach (the maps go: counters restart from zero)" "$?" 0 || tap_diag "$out"
sleep 1.2
ctl_start || tap_bail "smtpgated does not start after --detach"
ctl trust list --json | jq -e 'any(.[]; .prefix == "198.18.1.5")' >/dev/null ||
	tap_diag "the approval did not come back from approvals.json"
made3=$(connect 3 198.18.1.5)
check_eq "after the reset: 3 connections made" "$made3" 3
sleep 1.2
ctl_stop
check_eq "after the reset: the day adds up, nothing replaced" "$(passed_conns)" \
	"$((made1 + made2 + made3))"

# ---- 4. the report, the daemon stopped -----------------------------------------

"$CTL" report --config "$CTL_CONFIG" --since 2d --json >"$CTL_DIR/report.json" 2>"$CTL_DIR/report.err"
rc=$?
check_eq "report --config, daemon stopped: complete (exit 0)" "$rc" 0 ||
	tap_diag "$(cat "$CTL_DIR/report.err")"
check_eq "report: the month's passed connections = connections made" \
	"$(jq '[.usage.months[].connections_passed] | add' "$CTL_DIR/report.json")" \
	"$((made1 + made2 + made3))"
check_eq "report: the approval added, its ticket, by root" \
	"$(jq -c '[.approvals.changes[] | select(.prefix == "198.18.1.5") | [.change, .ticket, .uid]]' "$CTL_DIR/report.json")" \
	'[["added","CHG-USAGE",0]]'
check_eq "report: in force at the end, with its contact" \
	"$(jq -c '[.approvals.in_force[] | select(.prefix == "198.18.1.5") | .contact]' "$CTL_DIR/report.json")" \
	'["ops@example.org"]'
check_eq "report: enforce mode, srv0 xdp attached at the end" \
	"$(jq -c '[.enforcement.mode_at_end, [.enforcement.hooks_at_end[] | [.interface, .hook, .attached]]]' "$CTL_DIR/report.json")" \
	'["enforce",[["srv0","xdp",true]]]'
check_eq "report: no time in monitor mode or unattached" \
	"$(jq -c '[(.enforcement.monitor | length), (.enforcement.not_attached | length)]' "$CTL_DIR/report.json")" \
	'[0,0]'
check_cmp "report: the stops are seen (smtpgated stopped stretches)" \
	"$(jq '.enforcement.daemon_stopped | length' "$CTL_DIR/report.json")" -ge 2
check_cmp "report: the untrusted source is among the blocked most" \
	"$(jq '[.usage.blocked_most[] | select(.source == "198.18.1.6")] | length' "$CTL_DIR/report.json")" -eq 1
check_eq "events.jsonl: a state event at each start and stop" \
	"$(jq -r 'select(.event == "state") | .why' "$CTL_LOG/events.jsonl" | tr '\n' ' ')" \
	"start stop start stop start stop "

[ "$TAP_FAILED" -eq 0 ] || tap_diag "daemon_stopped: $(jq -c .enforcement.daemon_stopped "$CTL_DIR/report.json"); states: $(jq -c 'select(.event == "state") | [.time, .why]' "$CTL_LOG/events.jsonl" | tr "\n" " ")"
tap_done
