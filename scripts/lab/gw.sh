# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The standard gateway lab most daemon tests use: its topology
# (lab_gw_build), its addresses (LAB_GW) and its policy (lab_gw_policy,
# built with jq).  Sourced by scripts/lab/daemon.sh; needs netns.sh.

# lab_gw_build [PORTS...]
# The topology most daemon tests use (ports: what relay and outside
# answer on, default 25 443):
#
#   app1 198.18.1.5 2001:db8:1::5 (meant to be trusted) -+
#   app2 198.18.1.6 2001:db8:1::6 (not trusted) ---------+- lan (bridge br0)
#                                                        |  p-gw
#                                        srv0 198.18.1.1 2001:db8:1::1  (XDP here)
#                                        gw (router)
#                                        up0  198.18.0.1 2001:db8::1    (TC egress here)
#                                                        |
#   relay: eth0 198.18.0.25 2001:db8::25 (the approved relay) and
#               198.18.0.99 2001:db8::99 (an unapproved mail host)
#
# Every listener answers each connection with a banner naming the host
# ("220 relay", "220 outside" on 25; "<port> relay" elsewhere), then
# closes.  srv0's peer has NAPI (lab_napi) so an XDP reject's RST arrives.
# Addresses are in LAB_GW[app1_4], LAB_GW[relay_6], ... (host_family).
declare -A LAB_GW=(
	[app1_4]=198.18.1.5 [app1_6]=2001:db8:1::5
	[app2_4]=198.18.1.6 [app2_6]=2001:db8:1::6
	[relay_4]=198.18.0.25 [relay_6]=2001:db8::25
	[outside_4]=198.18.0.99 [outside_6]=2001:db8::99
	[gw_srv_4]=198.18.1.1 [gw_srv_6]=2001:db8:1::1
	[gw_up_4]=198.18.0.1 [gw_up_6]=2001:db8::1
)

# shellcheck disable=SC2120 # the ports are optional
lab_gw_build() {
	local ports=("$@") h fam port banner

	[ ${#ports[@]} -gt 0 ] || ports=(25 443)
	for h in gw app1 app2 relay lan; do
		lab_ns "$h" >/dev/null
	done
	lab_link gw srv0 lan p-gw
	lab_link app1 eth0 lan p-app1
	lab_link app2 eth0 lan p-app2
	lab_bridge lan br0 p-gw p-app1 p-app2
	lab_link gw up0 relay eth0
	lab_napi lan p-gw
	lab_gw_address_srv0
	lab_addr gw up0 "${LAB_GW[gw_up_4]}/24"
	lab_addr gw up0 "${LAB_GW[gw_up_6]}/64"
	lab_forwarding gw
	for h in app1 app2; do
		lab_addr "$h" eth0 "${LAB_GW[${h}_4]}/24"
		lab_addr "$h" eth0 "${LAB_GW[${h}_6]}/64"
		lab_route "$h" default "${LAB_GW[gw_srv_4]}"
		lab_route "$h" default "${LAB_GW[gw_srv_6]}"
	done
	for h in relay outside; do
		lab_addr relay eth0 "${LAB_GW[${h}_4]}/24"
		lab_addr relay eth0 "${LAB_GW[${h}_6]}/64"
	done
	lab_route relay default "${LAB_GW[gw_up_4]}"
	lab_route relay default "${LAB_GW[gw_up_6]}"
	for h in relay outside; do
		for fam in 4 6; do
			for port in "${ports[@]}"; do
				banner="$port $h"
				[ "$port" = 25 ] && banner="220 $h"
				lab_tcp_serve relay "${LAB_GW[${h}_$fam]}" "$port" "$banner"
			done
		done
	done
	for h in relay outside; do
		for fam in 4 6; do
			for port in "${ports[@]}"; do
				lab_wait_port relay "${LAB_GW[${h}_$fam]}" "$port" 5 || return 1
			done
		done
	done
}

# lab_gw_address_srv0: gw's addresses on srv0 (again, after re-creating it).
lab_gw_address_srv0() {
	lab_addr gw srv0 "${LAB_GW[gw_srv_4]}/24"
	lab_addr gw srv0 "${LAB_GW[gw_srv_6]}/64"
}

# lab_gw_policy [trust=HOST[,HOST...]] [action=drop|reject] [scope=PFX[,PFX...]]
# Prints the standard policy for the lab_gw_build lab: port 25 governed,
# scope the server subnet (v4 and v6) plus PFXs, relay group "internal"
# = relay (v4 and v6), HOSTs (default app1) trusted for it, unregistered
# sources get ACTION (default drop).
lab_gw_policy() {
	local kv trust="app1" action="drop" h fam pfx scope=("198.18.1.0/24" "2001:db8:1::/64")
	local trusted=()

	for kv in "$@"; do
		case "$kv" in
		trust=*) trust="${kv#trust=}" ;;
		action=*) action="${kv#action=}" ;;
		scope=*)
			kv="${kv#scope=}"
			for pfx in ${kv//,/ }; do
				scope+=("$pfx")
			done
			;;
		*) lab_die "lab_gw_policy: unknown \"$kv\"" ;;
		esac
	done
	for h in ${trust//,/ }; do
		for fam in 4 6; do
			[ -n "${LAB_GW[${h}_$fam]:-}" ] || lab_die "lab_gw_policy: no host $h"
			trusted+=("${LAB_GW[${h}_$fam]}" "LAB-$h-$fam")
		done
	done
	# $ARGS.positional: the scope's prefixes, then (address, ticket) pairs.
	jq -n --arg action "$action" --arg relay4 "${LAB_GW[relay_4]}" \
		--arg relay6 "${LAB_GW[relay_6]}" --argjson n_scope "${#scope[@]}" '
		$ARGS.positional as $a
		| {
		    mode: "enforce",
		    ports: [25],
		    scope: $a[:$n_scope],
		    relays: {internal: [{addr: $relay4}, {addr: $relay6}]},
		    unregistered: {action: $action},
		    trusted: [$a[$n_scope:] | range(0; length; 2) as $i
			      | {addr: .[$i], relays: ["internal"], ticket: .[$i + 1], owner: "lab"}]
		  }' --args "${scope[@]}" "${trusted[@]}"
}
