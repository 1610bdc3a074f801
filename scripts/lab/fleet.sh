# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Two gateways sharing a fleet store, for the lab's fleet demo
# (scripts/lab.sh --fleet), tests/e2e/test_fleet_gateways.sh and
# tests/bench/bench_fleet.sh.  Source after scripts/lab/netns.sh,
# etcd.sh and daemon.sh, and call after lab_init:
#
#   app1 -- srv0 [gw1] up0 --+                     m1  m2  m3  (etcd)
#                            +-- relay 198.18.9.25    |   |   |
#   app2 -- srv0 [gw2] up0 --+                     ---- br0 ----
#             gw1 and gw2 reach etcd through st0 --+ (198.18.77.21-22)
#
#   fleet_build_lab              the etcd cluster (TLS, a user limited to
#                                FLEET_PREFIX), both gateways, the relay
#   fleet_write_policy           the shared policy.json (nobody trusted)
#   fleet_config NAME PORT       NAME's config with the store, metrics on PORT

RELAY=198.18.9.25
APP1=198.18.1.10
APP2=198.18.2.10
FLEET_PREFIX=/smtpgate/site-t/
CONVERGE_S=10   # the bound of every wait for convergence (it takes ms)

fleet_build_lab() {
	local g

	etcd_pki && etcd_cluster 3 && etcd_auth "$FLEET_PREFIX" smtpgate-site-t || return 1
	lab_ns relay >/dev/null
	lab_addr relay lo "$RELAY/32"
	for g in 1 2; do
		lab_ns "gw$g" >/dev/null
		lab_ns "app$g" >/dev/null
		lab_link "app$g" eth0 "gw$g" srv0
		lab_napi "app$g" eth0
		lab_addr "app$g" eth0 "198.18.$g.10/24"
		lab_addr "gw$g" srv0 "198.18.$g.1/24"
		lab_route "app$g" default "198.18.$g.1"
		lab_link "gw$g" up0 relay "r$g"
		lab_addr "gw$g" up0 "198.18.$((g + 2)).1/24"
		lab_addr relay "r$g" "198.18.$((g + 2)).25/24"
		lab_route "gw$g" "$RELAY/32" "198.18.$((g + 2)).25"
		lab_route relay "198.18.$g.0/24" "198.18.$((g + 2)).1"
		lab_forwarding "gw$g"
		lab_link "gw$g" st0 sw "pg$g"
		lab_bridge sw br0 "pg$g"
		lab_addr "gw$g" st0 "$ETCD_NET.2$g/24"
	done
	lab_tcp_listen relay "$RELAY" 25 "220 relay"
}

# The policy both gateways share: nobody trusted by policy.json, so
# every approval comes from the fleet store.
fleet_write_policy() {
	cat >"$LAB_DIR/policy.json" <<-JSON
	{
	  "mode": "enforce",
	  "ports": [25],
	  "scope": ["198.18.1.0/24", "198.18.2.0/24"],
	  "relays": {"internal": [{"addr": "$RELAY"}]},
	  "unregistered": {"action": "drop"},
	  "trusted": []
	}
	JSON
}

# fleet_config NAME METRICS_PORT: NAME's config, with the store added.
fleet_config() {
	local name="$1" port="$2" eps cfg

	lab_daemon_config "$name" "if=srv0:xdp" policy="$LAB_DIR/policy.json" \
		metrics="127.0.0.1:$port"
	eps=$(printf '%s\n' "${ETCD_ENDPOINTS[@]}" | jq -R . | jq -s .)
	cfg="${LAB_D_DIR[$name]}/smtpgate.json"
	jq --arg gw "$name" --arg prefix "$FLEET_PREFIX" --argjson eps "$eps" \
		--arg ca "$ETCD_PKI/ca.pem" --arg cert "$ETCD_PKI/client.pem" \
		--arg key "$ETCD_PKI/client-key.pem" --arg pw "$LAB_DIR/smtpgate-site-t.password" \
		'.store = {gateway: $gw, etcd: {endpoints: $eps, prefix: $prefix,
			tls: {ca: $ca, cert: $cert, key: $key},
			username: "smtpgate-site-t", password_file: $pw}}' \
		"$cfg" >"$cfg.tmp" && mv "$cfg.tmp" "$cfg"
}

fleet_ctl() { lab_daemon_ctl "$@"; }

# fleet_can NS: does NS reach the relay's SMTP port (one try, 1 s)?
fleet_can() {
	[[ "$(lab_tcp_try "$1" "$RELAY" 25 1)" == connected* ]]
}

# fleet_converge WANT NS: waits until NS's connection to the relay is WANT
# (ok|blocked); prints the milliseconds it took.  1 if it never was.
fleet_converge() {
	local want="$1" ns="$2" t0 now

	t0=$(lab_now_ms)
	while :; do
		if fleet_can "$ns"; then [ "$want" = ok ] && break; else [ "$want" = blocked ] && break; fi
		now=$(lab_now_ms)
		[ $((now - t0)) -lt $((CONVERGE_S * 1000)) ] || return 1
		sleep 0.05
	done
	echo $(($(lab_now_ms) - t0))
}

fleet_approvals_of() { # NAME: the prefixes gateway NAME lists as approvals, sorted
	fleet_ctl "$1" trust list --json | jq -r '[.[] | select(.source == "approval") | .prefix] | sort | join(" ")'
}

fleet_store_approvals() { # the prefixes in etcd, sorted
	etcd_ctl get --prefix "${FLEET_PREFIX}approvals/" --keys-only |
		sed -n "s|^${FLEET_PREFIX}approvals/||p" | sort | paste -sd' ' -
}

fleet_metric() { # NAME PORT METRIC: its value on gateway NAME's /metrics
	lab_exec "$1" curl -s --max-time 3 "http://127.0.0.1:$2/metrics" |
		awk -v m="$3" '$1 == m {print $2}'
}

