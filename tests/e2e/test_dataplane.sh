#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The data plane with real TCP through a gateway, IPv4 and IPv6, for XDP
# on the server-facing interface and for TC egress on the uplink.
#
#   app1 198.18.1.5  2001:db8:1::5 (trusted) -+
#   app2 198.18.1.6  2001:db8:1::6 -----------+- [lan bridge] -+
#                                                              | srv0 198.18.1.1 2001:db8:1::1  <- XDP
#                                                              gw (forwarding)
#                                                              | up0  198.18.0.1 2001:db8::1    <- TC egress
#   relay   198.18.0.25 2001:db8::25 ---------+- [wan bridge] -+
#   outside 198.18.0.99 2001:db8::99 ---------+
#
# Each host is its own namespace; the two bridges live in switch
# namespaces.  relay and outside answer a banner on 25 and 443; relay
# also swallows bulk data on 587.  Policy: ports 25 and 587 governed,
# relay group "internal" = the relay, app1 trusted for it, scope = the
# server subnet.  For each hook:
#   - drop: app1 -> relay:25 connects; a 1 MB upload app1 -> relay:587
#     arrives whole and is counted; app2 -> relay:25 times out;
#     app1 -> outside:25 times out; app2 -> relay:443 untouched; counters
#     match exactly what was sent;
#   - reject: app2 -> relay:25 fails fast with a RST;
#   - after --detach everything connects again and the pins are gone.
#
# Runs as root; BUILD selects the build dir holding tests/tools/sgload.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

DROP_WAIT=1     # seconds a dropped SYN is given before "timed out"
FAST_MS=1000    # a reject must fail connect() faster than this
ATTACHED=0      # 1 while the hook under test is attached (counters readable)
BULK=1000000    # bytes of the bulk transfer (GSO/GRO-sized packets through the hooks)

# Addresses by host and family: ${ADDR[relay_6]}.
declare -A ADDR=(
	[app1_4]=198.18.1.5 [app1_6]=2001:db8:1::5
	[app2_4]=198.18.1.6 [app2_6]=2001:db8:1::6
	[relay_4]=198.18.0.25 [relay_6]=2001:db8::25
	[outside_4]=198.18.0.99 [outside_6]=2001:db8::99
)

build_lab() {
	local h fam

	for h in gw app1 app2 relay outside lan wan; do
		lab_ns "$h" >/dev/null
	done
	lab_link gw srv0 lan p-gw
	lab_link app1 eth0 lan p-app1
	lab_link app2 eth0 lan p-app2
	lab_bridge lan br0 p-gw p-app1 p-app2
	lab_link gw up0 wan p-gw
	lab_link relay eth0 wan p-relay
	lab_link outside eth0 wan p-out
	lab_bridge wan br0 p-gw p-relay p-out
	# XDP_TX on srv0 (reject) delivers to srv0's peer: it needs NAPI.
	lab_napi lan p-gw

	lab_addr gw srv0 198.18.1.1/24
	lab_addr gw srv0 2001:db8:1::1/64
	lab_addr gw up0 198.18.0.1/24
	lab_addr gw up0 2001:db8::1/64
	lab_forwarding gw
	for h in app1 app2 relay outside; do
		lab_addr "$h" eth0 "${ADDR[${h}_4]}/24"
		lab_addr "$h" eth0 "${ADDR[${h}_6]}/64"
	done
	for h in app1 app2; do
		lab_route "$h" default 198.18.1.1
		lab_route "$h" default 2001:db8:1::1
	done
	for h in relay outside; do
		lab_route "$h" default 198.18.0.1
		lab_route "$h" default 2001:db8::1
	done

	# Banners name the host, so a test sees who answered.
	for h in relay outside; do
		for fam in 4 6; do
			lab_tcp_serve "$h" "${ADDR[${h}_$fam]}" 25 "220 $h"
			lab_tcp_serve "$h" "${ADDR[${h}_$fam]}" 443 "https $h"
		done
	done
	for fam in 4 6; do
		lab_tcp_sink relay "${ADDR[relay_$fam]}" 587 "$LAB_DIR/sink.$fam"
	done
	for h in relay outside; do
		for fam in 4 6; do
			lab_wait_port "$h" "${ADDR[${h}_$fam]}" 25 5 &&
				lab_wait_port "$h" "${ADDR[${h}_$fam]}" 443 5 || return 1
		done
	done
	lab_wait_port relay "${ADDR[relay_4]}" 587 5 && lab_wait_port relay "${ADDR[relay_6]}" 587 5
}

