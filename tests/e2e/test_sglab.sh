#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# sglab, the lab's helper program (userspace/lab/), through the lab's
# own wrappers as the demo and the daemon tests use it:
#   1. lab_xdp_watch prints "<ms> -" while the interface does not exist,
#      "<ms> 0" while it has no XDP program, on the period asked;
#   2. lab_napi (sglab xdp-pass) attaches a program, which the watcher
#      and lab_xdp_prog_id both see, with the same id;
#   3. --until-attached exits 0 at the first program, 1 when none comes;
#      --stop-file stops it (exit 0) once the file exists;
#   4. bad usage exits 2, an unknown interface for xdp-pass exits 1.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

# samples FILE: the ids of FILE's samples, space-separated.
samples() {
	awk '{ printf "%s%s", sep, $2; sep = " " }' "$1"
}

# check_format FILE LABEL: every sample line is "<ms since the epoch> <id>".
check_format() {
	local file="$1" label="$2" bad

	# (No {13} in the pattern: mawk has no interval expressions.)
	bad=$(awk 'NF != 2 || $1 !~ /^[0-9]+$/ || length($1) != 13 || $2 !~ /^(-|[0-9]+)$/' "$file")
	check_eq "$label: every sample is \"<ms since the epoch> <id>\"" "$bad" ""
}

main() {
	local d id watched rc

	e2e_init 60
	lab_ns a >/dev/null
	lab_ns b >/dev/null
	d="$LAB_DIR/sglab"
	mkdir -p "$d"

	# 1. no interface, then no program
	lab_xdp_watch a w0 200 50 >"$d/none"
	check_format "$d/none" "no interface"
	check_match "no interface: every sample is -" "$(samples "$d/none")" '^-( -)+$'
	lab_link a w0 b w1
	lab_xdp_watch a w0 200 50 >"$d/noprog"
	check_match "no program: every sample is 0" "$(samples "$d/noprog")" '^0( 0)+$'
	lab_xdp_watch a w0 0 --until-attached >/dev/null
	check_eq "--until-attached with nothing attached: exit 1" "$?" 1

	# 2. lab_napi's program, seen by both ways of asking
	lab_xdp_watch a w0 10000 50 --until-attached >"$d/until" &
	watched=$!
	sleep 0.2
	lab_napi a w0
	wait "$watched"
	rc=$?
	check_eq "--until-attached: exit 0 once a program is there" "$rc" 0
	check_format "$d/until" "until attached"
	id=$(lab_xdp_prog_id a w0)
	check_match "lab_napi: w0 has an XDP program" "$id" '^[1-9][0-9]*$'
	check_eq "the watcher's last sample is that program" "$(tail -n 1 "$d/until" | cut -d' ' -f2)" "$id"

	# 3. --stop-file
	lab_xdp_watch a w0 10000 50 --stop-file "$d/stop" >"$d/stopped" &
	watched=$!
	sleep 0.3
	touch "$d/stop"
	wait "$watched"
	check_eq "--stop-file: exit 0 once the file exists" "$?" 0
	check_match "--stop-file: it sampled the program meanwhile" "$(samples "$d/stopped")" "^$id( $id)*\$"

	# 4. usage and errors
	lab_exec a "$(lab_sglab)" xdp-watch w0 >/dev/null 2>&1
	check_eq "xdp-watch without a duration: exit 2" "$?" 2
	lab_exec a "$(lab_sglab)" nonsense >/dev/null 2>&1
	check_eq "an unknown subcommand: exit 2" "$?" 2
	lab_exec a "$(lab_sglab)" xdp-pass nosuch0 >/dev/null 2>&1
	check_eq "xdp-pass on an unknown interface: exit 1" "$?" 1
	tap_done
}

main "$@"
