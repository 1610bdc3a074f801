#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Policy reload (SIGHUP) and `smtpgated --check`.
#
#   - a changed policy takes effect: trusting app2 as well lets it send
#     (v4, v6), generation 1 -> 2;
#   - an invalid policy is refused whole and the running one stays, for
#     each of: bad JSON, a bad prefix, an unknown relay group, a
#     world-writable policy file (0666), a symlink in place of the file.
#     Each bad policy is the first policy (app1 only) plus the defect, so
#     wrongly accepting it would show: app2 would be blocked.  Each time
#     the log names the problem and says "reload refused, the running
#     policy (generation 2) stays", and app2 still connects;
#     `--check` exits 1 with the error on stderr;
#   - a valid policy afterwards reloads as generation 3 (refusals did not
#     consume generations) and app2 is blocked again.
#
# Lab: lab_gw_build (tests/e2e/test_daemon_enforce.sh), XDP on srv0.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

NAME=rl
POLICY_A=""     # app1 trusted
POLICY_B=""     # app1 and app2 trusted

# check_cmd LABEL WANT_RC STDERR_REGEX: `smtpgated --check` on the
# current policy.
check_cmd() {
	local label="$1" want="$2" re="$3" err rc

	err=$(lab_daemon_cmd gw "$NAME" --check 2>&1 >"$LAB_DIR/check.out")
	rc=$?
	check_eq "$label: --check exits $want" "$rc" "$want" || tap_diag "$err" "$(<"$LAB_DIR/check.out")"
	if [ "$want" = 0 ]; then
		check_match "$label: --check says ok" "$(<"$LAB_DIR/check.out")" "policy.json: ok"
	else
		check_match "$label: --check names the problem on stderr" "$err" "$re"
		check_match "$label: --check says the policy is refused" "$err" "policy.json: refused"
	fi
}

# refused LABEL ERROR_REGEX: the policy file now in place is bad; a
# reload must be refused with ERROR_REGEX in the log, generation 2 kept,
# app2 still trusted.
refused() {
	local label="$1" re="$2" mark line rc

	check_cmd "$label" 1 "$re"
	mark=$(lab_daemon_mark "$NAME")
	line=$(lab_daemon_hup "$NAME")
	rc=$?
	check_eq "$label: SIGHUP reload is refused" "$rc" 1 || tap_diag "$line"
	check_match "$label: the log says the running policy (generation 2) stays" "$line" \
		"reload refused, the running policy \(generation 2\) stays"
	check_match "$label: the log names the problem" "$(lab_daemon_log_since "$NAME" "$mark")" "$re"
	lab_tcp_expect 1 "$label, old policy in force" \
		"app2 ${LAB_GW[relay_4]} 25 connected:220 relay" \
		"app1 ${LAB_GW[relay_4]} 25 connected:220 relay" \
		"app2 ${LAB_GW[outside_4]} 25 timeout"
}

# reloads LABEL POLICY WANT: POLICY is good: --check accepts it and a
# SIGHUP reload logs "policy reloaded: WANT".
reloads() {
	local label="$1" policy="$2" want="$3" line rc

	lab_daemon_policy "$NAME" "$policy"
	check_cmd "$label" 0 ""
	line=$(lab_daemon_hup "$NAME")
	rc=$?
	check_eq "$label: SIGHUP reloads it" "$rc" 0 || tap_diag "$line"
	check_match "$label: $want" "$line" "policy reloaded: $want"
}

main() {
	local t0 real

	t0=$(lab_now_ms)
	e2e_daemon_lab jq
	POLICY_A="$LAB_DIR/policy-a.json"
	POLICY_B="$LAB_DIR/policy-b.json"
	lab_gw_policy trust=app1 >"$POLICY_A"
	lab_gw_policy trust=app1,app2 >"$POLICY_B"
	lab_daemon_config "$NAME" if=srv0:xdp policy="$POLICY_A"
	lab_daemon_paths "$NAME" >/dev/null
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"

	check_cmd "policy A (app1)" 0 ""
	if lab_daemon_start gw "$NAME"; then
		ok "smtpgated starts with policy A (generation 1)"
	else
		tap_bail "smtpgated does not start: $(lab_daemon_log "$NAME")"
	fi
	lab_tcp_expect 1 "policy A" "app2 ${LAB_GW[relay_4]} 25 timeout" \
		"app1 ${LAB_GW[relay_4]} 25 connected:220 relay"

	# A good change.
	reloads "policy B (app1, app2)" "$POLICY_B" "generation 2, 4 trusted entries"
	lab_tcp_expect 1 "policy B" \
		"app2 ${LAB_GW[relay_4]} 25 connected:220 relay" \
		"app2 ${LAB_GW[relay_6]} 25 connected:220 relay" \
		"app2 ${LAB_GW[outside_4]} 25 timeout"

	# Bad ones: each is policy A plus one defect.
	head -c -20 "$POLICY_A" | lab_daemon_policy "$NAME" -
	refused "bad JSON" "error: policy.json: line [0-9]+, column [0-9]+: "

	jq '.trusted += [{"addr": "198.18.1.300", "relays": ["internal"], "ticket": "BAD-1", "owner": "t"}]' \
		"$POLICY_A" | lab_daemon_policy "$NAME" -
	refused "bad prefix" 'error: policy.json: trusted\[2\]\.addr: "198\.18\.1\.300" is not an IP prefix'

	jq '.trusted += [{"addr": "198.18.1.7", "relays": ["nosuch"], "ticket": "BAD-2", "owner": "t"}]' \
		"$POLICY_A" | lab_daemon_policy "$NAME" -
	refused "unknown relay group" \
		'error: policy.json: trusted\[2\]\.relays\[0\]: no relay group named "nosuch"'

	lab_daemon_policy "$NAME" "$POLICY_A"
	chmod 0666 "$LAB_DAEMON_POLICY"
	refused "world-writable policy file" \
		"error: $LAB_DAEMON_POLICY: is group- and world-writable \(mode 0666\)"

	real="$LAB_DIR/real-policy.json"
	cp "$POLICY_A" "$real" && chmod 0644 "$real"
	ln -sfn "$real" "$LAB_DAEMON_POLICY"
	refused "symlink as policy file" "error: $LAB_DAEMON_POLICY: is a symbolic link; refusing to follow it"

	# And a good one again.
	# Generation 3: the refusals used none.
	reloads "policy A again" "$POLICY_A" "generation 3, 2 trusted entries"
	lab_tcp_expect 1 "policy A again" \
		"app2 ${LAB_GW[relay_4]} 25 timeout" "app2 ${LAB_GW[relay_6]} 25 timeout" \
		"app1 ${LAB_GW[relay_4]} 25 connected:220 relay"
	check_eq "the log counts 5 refused reloads" \
		"$(lab_daemon_log "$NAME" | grep -c 'reload refused')" 5

	lab_daemon_stop "$NAME"
	check_eq "SIGTERM: exit status 0" "$LAB_DAEMON_RC" 0

	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
