#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The usage history against real traffic: smtpgated (XDP on the gateway
# of a namespace lab) counts into <state_dir>/usage/YYYY-MM-DD.json
# exactly the TCP connections made through it:
#   1. connections from an approved source: the day's passed connections
#      equal the connections made, and the source has its row, with its
#      connections (= made) and bytes (the payloads the relay received
#      plus 40 to 80 bytes of headers per packet); an untrusted source's
#      attempts and a banned source's are counted as drops, in their
#      rows, by reason (untrusted_source, banned);
#   2. a restart (pins reused) counts on from the file: no connection
#      counted twice, none lost;
#   3. --detach and a start (fresh maps, counters from zero: a reset)
#      adds to the day instead of replacing it;
#   4. smtpgatectl report --config (the daemon stopped) shows the same
#      totals, per source too (connections and bytes of the month, the
#      blocked sources by reason), the approval with its ticket and who
#      made it, and the state events: enforce mode, srv0's XDP attached.
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

# src_field SRC JQ: the sum of a source's field (.connections, .bytes,
# .blocked.banned ...) over the day files.
src_field() {
	day_sum "[.sources[] | select(.source == \"$1\") | ($2 // 0)] | add // 0"
}

# A bulk sender: the relay's second address (group backup, the policy's
# ports) keeps what every connection sends, so the test knows the bytes
# that went through.
PAYLOAD=3000
head -c "$PAYLOAD" /dev/urandom >"$CTL_DIR/payload.bin"
SINK="$CTL_DIR/sink.bin"
lab_addr relay eth0 198.18.0.26/24
lab_tcp_sink relay 198.18.0.26 25 "$SINK"
lab_wait_port relay 198.18.0.26 25 5 || tap_bail "the sink does not listen"

# send N SRC: N connections from SRC to the sink, each sending PAYLOAD
# bytes; prints how many completed.
send() {
	local n="$1" src="$2" i sent=0

	for ((i = 0; i < n; i++)); do
		lab_exec app timeout -k 1 5 socat -u "OPEN:$CTL_DIR/payload.bin,rdonly" \
			"TCP4:198.18.0.26:25,bind=$src,connect-timeout=1" >/dev/null 2>&1 &&
			sent=$((sent + 1))
	done
	echo "$sent"
}

# sink_bytes WANT: waits (5 s at most) until the sink holds WANT bytes;
# prints what it holds.
sink_bytes() {
	local i got

	for ((i = 0; i < 50; i++)); do
		got=$(stat -c %s "$SINK")
		[ "$got" -ge "$1" ] && break
		sleep 0.1
	done
	echo "$got"
}

ctl trust add 198.18.1.5 --relay internal,backup --ticket CHG-USAGE --owner usage-test \
	--contact ops@example.org >/dev/null || tap_bail "trust add failed"
ctl ban add 198.18.1.7 --reason usage-test --ticket SEC-USAGE >/dev/null ||
	tap_bail "ban add failed"

# ---- 1. counted = made ---------------------------------------------------------

made1=$(connect 7 198.18.1.5)
check_eq "approved source: 7 connections made" "$made1" 7
sent=$(send 3 198.18.1.5)
check_eq "approved source: 3 connections sent $PAYLOAD bytes each" "$sent" 3
payload=$(sink_bytes $((sent * PAYLOAD)))
check_eq "the relay received every byte sent" "$payload" $((sent * PAYLOAD))
made1=$((made1 + sent))
failed=$(connect 2 198.18.1.6)
check_eq "untrusted source: no connection made" "$failed" 0
failed=$(connect 2 198.18.1.7)
check_eq "banned source: no connection made" "$failed" 0
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
check_eq "per source: the approved source's connections = connections made" \
	"$(src_field 198.18.1.5 .connections)" "$made1"
# Every packet of the source carries an IPv4 header (20 bytes) and a TCP
# header (20 to 60): its bytes are the payloads plus 40 to 80 per packet.
pkts=$(src_packets 198.18.1.5 pass)
bytes=$(src_field 198.18.1.5 .bytes)
check_cmp "per source: bytes >= payloads + 40 per packet ($pkts packets)" \
	"$bytes" -ge $((payload + 40 * pkts))
check_cmp "per source: bytes <= payloads + 80 per packet" "$bytes" -le $((payload + 80 * pkts))
check_eq "per source: the approved source has no blocked packets" \
	"$(src_field 198.18.1.5 '[.blocked[]] | add')" 0
check_cmp "per source: the untrusted source's drops, all untrusted_source" \
	"$(src_field 198.18.1.6 .blocked.untrusted_source)" -ge 2
check_eq "per source: its drops by reason add up to its packets dropped" \
	"$(src_field 198.18.1.6 '[.blocked[]] | add')" "$(src_packets 198.18.1.6 drop)"
check_eq "per source: the untrusted source passed no connection, no byte" \
	"$(src_field 198.18.1.6 '.connections + .bytes')" 0
check_cmp "per source: the banned source's drops, all banned" \
	"$(src_field 198.18.1.7 .blocked.banned)" -ge 2
check_eq "per source: the banned source's drops by reason add up" \
	"$(src_field 198.18.1.7 '[.blocked[]] | add')" "$(src_packets 198.18.1.7 drop)"
check_eq "the day file has per-source detail (version 2)" \
	"$(jq -c '[.version, .source_detail]' "$(ls "$USAGE"/*.json | tail -1)")" '[2,true]'
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
check_eq "after a restart: per source too" "$(src_field 198.18.1.5 .connections)" \
	"$((made1 + made2))"

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
check_eq "after the reset: per source too" "$(src_field 198.18.1.5 .connections)" \
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
check_eq "report: the source's connections of the month = connections made" \
	"$(jq '[.usage.source_months[] | select(.source == "198.18.1.5") | .connections] | add' "$CTL_DIR/report.json")" \
	"$((made1 + made2 + made3))"
check_eq "report: the source's bytes of the month = the day files' sum" \
	"$(jq '[.usage.source_months[] | select(.source == "198.18.1.5") | .bytes] | add' "$CTL_DIR/report.json")" \
	"$(src_field 198.18.1.5 .bytes)"
check_eq "report: blocked by reason: untrusted_source for .6, banned for .7" \
	"$(jq -c '[.usage.blocked_by_reason[] | select(.source == "198.18.1.6" or .source == "198.18.1.7") | [.source, .untrusted_source > 0, .banned > 0]] | sort' "$CTL_DIR/report.json")" \
	'[["198.18.1.6",true,false],["198.18.1.7",false,true]]'
check_eq "report: no day without per-source detail" \
	"$(jq '.usage.days_without_source_detail' "$CTL_DIR/report.json")" 0
check_cmp "report: the untrusted source is among the blocked most" \
	"$(jq '[.usage.blocked_most[] | select(.source == "198.18.1.6")] | length' "$CTL_DIR/report.json")" -eq 1
check_eq "events.jsonl: a state event at each start and stop" \
	"$(jq -r 'select(.event == "state") | .why' "$CTL_LOG/events.jsonl" | tr '\n' ' ')" \
	"start stop start stop start stop "

[ "$TAP_FAILED" -eq 0 ] || tap_diag "daemon_stopped: $(jq -c .enforcement.daemon_stopped "$CTL_DIR/report.json"); states: $(jq -c 'select(.event == "state") | [.time, .why]' "$CTL_LOG/events.jsonl" | tr "\n" " ")"
tap_done
