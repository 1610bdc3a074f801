#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# smtpgated under valgrind (memcheck) for a whole life: start (XDP on
# srv0, TC egress on up0), a few data-plane events, a SIGHUP reload with a
# changed policy, a refused reload, audited control requests and an
# audit read, SIGTERM.  The exit status must be 0:
# no leak (definite or indirect), no memory error outside the libbpf
# false positives of tests/valgrind/libbpf.supp (valgrind exits 9
# otherwise).
#
# Lab: lab_gw_build (tests/e2e/test_daemon_enforce.sh).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

NAME=vg
SUPP="$E2E_REPO/tests/valgrind/libbpf.supp"

# The suppressions to use: tests/valgrind/libbpf.supp, with every Param
# suppression whose parameter name has a wildcard ("bpf(attr->*)")
# expanded into one copy per bpf() attribute name memcheck knows:
# memcheck compares Param names exactly (no wildcards), so the wildcard
# entry alone suppresses nothing.  Prints the file's path.
expanded_supp() {
	local out="$LAB_DIR/libbpf-expanded.supp" tool names

	tool=$(ls /usr/libexec/valgrind/memcheck-*-linux /usr/lib/*/valgrind/memcheck-*-linux \
		2>/dev/null | head -1)
	names=$([ -n "$tool" ] && strings "$tool" | grep -o 'bpf(attr->[a-z_.]*' | sort -u)
	[ -n "$names" ] || names=$(printf 'bpf(attr->%s\n' key value next_key flags map_fd \
		expected_attach_type prog_ifindex map_ifindex btf_fd btf_key_type_id \
		btf_value_type_id numa_node map_name inner_map_fd map_flags)
	awk -v names="$names" '
		BEGIN { n = split(names, name, "\n") }
		/^\{/ { block = $0 "\n"; param = ""; inblock = 1; line = 0; next }
		inblock && /^\}/ {
			block = block $0 "\n"; inblock = 0
			if (param == "") { printf "%s", block; next }
			for (i = 1; i <= n; i++) {
				b = block
				sub(/bpf\(attr->\*\)/, name[i] ")", b)
				printf "%s", b
			}
			next
		}
		inblock {
			line++
			if (line == 3 && prev ~ /Memcheck:Param/ && $0 ~ /\*/) param = $0
			prev = $0
			block = block $0 "\n"; next
		}
		{ print }
	' "$SUPP" >"$out"
	echo "$out"
}

main() {
	local t0 t1 vlog line rc supp

	t0=$(lab_now_ms)
	e2e_daemon_lab valgrind
	lab_gw_policy trust=app1 >"$LAB_DIR/policy-a.json"
	lab_gw_policy trust=app1,app2 >"$LAB_DIR/policy-b.json"
	lab_daemon_config "$NAME" if=srv0:xdp if=up0:tc-egress policy="$LAB_DIR/policy-a.json"
	lab_daemon_paths "$NAME" >/dev/null
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"

	vlog="$LAB_DIR/valgrind.log"
	supp=$(expanded_supp)
	tap_diag "suppressions: $SUPP, its bpf(attr->*) entries expanded into" \
		"$(grep -c '^{' "$supp") entries ($supp)"
	LAB_DAEMON_WRAPPER=(valgrind --leak-check=full "--errors-for-leak-kinds=definite,indirect"
		--error-exitcode=9 --suppressions="$supp" -s --log-file="$vlog")
	t1=$(lab_now_ms)
	# valgrind is slow: generous waits.
	if LAB_DAEMON_TIMEOUT=60 lab_daemon_start gw "$NAME"; then
		ok "smtpgated starts under valgrind ($(($(lab_now_ms) - t1)) ms)"
	else
		not_ok "smtpgated starts under valgrind" "$(lab_daemon_log "$NAME")" "$(tail -30 "$vlog")"
		tap_done
		exit 1
	fi
	LAB_DAEMON_WRAPPER=()

	# Events (ring buffer -> JSON) and enforcement while under valgrind.
	lab_tcp_expect 1 "policy A" "app2 ${LAB_GW[relay_4]} 25 timeout" \
		"app1 ${LAB_GW[relay_4]} 25 connected:220 relay"
	check "an event was written for app2" \
		lab_daemon_wait_log "$NAME" "info: srv0 ${LAB_GW[app2_4]} -> ${LAB_GW[relay_4]}:25 drop/untrusted_source" 10

	lab_daemon_policy "$NAME" "$LAB_DIR/policy-b.json"
	line=$(lab_daemon_hup "$NAME" 30)
	rc=$?
	check_eq "SIGHUP: the changed policy is reloaded" "$rc" 0 || tap_diag "$line"
	check_match "SIGHUP: the log shows the reload (generation 2)" "$line" \
		"policy reloaded: generation 2, 4 trusted entries"
	lab_tcp_expect 2 "policy B" "app2 ${LAB_GW[relay_4]} 25 connected:220 relay"

	printf '{"trusted": [' | lab_daemon_policy "$NAME" -
	line=$(lab_daemon_hup "$NAME" 30)
	rc=$?
	check_eq "SIGHUP with bad JSON: refused" "$rc" 1 || tap_diag "$line"

	# The control paths that record, take back and read audit records.
	lab_daemon_ctl "$NAME" ban add 198.51.100.7 --duration 1h >/dev/null
	check_eq "ban add under valgrind (recorded first)" "$?" 0
	lab_daemon_ctl "$NAME" ban add 198.51.100.0/24 >/dev/null 2>&1
	check_eq "an invalid ban add under valgrind is refused" "$?" 2
	lab_daemon_ctl "$NAME" ban del 198.51.100.7 >/dev/null
	check_eq "ban del under valgrind" "$?" 0
	check_eq "audit under valgrind: the records, read from the end" \
		"$(lab_daemon_ctl "$NAME" --json audit --limit 3 | jq -c '[.[] | [.command, .result]]')" \
		'[["ban.add","ok"],["ban.add","refused"],["ban.del","ok"]]'

	t1=$(lab_now_ms)
	lab_daemon_stop "$NAME" 60
	rc=$?
	check_eq "SIGTERM: exit status 0 under valgrind (no leak, no error)" "$rc" 0 ||
		tap_diag "$(grep -E -A12 'definitely lost in|indirectly lost in|Invalid|uninitialised|ERROR SUMMARY' "$vlog" | head -80)"
	tap_diag "stop took $(($(lab_now_ms) - t1)) ms; $(grep -h 'ERROR SUMMARY' "$vlog")"
	check_match "valgrind: no leaks reported as definite or indirect" \
		"$(grep -h -E 'definitely lost:|indirectly lost:|All heap blocks were freed' "$vlog" | tr '\n' ' ')" \
		"(definitely lost: 0 bytes.*indirectly lost: 0 bytes|All heap blocks were freed)"
	check_match "the daemon logged the reload and the stop" "$(lab_daemon_log "$NAME")" \
		"policy reloaded: generation 2.*"$'\n'".*SIGTERM: stopping"

	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
