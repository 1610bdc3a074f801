#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Data-plane events (events.jsonl) and automatic bans, through smtpgated
# with XDP on srv0.
#
#   - a burst of 200 SYNs from the untrusted server within ~1 s (one
#     process, non-blocking connects, each socket closed before its SYN
#     would be retransmitted), plus a few from the trusted server to the
#     unapproved host and a short IPv6 burst: events.jsonl gets a few
#     lines per (source, reason) with counts, not one per packet: at most
#     duration/interval + 2 lines for the untrusted source (interval
#     0.25 s here), each a JSON object with time, event, source,
#     destination, port, interface, hook, verdict, reason, count; the sum
#     of the counts is at most what the data plane counted and more than
#     the number of lines (aggregation happened);
#   - an automatic ban: app1's rate class allows 2 connections at once
#     and 1/s, a ban follows 5 violations and lasts 2 s; a burst of 20
#     connections in 0.2 s gets app1 banned ("event":"ban", audit ban.auto, drop/
#     banned), and 2 s later the ban ends ("event":"unban", audit
#     ban.expire) and app1 sends again.
#
# Lab: lab_gw_build (tests/e2e/test_daemon_enforce.sh).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

NAME=ev
INTERVAL_MS=250   # events.interval_sec
BURST=200         # SYNs from app2 in the burst
BURST_MS=1000     # over this long
EVENTS=""
AUDIT=""

# A SYN burst: N non-blocking connects to DST:PORT, MS/N milliseconds
# apart (so over MS or, on a busy machine, a little longer); every socket
# is closed before its first retransmission (the initial RTO is 1 s), so
# exactly N SYNs leave.  Prints "N <ms taken>".
BURST_PY='
import socket, sys, time
dst, port, n, span = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]) / 1000
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
open_socks, sent = [], 0
t0 = time.time()
for i in range(n):
    # At least span/n apart: a stalled process sends late, never in a clump.
    if i:
        time.sleep(span / n)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((dst, port))
    except BlockingIOError:
        pass
    open_socks.append((time.time(), s))
    sent += 1
    while open_socks and time.time() - open_socks[0][0] > 0.7:
        open_socks.pop(0)[1].close()
t1 = time.time()
for _, s in open_socks:
    s.close()
print(sent, int((t1 - t0) * 1000))
'

burst() {
	lab_exec "$1" python3 -c "$BURST_PY" "$2" "$3" "$4" "$5"
}

# events_of JQ_SELECT: the events.jsonl lines matching a jq condition.
events_of() {
	jq -c "select($1)" "$EVENTS" 2>/dev/null
}

# Waits until events.jsonl stops growing (the ring buffer is drained):
# two reads 300 ms apart agree, at most 3 s.
events_settle() {
	local a b i

	for ((i = 0; i < 10; i++)); do
		a=$(wc -l <"$EVENTS" 2>/dev/null)
		sleep 0.3
		b=$(wc -l <"$EVENTS" 2>/dev/null)
		[ "$a" = "$b" ] && return 0
	done
}

check_fields() {
	local label="$1" lines="$2" bad

	bad=$(jq -c 'select((has("time") and has("event") and has("source") and
		has("destination") and has("port") and has("interface") and has("hook") and
		has("verdict") and has("reason") and has("count")) | not)' <<<"$lines")
	check_eq "$label: every line has time, event, source, destination, port, interface, hook, verdict, reason, count" "$bad" ""
	bad=$(jq -c 'select((.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")) and
		(.port | type) == "number" and (.count | type) == "number" and .count >= 1 and
		.interface == "srv0" and .hook == "xdp" | not)' <<<"$lines")
	check_eq "$label: time is RFC 3339 (ms, UTC), port and count numbers, interface srv0, hook xdp" "$bad" ""
}

