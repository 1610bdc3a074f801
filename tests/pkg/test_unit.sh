#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The shipped systemd unit (dist/systemd/smtpgated.service), checked
# without starting anything on this machine:
#   - systemd-analyze verify accepts it, with its commands pointing at the
#     build's binaries and its man: links at docs/man;
#   - it only starts with a real config (ConditionPathExists), so an
#     installed package without one never fails a boot;
#   - /run/smtpgate is the service's runtime dir (the daemon gives it the
#     control groups, tests/e2e/test_ctl_permissions.sh), and the
#     node_exporter textfile directories stay writable under
#     ProtectSystem=strict.
# The unit under a real systemd: tests/vm.
set -uo pipefail

. "$(dirname "$0")/../e2e/lib.sh"

UNIT="$E2E_REPO/dist/systemd/smtpgated.service"
command -v systemd-analyze >/dev/null || tap_bail "systemd-analyze is missing (scripts/install-deps.sh)"
for b in smtpgated smtpgatectl; do
	[ -x "$BUILD/$b" ] || tap_bail "$BUILD/$b is missing (make)"
done
tmp=$(mktemp -d /tmp/smtpgate-unit.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/man/man8"
cp "$E2E_REPO"/docs/man/*.8 "$tmp/man/man8/"
sed -e "s|/usr/sbin/smtpgated|$BUILD/smtpgated|g" -e "s|/usr/bin/smtpgatectl|$BUILD/smtpgatectl|g" \
	"$UNIT" >"$tmp/smtpgated.service"
out=$(MANPATH="$tmp/man" systemd-analyze verify "$tmp/smtpgated.service" 2>&1)
check_eq "systemd-analyze verify: no complaint (commands, man pages, keys)" "$?:$out" "0:"

# key VALUE...: the unit's settings for key, one line.
key() {
	sed -n "s/^$1=//p" "$UNIT" | tr '\n' ' ' | sed 's/ $//'
}
check_eq "Type=notify" "$(key Type)" notify
check_eq "starts only with a real config" "$(key ConditionPathExists)" /etc/smtpgate/smtpgate.json
check_eq "ExecStartPre checks the config" "$(key ExecStartPre)" \
	"/usr/sbin/smtpgated --config /etc/smtpgate/smtpgate.json --check"
check_eq "reload waits for the result" "$(key ExecReload)" "/usr/bin/smtpgatectl reload"
check_eq "runtime dir /run/smtpgate, kept over restarts" \
	"$(key RuntimeDirectory) $(key RuntimeDirectoryPreserve)" "smtpgate restart"
check_match "the textfile directory is writable under ProtectSystem=strict" \
	"$(key ProtectSystem) $(key ReadWritePaths)" \
	"^strict /sys/fs/bpf .*-/var/lib/node_exporter/textfile"
check_eq "ordered before any network configuration" "$(key Before)" "network-pre.target shutdown.target"
check_eq "only its four capabilities" "$(key CapabilityBoundingSet)" \
	"CAP_BPF CAP_NET_ADMIN CAP_SYS_ADMIN CAP_CHOWN"
exposure=$(systemd-analyze security --offline=yes "$tmp/smtpgated.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for smtpgated.service: \([0-9.]*\).*/\1/p')
tap_diag "systemd-analyze security: exposure $exposure (needs CAP_SYS_ADMIN and CAP_BPF)"
check_cmp "systemd-analyze security: exposure at most 5.5" "$(awk -v e="${exposure:-10}" 'BEGIN { print (e <= 5.5) ? 1 : 0 }')" -eq 1

tap_done
