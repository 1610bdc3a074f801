#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The lab's site, as building blocks (site_*): the namespaces, links and
# addresses drawn in scripts/lab.sh's header, its mail software, the
# gateway's daemon and policy, sending mail and reading what happened.
# Sourced by scripts/lab.sh (the demo) and tests/e2e/test_demo.sh (the
# demo's story as assertions); it runs nothing itself.  Needs what
# scripts/lab.sh sources first: lab/netns.sh (through daemon.sh),
# lab/daemon.sh, lab/mail.sh, lab/counters.sh, and sglab (lab_sglab).

declare -A SITE=(
	[app1_4]=198.18.1.11 [app1_6]=2001:db8:1::11
	[app2_4]=198.18.1.12 [app2_6]=2001:db8:1::12
	[app3_4]=198.18.1.13 [app3_6]=2001:db8:1::13
	[gw_srv_4]=198.18.1.1 [gw_srv_6]=2001:db8:1::1
	[gw_core_4]=198.18.0.1 [gw_core_6]=2001:db8::1
	[gw_wan_4]=198.19.0.1 [gw_wan_6]=2001:db8:f::1
	[relay_4]=198.18.0.25 [relay_6]=2001:db8::25
	[outside_4]=198.19.0.25 [outside_6]=2001:db8:f::25
)
SITE_DOMAIN=lab.example       # the relay accepts mail for it
SITE_MAILBOX=ops              # ... into this mailbox
SITE_OUTSIDE_RCPT=postmaster@example.net
SITE_DAEMON=gw                # the daemon's name (daemon.sh) and namespace
SITE_METRICS=127.0.0.1:9725   # inside gw's namespace: one per lab
SITE_TICKET=CHG-2041          # the approval the demo makes
SITE_BURST=12                 # messages app3 fires at once
SITE_BURST_CLASS="1/s, burst 3"
SITE_BAN_VIOLATIONS=5

# site_build: the namespaces, links, addresses and routes drawn above.
site_build() {
	local h

	for h in gw srvnet app1 app2 app3 relay outside; do
		lab_ns "$h" >/dev/null
	done
	lab_link gw srv0 srvnet p-gw
	for h in app1 app2 app3; do
		lab_link "$h" eth0 srvnet "p-$h"
	done
	lab_bridge srvnet br0 p-gw p-app1 p-app2 p-app3
	lab_link gw core0 relay eth0
	lab_link gw wan0 outside eth0
	# A reject is a RST that XDP sends back out of srv0 (XDP_TX): the
	# veth's peer needs NAPI to receive it (docs/lab.md, "Pitfalls").
	lab_napi srvnet p-gw
	lab_forwarding gw
	lab_addr gw srv0 "${SITE[gw_srv_4]}/24"
	lab_addr gw srv0 "${SITE[gw_srv_6]}/64"
	lab_addr gw core0 "${SITE[gw_core_4]}/24"
	lab_addr gw core0 "${SITE[gw_core_6]}/64"
	lab_addr gw wan0 "${SITE[gw_wan_4]}/24"
	lab_addr gw wan0 "${SITE[gw_wan_6]}/64"
	for h in app1 app2 app3; do
		lab_addr "$h" eth0 "${SITE[${h}_4]}/24"
		lab_addr "$h" eth0 "${SITE[${h}_6]}/64"
		lab_route "$h" default "${SITE[gw_srv_4]}"
		lab_route "$h" default "${SITE[gw_srv_6]}"
	done
	lab_addr relay eth0 "${SITE[relay_4]}/24"
	lab_addr relay eth0 "${SITE[relay_6]}/64"
	lab_route relay default "${SITE[gw_core_4]}"
	lab_route relay default "${SITE[gw_core_6]}"
	lab_addr outside eth0 "${SITE[outside_4]}/24"
	lab_addr outside eth0 "${SITE[outside_6]}/64"
	lab_route outside default "${SITE[gw_wan_4]}"
	lab_route outside default "${SITE[gw_wan_6]}"
}

