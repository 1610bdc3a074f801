#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Runs every benchmark under tests/bench and prints what each one prints
# (benchmarks measure; they do not pass or fail on their figures).  What
# `make bench` runs, after building.
#
#   tests/bench/run.sh [ARGS...]   ARGS go to every benchmark (e.g. --verbose)
#   BENCH=PATTERN tests/bench/run.sh   only benchmarks whose path contains PATTERN
#
# Benchmarks: each tests/bench/NAME.c, built by make into $BUILD/tests/bench/NAME,
# and each executable tests/bench/bench_*.sh.  Builds nothing.  Needs root
# (BPF).  Exit status: 0 if every benchmark ran to the end, else 1.
set -uo pipefail

cd "$(dirname "$0")/../.."
export BUILD="${BUILD:-build}"
filter="${BENCH:-}"

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/bench/run.sh: the benchmarks load BPF programs: run as root" >&2
	exit 1
fi
if ! mount | grep -q "^bpf on /sys/fs/bpf "; then
	mount -t bpf bpf /sys/fs/bpf
fi

benches=()
for src in tests/bench/*.c; do
	[ -e "$src" ] || continue
	bin="$BUILD/tests/bench/$(basename "$src" .c)"
	if [ ! -x "$bin" ]; then
		echo "tests/bench/run.sh: $bin is missing: run make BUILD=$BUILD first" >&2
		exit 1
	fi
	benches+=("$bin")
done
for script in tests/bench/bench_*.sh; do
	[ -x "$script" ] && benches+=("$script")
done

failed=0
for b in "${benches[@]}"; do
	[ -n "$filter" ] && [[ "$b" != *"$filter"* ]] && continue
	echo "=== $b"
	start=$(date +%s)
	"$b" "$@"
	rc=$?
	echo "=== $b: exit $rc, $(( $(date +%s) - start )) s"
	echo
	[ "$rc" -eq 0 ] || failed=1
done
exit "$failed"
