#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# smtpgate attaches only to Ethernet devices.  Its programs parse
# Ethernet frames; on a device without an Ethernet header (tun,
# WireGuard, PPP, GRE, IPIP, loopback) they would read IP header bytes as
# an EtherType and pass everything, SMTP included, while reporting the
# hook attached.  So:
#
#   - `smtpgated --check` with a tun device (XDP, and TC too) or lo
#     configured exits 1 naming the interface and its link type;
#   - the daemon refuses to start with it: no XDP program, no TC filter,
#     no pin dir, no state written;
#   - Ethernet kinds pass --check: veth, bridge, macvlan, tap (VLAN and
#     bond where the kernel has them);
#   - a running daemon whose interface comes back as a tun (deleted and
#     re-created with another type), or appears late as one, does not
#     attach to it, logs why once, shows it as not attached (status,
#     smtpgate_attached) and keeps running; the same name re-created as a
#     veth is attached again;
#   - the test tools refuse too (sgpolicy --attach, sgload --attach),
#     before anything is pinned.
#
# tun is built into this kernel (ipip, gre and wireguard are not).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

SGPOLICY="$BUILD/tests/tools/sgpolicy"

e2e_init 90
[ -x "$SMTPGATED" ] || tap_bail "$SMTPGATED is missing (make BUILD=${BUILD##*/})"
[ -x "$SGPOLICY" ] || tap_bail "$SGPOLICY is missing (make BUILD=${BUILD##*/})"
command -v curl >/dev/null || tap_bail "curl is missing"
command -v jq >/dev/null || tap_bail "jq is missing"
GW=$(lab_ns gw)
lab_ns lan >/dev/null
lab_link gw srv0 lan p-gw
ip -n "$GW" tuntap add dev tun0 mode tun || tap_bail "cannot create a tun device"
ip -n "$GW" link set tun0 up || tap_bail "tun0 up failed"
ip -n "$GW" tuntap add dev tap0 mode tap || tap_bail "cannot create a tap device"
ip -n "$GW" link add br0 type bridge || tap_bail "cannot create a bridge"
# VLAN and bond devices are Ethernet too, where the kernel has them
# (this one may not: no 8021q, no bonding).
ETH_EXTRA=()
if ip -n "$GW" link add link srv0 name srv0.100 type vlan id 100 2>/dev/null; then
	ETH_EXTRA+=("if=srv0.100:tc-egress")
else
	tap_diag "no VLAN support in this kernel: VLAN not tried"
fi
if ip -n "$GW" link add bond0 type bond 2>/dev/null; then
	ETH_EXTRA+=("if=bond0:xdp:generic")
else
	tap_diag "no bonding in this kernel: bond not tried"
fi
ip -n "$GW" link add link srv0 name mv0 type macvlan mode bridge || tap_bail "cannot create a macvlan"

POLICY='{"scope": ["198.18.1.0/24"], "relays": {"internal": [{"addr": "198.18.0.25"}]}}'

# nothing_on IF: no XDP program and no TC filter on IF in gw.
nothing_on() {
	local out

	out=$(ip -n "$GW" -d link show dev "$1") || return 1
	if [[ "$out" == *xdp* ]]; then
		echo "$1 has an XDP program: $out"
		return 1
	fi
	out=$(lab_exec gw tc filter show dev "$1" ingress 2>/dev/null; \
		lab_exec gw tc filter show dev "$1" egress 2>/dev/null)
	if [ -n "$out" ]; then
		echo "$1 has TC filters: $out"
		return 1
	fi
}

# ---- --check and start refuse a tun device ------------------------------

for hook in xdp tc-egress; do
	name="tun-$hook"
	lab_daemon_config "$name" "if=tun0:$hook" policy=- <<<"$POLICY"
	lab_daemon_paths "$name" >/dev/null
	out=$(lab_daemon_cmd gw "$name" --check 2>&1)
	check_eq "--check with tun0 ($hook): exit 1" "$?" 1
	check_match "... naming tun0 and its link type" "$out" \
		'tun0 is not an Ethernet device \(link type 65534, none: a layer-3 device'
	check_match "... saying what to do" "$out" 'remove tun0 from "interfaces"'
	check_match "... and which file is refused" "$out" "smtpgate.json: refused"

	lab_daemon_start gw "$name" 2>/dev/null
	check_eq "start with tun0 ($hook): the daemon exits 1" "$(lab_daemon_reap "$name" 5; echo "$LAB_DAEMON_RC")" 1
	check "... its log names tun0 and says nothing was attached" \
		lab_daemon_grep_since "$name" "$(lab_d_get "$name" off)" \
		'error: .*tun0 is not an Ethernet device.*|refusing to start: nothing was attached or pinned'
	check "... tun0 has no XDP program and no TC filter" nothing_on tun0
	check_eq "... no pin dir was made" "$(ls -d "$LAB_DAEMON_PIN_DIR" 2>/dev/null)" ""
	check_eq "... no state dir was made" "$(ls -d "$LAB_DAEMON_STATE_DIR" 2>/dev/null)" ""
done

lab_daemon_config lo "if=lo:xdp" policy=- <<<"$POLICY"
out=$(lab_daemon_cmd gw lo --check 2>&1)
check_eq "--check with lo: exit 1" "$?" 1
check_match "... naming lo as loopback" "$out" 'lo is not an Ethernet device \(link type 772, loopback\)'

