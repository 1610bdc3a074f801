#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# events.jsonl on a full disk: events come from packets, so a write that
# fails must neither be reported as written nor flood the log, and must
# not leave half a line for the next one to glue onto.
#
#   - the log dir is a small tmpfs; an event is written and counted in
#     smtpgate_events_written_total;
#   - the tmpfs is filled: rejected connections still make events, but
#     the counter stays where it was, events.jsonl stays whole JSON lines,
#     and the daemon logs the failure once, not once per event;
#   - space is freed: the next event is written and counted, and the log
#     says how many were not written.
#
# Lab: lab_gw_build (tests/e2e/test_daemon_enforce.sh), unregistered
# sources rejected (a RST: each try is quick), events every 0.1 s.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

NAME=evfull
URL="http://127.0.0.1:9725/metrics"

e2e_daemon_lab curl jq
lab_daemon_config "$NAME" if=srv0:xdp metrics=127.0.0.1:9725 policy=- <<<"$(
	lab_gw_policy action=reject | jq '. + {events: {interval_sec: 0.1}}')"
lab_daemon_paths "$NAME" >/dev/null
LOGD="$LAB_DAEMON_LOG_DIR"
EVENTS="$LOGD/events.jsonl"
mkdir -p "$LOGD" && mount -t tmpfs -o size=64k,mode=0750 "sgt-$LAB_PREFIX" "$LOGD" ||
	tap_bail "cannot mount a tmpfs on $LOGD"
lab_on_exit umount -l "$LOGD"

written() {
	lab_exec gw curl -sS --max-time 5 "$URL" | awk '$1 == "smtpgate_events_written_total" { print $2 }'
}

# One rejected connection from the unregistered app2, then a pause
# longer than the event interval, so the next one is a new event.
reject_one() {
	lab_tcp_try app2 "${LAB_GW[relay_4]}" 25 1 >/dev/null
	sleep 0.3
}

# wait_for CMD...: up to 3 s for CMD to succeed.
wait_for() {
	local i

	for ((i = 0; i < 30; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# /metrics is rendered from a snapshot, so the counter may trail the file.
written_above() {
	[ "$(written)" -gt "$1" ] 2>/dev/null
}

lines_at_least() {
	[ "$(grep -c . "$EVENTS" 2>/dev/null)" -ge "$1" ]
}

lab_daemon_start gw "$NAME" || tap_bail "smtpgated did not start"
reject_one
wait_for lines_at_least 1 || tap_diag "no event line after a rejected connection"
w0=$(written)
check_cmp "an event is written and counted" "${w0:-0}" -ge 1

# Fill the disk.  The events file is padded first (with a valid line) to
# a whole number of pages, so no partly used page is left to write into.
size=$(stat -c %s "$EVENTS")
pad=$(((4096 - size % 4096) % 4096))
[ "$pad" -lt 12 ] && pad=$((pad + 4096))
printf '{"pad":"%s"}\n' "$(head -c $((pad - 11)) /dev/zero | tr '\0' x)" >>"$EVENTS"
dd if=/dev/zero of="$LOGD/fill" bs=1k >/dev/null 2>&1
lines0=$(grep -c . "$EVENTS")
mark=$(lab_daemon_mark "$NAME")
for i in 1 2 3 4; do
	reject_one
done
sleep 1.2   # a tick: the ring buffer is read at least once a second
check_eq "disk full: events that could not be written are not counted as written" \
	"$(written)" "$w0"
check_eq "disk full: nothing was appended" "$(grep -c . "$EVENTS")" "$lines0"
check "disk full: events.jsonl is still whole JSON lines" jq -e . "$EVENTS"
log=$(lab_daemon_log_since "$NAME" "$mark")
check_eq "disk full: the failure is logged once, not once per event" \
	"$(grep -c "cannot write events (No space left on device)" <<<"$log")" 1

rm -f "$LOGD/fill"
mark=$(lab_daemon_mark "$NAME")
reject_one
wait_for lines_at_least $((lines0 + 1))
wait_for written_above "$w0"
check_cmp "space again: the next event is written and counted" "$(written)" -gt "$w0"
check "space again: events.jsonl is whole JSON lines" jq -e . "$EVENTS"
check_match "space again: the log says how many were not written" \
	"$(lab_daemon_log_since "$NAME" "$mark")" \
	"notice: $EVENTS: writing events again; [1-9][0-9]* were not written"

tap_done