# The lab itself must be right before anything is judged: with no
# smtpgate, every path connects to the host it names.
check_baseline() {
	local fam app name port out bad="" dir="$LAB_DIR/baseline" pids=()

	mkdir -p "$dir"
	# 16 independent connections: in parallel, each into its own file.
	for fam in 4 6; do
		for app in app1 app2; do
			for name in relay outside; do
				for port in 25 443; do
					lab_tcp_try "$app" "${ADDR[${name}_$fam]}" "$port" 2 \
						>"$dir/$app-$name$fam-$port" &
					pids+=($!)
				done
			done
		done
	done
	# Only these: a bare `wait` would wait for the listeners too.
	wait "${pids[@]}"
	for fam in 4 6; do
		for app in app1 app2; do
			for name in relay outside; do
				for port in 25 443; do
					out=$(<"$dir/$app-$name$fam-$port")
					[[ "$out" == "connected "*" $name" ]] ||
						bad+="$app->${ADDR[${name}_$fam]}:$port: $out; "
				done
			done
		done
	done
	if [ -n "$bad" ]; then
		not_ok "baseline: without smtpgate every path connects" "$bad"
		tap_bail "the lab does not work; nothing below would mean anything"
	fi
	ok "baseline: without smtpgate app1/app2 reach relay/outside on 25 and 443 (v4, v6)"
}

# sgload_apply UNREGISTERED ATTACH: the test policy, applied and attached in gw.
sgload_apply() {
	lab_exec gw "$SGLOAD" --pin-dir "$PIN" --port 25 --port 587 \
		--scope 198.18.1.0/24 --scope 2001:db8:1::/64 \
		--relay "internal=${ADDR[relay_4]}" --relay "internal=${ADDR[relay_6]}" \
		--trust "${ADDR[app1_4]}=internal" --trust "${ADDR[app1_6]}=internal" \
		--unregistered "$1" --attach "$2"
}

# Counters of the attachment under test; nothing once detached.
counters() {
	[ "$ATTACHED" = 1 ] && sg_counters gw "$PIN" "$ATT"
}

# try_case NAME APP DST PORT WANT [TIMEOUT]: one connection attempt and
# its check; WANT is "connected:<banner>", "timeout" or "refused".
# Leaves the lab_tcp_try output in $TRY and the counters before and after
# in $BEFORE / $AFTER.
try_case() {
	local name="$1" app="$2" dst="$3" port="$4" want="$5" timeout="${6:-2}"

	BEFORE=$(counters)
	TRY=$(lab_tcp_try "$app" "$dst" "$port" "$timeout")
	AFTER=$(counters)
	case "$want" in
	connected:*) check_match "$name" "$TRY" "^connected [0-9]+ ${want#connected:}\$" ;;
	*) check_match "$name" "$TRY" "^$want [0-9]+" ;;
	esac
}

