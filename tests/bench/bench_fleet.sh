#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# How long an approval made on one gateway takes to be in force on
# another through the fleet store (docs/fleet.md): the two-gateway lab of
# scripts/lab/fleet.sh (a 3-member etcd cluster with TLS and
# authentication, two smtpgated with XDP), with 1,000 approvals in place
# (imported with `smtpgatectl store import`), then N approvals added on
# gw1 and N revoked on gw1, one at a time.  For each:
#
#   cli        `smtpgatectl trust add|del` on gw1, process start to exit
#              (etcd's commit and gw1's own watch included: the reply
#              waits until the change is in force on gw1)
#   to gw2     from that command's exit to gw2's kernel map holding (or
#              no longer holding) the entry, seen by polling the pinned
#              map every 100 us (tests/tools/sgwait); negative when gw2
#              applied it before gw1's command had exited
#   start      from the command's start on gw1 to gw2's map: the whole
#              path (CLI, daemon, etcd commit, gw2's watch and apply)
#
# Prints p50, p90, p99 and max of each.  Absolute figures of a shared
# 2-CPU machine: they say what to expect, not a pass or a fail.
#
#   tests/bench/bench_fleet.sh [--samples N] [--in-place M]
set -uo pipefail

. "$(dirname "$0")/../e2e/lib.sh"
. "$E2E_REPO/scripts/lab/etcd.sh"
. "$E2E_REPO/scripts/lab/daemon.sh"
. "$E2E_REPO/scripts/lab/fleet.sh"

SAMPLES=100
IN_PLACE=1000
while [ $# -gt 0 ]; do
	case "$1" in
	--samples) SAMPLES="$2"; shift 2 ;;
	--in-place) IN_PLACE="$2"; shift 2 ;;
	*) echo "bench_fleet: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ "$SAMPLES" -ge 1 ] && [ "$SAMPLES" -le 250 ] && [ "$IN_PLACE" -ge 0 ] && [ "$IN_PLACE" -le 20000 ] ||
	{ echo "bench_fleet: --samples 1..250, --in-place 0..20000" >&2; exit 2; }
SGWAIT="$BUILD/tests/tools/sgwait"
[ -x "$SGWAIT" ] || { echo "bench_fleet: $SGWAIT is missing (make)" >&2; exit 1; }

e2e_init 900
fleet_build_lab || tap_bail "building the lab failed"
fleet_write_policy
fleet_config gw1 9311
fleet_config gw2 9312
lab_daemon_start gw1 gw1 && lab_daemon_start gw2 gw2 || tap_bail "a gateway did not start"

# M approvals in place, in 198.18.16.0/20 (never used by the samples).
lab_daemon_paths gw1 >/dev/null
if [ "$IN_PLACE" -gt 0 ]; then
	jq -n --argjson n "$IN_PLACE" '{version: 1, approvals: [range($n) |
		{addr: "198.18.\(16 + (. / 256 | floor)).\(. % 256)", relays: ["internal"],
		 ticket: "BULK-\(.)", owner: "bench", created: "2026-12-06T00:00:00Z", created_by: "bench (uid 0)"}]}' >"$LAB_DIR/bulk.json"
	lab_exec gw1 "$SMTPGATECTL" store import --config "$LAB_DAEMON_CONFIG" "$LAB_DIR/bulk.json" |
		tail -1 | sed 's/^/# import: /'
fi
t0=$(lab_now_ms)
until [ "$(lab_daemon_ctl gw2 status --json | jq .approvals)" -ge "$IN_PLACE" ]; do
	[ $(($(lab_now_ms) - t0)) -lt 60000 ] || tap_bail "gw2 did not reach $IN_PLACE approvals"
	sleep 0.2
done
echo "# $IN_PLACE approvals in place on both gateways"
lab_daemon_paths gw2 >/dev/null
PIN2="$LAB_DAEMON_PIN_DIR"

# sample OP PREFIX: prints "CLI_MS TO_GW2_MS" (decimal milliseconds).
sample() {
	local op="$1" pfx="$2" flag out t_start t_end seen

	[ "$op" = add ] && flag=--present || flag=--absent
	"$SGWAIT" --pin-dir "$PIN2" "$flag" "$pfx" --timeout-ms 10000 >"$LAB_DIR/seen" &
	local waiter=$!
	sleep 0.01
	t_start=$(date +%s%N)
	if [ "$op" = add ]; then
		out=$(lab_daemon_ctl gw1 trust add "$pfx" --relay internal --ticket B --owner bench 2>&1)
	else
		out=$(lab_daemon_ctl gw1 trust del "$pfx" --ticket B 2>&1)
	fi || { echo "bench_fleet: trust $op $pfx: $out" >&2; kill "$waiter"; return 1; }
	t_end=$(date +%s%N)
	wait "$waiter" || return 1
	seen=$(awk '{print $2}' "$LAB_DIR/seen")
	awk -v a="$t_start" -v b="$t_end" -v c="$seen" \
		'BEGIN { printf "%.3f %.3f %.3f\n", (b - a) / 1e6, (c - b) / 1e6, (c - a) / 1e6 }'
}

# stats LABEL FILE COLUMN: p50 p90 p99 max of a column.
stats() {
	sort -g -k"$3","$3" "$2" | awk -v col="$3" -v label="$1" '
		{ v[NR] = $col }
		END {
			n = NR
			i50 = int(0.50 * (n - 1)) + 1; i90 = int(0.90 * (n - 1)) + 1
			i99 = int(0.99 * (n - 1)) + 1
			printf "%-28s p50 %8.1f ms  p90 %8.1f ms  p99 %8.1f ms  max %8.1f ms  (n=%d)\n",
				label, v[i50], v[i90], v[i99], v[n], n
		}'
}

: >"$LAB_DIR/add" && : >"$LAB_DIR/del"
for op in add del; do
	for i in $(seq 1 "$SAMPLES"); do
		pfx="198.18.$((10 + i / 250)).$((i % 250 + 1))"
		sample "$op" "$pfx" >>"$LAB_DIR/$op" || tap_bail "sample $op $pfx failed"
	done
done

echo "# fleet propagation, $IN_PLACE approvals in place, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
stats "trust add: cli on gw1" "$LAB_DIR/add" 1
stats "trust add: gw1 exit -> gw2" "$LAB_DIR/add" 2
stats "trust del: cli on gw1" "$LAB_DIR/del" 1
stats "trust del: gw1 exit -> gw2" "$LAB_DIR/del" 2
stats "trust add: gw1 start -> gw2" "$LAB_DIR/add" 3
stats "trust del: gw1 start -> gw2" "$LAB_DIR/del" 3
ok "bench_fleet ran to the end"
tap_done