# A tun among good interfaces: refused all the same (one hole is enough).
lab_daemon_config mixed "if=srv0:xdp" "if=tun0:xdp" policy=- <<<"$POLICY"
out=$(lab_daemon_cmd gw mixed --check 2>&1)
check_eq "--check with srv0 and tun0: exit 1" "$?" 1
check_match "... naming interfaces[1]" "$out" 'interfaces\[1\]: tun0 is not an Ethernet device'

# ---- Ethernet kinds pass --check ----------------------------------------

lab_daemon_config eth "if=srv0:xdp" "if=br0:tc-ingress" "if=mv0:xdp:generic" \
	"if=tap0:tc-ingress" "if=later0:xdp" "${ETH_EXTRA[@]}" policy=- <<<"$POLICY"
out=$(lab_daemon_cmd gw eth --check 2>&1)
check_eq "--check with veth, bridge, macvlan, tap${ETH_EXTRA[*]:+, ${ETH_EXTRA[*]}} and an absent interface: exit 0" "$?" 0 ||
	tap_diag "$out"

# ---- the link watcher: an interface that comes back as a tun -------------

# attached_metric IF WANT: smtpgate_attached for IF's xdp hook once it is
# WANT (the daemon reuses a rendering for up to a second), else its last
# value after 3 s.
attached_metric() {
	local v i

	for ((i = 0; i < 30; i++)); do
		v=$(lab_exec gw curl -sf "http://$METRICS/metrics" |
			awk -v ifc="$1" 'index($1, "smtpgate_attached{interface=\"" ifc "\",hook=\"xdp\"") == 1 { print $2 }')
		[ "$v" = "$2" ] && break
		sleep 0.1
	done
	echo "$v"
}

NAME=lw
METRICS=127.0.0.1:9725  # inside gw's namespace: private to this test
lab_daemon_config "$NAME" "if=srv0:xdp" "if=tun1:xdp" "metrics=$METRICS" policy=- <<<"$POLICY"
lab_daemon_paths "$NAME" >/dev/null
lab_daemon_start gw "$NAME" || tap_bail "smtpgated does not start with srv0 (tun1 absent)"
check "daemon: srv0 has its XDP program" test -n "$(lab_xdp_prog_id gw srv0)"

mark=$(lab_daemon_mark "$NAME")
ip -n "$GW" tuntap add dev tun1 mode tun && ip -n "$GW" link set tun1 up
check "tun1 appears: the log refuses it, naming its type" \
	lab_daemon_wait_log "$NAME" 'error: tun1: xdp not attached: tun1 is not an Ethernet device \(link type 65534' 3 "$mark"
ip -n "$GW" link set tun1 down && ip -n "$GW" link set tun1 up && ip -n "$GW" link set tun1 mtu 1400
sleep 0.5
check_eq "... once, however many link events follow" \
	"$(lab_daemon_grep_since "$NAME" "$mark" 'tun1: xdp not attached' | wc -l)" 1
check "... tun1 has no XDP program" nothing_on tun1
check_eq "... and smtpgate_attached says so" "$(attached_metric tun1 0)" 0
check "... the daemon still runs" lab_daemon_running "$NAME"

mark=$(lab_daemon_mark "$NAME")
check "srv0 (veth) is deleted" ip -n "$GW" link del srv0
ip -n "$GW" tuntap add dev srv0 mode tun && ip -n "$GW" link set srv0 up
check "srv0 comes back as a tun: refused, naming it" \
	lab_daemon_wait_log "$NAME" 'error: srv0: xdp not attached: srv0 is not an Ethernet device' 3 "$mark"
check "... srv0 has no XDP program" nothing_on srv0
att=$(lab_daemon_ctl "$NAME" --json status | jq -c '[.attachments[] | select(.interface == "srv0") | .attached]')
check_eq "... and status does not call it attached" "$att" '[false]'
check_eq "... nor does smtpgate_attached" "$(attached_metric srv0 0)" 0

mark=$(lab_daemon_mark "$NAME")
ip -n "$GW" link del srv0
lab_link gw srv0 lan p-gw2
check "srv0 comes back as a veth: attached again" \
	lab_daemon_wait_log "$NAME" 'srv0: xdp attached' 3 "$mark"
check "... it has its XDP program" test -n "$(lab_xdp_prog_id gw srv0)"
check_eq "... and smtpgate_attached is 1 again" "$(attached_metric srv0 1)" 1
lab_daemon_stop "$NAME" >/dev/null 2>&1

# ---- the test tools refuse before pinning anything ---------------------

pin=$(lab_pin_dir sgp)
out=$(lab_exec gw "$SGPOLICY" --pin-dir "$pin" --attach tun0:xdp 2>&1)
check_eq "sgpolicy --attach tun0:xdp: exit 1" "$?" 1
check_match "... naming tun0" "$out" 'attach tun0: tun0 is not an Ethernet device.*nothing changed'
check_eq "... no pin dir was made" "$(ls -d "$pin" 2>/dev/null)" ""
out=$(lab_exec gw "$SGLOAD" --pin-dir "$pin" --attach lo:tc-ingress 2>&1)
check_eq "sgload --attach lo:tc-ingress: exit 1" "$?" 1
check_match "... naming lo" "$out" 'lo is not an Ethernet device \(link type 772, loopback\).*nothing changed'
check_eq "... no pin dir was made" "$(ls -d "$pin" 2>/dev/null)" ""
check "... tun0 is untouched" nothing_on tun0
check "... lo is untouched" nothing_on lo

tap_done
