#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The control plane at a million entries (issue 18's scale targets):
# smtpgated as an operator runs it, on a veth with XDP in a test lab, by
# the number of trusted entries in policy.json (distinct IPv6 /128s, the
# same policies as bench_control.sh), each figure the median of several
# runs, printed next to the issue's figures from before this work.  It
# measures; it asserts nothing about the figures.
#
#   start      smtpgated started until `status` answers
#   reload     wall time of `smtpgatectl reload` (the same policy, touched)
#   CPU        the daemon's own CPU time (user + system, /proc/PID/stat)
#              for the start and for the reload: on a shared machine the
#              wall times grow with everyone's load, these much less
#   HWM start  the daemon's VmHWM (high-water mark) once it answers
#   RSS rest   its VmRSS then
#   HWM reload its VmHWM after the reload: the peak of start and reload
#   kernel     the kernel memory of its maps, inner tables included
#              (`smtpgatectl status --json`: map_memory_bytes)
#   idle_cpu   the daemon's CPU over IDLE_S (5) seconds of rest after the
#              start, in milliseconds: what a large policy costs when
#              nothing happens
#   trust add  ADDS (200) `smtpgatectl trust add` calls to the daemon
#              of the last run, p50/p99 from process start to exit, and
#              /bin/true timed before each: the floor of any process;
#              then ADDS more with --expires (the metrics' list of
#              expiries changes with each)
#   restart    start again with the pins kept and a policy whose first
#              1,000 entries are replaced (what `check` accepts must
#              load over any running policy): ok or refused
#
#   tests/bench/bench_scale.sh [--runs N] [--sizes "262144 1000000"] [--against DIR]
#                              [--approvals K]
#
# --approvals K: K of each size's entries are approvals (approvals.json,
# as `smtpgatectl trust import` leaves them), the rest policy.json's.
# An approval costs more than a policy entry (its creation time and
# author, and the approvals' exact index), so this is the row to read
# for a gateway whose table is largely approvals.
#
# --against DIR: the build directory of another tree (a worktree of the
# previous release, say), measured side by side: each run starts that
# build's daemon, then this one's, alternately, each from nothing (the
# pins removed and the machine left to settle between), and prints both
# medians and their ratio.  On a shared machine whose speed drifts, the
# ratio is the figure to read.
set -uo pipefail

RUNS=3
SIZES="262144 1000000"
AGAINST=""
APPROVALS=0
ADDS=200
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS="$2"; shift 2 ;;
	--sizes) SIZES="$2"; shift 2 ;;
	--against) AGAINST="$(realpath "$2")"; shift 2 ;;
	--verbose) shift ;;
	--approvals) APPROVALS="$2"; shift 2 ;;
	*) echo "usage: $0 [--runs N] [--sizes \"N ...\"] [--against DIR] [--approvals K]" >&2; exit 2 ;;
	esac
done
if [ -n "$AGAINST" ] && { ! [ -x "$AGAINST/smtpgated" ] || ! [ -x "$AGAINST/smtpgatectl" ]; }; then
	echo "$0: --against $AGAINST: no smtpgated and smtpgatectl there" >&2
	exit 2
fi

cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/ctl_bench_lib.sh
. tests/bench/ctl_bench_lib.sh


kb() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$SGD_PID/status"; }
# cpu_ms: the daemon's user + system time so far (fields 14 and 15 of
# /proc/PID/stat, after the command name, which may hold spaces).
cpu_ms() {
	local tck
	tck=$(getconf CLK_TCK)
	sed 's/.*) //' "/proc/$SGD_PID/stat" | awk -v t="$tck" '{ print int(($12 + $13) * 1000 / t) }'
}
map_bytes() { ctl status --json 2>/dev/null | jq -r '.map_memory_bytes // "-"'; }
# The daemon's own start: from its process's start to its socket
# listening (status's startup_ms; "-" from a build without it).
ready_ms() { ctl status --json 2>/dev/null | jq -r '.startup_ms // "-"'; }

IDLE_S=5

