#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Fleet changes that arrive during a reload (userspace/daemon/reload.c,
# fleet.c): gw1 reloads a 100,000-entry policy off its loop while gw2
# approves app1, revokes it and approves it again with another ticket.
# gw1's watch delivers the three changes during the reload; gw1 holds
# them (its applied store revision does not move while the reload runs)
# and applies them after it, in revision order: app1 ends up approved,
# with the last ticket, and connects through gw1's XDP.  An approval
# made before the reload (app2, on gw2) is in force on gw1 after it too.
#
# Lab: scripts/lab/fleet.sh (3 etcd members, two gateways, one relay);
# gw1 has its own policy: the shared one plus 100,000 IPv6 hosts.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/etcd.sh
. "$E2E_REPO/scripts/lab/etcd.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"
# shellcheck source=scripts/lab/fleet.sh
. "$E2E_REPO/scripts/lab/fleet.sh"

N=100000
e2e_init 400
for tool in etcd etcdctl openssl jq curl; do
	command -v "$tool" >/dev/null ||
		tap_bail "$tool is missing (scripts/install-deps.sh installs it)"
done
[ -x "$SMTPGATED" ] || tap_bail "$SMTPGATED is missing (make BUILD=${BUILD##*/})"

fleet_build_lab || tap_bail "building the lab (etcd cluster, two gateways, relay) failed"
fleet_write_policy
awk -v n="$N" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "{\"addr\": \"2001:db8:a::%x:%x\", \"relays\": [\"internal\"], \"ticket\": \"BIG-%d\", \"owner\": \"bulk\"}\n",
			int(i / 65536), i % 65536, i
}' >"$LAB_DIR/big.jsonl"
jq --slurpfile big "$LAB_DIR/big.jsonl" '.scope += ["2001:db8:a::/64"] | .trusted += $big' \
	"$LAB_DIR/policy.json" >"$LAB_DIR/policy-gw1.json"
fleet_config gw1 9311
fleet_config gw2 9312
cfg="${LAB_D_DIR[gw1]}/smtpgate.json"
jq --arg p "$LAB_DIR/policy-gw1.json" '.policy = $p' "$cfg" >"$cfg.tmp" && mv "$cfg.tmp" "$cfg"

LAB_DAEMON_TIMEOUT=120
# gw1's reloads are held (SMTPGATED_TEST_RELOAD_HOLD, --test-mode only)
# while $HOLD exists: gw2's changes meet gw1's reload in progress however
# fast the machine is.
HOLD="$LAB_DIR/reload.hold"
for g in 1 2; do
	[ "$g" = 1 ] && LAB_DAEMON_WRAPPER=(env "SMTPGATED_TEST_RELOAD_HOLD=$HOLD")
	lab_daemon_start "gw$g" "gw$g" || tap_bail "gw$g did not start: $(lab_daemon_log "gw$g" | tail -5)"
	LAB_DAEMON_WRAPPER=()
	lab_daemon_wait_log "gw$g" "fleet store $FLEET_PREFIX: gateway gw$g follows it" 10 >/dev/null ||
		tap_bail "gw$g does not follow the store"
done
ok "lab: 3 etcd members, two gateways following the store, gw1 with $N policy entries"

status_of() { fleet_ctl "$1" --json status 2>/dev/null; }
rev_of() { jq -r .store.revision <<<"$(status_of "$1")"; }
# For lab_poll, which waits for output: gw1 has applied what gw2 has /
# at least revision $1.
gw1_caught_up() { [ "$(rev_of gw1)" = "$(rev_of gw2)" ] && echo yes; }
gw1_at_least() { [ "$(rev_of gw1)" -ge "$1" ] 2>/dev/null && echo yes; }

# ---- before the reload ----------------------------------------------------
out=$(fleet_ctl gw2 trust add "$APP2" --relay internal --ticket CHG-A --owner mail-team 2>&1)
check_eq "trust add $APP2 on gw2 before the reload" "$?" 0 || tap_diag "$out"
check "gw1 has it before the reload" lab_poll 10 gw1_caught_up

# ---- the reload, and the fleet's changes during it -------------------------
touch "$LAB_DIR/policy-gw1.json" "$HOLD"
fleet_ctl gw1 --json reload >"$LAB_DIR/reload.out" 2>"$LAB_DIR/reload.err" &
RELOAD=$!
inprog=""
for ((i = 0; i < 2000; i++)); do
	s=$(status_of gw1)
	if [ "$(jq -r .reload.in_progress <<<"$s")" = true ]; then inprog=1; break; fi
	kill -0 "$RELOAD" 2>/dev/null || break
	sleep 0.01
done
check_eq "gw1's status says its reload is in progress" "$inprog" 1
rev0=$(jq -r .store.revision <<<"$s")

ok_adds=0
fleet_ctl gw2 trust add "$APP1" --relay internal --ticket CHG-1 --owner mail-team >/dev/null 2>&1 &&
	fleet_ctl gw2 trust del "$APP1" --ticket CHG-1-DEL >/dev/null 2>&1 &&
	fleet_ctl gw2 trust add "$APP1" --relay internal --ticket CHG-2 --owner mail-team >/dev/null 2>&1 &&
	ok_adds=1
check_eq "gw2: add, revoke and add again $APP1 during gw1's reload" "$ok_adds" 1
rev2=$(jq -r .store.revision <<<"$(status_of gw2)")
s=$(status_of gw1)
check_eq "gw1's reload is still in progress (held)" "$(jq -r .reload.in_progress <<<"$s")" true
check_eq "gw1 holds the watch's changes while it reloads (revision $rev0 applied)" \
	"$(jq -r .store.revision <<<"$s")" "$rev0"
rm -f "$HOLD"

wait "$RELOAD"
check_eq "gw1's reload succeeds" "$?" 0 || tap_diag "$(cat "$LAB_DIR/reload.err")"
check "gw1 applies the held changes after the reload (revision $rev2)" lab_poll 10 \
	gw1_at_least "$rev2"
check_eq "gw1: $APP1 approved with the last ticket (the changes applied in order)" \
	"$(fleet_ctl gw1 trust list --json | jq -r ".[] | select(.prefix == \"$APP1\") | .ticket")" CHG-2
check "app1 behind gw1 delivers" fleet_converge ok app1
check_eq "gw1: the approval made before the reload is there" \
	"$(jq -r .approvals <<<"$(status_of gw1)")" 2

for g in 1 2; do
	lab_daemon_stop "gw$g" 5 >/dev/null 2>&1
done
tap_done