# expect_counted NAME VERDICT REASON CONNS_OP CONNS: the last try_case
# moved (VERDICT, REASON) by CONNS_OP CONNS connections and moved no
# other counter.
expect_counted() {
	local name="$1" v="$2" r="$3" op="$4" n="$5" conns pkts others

	conns=$(sg_delta "$BEFORE" "$AFTER" "$v" "$r" conns)
	pkts=$(sg_delta "$BEFORE" "$AFTER" "$v" "$r" packets)
	others=$(sg_moved "$BEFORE" "$AFTER" "$v" "$r")
	if test "$conns" "$op" "$n" && [ "$pkts" -ge "$conns" ] && [ -z "$others" ]; then
		ok "$name"
	else
		not_ok "$name" "$v/$r: conns +$conns (want $op $n), packets +$pkts; others moved: '${others}'" \
			"before:" "$BEFORE" "after:" "$AFTER"
	fi
}

# Size of a file in bytes (0 if missing).
file_size() {
	local s

	s=$(stat -c %s "$1" 2>/dev/null)
	echo "${s:-0}"
}

# Segments app1's TCP has retransmitted since its namespace was made.
retrans_segs() {
	lab_exec app1 nstat -asz TcpRetransSegs | awk '$1 == "TcpRetransSegs" { print $2 }'
}

# bulk_case HOOK FAM: app1 uploads $BULK bytes to relay:587 (trusted,
# governed): everything must arrive, be passed and be counted, whatever
# GSO/GRO did to the packets on the way.
bulk_case() {
	local hook="$1" fam="$2" sink="$LAB_DIR/sink.$2" size0 size i bytes out rt0 most

	BEFORE=$(counters)
	rt0=$(retrans_segs)
	size0=$(file_size "$sink")
	out=$(lab_tcp_send app1 "${ADDR[relay_$fam]}" 587 "$BULK" 10)
	# The receiver writes asynchronously: give it up to 3 s.
	for ((i = 0; i < 60; i++)); do
		size=$(file_size "$sink")
		[ $((size - size0)) -ge "$BULK" ] && break
		sleep 0.05
	done
	AFTER=$(counters)
	check_match "$hook v$fam: trusted app1 uploads $BULK bytes to relay:587" "$out" "^sent [0-9]+"
	check_eq "$hook v$fam: all of the upload arrived" "$((size - size0))" "$BULK"
	expect_counted "$hook v$fam: the upload is one pass/trusted connection" pass trusted -eq 1
	# IP bytes: the payload plus headers, fewer of them when GSO/GRO
	# merged segments; never less than the payload, at most +10 %, plus
	# what TCP sent again (a loaded machine drops a segment now and then:
	# the gateway passed it twice and counts it twice).
	bytes=$(sg_delta "$BEFORE" "$AFTER" pass trusted bytes)
	most=$((BULK + BULK / 10 + ($(retrans_segs) - rt0) * 1500))
	if [ "$bytes" -ge "$BULK" ] && [ "$bytes" -le "$most" ]; then
		ok "$hook v$fam: upload counted in IP bytes ($bytes)"
	else
		not_ok "$hook v$fam: upload counted in IP bytes" \
			"pass/trusted bytes +$bytes, want $BULK..$most ($((most - BULK - BULK / 10)) retransmitted)"
	fi
}