aggregation() {
	local before after out n ms lines count sum max pkts app1_lines v6_lines

	before=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv0:xdp)
	out=$(burst app2 "${LAB_GW[relay_4]}" 25 "$BURST" "$BURST_MS")
	read -r n ms <<<"$out"
	check_eq "burst: $BURST SYNs sent by app2 (in ${ms:-?} ms)" "${n:-0}" "$BURST"
	events_settle
	after=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv0:xdp)
	# What app2's v4 burst put on the wire (retransmissions included,
	# should the machine stall a socket past its RTO).
	pkts=$(sg_delta "$before" "$after" drop untrusted_source packets)
	check_cmp "burst: the data plane counted every SYN (drop/untrusted_source packets: $pkts)" \
		"$pkts" -ge "$BURST"
	burst app1 "${LAB_GW[outside_4]}" 25 5 200 >/dev/null
	burst app2 "${LAB_GW[relay_6]}" 25 20 300 >/dev/null
	events_settle

	check "events.jsonl: every line is valid JSON" jq -e . "$EVENTS"
	lines=$(events_of '.event == "blocked" and .source == "'"${LAB_GW[app2_4]}"'"')
	count=$(grep -c . <<<"$lines")
	max=$(((ms + INTERVAL_MS - 1) / INTERVAL_MS + 2))
	check_cmp "aggregation: app2 (v4) has lines in events.jsonl" "$count" -ge 1
	check_cmp "aggregation: few lines for app2's $BURST SYNs: $count <= ${ms} ms / ${INTERVAL_MS} ms + 2 = $max" \
		"$count" -le "$max" || tap_diag "$lines"
	check_eq "aggregation: all of app2's lines are drop/untrusted_source to relay:25" \
		"$(jq -c 'select((.verdict == "drop" and .reason == "untrusted_source" and .destination == "'"${LAB_GW[relay_4]}"'" and .port == 25) | not)' <<<"$lines")" ""
	check_fields "aggregation" "$lines"
	sum=$(jq -s 'map(.count) | add // 0' <<<"$lines")
	check_cmp "aggregation: the counts add up to at most the packets sent ($sum <= $pkts)" \
		"$sum" -le "$pkts"
	check_cmp "aggregation: the counts add up to more than the lines ($sum > $count): aggregated" \
		"$sum" -gt "$count"
	check_cmp "aggregation: the counts cover most of the burst ($sum >= $BURST / 2)" \
		"$sum" -ge $((BURST / 2))

	app1_lines=$(events_of '.source == "'"${LAB_GW[app1_4]}"'" and .reason == "unapproved_relay"')
	check_match "unapproved relay: app1 -> outside:25 is reported" "$app1_lines" \
		'"destination":"'"${LAB_GW[outside_4]}"'","port":25,.*"verdict":"drop","reason":"unapproved_relay"'
	check_cmp "unapproved relay: in at most 2 lines" "$(grep -c . <<<"$app1_lines")" -le 2
	v6_lines=$(events_of '.source == "'"${LAB_GW[app2_6]}"'"')
	check_match "IPv6: app2's v6 burst is reported with its v6 address and destination" \
		"$v6_lines" '"destination":"'"${LAB_GW[relay_6]}"'","port":25'
	check_cmp "IPv6: 20 SYNs in at most 4 lines" "$(grep -c . <<<"$v6_lines")" -le 4
}