# site_policy: the site's policy.json.
site_policy() {
	cat <<-EOF
	{
	  "mode": "enforce",
	  "ports": [25, 465, 587],
	  "scope": ["198.18.1.0/24", "2001:db8:1::/64"],
	  "relays": {
	    "internal": [{"addr": "${SITE[relay_4]}"}, {"addr": "${SITE[relay_6]}"}]
	  },
	  "rate_classes": {
	    "default": {"conn_per_sec": 10, "conn_burst": 20},
	    "newsletter": {"conn_per_sec": 1, "conn_burst": 3}
	  },
	  "unregistered": {"action": "reject"},
	  "ban": {"violations": $SITE_BAN_VIOLATIONS, "window_sec": 10, "duration_sec": 300},
	  "trusted": [
	    {"addr": "${SITE[app1_4]}", "relays": ["internal"], "ticket": "CHG-1001", "owner": "billing-app"},
	    {"addr": "${SITE[app1_6]}", "relays": ["internal"], "ticket": "CHG-1001", "owner": "billing-app"},
	    {"addr": "${SITE[app3_4]}", "relays": ["internal"], "rate": "newsletter",
	     "ticket": "CHG-1003", "owner": "newsletter"},
	    {"addr": "${SITE[app3_6]}", "relays": ["internal"], "rate": "newsletter",
	     "ticket": "CHG-1003", "owner": "newsletter"}
	  ]
	}
	EOF
}

# site_start_mail: Postfix on the relay, smtp-sink on the outside host.
site_start_mail() {
	lab_postfix_start relay relay "domain=$SITE_DOMAIN" "mailbox=$SITE_MAILBOX" \
		"addr=${SITE[relay_4]}" "addr=${SITE[relay_6]}" || return 1
	lab_smtp_sink_start outside outside "${SITE[outside_4]}" "${SITE[outside_6]}"
}

# site_start_gateway: smtpgated in gw, XDP on srv0, /metrics on
# 127.0.0.1:9725 of gw's namespace.
site_start_gateway() {
	# A here-string, not a pipe: lab_daemon_config must run in this shell.
	lab_daemon_config "$SITE_DAEMON" if=srv0:xdp "metrics=$SITE_METRICS" policy=- <<<"$(site_policy)"
	lab_daemon_start gw "$SITE_DAEMON"
}

# site_up: all of it.  Returns 1 (with a message) if a piece fails.
site_up() {
	site_build || return 1
	site_start_mail || {
		echo "lab: the mail hosts did not start" >&2
		return 1
	}
	site_start_gateway || {
		echo "lab: smtpgated did not start" >&2
		return 1
	}
}

# site_ctl ARGS...: smtpgatectl on the gateway's daemon.
site_ctl() {
	lab_daemon_ctl "$SITE_DAEMON" "$@"
}

# site_send HOST FAM DEST ID [SWAKS_ARGS...]
# HOST (app1..3) mails DEST (relay: ops@lab.example; outside:
# postmaster@example.net) over IPv FAM (4, 6) with a header
# "X-Lab-Id: ID"; lab_swaks's line and exit status.
site_send() {
	local host="$1" fam="$2" dest="$3" id="$4" to

	shift 4
	case "$dest" in
	relay) to="$SITE_MAILBOX@$SITE_DOMAIN" ;;
	outside) to="$SITE_OUTSIDE_RCPT" ;;
	*) lab_die "site_send: no destination $dest" ;;
	esac
	lab_swaks "$host" "${SITE[${dest}_$fam]}" "$to" \
		--header "Subject: smtpgate lab: $host to $dest over IPv$fam" \
		--header "X-Lab-Id: $id" \
		--body "Sent by $host in the smtpgate lab ($id)." "$@"
}

