#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The link watcher: smtpgated (XDP on srv0 and on srv1) keeps its hooks
# attached while interfaces come and go.
#
#   - srv0 (server-facing) is deleted and re-created with the same name
#     and MAC, then re-addressed: its XDP program is back (sampled every
#     50 ms over netlink; the delay is reported, typically well under a
#     second, and bounded only by a 30 s hang guard: no timing threshold), an untrusted connection is
#     dropped again and a trusted one passes (v4, v6), the counters
#     continue in the same slot, and the log records the removal and the
#     re-attach;
#   - three quick flaps in a row end attached and enforcing too;
#   - srv1 does not exist when the daemon starts (the log says it will be
#     attached when it appears); created later (towards a third server,
#     app3 198.18.2.5), it gets its program and app3's mail is dropped.
#
# Lab: lab_gw_build (tests/e2e/test_daemon_enforce.sh), plus app3 on srv1.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

NAME=lf
WATCH_MS=30000  # a hang guard for the re-attach, not a performance check
GW=""
LAN=""
MAC=""

# The srv0 <-> lan:p-gw veth again, with srv0's old MAC (so the servers'
# neighbour entries stay right), p-gw back on the bridge.
create_srv0() {
	ip -n "$GW" link add srv0 address "$MAC" type veth peer name p-gw netns "$LAN" &&
		ip -n "$GW" link set srv0 up &&
		ip -n "$LAN" link set p-gw master br0 up
}

# wait_attached IF T0 WATCHFILE LABEL: checks that the watcher (started
# before IF appeared, --until-attached) saw a program on IF after T0 (the
# moment IF was created), and says how long after.
wait_attached() {
	local ifc="$1" t0="$2" file="$3" label="$4" wpid="$5" t id

	wait "$wpid"
	read -r t id <<<"$(tail -n 1 "$file")"
	if [[ "$id" =~ ^[1-9][0-9]*$ ]]; then
		ok "$label: $ifc has an XDP program again, $((t - t0)) ms after it appeared"
	else
		not_ok "$label: $ifc has an XDP program again (watched for $WATCH_MS ms)" \
			"created at $t0; samples:" "$(cat "$file")"
	fi
}

# watch_start IF FILE: an --until-attached watcher of IF; sets WATCH_PID
# once it has taken its first sample.
watch_start() {
	local i

	lab_xdp_watch gw "$1" "$WATCH_MS" 50 --until-attached >"$2" &
	WATCH_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$2" ] && return 0
		sleep 0.05
	done
}

flap_once() {
	local mark t0 before after file="$LAB_DIR/watch.flap1"

	before=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv0:xdp)
	mark=$(lab_daemon_mark "$NAME")
	check "flap: srv0 is deleted" ip -n "$GW" link del srv0
	check "flap: the log says srv0 was removed" \
		lab_daemon_wait_log "$NAME" "warning: srv0: interface removed; enforcement resumes when it returns" 2 "$mark"
	watch_start srv0 "$file"
	t0=$(lab_now_ms)
	check "flap: srv0 is created again (same name and MAC)" create_srv0
	wait_attached srv0 "$t0" "$file" flap "$WATCH_PID"
	check "flap: the log says srv0's xdp was attached again" \
		lab_daemon_wait_log "$NAME" "notice: srv0: xdp attached" 1 "$mark"
	check_eq "flap: one removal and one attach logged (no more)" \
		"$(lab_daemon_log_since "$NAME" "$mark" | grep -cE 'srv0: (interface removed|xdp attached)')" 2
	lab_gw_address_srv0
	lab_tcp_expect 1 "after the flap" \
		"app2 ${LAB_GW[relay_4]} 25 timeout" "app2 ${LAB_GW[relay_6]} 25 timeout" \
		"app1 ${LAB_GW[relay_4]} 25 connected:220 relay" \
		"app1 ${LAB_GW[relay_6]} 25 connected:220 relay"
	after=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv0:xdp)
	check_eq "flap: counters continue in the same slot (pass/trusted +2 on the old count)" \
		"$(sg_field "$after" pass trusted conns)" $(($(sg_field "$before" pass trusted conns) + 2))
	check_cmp "flap: drop/untrusted_source grew by app2's SYNs" \
		"$(sg_delta "$before" "$after" drop untrusted_source conns)" -ge 2
}

