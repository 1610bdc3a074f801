# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# A real etcd cluster for the fleet-store tests: a test CA made with
# openssl, N members (Debian's etcd-server), each in its own namespace on
# a bridge, and a client namespace to run gateways and etcdctl in.  Source
# after scripts/lab/netns.sh and call after lab_init: everything lives in
# the lab's scratch dir and namespaces, so the lab's trap removes it all.
#
#   etcd_pki                          # $ETCD_PKI/{ca,wrong-ca,member,client}.pem
#   etcd_cluster 3                    # members m1..m3 on 198.18.77.1-3, client "cl"
#   etcd_ctl put /x y                 # etcdctl from the client namespace (root
#                                     # once etcd_auth has run)
#   etcd_auth /smtpgate/t/ gw-test    # root user, a role limited to the prefix,
#                                     # user gw-test; auth on
#   i=$(etcd_leader)                  # index (0-based) of the leader member
#   etcd_kill "$i"                    # SIGKILL that member
#
# Client URLs are https (with client certificates required); peers talk
# plain http on the lab's private bridge.  Heartbeat 50 ms and election
# timeout 500 ms, so a lost leader is replaced within a second; tokens
# expire after 2 s idle, so renewing them is tested in seconds.

ETCD_NET=198.18.77
ETCD_PKI=""
ETCD_ENDPOINTS=()      # https://198.18.77.N:2379
ETCD_PIDS=()           # the members' pids (etcd itself: nsenter execs it)
ETCD_ROOT_PW=""

