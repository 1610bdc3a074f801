# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The lab's fleet demo (scripts/lab.sh --fleet): two gateways sharing
# their approvals through a 3-member etcd cluster (scripts/lab/fleet.sh
# builds it), an approval made on one reaching the app behind the other,
# a revoke on the other, and the fleet's audit trail.  Uses lab.sh's
# say, show_cmd, indent, step_header, record and demo_summary.

# fleet_store_up GW: prints "up" if GW's status says its watch of the
# store is established (for lab_poll).
fleet_store_up() {
	[ "$(fleet_ctl "$1" status --json | jq -r .store.up)" = true ] && echo up
}

# fleet_demo_try NS: "delivers" or "blocked", for the summary.
fleet_demo_try() {
	if fleet_can "$1"; then echo delivers; else echo blocked; fi
}

# fleet_demo_ctl GW ARGS...: shows and runs smtpgatectl on GW, indented.
fleet_demo_ctl() {
	local gw="$1"

	shift
	show_cmd "$gw" "smtpgatectl $*"
	fleet_ctl "$gw" "$@" 2>&1 | indent
}

fleet_demo() {
	local t0 ms t

	for t in etcd etcdctl openssl; do
		command -v "$t" >/dev/null || lab_die "$t is missing (run scripts/install-deps.sh)"
	done
	cat <<-EOF
	smtpgate fleet demo: lab $LAB_PREFIX
	  app1 ($APP1) sends through gw1, app2 ($APP2) through gw2, both to one
	  relay ($RELAY).  gw1 and gw2 share their approvals through a 3-member
	  etcd cluster (TLS, client certificates, a user limited to $FLEET_PREFIX).
	EOF
	step_header 1 "Build the lab: etcd, two gateways with XDP, the relay"
	t0=$(lab_now_ms)
	fleet_build_lab || return 1
	fleet_write_policy
	fleet_config gw1 9725
	fleet_config gw2 9725
	lab_daemon_start gw1 gw1 && lab_daemon_start gw2 gw2 || return 1
	# Each gateway's watch of etcd is established by a thread of its own,
	# a moment after the daemon says it runs.
	for t in gw1 gw2; do
		lab_poll 5 fleet_store_up "$t" >/dev/null || say "  $t: the fleet store is not up after 5 s"
	done
	say "  built in $(($(lab_now_ms) - t0)) ms; both gateways follow the store:"
	fleet_ctl gw1 status | grep 'fleet store' | indent
	fleet_ctl gw2 status | grep 'fleet store' | indent

	step_header 2 "Nobody is approved yet"
	record 2 "app2 -> relay, through gw2" blocked "$(fleet_demo_try app2)"

	step_header 3 "The firewall team approves app2 on gw1"
	fleet_demo_ctl gw1 trust add "$APP2" --relay internal --ticket CHG-2001 --owner billing
	ms=$(fleet_converge ok app2) || ms=""
	say "  app2, behind gw2, delivers ${ms:+$ms ms after the command returned}"
	record 3 "app2 -> relay, through gw2" delivers "$(fleet_demo_try app2)"
	fleet_demo_ctl gw2 trust list

	step_header 4 "Revoked on gw2"
	fleet_demo_ctl gw2 trust del "$APP2" --ticket CHG-2002
	fleet_converge blocked app2 >/dev/null
	record 4 "app2 -> relay, through gw2" blocked "$(fleet_demo_try app2)"
	record 4 "gw1's approvals" "none" "$(fleet_approvals_of gw1 | sed 's/^$/none/')"

	step_header 5 "The fleet's audit trail, from etcd"
	lab_daemon_paths gw1 >/dev/null
	show_cmd gw1 "smtpgatectl audit --fleet"
	lab_exec gw1 "$SMTPGATECTL" audit --fleet --config "$LAB_DAEMON_CONFIG" | indent
	demo_summary
}