auto_ban() {
	local before after out t_ban t_unban line try audit_ban audit_expire

	before=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv0:xdp)
	# Fast, so that no token comes back during it (1/s).
	out=$(burst app1 "${LAB_GW[relay_4]}" 25 20 200)
	check_match "ban: app1 opens 20 connections in 0.2 s" "$out" "^20 "
	line=$(lab_daemon_wait_log "$NAME" "warning: banned ${LAB_GW[app1_4]} after repeated rate-limit violations" 3)
	t_ban=$(lab_now_ms)
	check_match "ban: the log says app1 is banned" "$line" "banned ${LAB_GW[app1_4]}"
	try=$(lab_tcp_try app1 "${LAB_GW[relay_4]}" 25 0.5)
	check_match "ban: app1 -> relay:25 is dropped while banned" "$try" "^timeout "
	events_settle
	check_match "ban: events.jsonl has an \"event\":\"ban\" line for app1" \
		"$(events_of '.event == "ban"')" '"source":"'"${LAB_GW[app1_4]}"'"'
	after=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv0:xdp)
	check_eq "ban: exactly 2 connections passed (the class's burst)" \
		"$(sg_delta "$before" "$after" pass trusted conns)" 2
	check_eq "ban: 5 violations were rate_limited (the ban's threshold)" \
		"$(sg_delta "$before" "$after" drop rate_limited conns)" 5
	check_cmp "ban: the rest were dropped as banned (>= 13)" \
		"$(sg_delta "$before" "$after" drop banned conns)" -ge 13
	audit_ban=$(jq -c 'select(.command == "ban.auto")' "$AUDIT" 2>/dev/null)
	check_match "ban: audit.jsonl has a ban.auto record for app1 (uid -1, ok)" "$audit_ban" \
		'"uid":-1,.*"command":"ban.auto","result":"ok","args":\{"addr":"'"${LAB_GW[app1_4]}"'"'

	line=$(lab_daemon_wait_log "$NAME" "notice: ban of ${LAB_GW[app1_4]} \(auto\) ended" 5)
	t_unban=$(lab_now_ms)
	check_match "unban: the log says the ban ended" "$line" "ban of ${LAB_GW[app1_4]} \(auto\) ended"
	if [ $((t_unban - t_ban)) -ge 1000 ] && [ $((t_unban - t_ban)) -le 4000 ]; then
		ok "unban: about duration_sec (2 s) after the ban ($((t_unban - t_ban)) ms)"
	else
		not_ok "unban: about duration_sec (2 s) after the ban" "$((t_unban - t_ban)) ms"
	fi
	events_settle
	check_match "unban: events.jsonl has an \"event\":\"unban\" line for app1 (auto)" \
		"$(events_of '.event == "unban"')" '"source":"'"${LAB_GW[app1_4]}"'","kind":"auto"'
	audit_expire=$(jq -c 'select(.command == "ban.expire")' "$AUDIT" 2>/dev/null)
	check_match "unban: audit.jsonl has a ban.expire record for app1" "$audit_expire" \
		'"command":"ban.expire","result":"ok","args":\{"addr":"'"${LAB_GW[app1_4]}"'","kind":"auto"\}'
	lab_tcp_expect 1 "after the ban" "app1 ${LAB_GW[relay_4]} 25 connected:220 relay"
}

main() {
	local t0 t1

	t0=$(lab_now_ms)
	e2e_daemon_lab jq python3
	lab_daemon_config "$NAME" if=srv0:xdp policy=- <<-EOF
	{
	  "ports": [25],
	  "scope": ["198.18.1.0/24", "2001:db8:1::/64"],
	  "relays": {"internal": [{"addr": "${LAB_GW[relay_4]}"}, {"addr": "${LAB_GW[relay_6]}"}]},
	  "rate_classes": {"tight": {"conn_per_sec": 1, "conn_burst": 2}},
	  "unregistered": {"action": "drop"},
	  "ban": {"violations": 5, "window_sec": 10, "duration_sec": 2},
	  "events": {"interval_sec": $((INTERVAL_MS / 1000)).$(printf '%03d' $((INTERVAL_MS % 1000)))},
	  "trusted": [
	    {"addr": "${LAB_GW[app1_4]}", "relays": ["internal"], "rate": "tight",
	     "ticket": "EV-1", "owner": "tests"}
	  ]
	}
	EOF
	lab_daemon_paths "$NAME" >/dev/null
	EVENTS="$LAB_DAEMON_LOG_DIR/events.jsonl"
	AUDIT="$LAB_DAEMON_LOG_DIR/audit.jsonl"
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"
	if lab_daemon_start gw "$NAME"; then
		ok "smtpgated starts (XDP on srv0, events every ${INTERVAL_MS} ms, bans after 5 violations)"
	else
		tap_bail "smtpgated does not start: $(lab_daemon_log "$NAME")"
	fi

	t1=$(lab_now_ms)
	aggregation
	tap_diag "aggregation: $(($(lab_now_ms) - t1)) ms"
	t1=$(lab_now_ms)
	auto_ban
	tap_diag "ban: $(($(lab_now_ms) - t1)) ms"

	lab_daemon_stop "$NAME"
	check_eq "SIGTERM: exit status 0" "$LAB_DAEMON_RC" 0
	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
