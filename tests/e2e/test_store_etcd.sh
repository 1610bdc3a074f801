#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The fleet store's etcd client against a real 3-member etcd cluster
# (TLS with client certificates, a user limited to the test's prefix):
# records written by hand with etcdctl, invalid ones refused and counted;
# compare-on-revision transactions and a two-gateway race; watch from a
# revision and live; a CA, certificate or password that is wrong; every
# endpoint unreachable (a clear error in time, the local cache instead);
# a member cut off from its peers; the leader killed; a compacted revision; the follower thread the daemon
# will use; tokens that expire (after 2 s idle here).  The checks themselves are in
# tests/unit/store_etcd_check.c, run phase by phase from the client
# namespace.
set -uo pipefail

. "$(dirname "$0")/lib.sh"
. "$E2E_REPO/scripts/lab/etcd.sh"

CHECK="$BUILD/tests/unit/store_etcd_check"
PREFIX=/smtpgate/t/

# Under valgrind (STORE_CHECK_WRAP), give it STORE_TEST_DEADLINE=300 and
# SG_T_TIMEOUT_MS=15000: the timing checks then fail, nothing else may.
e2e_init "${STORE_TEST_DEADLINE:-90}"
for tool in etcd etcdctl openssl jq; do
	command -v "$tool" >/dev/null ||
		tap_bail "$tool is missing (scripts/install-deps.sh installs etcd-server, etcd-client, openssl, jq)"
done
[ -x "$CHECK" ] || tap_bail "$CHECK is missing (make BUILD=${BUILD##*/})"

t_start=$(lab_now_ms)
etcd_pki || tap_bail "making the test CA and certificates failed"
etcd_cluster 3 || tap_bail "the 3-member etcd cluster did not come up within 20 s"
ok "a 3-member etcd cluster answers over TLS ($(($(lab_now_ms) - t_start)) ms)"
etcd_auth "$PREFIX" gw-test || tap_bail "setting up etcd users and roles failed"
ok "authentication on, user gw-test limited to $PREFIX"
out=$(ETCD_ROOT_PW="" etcd_ctl --user "gw-test:$(cat "$LAB_DIR/gw-test.password")" \
	put /smtpgate/other/x y 2>&1)
check_match "gw-test is refused outside $PREFIX" "$out" "permission denied"

# Hand-written records: three invalid, one valid.
if ! { etcd_ctl put "${PREFIX}approvals/10.9.9.9" 'not json at all' &&
	etcd_ctl put "${PREFIX}approvals/10.9.9.8/32" \
		'{"addr":"10.9.9.8","relays":["internal"],"ticket":"T","owner":"o"}' &&
	etcd_ctl put "${PREFIX}bans/198.18.0.9" '{"addr":"198.18.0.10"}' &&
	etcd_ctl put "${PREFIX}approvals/10.7.7.7" \
		'{"addr":"10.7.7.7","relays":["internal"],"ticket":"CHG-0","owner":"ops","created":"2026-12-06T09:00:00Z","created_by":"bob (uid 1001)"}'
} >/dev/null; then
	tap_bail "writing records with etcdctl failed"
fi

eps=$(IFS=,; echo "${ETCD_ENDPOINTS[*]}")
export SG_T_ENDPOINTS="$eps" SG_T_PREFIX="$PREFIX" SG_T_DIR="$LAB_DIR" \
	SG_T_CA="$ETCD_PKI/ca.pem" SG_T_CERT="$ETCD_PKI/client.pem" \
	SG_T_KEY="$ETCD_PKI/client-key.pem" SG_T_WRONG_CA="$ETCD_PKI/wrong-ca.pem" \
	SG_T_USER=gw-test SG_T_PASSWORD_FILE="$LAB_DIR/gw-test.password" \
	SG_T_BAD_PASSWORD_FILE="$LAB_DIR/gw-test.bad-password" \
	SG_T_UNREACHABLE="https://$ETCD_NET.99:2379,https://$ETCD_NET.1:2399"

# phase NAME: runs one phase in the client namespace and re-emits its
# TAP lines as this test's own (numbered here).
phase() {
	local line out rc

	# STORE_CHECK_WRAP: e.g. "valgrind -q --leak-check=full --errors-for-leak-kinds=definite"
	# shellcheck disable=SC2086 # a command line, split on purpose
	out=$(lab_exec cl ${STORE_CHECK_WRAP:-} "$CHECK" "$1" 2>&1)
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "*) ok "$1: ${line#ok * - }" ;;
		"not ok "*) not_ok "$1: ${line#not ok * - }" ;;
		*) echo "# $1: ${line#\# }" ;;
		esac
	done <<<"$out"
	[ "$rc" -eq 0 ] || [ "$TAP_FAILED" -gt 0 ] || not_ok "$1: exited with status $rc"
}

phase basic
phase live
phase follow
phase token

