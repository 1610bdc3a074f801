#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The tests inside the VM (run by smtpgate-vmtest.service at each boot;
# TAP on the second serial port).  The host (tests/vm/run.sh) puts the
# mode in /mnt/payload/mode:
#   bpf     the tests/bpf suites on this kernel, then power off
#   quick   the package: install, groups, systemd start (sd_notify), the
#           three kinds of user, XDP and TC verified and attached; off
#   full    quick, then real SMTP from namespaces through XDP on a veth,
#           restart, kill -9, a broken reload, a reboot (smtpgated back at
#           boot and enforcing), remove (still enforcing), purge (detached)
set -uo pipefail

P=/mnt/payload
S=/var/lib/smtpgate-vmtest          # survives the reboot (the root disk)
mkdir -p "$S"
mode=$(cat "$P/mode")
N=$(cat "$S/n" 2>/dev/null || echo 0)

ok() {
	N=$((N + 1))
	echo "$N" >"$S/n"
	echo "ok $N - $1"
}
not_ok() {
	N=$((N + 1))
	echo "$N" >"$S/n"
	echo "not ok $N - $1"
	shift
	[ $# -gt 0 ] && printf '%s\n' "$*" | sed 's/^/# /'
	return 0
}
diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; return 1; fi
}
check_match() {
	if [[ "$2" =~ $3 ]]; then ok "$1"; else not_ok "$1" "got '$2', want a match for /$3/"; fi
}
finish() {
	sync
	echo "# vm: done ($mode, $(uname -r))"
	systemctl poweroff
	exit 0
}

diag "vm: $(uname -r), mode $mode, boot $(($(cat "$S/boots" 2>/dev/null || echo 0) + 1))"
echo $(($(cat "$S/boots" 2>/dev/null || echo 0) + 1)) >"$S/boots"

# ---- bpf: the BPF suites on this kernel -----------------------------------------

