#!/usr/bin/env bash
# Runs every test suite and counts results.  Each suite prints TAP lines
# ("ok N - ..." / "not ok N - ..."); a suite that exits non-zero without
# reporting a failure counts as one failure, so a crash never passes, and
# so does one that reports no check at all.
#
#   tests/run.sh            all suites
#   tests/run.sh PATTERN    suites whose path contains PATTERN
#
# Needs root (BPF, namespaces).  Last line: "N passed, N failed".
set -uo pipefail

cd "$(dirname "$0")/.."
filter="${1:-}"
# BUILD: the build directory (make BUILD=...), so parallel builds never share one.
export BUILD="${BUILD:-build}"

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: the tests load BPF programs and build namespaces: run as root" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
if ! mount | grep -q "^bpf on /sys/fs/bpf "; then
	mount -t bpf bpf /sys/fs/bpf
fi

suites=()
for f in "$BUILD"/tests/unit/test_* "$BUILD"/tests/bpf/test_* tests/e2e/test_*.sh tests/load/test_*.sh \
	tests/fuzz/test_*.sh tests/pkg/test_*.sh tests/vm/test_*.sh; do
	[ -x "$f" ] || continue
	case "$f" in *.o|*.d) continue ;; esac
	[ -n "$filter" ] && [[ "$f" != *"$filter"* ]] && continue
	suites+=("$f")
done

total_pass=0
total_fail=0
failed_suites=()
logdir=$(mktemp -d /tmp/smtpgate-tests.XXXXXX)
for s in "${suites[@]}"; do
	log="$logdir/$(echo "$s" | tr '/' '_').log"
	start=$(date +%s)
	"$s" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	pass=$(grep -cE '^ok [0-9]+' "$log")
	fail=$(grep -cE '^not ok [0-9]+' "$log")
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
		echo "not ok - $s exited with status $rc without reporting a failure" >>"$log"
	elif [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
		# A suite that checked nothing (or printed no TAP) proves nothing.
		fail=1
		echo "not ok - $s reported no check" >>"$log"
	fi
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	if [ "$fail" -ne 0 ]; then
		failed_suites+=("$s")
		printf 'FAIL %-40s %4d passed %4d failed (%ds)\n' "$s" "$pass" "$fail" "$secs"
		grep -E -A3 '^not ok' "$log" | sed 's/^/    /' | head -40
	else
		printf 'ok   %-40s %4d passed (%ds)\n' "$s" "$pass" "$secs"
	fi
done
if [ ${#failed_suites[@]} -gt 0 ]; then
	echo "logs: $logdir"
else
	rm -rf "$logdir"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ ${#suites[@]} -gt 0 ]