flap_quickly() {
	local mark t0 i ok_all=1 file="$LAB_DIR/watch.flap3"

	mark=$(lab_daemon_mark "$NAME")
	for ((i = 0; i < 3; i++)); do
		ip -n "$GW" link del srv0 || ok_all=0
		if [ "$i" -eq 2 ]; then
			watch_start srv0 "$file"
			t0=$(lab_now_ms)
		fi
		create_srv0 || ok_all=0
	done
	check_eq "3 quick flaps: srv0 deleted and created three times" "$ok_all" 1
	wait_attached srv0 "$t0" "$file" "3 quick flaps" "$WATCH_PID"
	check_cmp "3 quick flaps: the log records removals" \
		"$(lab_daemon_log_since "$NAME" "$mark" | grep -c 'srv0: interface removed')" -ge 1
	lab_gw_address_srv0
	lab_tcp_expect 1 "after 3 quick flaps" \
		"app2 ${LAB_GW[relay_4]} 25 timeout" "app1 ${LAB_GW[relay_4]} 25 connected:220 relay"
}

late_interface() {
	local mark t0 before after file="$LAB_DIR/watch.srv1"

	lab_ns app3 >/dev/null
	mark=$(lab_daemon_mark "$NAME")
	watch_start srv1 "$file"
	t0=$(lab_now_ms)
	lab_link gw srv1 app3 eth0
	wait_attached srv1 "$t0" "$file" "late interface" "$WATCH_PID"
	check "late interface: the log says srv1's xdp was attached" \
		lab_daemon_wait_log "$NAME" "notice: srv1: xdp attached" 1 "$mark"
	lab_addr gw srv1 198.18.2.1/24
	lab_addr gw srv1 2001:db8:2::1/64
	lab_addr app3 eth0 198.18.2.5/24
	lab_addr app3 eth0 2001:db8:2::5/64
	lab_route app3 default 198.18.2.1
	lab_route app3 default 2001:db8:2::1
	before=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv1:xdp)
	lab_tcp_expect 1 "late interface" \
		"app3 ${LAB_GW[relay_4]} 25 timeout" "app3 ${LAB_GW[relay_6]} 25 timeout" \
		"app3 ${LAB_GW[relay_4]} 443 connected:443 relay"
	after=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" srv1:xdp)
	check_cmp "late interface: srv1's own counters: drop/untrusted_source (>= 2 connections)" \
		"$(sg_delta "$before" "$after" drop untrusted_source conns)" -ge 2
}

main() {
	local t0 t1

	t0=$(lab_now_ms)
	e2e_daemon_lab
	GW=$(lab_nsname gw)
	LAN=$(lab_nsname lan)
	MAC=$(ip -n "$GW" -o link show srv0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
	[ -n "$MAC" ] || tap_bail "cannot read srv0's MAC"
	lab_gw_policy trust=app1 scope=198.18.2.0/24,2001:db8:2::/64 >"$LAB_DIR/policy.json"
	lab_daemon_config "$NAME" if=srv0:xdp if=srv1:xdp policy="$LAB_DIR/policy.json"
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"
	if lab_daemon_start gw "$NAME"; then
		ok "smtpgated starts (XDP on srv0; srv1 configured but absent)"
	else
		tap_bail "smtpgated does not start: $(lab_daemon_log "$NAME")"
	fi
	lab_daemon_paths "$NAME" >/dev/null
	check "start: the log says srv1 will be attached when it appears" \
		lab_daemon_wait_log "$NAME" "warning: srv1: no such interface yet; xdp will be attached when it appears" 1
	lab_tcp_expect 1 "before" "app2 ${LAB_GW[relay_4]} 25 timeout" \
		"app1 ${LAB_GW[relay_4]} 25 connected:220 relay"

	t1=$(lab_now_ms)
	flap_once
	tap_diag "flap: $(($(lab_now_ms) - t1)) ms"
	t1=$(lab_now_ms)
	flap_quickly
	tap_diag "3 quick flaps: $(($(lab_now_ms) - t1)) ms"
	t1=$(lab_now_ms)
	late_interface
	tap_diag "late interface: $(($(lab_now_ms) - t1)) ms"
	check_eq "no error in the daemon's log" "$(lab_daemon_log "$NAME" | grep -c 'error:')" 0 ||
		tap_diag "$(lab_daemon_log "$NAME")"

	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
