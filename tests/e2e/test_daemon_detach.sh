#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# `smtpgated --detach` is the only way enforcement stops, and it stops it
# completely.
#
#   - smtpgated enforces with XDP on srv0 and TC egress on up0; a SIGTERM
#     leaves both in force;
#   - `--detach` (exit 0) removes everything: no XDP program on srv0, no
#     TC filter at smtpgate's handle 0x5347 on up0, the pin dir gone, and
#     the untrusted server's mail flows (v4, v6); a second --detach is a
#     harmless no-op;
#   - pins removed by hand (no daemon): the XDP link goes with its pin,
#     the TC filter stays, and --detach removes that leftover filter;
#   - --detach while the daemon still runs must not leave a half state:
#     either it is refused (enforcement intact) or it is complete and
#     stays so (the daemon must not put hooks back without pins).
#
# Lab: lab_gw_build (tests/e2e/test_daemon_enforce.sh).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

NAME=dt

# What smtpgate has on the gateway: "xdp=<id|none> tc=<yes|no> pins=<yes|no>".
state() {
	local id tc=no pins=no

	id=$(lab_xdp_prog_id gw srv0)
	lab_exec gw tc filter show dev up0 egress | grep -q "handle 0x5347" && tc=yes
	[ -e "$LAB_DAEMON_PIN_DIR" ] && pins=yes
	echo "xdp=${id:-none} tc=$tc pins=$pins"
}

start_daemon() {
	if lab_daemon_start gw "$NAME"; then
		ok "$1: smtpgated starts (XDP on srv0, TC egress on up0)"
		return 0
	fi
	not_ok "$1: smtpgated starts (XDP on srv0, TC egress on up0)" "$(lab_daemon_log "$NAME" --run)"
	return 1
}

stopped_then_detached() {
	local out rc fam specs=()

	start_daemon "stop, then detach" || return
	check_match "enforcing: XDP on srv0, TC filter on up0, pins" "$(state)" \
		"^xdp=[0-9]+ tc=yes pins=yes$"
	lab_tcp_expect 1 "enforcing" "app2 ${LAB_GW[relay_4]} 25 timeout" \
		"app2 ${LAB_GW[relay_6]} 25 timeout" "app1 ${LAB_GW[relay_4]} 25 connected:220 relay"

	lab_daemon_stop "$NAME"
	check_eq "SIGTERM: exit status 0" "$LAB_DAEMON_RC" 0
	check_match "SIGTERM: XDP, TC filter and pins all stay" "$(state)" \
		"^xdp=[0-9]+ tc=yes pins=yes$"
	lab_tcp_expect 1 "daemon stopped" "app2 ${LAB_GW[relay_4]} 25 timeout"

	out=$(lab_daemon_detach gw "$NAME" 2>&1)
	rc=$?
	check_eq "--detach exits 0" "$rc" 0 || tap_diag "$out"
	check_match "--detach says enforcement is off" "$out" \
		"detached; outbound SMTP is no longer governed on this host"
	check_eq "--detach: no XDP program on srv0, no filter 0x5347 on up0, pin dir gone" \
		"$(state)" "xdp=none tc=no pins=no"
	check_eq "--detach: nothing at all left on up0's egress" \
		"$(lab_exec gw tc filter show dev up0 egress)" ""
	for fam in 4 6; do
		specs+=("app2 ${LAB_GW[relay_$fam]} 25 connected:220 relay"
			"app1 ${LAB_GW[outside_$fam]} 25 connected:220 outside"
			"app1 ${LAB_GW[relay_$fam]} 25 connected:220 relay")
	done
	lab_tcp_expect 2 "after --detach (flows freely)" "${specs[@]}"

	out=$(lab_daemon_detach gw "$NAME" 2>&1)
	rc=$?
	check_eq "--detach again: exit 0 (nothing to do)" "$rc" 0
	check_match "--detach again: says nothing is pinned" "$out" "nothing pinned at $LAB_DAEMON_PIN_DIR"
}

pins_removed_by_hand() {
	local out rc

	start_daemon "pins removed by hand" || return
	lab_daemon_kill9 "$NAME"
	rm -rf -- "$LAB_DAEMON_PIN_DIR"
	# The XDP link was held by its pin (and the dead daemon): gone now.
	check_match "pins removed by hand: XDP gone with its pin, TC filter left behind" \
		"$(state)" "^xdp=none tc=yes pins=no$"
	out=$(lab_daemon_detach gw "$NAME" 2>&1)
	rc=$?
	check_eq "pins removed by hand: --detach exits 0" "$rc" 0 || tap_diag "$out"
	check_match "pins removed by hand: --detach removed the leftover TC filter" "$out" \
		"up0: removed a leftover TC filter"
	check_eq "pins removed by hand: nothing left" "$(state)" "xdp=none tc=no pins=no"
	lab_tcp_expect 2 "pins removed by hand, after --detach" \
		"app2 ${LAB_GW[relay_4]} 25 connected:220 relay"
}

detach_while_running() {
	local out rc s mark

	start_daemon "detach while running" || return
	mark=$(lab_daemon_mark "$NAME")
	out=$(lab_daemon_detach gw "$NAME" 2>&1)
	rc=$?
	# The daemon's safety net looks at its hooks every 5 s.
	sleep 6
	s=$(state)
	if [ "$rc" -ne 0 ]; then
		check_match "detach while running: refused, so everything is still in force" \
			"$s" "^xdp=[0-9]+ tc=yes pins=yes$"
		lab_tcp_expect 1 "detach while running (refused)" \
			"app2 ${LAB_GW[relay_4]} 25 timeout"
	else
		check_eq "detach while running: done, and 6 s later still nothing is attached" \
			"$s" "xdp=none tc=no pins=no" ||
			tap_diag "the daemon, meanwhile: $(lab_daemon_log_since "$NAME" "$mark" |
				grep -E 'error|attached' | tr '\n' ' ')"
	fi
	lab_daemon_stop "$NAME"
	check_eq "detach while running: the daemon still stops with status 0" "$LAB_DAEMON_RC" 0
	[ "$rc" -eq 0 ] || tap_diag "--detach said: $out"
}

main() {
	local t0

	t0=$(lab_now_ms)
	e2e_daemon_lab
	lab_gw_policy trust=app1 >"$LAB_DIR/policy.json"
	lab_daemon_config "$NAME" if=srv0:xdp if=up0:tc-egress policy="$LAB_DIR/policy.json"
	lab_daemon_paths "$NAME" >/dev/null
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"

	stopped_then_detached
	pins_removed_by_hand
	detach_while_running

	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