run_hook() {
	local hook="$1" att="$2" fam relay out gen1 gen2 out_txt ms

	ATT="${att%:native}"
	check "$hook: sgload applies the policy (drop) and attaches $att" \
		sgload_apply drop "$att" || return
	ATTACHED=1
	out_txt="$CHECK_OUT"
	gen1=$(sed -n 's/^sgload: policy generation \([0-9]*\) applied$/\1/p' <<<"$out_txt")
	if [ "$hook" = xdp ]; then
		check_match "$hook: attached in native mode" "$out_txt" "srv0 xdp native slot"
		check_match "$hook: bpf_link pinned in the pin dir" "$(ls "$PIN")" "link_xdp_srv0"
	else
		check_match "$hook: TC filter on up0 egress" \
			"$(lab_exec gw tc filter show dev up0 egress)" "bpf"
	fi

	for fam in 4 6; do
		relay=${ADDR[relay_$fam]} out=${ADDR[outside_$fam]}

		try_case "$hook v$fam: untrusted app2 -> relay:443 connects" \
			app2 "$relay" 443 "connected:https relay"
		check_eq "$hook v$fam: port 443 is not governed (no counter moved)" \
			"$(sg_moved "$BEFORE" "$AFTER")" ""

		try_case "$hook v$fam: trusted app1 -> relay:25 connects" \
			app1 "$relay" 25 "connected:220 relay"
		expect_counted "$hook v$fam: exactly one pass/trusted connection counted" \
			pass trusted -eq 1
		check_cmp "$hook v$fam: the whole trusted session passed (>= 3 packets)" \
			"$(sg_delta "$BEFORE" "$AFTER" pass trusted packets)" -ge 3
		bulk_case "$hook" "$fam"

		try_case "$hook v$fam: untrusted app2 -> relay:25 times out (drop)" \
			app2 "$relay" 25 timeout "$DROP_WAIT"
		expect_counted "$hook v$fam: drop/untrusted_source counted (>= 1 SYN)" \
			drop untrusted_source -ge 1

		try_case "$hook v$fam: trusted app1 -> outside:25 times out (unapproved relay)" \
			app1 "$out" 25 timeout "$DROP_WAIT"
		expect_counted "$hook v$fam: drop/unapproved_relay counted (>= 1 SYN)" \
			drop unapproved_relay -ge 1
	done

	check "$hook: sgload re-applies with --unregistered reject (new generation)" \
		sgload_apply reject "$att"
	gen2=$(sed -n 's/^sgload: policy generation \([0-9]*\) applied$/\1/p' <<<"$CHECK_OUT")
	check_cmp "$hook: the generation advanced ($gen1 -> $gen2)" "${gen2:-0}" -gt "${gen1:-0}"

	for fam in 4 6; do
		relay=${ADDR[relay_$fam]}

		try_case "$hook v$fam: untrusted app2 -> relay:25 is refused (reject: RST)" \
			app2 "$relay" 25 refused 2
		read -r _ ms _ <<<"$TRY"
		check_cmp "$hook v$fam: the reject fails fast (${ms:-?} ms < $FAST_MS ms)" \
			"${ms:-99999}" -lt "$FAST_MS"
		expect_counted "$hook v$fam: exactly one reject/untrusted_source connection" \
			reject untrusted_source -eq 1
		# A Linux SYN: IP header + 40 bytes of TCP (20 of options).
		check_eq "$hook v$fam: the rejected SYN is counted in IP bytes" \
			"$(sg_delta "$BEFORE" "$AFTER" reject untrusted_source bytes)" \
			"$((fam == 4 ? 60 : 80))"
		try_case "$hook v$fam: trusted app1 -> relay:25 still connects under reject" \
			app1 "$relay" 25 "connected:220 relay"
	done

	check "$hook: sgload --detach" lab_exec gw "$SGLOAD" --pin-dir "$PIN" --detach
	ATTACHED=0
	check_eq "$hook: the pin dir is gone" "$(ls -d "$PIN" 2>/dev/null)" ""
	check_eq "$hook: nothing left on srv0/up0 (xdp, tc)" \
		"$(lab_exec gw ip -d link show srv0 | grep -o 'prog/xdp.*')$(lab_exec gw tc filter show dev up0 egress)" ""
	for fam in 4 6; do
		try_case "$hook v$fam: after detach app2 -> relay:25 connects" \
			app2 "${ADDR[relay_$fam]}" 25 "connected:220 relay"
	done
}

main() {
	local t0

	t0=$(lab_now_ms)
	e2e_init 100
	PIN=$(lab_pin_dir dp)
	lab_on_exit lab_exec gw "$SGLOAD" --pin-dir "$PIN" --detach
	build_lab || tap_bail "building the lab failed"
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms; pins in $PIN"
	check_baseline

	run_hook xdp srv0:xdp:native
	run_hook tc-egress up0:tc-egress

	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
