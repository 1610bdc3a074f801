#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# smtpgated enforces the policy as written, with real TCP through a
# gateway, IPv4 and IPv6, first with XDP on the server-facing interface
# (srv0), then with TC egress on the gateway's uplink (up0): one daemon
# per hook, each stopped and detached before the next.
#
#   app1 (trusted) ---+
#   app2 -------------+- lan -- srv0 [gw] up0 -- relay (198.18.0.25: approved,
#                                                 198.18.0.99: "outside", not)
#
# For each hook, v4 and v6: app1 -> relay:25 connects; app2 -> relay:25 is
# dropped; app1 -> outside:25 is dropped (unapproved relay); port 443 is
# untouched for everybody; the counters of that attachment moved by
# exactly these verdicts; SIGTERM exits 0; --detach removes the hook.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

DROP_WAIT=1     # seconds a dropped SYN is given before "timed out"

# Without smtpgate every path of the test connects.
check_baseline() {
	local specs=() fam app

	for fam in 4 6; do
		for app in app1 app2; do
			specs+=("$app ${LAB_GW[relay_$fam]} 25 connected:220 relay"
				"$app ${LAB_GW[outside_$fam]} 25 connected:220 outside")
		done
	done
	lab_tcp_expect 2 "baseline (no smtpgate)" "${specs[@]}" ||
		tap_bail "the lab does not work; nothing below would mean anything"
}

# run_hook NAME IF HOOK: one daemon enforcing on IF:HOOK.
run_hook() {
	local name="$1" ifc="$2" hook="$3" before after fam specs=() moved rc out

	lab_daemon_config "$name" "if=$ifc:$hook" policy="$LAB_DIR/policy.json"
	lab_daemon_paths "$name" >/dev/null
	# Directly, not through check: a subshell could not collect its status.
	if lab_daemon_start gw "$name"; then
		ok "$hook: smtpgated starts with $ifc:$hook"
	else
		not_ok "$hook: smtpgated starts with $ifc:$hook" "$(lab_daemon_log "$name")"
		return
	fi
	check "$hook: the log says $ifc: $hook attached" \
		lab_daemon_wait_log "$name" "notice: $ifc: $hook attached" 1
	check "$hook: the log says the policy is applied (generation 1, 2 trusted entries)" \
		lab_daemon_wait_log "$name" "policy .* applied: generation 1, 2 trusted entries" 1
	if [ "$hook" = xdp ]; then
		check_match "$hook: ip link shows an XDP program on $ifc" \
			"$(lab_exec gw ip -d link show dev "$ifc")" "prog/xdp id [0-9]+ name sg_xdp"
	else
		check_match "$hook: tc shows smtpgate's filter (handle 0x5347) on $ifc egress" \
			"$(lab_exec gw tc filter show dev "$ifc" egress)" "handle 0x5347 sg_tc_egress"
	fi

	before=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" "$ifc:$hook")
	for fam in 4 6; do
		specs+=("app1 ${LAB_GW[relay_$fam]} 25 connected:220 relay"
			"app2 ${LAB_GW[relay_$fam]} 25 timeout"
			"app1 ${LAB_GW[outside_$fam]} 25 timeout"
			"app2 ${LAB_GW[relay_$fam]} 443 connected:443 relay"
			"app1 ${LAB_GW[outside_$fam]} 443 connected:443 outside")
	done
	lab_tcp_expect "$DROP_WAIT" "$hook" "${specs[@]}"
	after=$(sg_counters gw "$LAB_DAEMON_PIN_DIR" "$ifc:$hook")

	check_eq "$hook: pass/trusted counted exactly 2 connections (v4, v6)" \
		"$(sg_delta "$before" "$after" pass trusted conns)" 2
	check_cmp "$hook: the trusted sessions passed whole (>= 6 packets)" \
		"$(sg_delta "$before" "$after" pass trusted packets)" -ge 6
	check_cmp "$hook: drop/untrusted_source counted app2's SYNs (>= 2 connections)" \
		"$(sg_delta "$before" "$after" drop untrusted_source conns)" -ge 2
	check_cmp "$hook: drop/unapproved_relay counted app1's SYNs to outside (>= 2)" \
		"$(sg_delta "$before" "$after" drop unapproved_relay conns)" -ge 2
	# Port 443 is not governed: nothing else may have moved.
	moved=$(sg_moved "$before" "$after" | tr ' ' '\n' | sed 's/+.*//' | sort | tr '\n' ' ')
	check_eq "$hook: only these three counters moved (443 is not counted)" \
		"$moved" "drop/unapproved_relay drop/untrusted_source pass/trusted "

	lab_daemon_stop "$name"
	rc=$?
	check_eq "$hook: SIGTERM stops the daemon with status 0" "$rc" 0
	check_match "$hook: the log says enforcement stays" "$(lab_daemon_log "$name" --run)" \
		"SIGTERM: stopping; enforcement stays in force"
	lab_tcp_expect "$DROP_WAIT" "$hook, daemon stopped" \
		"app2 ${LAB_GW[relay_4]} 25 timeout" "app1 ${LAB_GW[relay_4]} 25 connected:220 relay"

	out=$(lab_daemon_detach gw "$name" 2>&1)
	rc=$?
	check_eq "$hook: smtpgated --detach exits 0" "$rc" 0
	check_match "$hook: --detach says so" "$out" "detached; outbound SMTP is no longer governed"
	check_eq "$hook: nothing of smtpgate left on $ifc, pin dir gone" \
		"$(lab_exec gw ip -d link show dev "$ifc" | grep -o 'prog/xdp.*')$(lab_exec gw tc filter show dev "$ifc" egress)$(ls -d "$LAB_DAEMON_PIN_DIR" 2>/dev/null)" ""
}

main() {
	local t0 t1

	t0=$(lab_now_ms)
	e2e_daemon_lab
	lab_gw_policy trust=app1 >"$LAB_DIR/policy.json"
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"
	check_baseline

	t1=$(lab_now_ms)
	run_hook enf-xdp srv0 xdp
	tap_diag "xdp: $(($(lab_now_ms) - t1)) ms"
	t1=$(lab_now_ms)
	run_hook enf-tc up0 tc-egress
	tap_diag "tc-egress: $(($(lab_now_ms) - t1)) ms"

	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