# site_send_batch SPEC...
# Sends every SPEC ("HOST FAM DEST ID") at once, so that attempts that
# are dropped cost one timeout together.  Sets BATCH_LINE[i] (lab_swaks's
# line), BATCH_RC[i] and BATCH_LOG[i] (transcript) per SPEC, in order.
site_send_batch() {
	local dir i=0 n=0 spec pids=() h f d id

	dir=$(mktemp -d "$LAB_DIR/batch.XXXXXX") || return 1
	for spec in "$@"; do
		read -r h f d id <<<"$spec"
		(
			site_send "$h" "$f" "$d" "$id" >"$dir/$i.line"
			echo "$LAB_SWAKS_RC" >"$dir/$i.rc"
			echo "$LAB_SWAKS_LOG" >"$dir/$i.log"
		) &
		pids+=($!)
		i=$((i + 1))
	done
	wait "${pids[@]}"
	BATCH_LINE=()
	BATCH_RC=()
	BATCH_LOG=()
	for ((n = 0; n < i; n++)); do
		BATCH_LINE[n]=$(cat "$dir/$n.line" 2>/dev/null)
		BATCH_RC[n]=$(cat "$dir/$n.rc" 2>/dev/null)
		BATCH_LOG[n]=$(cat "$dir/$n.log" 2>/dev/null)
	done
	rm -rf -- "$dir"
}

# site_sink_find ID [TIMEOUT_S]: the outside host's copy of message ID.
site_sink_find() {
	lab_poll "${2:-0}" site_sink_grep "$1"
}

# site_sink_grep ID: the outside host's files holding message ID.
site_sink_grep() {
	lab_smtp_sink_files outside | xargs -r -d '\n' grep -lx -- "X-Lab-Id: $1" 2>/dev/null
}

# site_outcome LINE DEST ID
# What happened to a message, from lab_swaks's LINE and the receiving
# side: delivered (accepted and found in the relay's mailbox or the
# outside host's dump), rejected (a RST: refused at once), dropped (no
# answer), or what else swaks said.
site_outcome() {
	local line="$1" dest="$2" id="$3"

	case "$line" in
	delivered*)
		if [ "$dest" = relay ]; then
			lab_postfix_find relay "$SITE_MAILBOX" "^X-Lab-Id: $id\$" 5 >/dev/null
		else
			site_sink_find "$id" 5 >/dev/null
		fi && echo delivered || echo "accepted, lost"
		;;
	refused*) echo rejected ;;
	timeout*) echo dropped ;;
	*) echo "${line%% *}" ;;
	esac
}

# site_counters: "verdict reason packets bytes connections" per counter
# of srv0/xdp, from `smtpgatectl --json stats`.
site_counters() {
	site_ctl --json stats | jq -r '.attachments[] | select(.interface == "srv0" and .hook == "xdp")
		| .counters[] | "\(.verdict) \(.reason) \(.packets) \(.bytes) \(.connections)"'
}

# site_metrics: the gateway's /metrics, fetched inside its namespace.
site_metrics() {
	lab_exec gw curl -sS --max-time 5 "http://$SITE_METRICS/metrics"
}

# site_metric TEXT VERDICT REASON [FIELD]: a srv0/xdp counter of a
# /metrics TEXT (FIELD: packets, bytes or connections); "absent" if none.
site_metric() {
	local series

	series="smtpgate_${4:-connections}_total{interface=\"srv0\",hook=\"xdp\",verdict=\"$2\",reason=\"$3\"}"
	SERIES="$series" awk '$1 == ENVIRON["SERIES"] { v = $2; found = 1 }
		END { print found ? v : "absent" }' <<<"$1"
}

# site_compare_counters: "match" if every counter of `smtpgatectl stats`
# has the same packets, bytes and connections in /metrics; else the
# differences.  /metrics reuses a rendering for up to 1 s: one retry.
site_compare_counters() {
	local stats text v r p b c diff try

	for try in 1 2; do
		stats=$(site_counters)
		text=$(site_metrics)
		diff=""
		while read -r v r p b c; do
			[ -n "$v" ] || continue
			[ "$(site_metric "$text" "$v" "$r" packets)" = "$p" ] &&
				[ "$(site_metric "$text" "$v" "$r" bytes)" = "$b" ] &&
				[ "$(site_metric "$text" "$v" "$r" connections)" = "$c" ] ||
				diff+="${diff:+, }$v/$r"
		done <<<"$stats"
		[ -n "$stats" ] && [ -z "$diff" ] && {
			echo match
			return 0
		}
		[ "$try" = 1 ] && sleep 1.1
	done
	echo "differ: ${diff:-no counters}"
	return 1
}
