#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The lab's fleet demo as a user runs it: `scripts/lab.sh --fleet` builds
# two gateways sharing a 3-member etcd cluster, approves app2 on gw1 (it
# then delivers through gw2), revokes it on gw2, shows the fleet's audit
# trail, and exits 0 only if every step went as expected.  Checked here:
# its exit status, its summary, what it showed, and that it left nothing
# behind.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

prefix="sglf$$"
out=$(BUILD="$BUILD" timeout -k 5 240 "$E2E_REPO/scripts/lab.sh" --fleet --ci --prefix "$prefix" 2>&1)
rc=$?
check_eq "scripts/lab.sh --fleet exits 0" "$rc" 0
check_match "its summary: every step as expected" "$out" "demo: 4 of 4 steps as expected"
check_match "both gateways show the fleet store up" "$out" \
	"fleet store +etcd /smtpgate/site-t/ as gw1: up.*fleet store +etcd /smtpgate/site-t/ as gw2: up"
check_match "approved on gw1, app2 delivers through gw2" "$out" \
	"3 +app2 -> relay, through gw2 +delivers +delivers +ok"
check_match "revoked on gw2, app2 is blocked again" "$out" \
	"4 +app2 -> relay, through gw2 +blocked +blocked +ok"
check_match "the fleet's audit trail names both gateways and the tickets" "$out" \
	"gw1 +root .*trust.add +CHG-2001.*gw2 +root .*trust.del +CHG-2002"
check_eq "no namespace of the demo is left" "$(ip netns list | grep -c "^$prefix-")" 0
check_eq "no pin dir of the demo is left" "$(find /sys/fs/bpf -maxdepth 1 -name "$prefix-*" | wc -l)" 0
[ "$rc" = 0 ] || tap_diag "$(tail -30 <<<"$out")"
tap_done
