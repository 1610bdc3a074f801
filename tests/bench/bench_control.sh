#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Control-plane benchmark (issue 18): smtpgated and smtpgatectl as an
# operator meets them, on a veth with XDP in a test lab, each figure the
# median of several runs next to the issue's target.  It measures; it
# asserts nothing about the figures (and nothing here runs in make test).
#
#   start    time from starting smtpgated until `status` answers, by the
#            number of trusted entries in policy.json (distinct IPv6 /128s)
#   reload   wall time of `smtpgatectl reload` (the same policy, touched)
#   RSS      the daemon's VmHWM (high-water mark) after the reload, and
#            its VmRSS then
#   status   wall time of `smtpgatectl status` sent 0.1 s into a reload
#   shadow   start and reload with 252,143 policy entries plus 10,000
#            approvals (the quadratic shadowing check made this 23 s)
#   ctl      bench_control_ctl.sh: trust add p50/p99 with 0, 1,000 and
#            10,000 approvals in place (process start to exit, ADDS
#            calls), --version and status start-up, trust import of
#            100,000, trust list of 262,144 entries (time, daemon VmHWM,
#            first byte, status meanwhile)
#   --only-ctl: that part alone (with --sizes "" the other is skipped too)
#
#   tests/bench/bench_control.sh [--runs N] [--adds N] [--sizes "1 10000 ..."]
#
# Medians on a shared machine are noisy: the output says so, with the
# load average at the start and the end.
set -uo pipefail

RUNS=3
ADDS=300
ONLY_CTL=0
SIZES="1 10000 100000 262143"
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS="$2"; shift 2 ;;
	--adds) ADDS="$2"; shift 2 ;;
	--sizes) SIZES="$2"; shift 2 ;;
	--verbose) shift ;;
	--only-ctl) ONLY_CTL=1; shift ;;
	*) echo "usage: $0 [--runs N] [--adds N] [--sizes \"N ...\"]" >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/ctl_bench_lib.sh
. tests/bench/ctl_bench_lib.sh


kb() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$SGD_PID/status"; }

# one_run: start, reload, status during a reload, RSS; appends
# "start_ms reload_ms hwm_kb rss_kb status_ms" to $1.
one_run() {
	local t0 start reload status hwm rss rpid

	ctl_stop
	t0=$(now_ns)
	ctl_start || { echo "# smtpgated did not start" >&2; return 1; }
	start=$(ms_since "$t0")
	touch "$CTL_POLICY"
	t0=$(now_ns)
	ctl reload >/dev/null 2>&1
	reload=$(ms_since "$t0")
	hwm=$(kb VmHWM)
	rss=$(kb VmRSS)
	# status while a reload runs
	ctl reload >/dev/null 2>&1 &
	rpid=$!
	sleep 0.1
	t0=$(now_ns)
	ctl status >/dev/null 2>&1
	status=$(ms_since "$t0")
	wait "$rpid"
	echo "$start $reload $hwm $rss $status" >>"$1"
}

# col FILE K: the median of column K.
col() { awk -v k="$2" '{ print $k }' "$1" | median; }
# mib FILE K: the median of column K (KiB) in MiB.
mib() { col "$1" "$2" | awk '{ print ($1 == "-") ? "-" : int($1 / 1024) }'; }

echo "# machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: figures are noisy; medians of $RUNS runs)"
echo

res="$CTL_DIR/bench"
mkdir -p "$res"
if [ "$ONLY_CTL" = 0 ]; then
	printf '%-10s %10s %10s %12s %12s %14s\n' entries start_ms reload_ms hwm_MiB rss_MiB status_in_reload_ms
	for n in $SIZES; do
		write_policy "$n"
		no_approvals
		: >"$res/size-$n"
		for ((r = 0; r < RUNS; r++)); do
			one_run "$res/size-$n"
		done
		printf '%-10s %10s %10s %12s %12s %14s\n' "$n" "$(col "$res/size-$n" 1)" "$(col "$res/size-$n" 2)" \
			"$(mib "$res/size-$n" 3)" "$(mib "$res/size-$n" 4)" "$(col "$res/size-$n" 5)"
	done
	echo

	# 252,143 policy entries + 10,000 approvals (5,000 of them shadowed).
	write_policy 252143
	: >"$res/shadow"
	for ((r = 0; r < RUNS; r++)); do
		write_approvals 10000 247143
		one_run "$res/shadow"
	done
	echo "252,143 policy + 10,000 approvals (5,000 shadowed): start $(col "$res/shadow" 1) ms, reload $(col "$res/shadow" 2) ms, HWM $(mib "$res/shadow" 3) MiB"
fi

# smtpgatectl's side: trust add, start-up, import, listing.
# shellcheck source=tests/bench/bench_control_ctl.sh
. tests/bench/bench_control_ctl.sh
ctl_stop
echo
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