# etcd_pki: a CA, a certificate for every member (server and client use:
# the JSON gateway dials the member's own gRPC with it), a client
# certificate, and a second CA that signed none of them.  The client
# certificate has no CommonName: etcd 3.4 with --client-cert-auth refuses
# gateway requests from certificates that have one.
etcd_pki() {
	local d="$LAB_DIR/pki" sans="IP:127.0.0.1" n

	ETCD_PKI="$d"
	mkdir -p "$d" || return 1
	for n in 1 2 3 4 5; do
		sans+=",IP:$ETCD_NET.$n"
	done
	(
		cd "$d" || exit 1
		set -e
		for ca in ca wrong-ca; do
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout "$ca-key.pem" -out "$ca.pem" -days 2 \
				-subj "/CN=smtpgate test $ca" 2>/dev/null
		done
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout member-key.pem -out member.csr -subj "/CN=etcd-member" 2>/dev/null
		printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$sans" >member.ext
		openssl x509 -req -in member.csr -CA ca.pem -CAkey ca-key.pem -set_serial 2 \
			-days 2 -out member.pem -extfile member.ext 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout client-key.pem -out client.csr -subj "/O=smtpgate/OU=gw-test" 2>/dev/null
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -set_serial 3 \
			-days 2 -out client.pem -extfile client.ext 2>/dev/null
		chmod 600 ./*-key.pem
	) || return 1
}

# etcd_cluster N: N members and the client namespace on one bridge;
# waits (bounded) until the cluster answers.
etcd_cluster() {
	local n="$1" i cluster="" ns t0 ports=()

	lab_ns sw >/dev/null
	lab_ns cl >/dev/null
	lab_link cl eth0 sw pcl
	lab_addr cl eth0 "$ETCD_NET.10/24"
	for i in $(seq 1 "$n"); do
		lab_ns "m$i" >/dev/null
		lab_link "m$i" eth0 sw "p$i"
		lab_addr "m$i" eth0 "$ETCD_NET.$i/24"
		cluster+="${cluster:+,}m$i=http://$ETCD_NET.$i:2380"
		ports+=("p$i")
	done
	lab_bridge sw br0 pcl "${ports[@]}"
	for i in $(seq 1 "$n"); do
		ns="m$i"
		mkdir -p "$LAB_DIR/etcd-m$i"
		lab_bg "$ns" etcd --name "m$i" --data-dir "$LAB_DIR/etcd-m$i" \
			--listen-client-urls "https://$ETCD_NET.$i:2379" \
			--advertise-client-urls "https://$ETCD_NET.$i:2379" \
			--listen-peer-urls "http://$ETCD_NET.$i:2380" \
			--initial-advertise-peer-urls "http://$ETCD_NET.$i:2380" \
			--initial-cluster "$cluster" --initial-cluster-state new \
			--initial-cluster-token "sg-$LAB_PREFIX" \
			--cert-file "$ETCD_PKI/member.pem" --key-file "$ETCD_PKI/member-key.pem" \
			--trusted-ca-file "$ETCD_PKI/ca.pem" --client-cert-auth \
			--heartbeat-interval 50 --election-timeout 500 --auth-token-ttl 2 \
			--logger zap --log-level warn >/dev/null
		ETCD_PIDS+=("$LAB_LAST_PGID")
		ETCD_ENDPOINTS+=("https://$ETCD_NET.$i:2379")
	done
	t0=$(lab_now_ms)
	until etcd_ctl endpoint health >/dev/null 2>&1; do
		[ $(($(lab_now_ms) - t0)) -lt 20000 ] || return 1
		sleep 0.2
	done
}

# etcd_ctl ARGS...: etcdctl in the client namespace, over TLS with the
# client certificate, as root once etcd_auth has enabled authentication;
# to every member, or only to ETCD_ONLY (one endpoint) when it is set.
etcd_ctl() {
	local eps="${ETCD_ONLY:-}"

	[ -n "$eps" ] || eps=$(IFS=,; echo "${ETCD_ENDPOINTS[*]}")
	lab_exec cl env ETCDCTL_API=3 etcdctl --endpoints "$eps" --dial-timeout 2s \
		--command-timeout 3s --cacert "$ETCD_PKI/ca.pem" --cert "$ETCD_PKI/client.pem" \
		--key "$ETCD_PKI/client-key.pem" ${ETCD_ROOT_PW:+--user "root:$ETCD_ROOT_PW"} "$@"
}

# etcd_auth PREFIX USER: the set-up docs/fleet.md shows: a root user, a
# role with read-write on PREFIX only, USER with that role and a random
# password (in $LAB_DIR/USER.password, mode 0600), authentication on.
etcd_auth() {
	local prefix="$1" user="$2" role pw

	role="smtpgate-$(echo "$prefix" | tr -c 'A-Za-z0-9\n' '-' | sed 's/^-*//; s/-*$//')"
	ETCD_ROOT_PW=""
	pw=$(openssl rand -hex 16)
	umask 077
	printf '%s\n' "$pw" >"$LAB_DIR/$user.password"
	printf 'wrong-%s\n' "$pw" >"$LAB_DIR/$user.bad-password"
	umask 022
	{
		etcd_ctl user add root --new-user-password "$(openssl rand -hex 16 | tee "$LAB_DIR/root.pw")" &&
			etcd_ctl user grant-role root root &&
			etcd_ctl role add "$role" &&
			etcd_ctl role grant-permission "$role" --prefix=true readwrite "$prefix" &&
			etcd_ctl user add "$user" --new-user-password "$pw" &&
			etcd_ctl user grant-role "$user" "$role" &&
			etcd_ctl auth enable
	} >/dev/null || return 1
	ETCD_ROOT_PW=$(cat "$LAB_DIR/root.pw")
}

# etcd_leader: the index (0-based) in ETCD_ENDPOINTS of the leader.
etcd_leader() {
	local url i

	url=$(etcd_ctl endpoint status -w json |
		jq -r '.[] | select(.Status.header.member_id == .Status.leader) | .Endpoint')
	for i in "${!ETCD_ENDPOINTS[@]}"; do
		[ "${ETCD_ENDPOINTS[$i]}" = "$url" ] && echo "$i" && return 0
	done
	return 1
}

# etcd_kill I: SIGKILL member I (0-based): a crash, not a shutdown.
etcd_kill() {
	kill -KILL "${ETCD_PIDS[$1]}" || return 1
	# Reaped here, so bash does not report the job as "Killed".
	wait "${ETCD_PIDS[$1]}" 2>/dev/null
	return 0
}

# etcd_partition I on|off: cuts member I (0-based) off from its peers
# (nftables in its namespace drops the peer port both ways) while its
# clients can still reach it, or heals the cut.
etcd_partition() {
	local ns="m$(($1 + 1))"

	if [ "$2" = on ]; then
		lab_exec "$ns" nft -f - <<-'NFT'
			table inet sgpart {
				chain in { type filter hook input priority 0; tcp dport 2380 drop; tcp sport 2380 drop; }
				chain out { type filter hook output priority 0; tcp dport 2380 drop; tcp sport 2380 drop; }
			}
		NFT
	else
		lab_exec "$ns" nft delete table inet sgpart
	fi
}

# etcd_revision: the cluster's current revision.
etcd_revision() {
	etcd_ctl endpoint status -w json | jq -r '[.[].Status.header.revision] | max'
}
