#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# An upgrade to a build of another ABI (SG_ABI_VERSION), as
# docs/operations.md ("Upgrade") and docs/packaging.md say it goes:
#
#   - the running daemon (XDP on srv0, app1 trusted, one approval) is
#     stopped; its pins stay and keep enforcing;
#   - the pins are made to look like the previous ABI's (sg_meta's
#     abi_version one lower), which is what a new build finds after a
#     package upgrade across an ABI change;
#   - the new daemon refuses to start on them, says which ABIs and what
#     to do, and changes nothing: the old programs keep enforcing (app1
#     connects, app2 does not), the pins are all still there;
#   - `--detach` of the new build refuses them too, changing nothing;
#   - removed by hand as the docs say (the pin dir, then the XDP program),
#     the new daemon starts on fresh pins: app1 connects, app2 does not,
#     and the approval is back from approvals.json.
#
# Lab: tests/e2e/test_daemon_enforce.sh's (lab_gw_build).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

NAME=abi
APPROVED=198.18.1.99

abi_version() {
	awk '$1 == "#define" && $2 == "SG_ABI_VERSION" { print $3 }' \
		"$E2E_REPO/include/smtpgate/abi.h"
}

# set_pinned_abi PIN N: sg_meta[0].abi_version = N, the rest kept.
set_pinned_abi() {
	local map="$1/sg_meta" bytes=()

	mapfile -t bytes < <(bpftool -j map lookup pinned "$map" key 0 0 0 0 | jq -r '.value[]')
	[ "${#bytes[@]}" -eq 16 ] || return 1
	printf -v bytes[0] '0x%02x' $(($2 & 255))
	printf -v bytes[1] '0x%02x' $((($2 >> 8) & 255))
	printf -v bytes[2] '0x%02x' $((($2 >> 16) & 255))
	printf -v bytes[3] '0x%02x' $((($2 >> 24) & 255))
	bpftool map update pinned "$map" key 0 0 0 0 value "${bytes[@]}"
}

pin_names() {
	find "$LAB_DAEMON_PIN_DIR" -mindepth 1 -printf '%P\n' | sort
}

expect_enforcing() {
	lab_tcp_expect 1 "$1" "app1 ${LAB_GW[relay_4]} 25 connected:220 relay" \
		"app2 ${LAB_GW[relay_4]} 25 timeout"
}

main() {
	local t0 abi pins log out rc

	t0=$(lab_now_ms)
	e2e_daemon_lab
	abi=$(abi_version)
	[[ "$abi" =~ ^[0-9]+$ ]] || tap_bail "cannot read SG_ABI_VERSION from abi.h"
	lab_gw_policy trust=app1 >"$LAB_DIR/policy.json"
	lab_daemon_config "$NAME" if=srv0:xdp policy="$LAB_DIR/policy.json"
	lab_daemon_start gw "$NAME" || tap_bail "smtpgated does not start: $(lab_daemon_log "$NAME")"
	lab_daemon_paths "$NAME" >/dev/null
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms; this build is ABI $abi"
	check "an approval is made" lab_daemon_ctl "$NAME" trust add "$APPROVED" \
		--relay internal --ticket CHG-ABI --owner upgrade-test
	expect_enforcing "before the upgrade"

	lab_daemon_stop "$NAME"
	check_eq "the old daemon stops (exit 0); its pins stay" "$LAB_DAEMON_RC" 0
	pins=$(pin_names)
	check "the pins now say ABI $((abi - 1))" set_pinned_abi "$LAB_DAEMON_PIN_DIR" $((abi - 1))

	log=$(lab_daemon_mark "$NAME")
	if lab_daemon_start gw "$NAME" 2>/dev/null; then
		not_ok "the new daemon refuses the previous ABI's pins" "it started"
		lab_daemon_stop "$NAME"
	else
		ok "the new daemon refuses the previous ABI's pins (exit $LAB_DAEMON_RC)"
	fi
	check_match "... and says which ABIs, and what to do" \
		"$(lab_daemon_log_since "$NAME" "$log")" \
		"are smtpgate ABI $((abi - 1)), this build is ABI $abi"
	check_eq "... the pins are all still there" "$(pin_names)" "$pins"
	expect_enforcing "refused start: the old programs keep enforcing"

	out=$(lab_daemon_detach gw "$NAME" 2>&1)
	rc=$?
	check_cmp "--detach of the new build refuses them too (exit $rc)" "$rc" -ne 0
	check_match "... saying why" "$out" "ABI $((abi - 1))"
	check_eq "... the pins are all still there" "$(pin_names)" "$pins"
	expect_enforcing "refused detach: still enforcing"

	# By hand, as docs/packaging.md says: the pins, then the program.
	rm -r "$LAB_DAEMON_PIN_DIR"
	lab_exec gw ip link set dev srv0 xdp off
	lab_tcp_expect 1 "removed by hand: nothing enforces" \
		"app2 ${LAB_GW[relay_4]} 25 connected:220 relay"
	if lab_daemon_start gw "$NAME"; then
		ok "the new daemon starts on fresh pins"
	else
		tap_bail "the new daemon does not start on fresh pins: $(lab_daemon_log "$NAME" | tail -5)"
	fi
	expect_enforcing "after the upgrade"
	check_match "the approval is back (approvals.json)" \
		"$(lab_daemon_ctl "$NAME" --json trust list | jq -r '.[] | select(.ticket == "CHG-ABI") | .prefix')" "^$APPROVED(/32)?$"
	lab_daemon_stop "$NAME"
	check_eq "SIGTERM: exit status 0" "$LAB_DAEMON_RC" 0
	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
