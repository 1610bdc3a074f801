# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# What the lab sees: the outcome of many TCP connections at once, as
# TAP checks (lab_tcp_expect, with tests/e2e/lib.sh's ok/not_ok), and the
# XDP program on an interface, once (lab_xdp_prog_id) or sampled on a
# period (lab_xdp_watch, through sglab).  Sourced by
# scripts/lab/daemon.sh; needs netns.sh.

# lab_tcp_try_many TIMEOUT_S "NS DST PORT" ...
# lab_tcp_try for each spec, all at once; prints one line per spec, in
# order: "NS DST PORT: <lab_tcp_try line>".  For several drops this costs
# one timeout, not one each.
lab_tcp_try_many() {
	local timeout="$1" spec i dir pids=()

	shift
	dir=$(mktemp -d "$LAB_DIR/try.XXXXXX") || return 1
	i=0
	for spec in "$@"; do
		# shellcheck disable=SC2086 # spec is "NS DST PORT"
		lab_tcp_try $spec "$timeout" >"$dir/$i" &
		pids+=($!)
		i=$((i + 1))
	done
	wait "${pids[@]}"
	i=0
	for spec in "$@"; do
		echo "$spec: $(<"$dir/$i")"
		i=$((i + 1))
	done
	rm -rf -- "$dir"
}

# lab_tcp_result_is LINE WANT: does a lab_tcp_try LINE meet WANT (as in
# lab_tcp_expect)?
lab_tcp_result_is() {
	local got="$1" want="$2"

	case "$want" in
	connected) [[ "$got" =~ ^connected\ [0-9]+ ]] ;;
	connected:*) [[ "$got" =~ ^connected\ [0-9]+\ (.*)$ ]] &&
		[ "${BASH_REMATCH[1]}" = "${want#connected:}" ] ;;
	blocked) [[ "$got" =~ ^(timeout|refused)\ [0-9]+ ]] ;;
	*) [[ "$got" =~ ^$want\ [0-9]+ ]] ;;
	esac
}

# lab_tcp_expect TIMEOUT_S LABEL "NS DST PORT WANT"...
# Tries every connection at once (lab_tcp_try_many) and reports each as a
# TAP check (ok / not_ok of tests/e2e/lib.sh) named
# "LABEL: NS -> DST:PORT WANT".  WANT (the rest of the spec, spaces
# allowed): connected (any banner),
# connected:BANNER, timeout, refused, or blocked (timeout or refused).
# Returns 0 iff every expectation was met.
lab_tcp_expect() {
	local timeout="$1" label="$2" spec specs=() wants=() i=0 line got want rc=0 ns dst port

	shift 2
	for spec in "$@"; do
		read -r ns dst port want <<<"$spec"
		specs+=("$ns $dst $port")
		wants+=("$want")
	done
	while IFS= read -r line; do
		got="${line#*: }"
		want="${wants[$i]}"
		read -r ns dst port <<<"${specs[$i]}"
		i=$((i + 1))
		if lab_tcp_result_is "$got" "$want"; then
			ok "$label: $ns -> $dst:$port $want"
		else
			not_ok "$label: $ns -> $dst:$port $want" "got: $got"
			rc=1
		fi
	done < <(lab_tcp_try_many "$timeout" "${specs[@]}")
	return "$rc"
}

# lab_xdp_watch NS IF DURATION_MS [PERIOD_MS] [--until-attached] [--stop-file FILE]
# Samples IF's XDP program in NS every PERIOD_MS (default 50) for
# DURATION_MS, from one process asking the kernel directly
# (`sglab xdp-watch`: bpf_xdp_query), so samples stay on time on a busy
# machine where a fork per sample would not.  Prints one line per
# sample, as it goes:
#   <ms since the epoch> <prog id>     0: no XDP program, -: no such IF
# With --until-attached it stops at the first sample with a program
# (exit 0) and exits 1 if none came within DURATION_MS.  With
# --stop-file it stops (exit 0) once FILE exists: run it in the
# background with a generous DURATION_MS, touch FILE when done.
lab_xdp_watch() {
	local ns="$1"

	shift
	lab_exec "$ns" "$(lab_sglab)" xdp-watch "$@"
}

# lab_xdp_prog_id NS IF: the id of the XDP program on IF ("" if none).
lab_xdp_prog_id() {
	local out

	out=$(lab_exec "$1" ip -d link show dev "$2" 2>/dev/null)
	[[ "$out" =~ prog/xdp[a-z]*\ id\ ([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
	return 0
}
