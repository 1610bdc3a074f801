#!/usr/bin/env bash
# The fuzz targets as a test suite (tests/run.sh runs it; TAP lines):
# for each target, the seeds and regression inputs of
# tests/fuzz/corpus/<target> are replayed, then FUZZ_TEST_SECONDS
# (default 5) of fresh fuzzing starts from them; new
# inputs go to a temporary directory, the repository is not written.
# Then a sample of metrics outputs with hostile label values goes
# through `promtool check metrics`.
set -uo pipefail

cd "$(dirname "$0")/../.."
# shellcheck source=tests/fuzz/targets.sh
. tests/fuzz/targets.sh
BUILD="${BUILD:-build}"
secs="${FUZZ_TEST_SECONDS:-5}"
tmp=$(mktemp -d /tmp/sg-fuzz-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1))
	fail=1
	echo "not ok $n - $1"
	[ -f "${2:-}" ] && grep -E -m8 'ERROR|SUMMARY|property|DISAGREE|why:|missing|runtime error' "$2" |
		sed 's/^/# /'
}

for t in "${FUZZ_ALL_TARGETS[@]}"; do
	bin="$BUILD/fuzz/fuzz_$t"
	seeds="tests/fuzz/corpus/$t"
	log="$tmp/$t.log"
	if [ ! -x "$bin" ]; then
		echo "missing: $bin (make fuzz-build)" >"$log"
		not_ok "fuzz_$t: replay of $seeds" "$log"
		not_ok "fuzz_$t: ${secs}s of fuzzing" "$log"
		continue
	fi
	# One process: libFuzzer first runs every seed (up to "INITED"),
	# then fuzzes; the packet target's six data planes load once.
	nseeds=$(find "$seeds" -type f | wc -l)
	mkdir -p "$tmp/corpus-$t"
	# A fixed seed: the same inputs in the same order on every run, so a
	# red CI is a regression that reproduces, not a roll of the dice
	# (FUZZ_SEED=0 asks libFuzzer for a random one; campaigns: make fuzz).
	"$bin" -seed="${FUZZ_SEED:-1}" -max_total_time="$secs" -dict="$(fuzz_dict "$t")" \
		-artifact_prefix="$tmp/$t-" "$tmp/corpus-$t" "$seeds" >"$log" 2>&1
	rc=$?
	if grep -qE '^#[0-9]+[[:space:]]+INITED' "$log"; then
		ok "fuzz_$t: replay of the $nseeds inputs of $seeds"
	else
		not_ok "fuzz_$t: replay of the $nseeds inputs of $seeds" "$log"
	fi
	if [ $rc -eq 0 ]; then
		ok "fuzz_$t: ${secs}s of fuzzing, $(grep -E '^#[0-9]+' "$log" | tail -1 |
			grep -oE 'cov: [0-9]+ ft: [0-9]+|exec/s: [0-9]+' | paste -sd' ')"
	else
		not_ok "fuzz_$t: ${secs}s of fuzzing (exit $rc; crash input kept as $BUILD/fuzz/$(
			basename "$(ls "$tmp/$t-"* 2>/dev/null | head -1)"); add it to $seeds)" "$log"
		cp "$tmp/$t-"* "$BUILD/fuzz/" 2>/dev/null
	fi
done

# promtool reads what the metrics target renders from its seeds.
if command -v promtool >/dev/null && [ -x "$BUILD/fuzz/fuzz_metrics" ]; then
	mkdir -p "$tmp/dump"
	mapfile -t files < <(find tests/fuzz/corpus/metrics -type f | sort)
	SG_FUZZ_METRICS_DUMP="$tmp/dump" "$BUILD/fuzz/fuzz_metrics" "${files[@]}" >/dev/null 2>&1
	bad=0
	count=0
	for f in "$tmp"/dump/*.txt; do
		[ -f "$f" ] || continue
		count=$((count + 1))
		if ! promtool check metrics <"$f" >"$tmp/promtool.log" 2>&1; then
			bad=$((bad + 1))
			sed 's/^/# /' "$tmp/promtool.log" | head -5
		fi
	done
	if [ "$count" -gt 0 ] && [ "$bad" -eq 0 ]; then
		ok "promtool check metrics accepts $count outputs with hostile label values"
	else
		not_ok "promtool check metrics: $bad of $count outputs refused"
	fi
else
	not_ok "promtool check metrics: promtool or fuzz_metrics missing"
fi
echo "1..$n"
exit $fail
