#!/usr/bin/env bash
# `make fuzz`: runs each libFuzzer target for FUZZ_SECONDS (default 60),
# one after the other, one fuzzer process at a time (no -jobs or -workers).
#
#   FUZZ_SECONDS=N      seconds per target
#   FUZZ_TARGETS="a b"  only these targets (default: all, see targets.sh)
#   BUILD=dir           the build dir (targets in $BUILD/fuzz)
#
# Seeds are read from tests/fuzz/corpus/<target> (never written); what a
# run finds is kept in $BUILD/fuzz/corpus/<target>, crashes in
# $BUILD/fuzz/artifacts/.  To add findings to the repository's seeds:
#   $BUILD/fuzz/fuzz_T -merge=1 tests/fuzz/corpus/T $BUILD/fuzz/corpus/T
# Exit status: non-zero if any target crashed.
set -uo pipefail

cd "$(dirname "$0")/../.."
# shellcheck source=tests/fuzz/targets.sh
. tests/fuzz/targets.sh
BUILD="${BUILD:-build}"
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
read -r -a targets <<<"${FUZZ_TARGETS:-${FUZZ_ALL_TARGETS[*]}}"
out="$BUILD/fuzz"
mkdir -p "$out/artifacts"

failed=0
for t in "${targets[@]}"; do
	bin="$out/fuzz_$t"
	if [ ! -x "$bin" ]; then
		echo "run_fuzz: $bin is missing (make fuzz-build)" >&2
		failed=1
		continue
	fi
	mkdir -p "$out/corpus/$t"
	log="$out/fuzz_$t.log"
	echo "== fuzz_$t: ${FUZZ_SECONDS}s (log $log)"
	# The CPU time as well as the wall time: on a shared machine a
	# target's hour may get much less than an hour of CPU.
	TIMEFORMAT="fuzz_$t: %R s wall, %U s user, %S s sys"
	{ time "$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-dict="$(fuzz_dict "$t")" -artifact_prefix="$out/artifacts/$t-" \
		"$out/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; } 2>"$log.time"
	rc=$?
	cat "$log.time"
	# The last status line: runs, cov, ft, corpus, exec/s.
	grep -E '^#[0-9]+' "$log" | tail -1
	grep -E '^(stat::|fuzz_packet:)' "$log"
	if [ $rc -ne 0 ]; then
		failed=1
		echo "fuzz_$t: CRASHED (exit $rc); see $log and $out/artifacts/"
		grep -E -m5 'ERROR|SUMMARY|property|DISAGREEMENT' "$log"
	fi
done
exit $failed