# one_run FILE: appends "start_ms reload_ms hwm_start_kb rss_kb hwm_reload_kb map_bytes
# start_cpu_ms reload_cpu_ms idle_cpu_ms ready_ms".
one_run() {
	local t0 start reload hwm0 rss hwm1 maps cpu0 cpu1 idle start_cpu ready

	ctl_stop
	t0=$(now_ns)
	ctl_start || { echo "# smtpgated did not start" >&2; return 1; }
	start=$(ms_since "$t0")
	hwm0=$(kb VmHWM)
	rss=$(kb VmRSS)
	start_cpu=$(cpu_ms)
	ready=$(ready_ms)
	sleep "$IDLE_S"
	idle=$(($(cpu_ms) - start_cpu))
	touch "$CTL_POLICY"
	cpu0=$(cpu_ms)
	t0=$(now_ns)
	ctl reload >/dev/null 2>&1
	reload=$(ms_since "$t0")
	cpu1=$(cpu_ms)
	hwm1=$(kb VmHWM)
	maps=$(map_bytes)
	echo "$start $reload $hwm0 $rss $hwm1 $maps $start_cpu $((cpu1 - cpu0)) $idle $ready" >>"$1"
}

# entries N: policy.json and approvals.json with N entries in all,
# APPROVALS of them approvals (the sequence's entries after the policy's).
entries() {
	write_policy "$(($1 - APPROVALS))"
	if [ "$APPROVALS" -gt 0 ]; then write_approvals "$APPROVALS" "$(($1 - APPROVALS))"; else no_approvals; fi
}

# restart_changed N: stop (pins kept), replace policy entries 0..999, start.
restart_changed() {
	write_policy "$(($1 - APPROVALS))" 1000
	ctl_stop
	if ctl_start; then echo ok; else echo refused; fi
}

# add_latency N: N trust adds to the running daemon into $res/adds, each
# timed from process start to exit, and /bin/true timed before each into
# $res/floor (the floor of any process at that moment); then N adds with
# --expires (each one joins the metrics' list of expiries) into
# $res/adds_exp, with their floor in $res/floor_exp.
add_latency() {
	local i hex

	: >"$res/adds"
	: >"$res/floor"
	: >"$res/adds_exp"
	: >"$res/floor_exp"
	for ((i = 1; i <= $1; i++)); do
		printf -v hex %x "$i"
		timed_us /bin/true >>"$res/floor"
		timed_us ctl trust add "2001:db8:e::$hex" --relay internal --ticket "ADD-$i" \
			--owner bench >>"$res/adds"
	done
	for ((i = 1; i <= $1; i++)); do
		printf -v hex %x "$i"
		timed_us /bin/true >>"$res/floor_exp"
		timed_us ctl trust add "2001:db8:f::$hex" --relay internal --ticket "EXP-$i" \
			--owner bench --expires "+$((30 + i))d" >>"$res/adds_exp"
	done
}

# use_build DIR: the daemon and CLI the next runs use.
use_build() {
	SMTPGATED="$1/smtpgated"
	SMTPGATECTL="$1/smtpgatectl"
}

# idle_pct: the machine's idle share over half a second, in percent.
idle_pct() {
	local a b
	a=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	sleep 0.5
	b=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	echo "$a $b" | awk '{ t = $4 - $2; print (t > 0 ? int(100 * ($3 - $1) / t) : 100) }'
}

# settle: waits (10 s at most) for the machine to be 80 % idle: the
# kernel frees a million-entry table in the background, about half a
# second of CPU, which would land on what is measured next.
settle() {
	local i

	for ((i = 0; i < 20; i++)); do
		[ "$(idle_pct)" -ge 80 ] && break
	done
}

# fresh: no daemon, no pins, the machine settled.
fresh() {
	ctl_stop
	lab_daemon_detach gw "$CTL_NAME" >/dev/null 2>&1
	settle
}

col() { awk -v k="$2" '{ print $k }' "$1" | median; }
mib() { col "$1" "$2" | awk '{ print ($1 == "-") ? "-" : int($1 / 1024 + 0.5) }'; }
mib_bytes() { col "$1" "$2" | awk '{ print ($1 == "-") ? "-" : int($1 / 1048576 + 0.5) }'; }

