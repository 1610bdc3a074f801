# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Helpers for the shell test suites (tests/e2e, tests/load): TAP output
# that tests/run.sh counts, a whole-test deadline, and reading smtpgate
# counters through sgload.  Sources the namespace lab
# (scripts/lab/netns.sh) as well.
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init 90                 # lab_init + a 90 s deadline for the whole test
#   check "relay answers" lab_tcp_try app1 198.18.0.25 25
#   check_eq "one connection counted" "$n" 1
#   tap_done                    # plan line; exit status 0 iff all passed
#
# TAP lines are "ok N - name" / "not ok N - name", diagnostics "# ...".

E2E_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/lab/netns.sh
. "$E2E_REPO/scripts/lab/netns.sh"
BUILD="$(lab_build_dir "$E2E_REPO")"
SGLOAD="$BUILD/tests/tools/sgload"

# shellcheck source=scripts/lab/counters.sh
. "$E2E_REPO/scripts/lab/counters.sh"

TAP_N=0
TAP_FAILED=0

# ---- TAP ------------------------------------------------------------

# tap_diag TEXT...: a "# " comment line per line of TEXT.
tap_diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# ok NAME: records a passing check.
ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

# not_ok NAME [DIAG...]: records a failing check, with a diagnostic.
not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	shift
	[ $# -gt 0 ] && tap_diag "$@"
	return 0
}

# check NAME CMD...: ok if CMD exits 0, else not ok with CMD's output.
# CMD's stdout is kept in $CHECK_OUT for the caller.
check() {
	local name="$1"

	shift
	if CHECK_OUT=$("$@" 2>&1); then
		ok "$name"
		return 0
	fi
	not_ok "$name" "command: $*" "$CHECK_OUT"
	return 1
}

# check_eq NAME GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
		return 0
	fi
	not_ok "$1" "got '$2', want '$3'"
	return 1
}

# check_cmp NAME GOT OP WANT: integer comparison (OP: -lt -le -ge ...).
check_cmp() {
	if test "$2" "$3" "$4" 2>/dev/null; then
		ok "$1"
		return 0
	fi
	not_ok "$1" "got '$2', want $3 '$4'"
	return 1
}

# check_match NAME TEXT REGEX: ok if TEXT matches the extended REGEX.
check_match() {
	if [[ "$2" =~ $3 ]]; then
		ok "$1"
		return 0
	fi
	not_ok "$1" "got '$2', want a match for /$3/"
	return 1
}

# tap_bail MSG: set-up failed; counted as a failure, exits (the lab trap
# cleans up).
tap_bail() {
	not_ok "set-up: $1"
	tap_done
	exit 1
}

# tap_done: prints the plan; returns 0 iff every check passed.
tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ] || tap_diag "$TAP_FAILED of $TAP_N checks failed"
	[ "$TAP_FAILED" -eq 0 ] && [ "$TAP_N" -gt 0 ]
}

# ---- lifecycle ------------------------------------------------------

# e2e_init [DEADLINE_S]
# lab_init, then a watchdog that interrupts the whole test after
# DEADLINE_S seconds (default 100): the lab trap tears everything down
# and the test exits non-zero.
e2e_init() {
	local deadline="${1:-100}" self=$$ pid tool

	for tool in "$SGLOAD" "$(lab_sglab)"; do
		[ -x "$tool" ] && continue
		echo "not ok 1 - set-up: $tool is missing (make BUILD=${BUILD##*/})"
		echo "1..1"
		exit 1
	done
	lab_init "${E2E_PREFIX:-}"    # E2E_PREFIX: a namespace prefix of your choice
	setsid bash -c "sleep $deadline; echo '# e2e: deadline of ${deadline}s exceeded' >&2; \
		kill -TERM $self" </dev/null >/dev/null 2>&1 &
	pid=$!
	lab_on_exit kill -TERM -- "-$pid"
}

# e2e_daemon_lab [TOOL ...]: the set-up every daemon test starts with:
# e2e_init with a 90 s deadline, smtpgated and each TOOL present (else
# bail, saying what to install), the gateway lab built.
e2e_daemon_lab() {
	local tool

	e2e_init 90
	[ -x "$SMTPGATED" ] || tap_bail "$SMTPGATED is missing (make BUILD=${BUILD##*/})"
	for tool in "$@"; do
		command -v "$tool" >/dev/null || tap_bail "$tool is missing (apt-get install $tool)"
	done
	lab_gw_build || tap_bail "building the lab failed"
}

# ---- counters through sgload ----------------------------------------

# sg_counters NS PIN_DIR IF:HOOK: prints the attachment's counters
# ("verdict reason packets bytes conns" lines, non-zero only).
sg_counters() {
	lab_exec "$1" "$SGLOAD" --pin-dir "$2" --counters "$3"
}

# sg_moved BEFORE AFTER [EXCEPT_VERDICT EXCEPT_REASON]
# Lists "verdict/reason+N" for every counter whose packets grew, except
# the given one: empty when nothing else moved.
sg_moved() {
	local -A before=()
	local v r p b c list=""

	while read -r v r p b c; do
		[ -n "$v" ] && before["$v $r"]=$p
	done <<<"$1"
	while read -r v r p b c; do
		[ -n "$v" ] || continue
		[ "$v" = "${3:-}" ] && [ "$r" = "${4:-}" ] && continue
		[ "$p" = "${before["$v $r"]:-0}" ] && continue
		list+="${list:+ }$v/$r+$((p - ${before["$v $r"]:-0}))"
	done <<<"$2"
	echo "$list"
}