# smtpgatectl store import: a gateway's approvals.json into the store.
# 10.1.3.0/24 is in the store already (phase basic) with other content.
mig="$LAB_DIR/migrate"
mkdir -p "$mig"
cat >"$mig/policy.json" <<'JSON'
{"relays": {"internal": [{"addr": "198.18.0.25"}]}}
JSON
cat >"$mig/approvals.json" <<'JSON'
{"version": 1, "approvals": [
 {"addr": "10.1.9.9", "relays": ["internal"], "ticket": "MIG-1", "owner": "payroll",
  "created": "2026-11-01T10:00:00Z", "created_by": "carol (uid 1002)"},
 {"addr": "10.1.9.0/28", "relays": ["internal"], "ticket": "MIG-2", "owner": "billing",
  "created": "2026-11-02T10:00:00Z", "created_by": "carol (uid 1002)"},
 {"addr": "10.1.3.0/24", "relays": ["internal"], "ticket": "MIG-3", "owner": "other",
  "created": "2026-11-03T10:00:00Z", "created_by": "carol (uid 1002)"}]}
JSON
cat >"$mig/smtpgate.json" <<JSON
{"policy": "$mig/policy.json", "interfaces": [],
 "store": {"etcd": {"endpoints": ["${ETCD_ENDPOINTS[0]}", "${ETCD_ENDPOINTS[1]}"],
   "prefix": "$PREFIX", "tls": {"ca": "$SG_T_CA", "cert": "$SG_T_CERT", "key": "$SG_T_KEY"},
   "username": "gw-test", "password_file": "$SG_T_PASSWORD_FILE"}}}
JSON
chmod 644 "$mig"/*.json
out=$(lab_exec cl "$BUILD/smtpgatectl" --config "$mig/smtpgate.json" store import \
	"$mig/approvals.json" 2>&1)
rc=$?
tap_diag "$out"
check_eq "store import: exit 1 when an approval differs from the store's" "$rc" 1
check_match "store import: two imported, one differs (the store's kept)" "$out" \
	"10\.1\.3\.0/24 +differs.*2 imported, 0 already in the store, 1 differ, 0 failed"
out=$(lab_exec cl "$BUILD/smtpgatectl" --config "$mig/smtpgate.json" store import \
	"$mig/approvals.json" 2>&1)
check_match "store import: run again, nothing is written twice" "$out" \
	"0 imported, 2 already in the store, 1 differ, 0 failed"
check_match "store import: the approval is in etcd as approvals.json had it" \
	"$(etcd_ctl get --print-value-only "${PREFIX}approvals/10.1.9.9")" '"ticket":"MIG-1"'
check_eq "store import: one fleet audit record per approval imported" \
	"$(etcd_ctl get --prefix --print-value-only "${PREFIX}audit/" | grep -c '"command":"store.import"')" 2

phase tls
phase unreachable

# A follower cut off from its peers, first in the list: it takes the
# connection but cannot reach a quorum.
leader=$(etcd_leader) || tap_bail "no leader found"
cut=$(( (leader + 1) % 3 ))
check "cut m$((cut + 1)) off from its peers (nftables)" etcd_partition "$cut" on
order="${ETCD_ENDPOINTS[$cut]}"
for i in "${!ETCD_ENDPOINTS[@]}"; do
	[ "$i" = "$cut" ] || order+=",${ETCD_ENDPOINTS[$i]}"
done
SG_T_ENDPOINTS="$order" phase partition
check "heal the cut" etcd_partition "$cut" off
# Bounded: until the healed member answers a linearizable read again.
t0=$(lab_now_ms)
until ETCD_ONLY="${ETCD_ENDPOINTS[$cut]}" etcd_ctl get /x >/dev/null 2>&1; do
	[ $(($(lab_now_ms) - t0)) -lt 10000 ] || break
	sleep 0.2
done

leader=$(etcd_leader) || tap_bail "no leader found"
etcd_kill "$leader"
ok "killed the leader, m$((leader + 1))"
# The dead leader first, so the client has to fail over.
order="${ETCD_ENDPOINTS[$leader]}"
for i in "${!ETCD_ENDPOINTS[@]}"; do
	[ "$i" = "$leader" ] || order+=",${ETCD_ENDPOINTS[$i]}"
done
# 5 s here (2 s by default): an election on a loaded 2-CPU machine can
# take longer than on a gateway, and this checks failover, not speed.
SG_T_ENDPOINTS="$order" SG_T_TIMEOUT_MS=5000 phase failover

live=()
for i in "${!ETCD_ENDPOINTS[@]}"; do
	[ "$i" = "$leader" ] || live+=("${ETCD_ENDPOINTS[$i]}")
done
ETCD_ENDPOINTS=("${live[@]}")
rev=$(etcd_revision)
check "compacting the cluster up to revision $rev" etcd_ctl compaction --physical "$rev"
phase compacted

tap_diag "whole test: $(($(lab_now_ms) - t_start)) ms"
tap_done