today() {
	case "$1" in
	262144) echo "start 4.8-5.8 s, reload 2.5-3.3 s, RSS 315 MB, HWM 471-499 MB, maps 78 MiB (262,143 entries)" ;;
	1000000) echo "refused: at most 262,144 entries" ;;
	*) echo "-" ;;
	esac
}

echo "# machine: $(nproc) CPUs ($(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }')), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: figures are noisy; medians of $RUNS runs)"
echo "# targets (issue 18): start and reload < 2 s at 1,000,000; HWM <= 64 MiB at 262,144 and <= 200 MiB at 1,000,000, reload included"
echo

res="$CTL_DIR/bench"
mkdir -p "$res"
printf '%-9s %9s %8s %10s %9s %10s %10s %9s %11s %11s %8s %8s\n' entries start_ms ready_ms reload_ms \
	start_cpu reload_cpu HWM_start RSS_rest HWM_reload kernel_MiB idle_cpu restart
# row LABEL FILE RESTART: the medians of FILE's runs.
row() {
	printf '%-9s %9s %8s %10s %9s %10s %10s %9s %11s %11s %8s %8s\n' "$1" "$(col "$2" 1)" \
		"$(col "$2" 10)" "$(col "$2" 2)" "$(col "$2" 7)" "$(col "$2" 8)" \
		"$(mib "$2" 3)" "$(mib "$2" 4)" "$(mib "$2" 5)" \
		"$(mib_bytes "$2" 6)" "$(col "$2" 9)" "$3"
}

# ratio THIS OTHER K: median of column K of THIS over that of OTHER.
ratio() {
	awk -v a="$(col "$1" "$3")" -v b="$(col "$2" "$3")" \
		'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'
}

this_build="$(realpath "$BUILD")"
for n in $SIZES; do
	entries "$n"
	: >"$res/size-$n"
	: >"$res/other-$n"
	for ((r = 0; r < RUNS; r++)); do
		if [ -n "$AGAINST" ]; then
			use_build "$AGAINST"
			fresh
			one_run "$res/other-$n"
			use_build "$this_build"
			fresh
		fi
		one_run "$res/size-$n"
	done
	# trust add at this size: the last run's daemon is still up, and the
	# generation its reload replaced is freed first.
	settle
	add_latency "$ADDS"
	restart=$(restart_changed "$n")
	[ "$APPROVALS" -gt 0 ] && echo "          ($n entries: $((n - APPROVALS)) in policy.json, $APPROVALS approvals)"
	if [ -n "$AGAINST" ]; then
		row "$n" "$res/other-$n" "-"
		echo "          (the build in $AGAINST)"
		row "$n" "$res/size-$n" "$restart"
		echo "          (this build; ratio this/other: start $(ratio "$res/size-$n" "$res/other-$n" 1)," \
			"ready $(ratio "$res/size-$n" "$res/other-$n" 10)," \
			"reload $(ratio "$res/size-$n" "$res/other-$n" 2), CPU start" \
			"$(ratio "$res/size-$n" "$res/other-$n" 7), CPU reload" \
			"$(ratio "$res/size-$n" "$res/other-$n" 8), HWM reload" \
			"$(ratio "$res/size-$n" "$res/other-$n" 5))"
	else
		row "$n" "$res/size-$n" "$restart"
	fi
	echo "          trust add (process start to exit) p50 / p99 $(ms_pcts "$res/adds");" \
		"/bin/true beside it $(ms_pcts "$res/floor")"
	echo "          trust add --expires p50 / p99 $(ms_pcts "$res/adds_exp");" \
		"/bin/true beside it $(ms_pcts "$res/floor_exp")"
	echo "          before: $(today "$n")"
done
ctl_stop
echo
echo "# *_ms: wall and CPU (the daemon's user + system) milliseconds; start_ms as this script"
echo "# sees it (from launching smtpgated to status answering), ready_ms as the daemon does"
echo "# (status's startup_ms: from its process's start to its socket listening)"
echo "# MiB columns: HWM/RSS of smtpgated (VmHWM, VmRSS), kernel = map memory (memlock) of its maps"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