if [ "$mode" = bpf ]; then
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	for t in "$P"/bpf/test_*; do
		start=$(date +%s)
		out=$("$t" 2>&1)
		rc=$?
		printf '%s\n' "$out" | grep -E '^(not )?ok |^# ' | sed "s/^\(\(not \)\?ok\) [0-9]*/\1 - ${t##*/}:/"
		if [ "$rc" -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
			not_ok "${t##*/} exited with status $rc" "$(tail -20 <<<"$out")"
		fi
		diag "${t##*/}: $(grep -c '^ok' <<<"$out") passed, $(grep -c '^not ok' <<<"$out") failed, $(($(date +%s) - start)) s on $(uname -r)"
	done
	finish
fi

# ---- helpers for the package tests ------------------------------------------------

CONF=/etc/smtpgate/smtpgate.json
POLICY=/etc/smtpgate/policy.json
# app: the servers' subnet, 10.20.1.0/24 behind srv0 (XDP); relay: the
# relay 10.0.0.25 and an outside host 10.0.0.26 behind up0 (TC egress).
topology() {
	ip netns del app 2>/dev/null
	ip netns del relay 2>/dev/null
	ip netns add app && ip netns add relay || return 1
	ip link add srv0 type veth peer name eth0 netns app
	ip link add up0 type veth peer name eth0 netns relay
	ip addr add 10.20.1.1/24 dev srv0 && ip link set srv0 up
	ip addr add 10.0.0.1/24 dev up0 && ip link set up0 up
	sysctl -qw net.ipv4.ip_forward=1
	ip -n app addr add 10.20.1.10/24 dev eth0
	ip -n app addr add 10.20.1.11/24 dev eth0
	ip -n app addr add 10.20.1.12/24 dev eth0
	ip -n app link set eth0 up && ip -n app link set lo up
	ip -n app route add default via 10.20.1.1
	ip -n relay addr add 10.0.0.25/24 dev eth0
	ip -n relay addr add 10.0.0.26/24 dev eth0
	ip -n relay link set eth0 up && ip -n relay link set lo up
	ip -n relay route add default via 10.0.0.1
	# Postfix's smtp-sink: a real SMTP server that accepts and discards.
	ip netns exec relay setsid /usr/sbin/smtp-sink -u nobody -c 10.0.0.25:25 64 </dev/null >/dev/null 2>&1 &
	ip netns exec relay setsid /usr/sbin/smtp-sink -u nobody -c 10.0.0.26:25 64 </dev/null >/dev/null 2>&1 &
	sleep 1
}
# smtp SRC DST: real mail with swaks from SRC in the app namespace;
# prints "delivered" or "blocked".
smtp() {
	if ip netns exec app swaks --server "$2" --from app@servers.example --to ops@relay.example \
		--local-interface "$1" --timeout "${SMTP_TIMEOUT:-15}" --silent 2 >/dev/null 2>&1; then
		echo delivered
	else
		echo blocked
	fi
}
# syn SRC DST: a bare TCP connect (5 s); "connected" or "refused/dropped".
syn() {
	if ip netns exec app nc -z -w 5 -s "$1" "$2" 25 >/dev/null 2>&1; then
		echo connected
	else
		echo blocked
	fi
}
# as USER CMD...
as() {
	local u="$1"

	shift
	runuser -u "$u" -- "$@"
}
wait_active() {
	local i

	for ((i = 0; i < 120; i++)); do
		[ "$(systemctl is-active smtpgated)" = active ] && smtpgatectl status >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}
wait_xdp() {
	local i

	for ((i = 0; i < 60; i++)); do
		ip -d link show srv0 2>/dev/null | grep -q 'prog/xdp' && return 0
		sleep 0.5
	done
	return 1
}
# enforcing LABEL: the policy's verdicts, with real SMTP.
enforcing() {
	check_eq "$1: registered 10.20.1.10 -> relay: delivered (swaks, smtp-sink)" "$(smtp 10.20.1.10 10.0.0.25)" delivered
	check_eq "$1: approved 10.20.1.11 -> relay: delivered" "$(smtp 10.20.1.11 10.0.0.25)" delivered
	check_eq "$1: unregistered 10.20.1.12 -> relay: blocked" "$(smtp 10.20.1.12 10.0.0.25)" blocked
	check_eq "$1: registered 10.20.1.10 -> unapproved 10.0.0.26: blocked" "$(smtp 10.20.1.10 10.0.0.26)" blocked
}

# ---- boot 1: install, start, users, traffic, restart, kill, reload ---------------------

if [ ! -f "$S/phase2" ]; then
	deb=$(ls "$P"/smtpgate_*.deb)
	out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" 2>&1)
	check_eq "dpkg -i ${deb##*/}: exit 0" "$?" 0
	diag "$out"
	check_eq "postinst: system groups smtpgate-admin and smtpgate-read" \
		"$(getent group smtpgate-admin | cut -d: -f1) $(getent group smtpgate-read | cut -d: -f1) $(($(getent group smtpgate-admin | cut -d: -f3) < 1000))" \
		"smtpgate-admin smtpgate-read 1"
	check_eq "installed, not enabled, not started (no config yet)" \
		"$(systemctl is-enabled smtpgated) $(systemctl is-active smtpgated)" "disabled inactive"
	check_eq "tmpfiles.d: /run/smtpgate 0750 root:smtpgate-admin" "$(stat -c '%a %U:%G' /run/smtpgate)" \
		"750 root:smtpgate-admin"
	systemctl start smtpgated
	check_eq "without a config, systemctl start is a skipped condition, not a failure" \
		"$? $(systemctl show -P ConditionResult smtpgated) $(systemctl is-failed smtpgated)" "0 no inactive"

	cat >"$CONF" <<-'JSON'
	{
	  "policy": "/etc/smtpgate/policy.json",
	  "interfaces": [
	    {"name": "srv0", "hook": "xdp", "xdp_mode": "auto"},
	    {"name": "up0", "hook": "tc-egress"}
	  ],
	  "metrics": {"listen": "127.0.0.1:9725"},
	  "control": {"socket": "/run/smtpgate/control.sock",
	              "admin_group": "smtpgate-admin", "read_group": "smtpgate-read"},
	  "paths": {"pin_dir": "/sys/fs/bpf/smtpgate", "state_dir": "/var/lib/smtpgate",
	            "log_dir": "/var/log/smtpgate"}
	}
	JSON
	cat >"$POLICY" <<-'JSON'
	{
	  "scope": ["10.20.1.0/24"],
	  "relays": {"internal": [{"addr": "10.0.0.25", "ports": [25]}]},
	  "rate_classes": {"default": {"conn_per_sec": 1000, "conn_burst": 1000}},
	  "unregistered": {"action": "drop"},
	  "trusted": [
	    {"addr": "10.20.1.10", "relays": ["internal"], "ticket": "VM-1", "owner": "vm-test"}
	  ]
	}
	JSON
	chmod 0644 "$CONF" "$POLICY"
	# Under TCG on a busy machine, verifying the programs (about 200,000
	# instructions each) can take longer than systemd's default 90 s
	# start timeout; on hardware it takes about a second.
	mkdir -p /etc/systemd/system/smtpgated.service.d
	printf '[Service]\nTimeoutStartSec=900\n' >/etc/systemd/system/smtpgated.service.d/tcg.conf
	systemctl daemon-reload
	topology || not_ok "the namespaces (app, relay) are built"

	t0=$(date +%s%N)
	out=$(systemctl enable --now smtpgated 2>&1)
	rc=$?
	t1=$(date +%s%N)
	check_eq "systemctl enable --now smtpgated: exit 0" "$rc" 0
	diag "$out"
	check_eq "Type=notify: active once start returns, and the socket answers at once" \
		"$(systemctl show -P Type smtpgated) $(systemctl is-active smtpgated) $(smtpgatectl status >/dev/null 2>&1; echo $?)" \
		"notify active 0"
	diag "systemctl start took $(((t1 - t0) / 1000000)) ms (TCG)"
	check_eq "the journal has the daemon's ready line" \
		"$(journalctl -b -u smtpgated -o cat | grep -c 'running:')" 1
	check_match "XDP on srv0, TC egress on up0: the verifier accepted the programs on $(uname -r)" \
		"$(ip -d link show srv0 | grep -o 'prog/xdp id [0-9]*') $(tc filter show dev up0 egress | grep -o 'bpf.*direct-action' | head -1)" \
		"^prog/xdp id [0-9]+ bpf .*direct-action"
	check_eq "/run/smtpgate: 0750, group smtpgate-admin (the daemon's own)" \
		"$(stat -c '%a %U:%G' /run/smtpgate)" "750 root:smtpgate-admin"
	check_eq "control socket: 0660, group smtpgate-admin" \
		"$(stat -c '%a %G' /run/smtpgate/control.sock)" "660 smtpgate-admin"

	useradd -m -G smtpgate-admin alice
	useradd -m -G smtpgate-read bob
	useradd -m carol
	out=$(as alice smtpgatectl trust add 10.20.1.11 --relay internal --ticket CHG-VM1 --owner crm --expires +30d 2>&1)
	check_eq "alice (smtpgate-admin) approves 10.20.1.11: exit 0" "$?" 0
	diag "$out"
	check_eq "... audited with her name" \
		"$(jq -r 'select(.command == "trust.add") | .user' /var/log/smtpgate/audit.jsonl | tail -1)" alice
	as bob smtpgatectl status >/dev/null 2>&1
	check_eq "bob (smtpgate-read): status is exit 0" "$?" 0
	check_eq "bob: trust list shows alice's approval" \
		"$(as bob smtpgatectl --json trust list | jq -r '.[] | select(.prefix == "10.20.1.11") | .ticket' 2>&1)" CHG-VM1
	out=$(as bob smtpgatectl trust add 10.20.1.12 --relay internal --ticket CHG-BOB --owner x 2>&1)
	check_eq "bob: trust add is refused (exit 1)" "$?" 1
	check_match "... saying why" "$out" "only root and members of control.admin_group \"smtpgate-admin\" may"
	out=$(as carol smtpgatectl status 2>&1)
	check_eq "carol (neither group): refused (exit 1)" "$?" 1
	check_match "... with a clear message" "$out" "^smtpgatectl: status: cannot reach smtpgated at /run/smtpgate/control.sock: Permission denied"
	diag "carol sees: $out"

	if [ "$mode" = quick ]; then
		finish
	fi

	enforcing "enforce"

	# restart and kill -9: a SYN from the unregistered source every
	# 0.2 s throughout must never connect.
	# probe: until "$S/stop" exists (at most 300 s), then prints
	# "THROUGH of TRIES".
	probe() {
		local end=$(($(date +%s) + 300)) n=0 through=0

		rm -f "$S/stop"
		while [ "$(date +%s)" -lt "$end" ] && [ ! -e "$S/stop" ]; do
			if ip netns exec app nc -z -w 1 -s 10.20.1.12 10.0.0.25 25 >/dev/null 2>&1; then
				through=$((through + 1))
			fi
			n=$((n + 1))
			sleep 0.2
		done
		echo "$through of $n"
	}
	probe >"$S/probe" &
	pid=$!
	sleep 2
	systemctl restart smtpgated
	check_eq "systemctl restart: exit 0, active again" "$? $(systemctl is-active smtpgated)" "0 active"
	sleep 2
	touch "$S/stop"
	wait $pid
	check_match "during the restart no SYN from the unregistered source got through" "$(cat "$S/probe")" "^0 of [1-9]"
	enforcing "after restart"

	probe >"$S/probe" &
	pid=$!
	sleep 1
	kill -9 "$(systemctl show -P MainPID smtpgated)"
	sleep 0.5
	check_eq "kill -9: while the daemon is down, unregistered still blocked" "$(syn 10.20.1.12 10.0.0.25)" blocked
	check_eq "kill -9: ... and registered still connects" "$(syn 10.20.1.10 10.0.0.25)" connected
	wait_active
	touch "$S/stop"
	wait $pid
	check_match "during kill -9 and the restart no SYN got through" "$(cat "$S/probe")" "^0 of [1-9]"
	check_eq "systemd restarted it (Restart=on-failure)" \
		"$(systemctl is-active smtpgated) $(systemctl show -P NRestarts smtpgated)" "active 1"
	enforcing "after kill -9"

	cp "$POLICY" "$S/policy.good"
	cp "$P/policies/invalid.policy.json" "$POLICY"
	out=$(systemctl reload smtpgated 2>&1)
	check_eq "systemctl reload with a broken policy: fails" "$?" 1
	check_eq "... the daemon keeps running" "$(systemctl is-active smtpgated)" active
	check_eq "... the reload failure is counted" \
		"$(curl -s http://127.0.0.1:9725/metrics | sed -n 's/^smtpgate_policy_reload_failures_total //p')" 1
	enforcing "after a broken reload (the old policy stays)"
	cp "$S/policy.good" "$POLICY"
	systemctl reload smtpgated
	check_eq "systemctl reload with the good policy again: exit 0" "$?" 0

	# An upgrade to a higher version over the running service (the same
	# package repacked as VERSION+vmtest1): dpkg restarts the daemon,
	# and no SYN from the unregistered source passes meanwhile.
	rm -rf /tmp/up && dpkg-deb -R "$deb" /tmp/up &&
		sed -i 's/^Version: \(.*\)/Version: \1+vmtest1/' /tmp/up/DEBIAN/control &&
		dpkg-deb -b /tmp/up /tmp/smtpgate-up.deb >/dev/null
	pid0=$(systemctl show -P MainPID smtpgated)
	probe >"$S/probe" &
	pid=$!
	sleep 2
	out=$(DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/smtpgate-up.deb 2>&1)
	check_eq "dpkg -i of a higher version over the running one: exit 0" "$?" 0
	diag "$out"
	wait_active
	touch "$S/stop"
	wait $pid
	check_match "during the upgrade no SYN from the unregistered source got through" "$(cat "$S/probe")" "^0 of [1-9]"
	wait_active
	check_eq "... the daemon was restarted by the upgrade, and is active" \
		"$(systemctl is-active smtpgated) $([ "$(systemctl show -P MainPID smtpgated)" != "$pid0" ] && echo restarted)" \
		"active restarted"
	enforcing "after the upgrade"

	touch "$S/phase2"
	diag "vm: rebooting"
	sync
	systemctl reboot
	exit 0
fi

# ---- boot 2: back at boot, enforcing; remove; purge --------------------------------

# This unit runs after multi-user.target, which does not wait for
# smtpgated (DefaultDependencies=no: only network-pre.target is ordered
# after it); under TCG its start (the verifier) can outlast the rest of
# the boot, so wait for the start job to end, then for network-pre.target.
for ((i = 0; i < 900; i++)); do
	[ "$(systemctl is-active smtpgated)" = activating ] || break
	sleep 1
done
for ((i = 0; i < 60; i++)); do
	[ "$(systemctl is-active network-pre.target)" = active ] && break
	sleep 1
done
check_eq "after the reboot: smtpgated is active (enabled at boot), started at the first try" \
	"$(systemctl is-active smtpgated) $(systemctl show -P NRestarts smtpgated)" "active 0" ||
	diag "$(systemctl status --no-pager smtpgated 2>&1 | head -5; journalctl -b -o short-monotonic --no-pager -u smtpgated | tail -40)"
ours=$(systemctl show -P ActiveEnterTimestampMonotonic smtpgated)
pre=$(systemctl show -P ActiveEnterTimestampMonotonic network-pre.target)
netsvc=$(systemctl show -P ActiveEnterTimestampMonotonic systemd-networkd.service networking.service 2>/dev/null | sort -n | tail -1)
diag "boot: smtpgated ready at ${ours} us, network-pre.target at ${pre} us"
check_eq "... ready (sd_notify) before network-pre.target was reached" \
	"$([ "${ours:-0}" -gt 0 ] && [ "${pre:-0}" -gt 0 ] && [ "$ours" -le "$pre" ] && echo before)" before
diag "${netsvc:+network services at $netsvc us}"
topology || not_ok "the namespaces are built again"
wait_xdp
check_eq "the new srv0 gets XDP from the link watcher" "$?" 0
enforcing "after reboot"
check_eq "alice's approval survived the reboot (approvals.json)" \
	"$(smtpgatectl --json trust list | jq -r '.[] | select(.prefix == "10.20.1.11") | .ticket')" CHG-VM1

out=$(dpkg -r smtpgate 2>&1)
check_eq "dpkg -r smtpgate: exit 0" "$?" 0
diag "$out"
check_eq "... the daemon is stopped, the pins stay" \
	"$(systemctl is-active smtpgated) $(test -d /sys/fs/bpf/smtpgate && echo pinned)" "inactive pinned"
check_eq "... removed: unregistered still blocked (enforcement stays)" "$(syn 10.20.1.12 10.0.0.25)" blocked
check_eq "... removed: registered still connects" "$(syn 10.20.1.10 10.0.0.25)" connected
out=$(dpkg --purge smtpgate 2>&1)
check_eq "dpkg --purge smtpgate: exit 0" "$?" 0
diag "$out"
check_eq "... purge detached: no pins, no XDP on srv0, no TC filter on up0" \
	"$(test -e /sys/fs/bpf/smtpgate && echo pins)$(ip -d link show srv0 | grep -c 'prog/xdp') $(tc filter show dev up0 egress | grep -c bpf)" "0 0"
check_eq "... outbound SMTP is no longer governed: 10.20.1.12 connects" "$(syn 10.20.1.12 10.0.0.25)" connected
check_eq "... state and logs gone, the operator's config kept" \
	"$(test -e /var/lib/smtpgate && echo state)$(test -e /var/log/smtpgate && echo logs)$(test -f "$CONF" && echo config)" config
finish
