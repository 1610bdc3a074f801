# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Sourced (from the repository's root) by the control-plane benchmarks,
# bench_control.sh, bench_scale.sh and bench_reload.sh: the lab of
# tests/e2e/ctl_lib.sh with a daemon given time to start a large policy,
# and the timing and statistics helpers they share.
# shellcheck shell=bash

export BUILD="${BUILD:-build}"
# shellcheck source=tests/e2e/ctl_lib.sh
. tests/e2e/ctl_lib.sh

# Large policies start slowly on a loaded machine: wait long for
# "running" (daemon.sh, sourced above, has set its default of 10 s).
LAB_DAEMON_TIMEOUT="${BENCH_DAEMON_TIMEOUT:-180}"
ctl_init 3600
ctl_topology

now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }

# median / pct P: of the numbers on stdin.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; if (NR) print v[i]; else print "-" }'; }

# The clock read without a fork: bash's $EPOCHREALTIME, in microseconds.
# (A $(...) around it would fork a subshell, which on this VM costs
# about as much as the process being timed.)
us_now_into() { local t="${EPOCHREALTIME/[.,]/}"; printf -v "$1" '%s' "$t"; }

# timed_us CMD...: runs it, prints its wall time in microseconds.
timed_us() {
	local t0 t1

	us_now_into t0
	"$@" >/dev/null 2>&1 || echo "# failed: $*" >&2
	us_now_into t1
	echo $((t1 - t0))
}

# p50/p99 of a file of microseconds, as "p50 / p99 ms".
ms_pcts() {
	echo "$(pct 50 <"$1" | awk '{ printf "%.1f", $1 / 1000 }') / $(pct 99 <"$1" | awk '{ printf "%.1f", $1 / 1000 }') ms"
}

# bench_policy N [SKIP]: policy.json on stdout with N trusted /128s
# (entries SKIP.. of one sequence), one relay group "internal".
bench_policy() {
	awk -v n="$1" -v skip="${2:-0}" 'BEGIN {
		printf "{\"relays\": {\"internal\": [{\"addr\": \"198.18.0.25\"}]},\n \"trusted\": [\n"
		for (i = skip; i < skip + n; i++)
			printf "%s{\"addr\": \"2001:db8:a:%x::%x\", \"relays\": [\"internal\"], \"ticket\": \"B-%d\", \"owner\": \"bench\"}\n",
				(i > skip ? "," : ""), int(i / 65536), i % 65536, i
		printf "]}\n"
	}'
}

# write_policy N [SKIP]: that policy as the lab daemon's, with its config.
write_policy() {
	bench_policy "$@" | lab_daemon_policy "$CTL_NAME" -
	ctl_config
}

# write_approvals N FIRST: approvals.json with N approvals, entries FIRST..
# of the same sequence (so with FIRST < the policy's size some are shadowed).
write_approvals() {
	local n="$1" first="$2"

	mkdir -p "$CTL_STATE"
	rm -f "$CTL_STATE/approvals.journal"
	awk -v n="$n" -v first="$first" 'BEGIN {
		printf "{\"version\": 1, \"approvals\": [\n"
		for (i = first; i < first + n; i++)
			printf "%s{\"addr\": \"2001:db8:a:%x::%x\", \"relays\": [\"internal\"], \"rate\": null, \"ticket\": \"A-%d\", \"owner\": \"bench\", \"created\": \"2026-01-01T00:00:00Z\", \"created_by\": \"bench (uid 0)\"}\n",
				(i > first ? "," : ""), int(i / 65536), i % 65536, i
		printf "]}\n"
	}' >"$CTL_STATE/approvals.json"
	chmod 600 "$CTL_STATE/approvals.json"
}

# no_approvals: neither approvals.json nor its journal.
no_approvals() {
	rm -f "$CTL_STATE/approvals.json" "$CTL_STATE/approvals.journal"
}
