#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Concurrent changes are serialised and none is lost: 20 clients each add
# 50 approvals with distinct prefixes (IPv4 hosts and IPv6 /124s) at the
# same time, while two readers keep listing.  Afterwards all 1,000 are in
# `trust list`, in the kernel's maps (status and the pinned maps), and in
# approvals.json, and the audit log has exactly 1,000 ok records for
# them.  The whole storm must finish in bounded time.
#
# CONC_POLICY_ENTRIES=N puts N more trusted /128s in policy.json, so that
# the same storm runs beside a large policy (test_ctl_concurrency_scale.sh
# runs it with 1,000,000).
set -uo pipefail

. "$(dirname "$0")/ctl_lib.sh"

WORKERS=20
PER_WORKER=50
EXTRA="${CONC_POLICY_ENTRIES:-0}"
# ~20 s on an idle 2-CPU VM; on a machine busy with other work it has
# taken 130 s.  The bound only catches a hang: it is not a performance
# check (tests/bench/bench_control.sh measures the control plane).
STORM_LIMIT_S=600

# The lab's policy with EXTRA more entries, in scope (2001:db8:1::/64)
# and apart from the approvals below (their fifth group is 0).
big_policy() {
	printf '%s\n' "$CTL_POLICY_JSON" | head -n -2
	awk -v n="$EXTRA" 'BEGIN {
		for (i = 0; i < n; i++)
			printf ",{\"addr\": \"2001:db8:1:0:1:0:%x:%x\", \"relays\": [\"internal\"], \"ticket\": \"BIG-%d\", \"owner\": \"big\"}\n",
				int(i / 65536), i % 65536, i
		print "  ]"
		print "}"
	}'
}

if [ "$EXTRA" -eq 0 ]; then
	ctl_up 150
else
	ctl_init 900
	ctl_topology
	big_policy | lab_daemon_policy "$CTL_NAME" -
	ctl_config
	# A million entries start in seconds, many more on a busy machine.
	LAB_DAEMON_TIMEOUT=600
	ctl_start || tap_bail "smtpgated does not start"
	check_eq "the policy's $((EXTRA + 1)) entries are in the data plane" \
		"$(ctl --json status | jq .trusted_entries)" "$((EXTRA + 1))"
fi
RES="$CTL_DIR/storm"
mkdir -p "$RES"

# The i-th prefix of worker w (distinct across all workers).
prefix_of() {
	local w="$1" i="$2"

	if [ "$w" -lt 10 ]; then
		echo "198.18.$((100 + w)).$((i + 1))"
	else
		printf '2001:db8:1::%x:%x/124\n' "$w" $((i * 16))
	fi
}

# Each worker's prefixes, made beforehand: the storm itself forks only
# smtpgatectl (a fork costs ~17 ms on this VM).
for ((w = 0; w < WORKERS; w++)); do
	for ((i = 0; i < PER_WORKER; i++)); do
		prefix_of "$w" "$i"
	done >"$RES/prefixes.$w"
done
sort "$RES"/prefixes.* >"$RES/expected"

worker() {
	local w="$1" i=0 fails=0 p

	while read -r p; do
		"$CTL" --socket "$CTL_SOCK" trust add "$p" --relay internal --ticket "CHG-$w-$i" \
			--owner "worker$w" >/dev/null 2>>"$RES/errors.$w" || fails=$((fails + 1))
		i=$((i + 1))
	done <"$RES/prefixes.$w"
	echo "$fails" >"$RES/fails.$w"
}

# Lists now and then while the storm goes on (reads are served between
# the changes, not starved by them).
reader() {
	local n=0 bad=0

	while [ ! -e "$RES/done" ] && [ "$n" -lt 200 ]; do
		"$CTL" --socket "$CTL_SOCK" --json trust list --source approval >/dev/null 2>&1 ||
			bad=$((bad + 1))
		n=$((n + 1))
		sleep 0.2
	done
	echo "$n $bad" >"$RES/reader.$1"
}

t0=$(lab_now_ms)
reader 1 &
r1=$!
reader 2 &
r2=$!
pids=()
for ((w = 0; w < WORKERS; w++)); do
	worker "$w" &
	pids+=($!)
done
wait "${pids[@]}"
storm_ms=$(($(lab_now_ms) - t0))
touch "$RES/done"
wait "$r1" "$r2"
tap_diag "1000 concurrent trust add in ${storm_ms} ms"

fails=0
for ((w = 0; w < WORKERS; w++)); do
	fails=$((fails + $(cat "$RES/fails.$w" 2>/dev/null || echo "$PER_WORKER")))
done
check_eq "every one of the 1000 trust add succeeded" "$fails" 0 ||
	tap_diag "$(cat "$RES"/errors.* | sort | uniq -c | head -5)"
check_cmp "the storm ended (no hang: less than ${STORM_LIMIT_S} s)" "$storm_ms" -lt $((STORM_LIMIT_S * 1000))
read -r n1 bad1 <"$RES/reader.1"
read -r n2 bad2 <"$RES/reader.2"
check_eq "readers were answered throughout ($n1 + $n2 lists)" "$((bad1 + bad2))" 0
check_cmp "... and got their turns" "$((n1 + n2))" -ge 4

ctl --json trust list --source approval | jq -r '.[] | .prefix' | sort >"$RES/listed"
check_eq "trust list: 1000 approvals" "$(wc -l <"$RES/listed")" 1000
check "trust list: exactly the prefixes added" cmp "$RES/expected" "$RES/listed"
ctl_approvals_doc >"$RES/doc"
jq -r '.approvals[].addr' "$RES/doc" | sort >"$RES/disk"
check "on disk (approvals.json + journal): exactly the prefixes added" cmp "$RES/expected" "$RES/disk"
check_eq "on disk: each with its own ticket and owner" \
	"$(jq '[.approvals[] | select(.ticket | test("^CHG-[0-9]+-[0-9]+$")) | select(.owner | startswith("worker"))] | length' "$RES/doc")" 1000
check_eq "status: $((EXTRA + 1001)) entries in the data plane (1000 + policy)" \
	"$(ctl --json status | jq -c '[.trusted_entries, .approvals]')" "[$((EXTRA + 1001)),1000]"
check_eq "pinned maps: $((EXTRA + 1001)) trusted entries" \
	"$(lab_exec gw "$CTL" --json stats --pin-dir "$CTL_PIN" | jq .data_plane.trusted_entries)" \
	"$((EXTRA + 1001))"
check_eq "audit: exactly 1000 ok trust.add records" \
	"$(ctl_audit_count '.command == "trust.add" and .result == "ok"')" 1000
check_eq "audit: 1000 distinct tickets" \
	"$(jq -r 'select(.command == "trust.add" and .result == "ok") | .ticket' "$CTL_LOG/audit.jsonl" | sort -u | wc -l)" 1000
check_eq "audit: nothing refused or failed" \
	"$(ctl_audit_count '.result != "ok"')" 0
check_match "198.18.1.5 (not among them) is still blocked" "$(ctl_try 198.18.1.5)" '^failed '
ctl trust add 198.18.1.5 --relay internal --ticket CHG-LAST --owner last >/dev/null
check_match "one more approval on top of 1000 takes effect at once" "$(ctl_try 198.18.1.5)" '^connected '

tap_done
