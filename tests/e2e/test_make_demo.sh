#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# `make demo` as CI runs it, with stdin not a terminal (so the demo runs
# non-interactively; DEMO_ARGS adds --ci and this run's prefix).  The
# packages are installed and the build is up to date by then, so make's
# own steps are no-ops.
#
#   - it exits 0 within 2 minutes, without waiting for input, and
#     without a shell error on the way;
#   - it tells the story: the seven step headers, the delivered message,
#     the counters and the audit record are printed;
#   - its summary table has exactly the story's rows, each "ok", and ends
#     with "demo: 15 of 15 steps as expected";
#   - nothing is left behind: no namespace, pin dir or scratch dir with
#     the run's prefix, no process of it (Postfix, smtpgated, smtp-sink);
#   - --up leaves a working lab (mail is delivered, smtpgated answers)
#     and says how to remove it; --teardown removes all of it.
#
# Each run uses its own prefix: safe to run twice and in parallel.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

LAB="$E2E_REPO/scripts/lab.sh"
DEMO_PREFIX="sgmd$$"
UP_PREFIX="sgmu$$"
OUT=$(mktemp -d /tmp/smtpgate-test-make-demo.XXXXXX)
UP_TORN_DOWN=0

cleanup() {
	# Should the test die with the --up lab still there.
	[ "$UP_TORN_DOWN" = 1 ] || timeout -k 5 60 "$LAB" --teardown "$UP_PREFIX" >/dev/null 2>&1
	rm -rf -- "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The story's rows: step|what|expected|got.
ROWS=(
	"1|app1 (registered) -> relay, IPv4|delivered|delivered"
	"1|app1 (registered) -> relay, IPv6|delivered|delivered"
	"2|app2 (unregistered) -> relay, IPv4|rejected|rejected"
	"2|app2 (unregistered) -> relay, IPv6|rejected|rejected"
	"3|app1 -> outside host (unapproved), IPv4|dropped|dropped"
	"3|app1 -> outside host (unapproved), IPv6|dropped|dropped"
	"4|trust add app2 (IPv4, CHG-2041)|exit 0|exit 0"
	"4|trust add app2 (IPv6, CHG-2041)|exit 0|exit 0"
	"4|app2 (approved) -> relay, IPv4|delivered|delivered"
	"4|app2 (approved) -> relay, IPv6|delivered|delivered"
	"5|app3 bursts 12 messages -> relay|limited|limited"
	"5|app3 is banned automatically|banned|banned"
	"5|app3 (banned) -> relay, IPv4|dropped|dropped"
	"6|smtpgatectl stats = /metrics|match|match"
	"7|audit log has the approval (CHG-2041)|recorded|recorded"
)

# leftovers PREFIX: everything of a lab with PREFIX still on the machine,
# one line each; empty when it is all gone.
leftovers() {
	local p="$1" f pid cmd env

	for f in /run/netns/"$p"* /sys/fs/bpf/"$p"* /tmp/smtpgate-lab-"$p"*; do
		[ -e "$f" ] && echo "left: $f"
	done
	# Processes: Postfix's (MAIL_CONFIG names the lab's config dir) and
	# anything whose command line names the lab's scratch dir (smtpgated
	# --config, smtp-sink -d).  Compared in bash: a grep would find itself.
	for f in /proc/[0-9]*; do
		pid="${f#/proc/}"
		cmd=$(tr '\0' ' ' 2>/dev/null <"$f/cmdline")
		env=$(tr '\0' '\n' 2>/dev/null <"$f/environ")
		if [[ "$cmd" == *"smtpgate-lab-$p"* ]] || [[ "$env" == *"MAIL_CONFIG=/tmp/smtpgate-lab-$p"* ]]; then
			echo "process $pid: $cmd"
		fi
	done
}

check_demo() {
	local t0 ms rc out row step what want got line table n

	t0=$(lab_now_ms)
	# make itself, as a user types it: packages (a no-op here), the
	# build (up to date), then the demo, non-interactive (no terminal).
	timeout -k 5 150 make -C "$E2E_REPO" --no-print-directory demo BUILD="$BUILD" \
		DEMO_ARGS="--ci --prefix $DEMO_PREFIX" </dev/null >"$OUT/demo.out" 2>&1
	rc=$?
	ms=$(($(lab_now_ms) - t0))
	# The demo's own output starts after make's command lines.
	out=$(sed -n '/^smtpgate demo: /,$p' "$OUT/demo.out")
	check_eq "make demo exits 0" "$rc" 0 || tap_diag "$(tail -40 "$OUT/demo.out")"
	check_cmp "... in under 2 minutes (${ms} ms)" "$ms" -lt 120000
	# A script error inside $(...) does not stop the demo, only garbles it.
	check_eq "no shell errors in its output" \
		"$(grep -E 'unbound variable|command not found|syntax error|\.sh: line [0-9]+:' "$OUT/demo.out")" ""
	check_match "it starts with the lab's prefix" "$(head -1 <<<"$out")" \
		"^smtpgate demo: lab ${DEMO_PREFIX}[r0-9]*, IPv4 and IPv6$"
	for step in "1. A registered server sends mail through the approved relay" \
		"2. An unregistered server tries the relay" \
		"3. A registered server tries to reach an outside mail host directly" \
		"4. The firewall team approves app2" "5. A registered server sends too fast" \
		"6. The counters" "7. The audit log"; do
		check_match "step header: $step" "$out" "== ${step//./\\.} =="
	done
	check_match "it shows the delivered message's Received: header" "$out" \
		"the message arrived: relay:postfix-relay/mail/ops/new/"
	check_match "it shows the approval command" "$out" \
		'firewall-team\$ smtpgatectl trust add 198\.18\.1\.12 --relay internal --ticket CHG-2041'
	check_match "it shows smtpgatectl stats" "$out" 'INTERFACE +HOOK +VERDICT +REASON +PACKETS'
	check_match "it shows /metrics" "$out" \
		'smtpgate_connections_total\{interface="srv0",hook="xdp",verdict="reject",reason="untrusted_source"\} 2'
	check_match "it shows the audit record" "$out" 'trust\.add +CHG-2041 +ok'

	table=$(sed -n '/^== Summary ==$/,/^demo: /p' "$OUT/demo.out")
	check_match "a summary table follows the story" "$table" \
		'^== Summary ==
  step what +expected +got'
	for row in "${ROWS[@]}"; do
		IFS='|' read -r step what want got <<<"$row"
		line=$(printf '  %-4s %-44s %-10s %-10s %s' "$step" "$what" "$want" "$got" ok)
		check "summary row: $step | $what | $want | $got | ok" grep -qxF -- "$line" <<<"$table"
	done
	n=$(grep -cE '^  [0-9] ' <<<"$table")
	check_eq "the summary has exactly ${#ROWS[@]} rows" "$n" "${#ROWS[@]}"
	check_eq "no row failed" "$(grep -cE ' FAIL$' <<<"$table")" 0
	check_match "the last line counts them" "$(tail -1 <<<"$table")" \
		"^demo: ${#ROWS[@]} of ${#ROWS[@]} steps as expected, in [0-9]+ s$"
	check_eq "nothing of the demo is left (namespaces, pins, scratch dir, processes)" \
		"$(leftovers "$DEMO_PREFIX")" ""
}

check_up_teardown() {
	local rc out sock line

	BUILD="$BUILD" timeout -k 5 90 "$LAB" --up --prefix "$UP_PREFIX" </dev/null >"$OUT/up.out" 2>&1
	rc=$?
	out=$(cat "$OUT/up.out")
	check_eq "scripts/lab.sh --up exits 0" "$rc" 0 || tap_diag "$(tail -30 "$OUT/up.out")"
	check_match "... and says how to tear it down" "$out" \
		"scripts/lab\\.sh --teardown ${UP_PREFIX}[r0-9]*"
	check_eq "the lab is up: 7 namespaces" "$(compgen -G "/run/netns/$UP_PREFIX-*" | grep -c .)" 7
	check_match "Postfix, smtpgated and smtp-sink run" \
		"$(leftovers "$UP_PREFIX" | grep '^process' | grep -oE 'smtpgated|smtp-sink|postfix/sbin/master' | sort -u | paste -sd ' ')" \
		"^postfix/sbin/master smtp-sink smtpgated$"
	line=$(grep -m1 -- '--socket .* status$' <<<"$out")
	sock=$(sed -n 's/.*--socket \([^ ]*\) status$/\1/p' <<<"$line")
	check "smtpgatectl status answers on the kept lab's socket" \
		timeout 10 "$BUILD/smtpgatectl" --socket "${sock:-/nonexistent}" status
	check_match "a registered server's mail is delivered in the kept lab" \
		"$(timeout 30 nsenter --net="/run/netns/$UP_PREFIX-app1" -- swaks --server 198.18.0.25 \
			--to ops@lab.example --from app1@servers.lab.example --helo app1 --timeout 5 2>&1)" \
		'250 2\.0\.0 Ok: queued as'
	out=$(timeout -k 5 60 "$LAB" --teardown "$UP_PREFIX" 2>&1)
	rc=$?
	UP_TORN_DOWN=1
	check_eq "scripts/lab.sh --teardown exits 0" "$rc" 0 || tap_diag "$out"
	check_match "... and says what it removed" "$out" "^lab $UP_PREFIX: removed 7 namespaces"
	check_eq "nothing of the kept lab is left" "$(leftovers "$UP_PREFIX")" ""
}

[ -x "$BUILD/smtpgated" ] || {
	echo "not ok 1 - set-up: $BUILD/smtpgated is missing (make BUILD=${BUILD##*/})"
	echo "1..1"
	exit 1
}
check_demo
check_up_teardown
tap_done
