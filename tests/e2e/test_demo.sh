#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The demo's story (scripts/lab.sh --demo) as assertions, on the same
# site built by the same building blocks (site_* of scripts/lab/site.sh,
# which uses scripts/lab/{netns,daemon,mail}.sh): real Postfix on the relay,
# smtp-sink on the outside host, swaks on the app servers, smtpgated with
# XDP on the gateway's srv0.  IPv4 and IPv6.
#
#   0. Postfix listens on port 25 of the relay's two addresses only;
#      without smtpgate every path delivers (the lab itself works);
#   1. app1 (registered) -> relay: swaks exits 0, the message is in the
#      relay's Maildir with the client's address in Received:, Postfix
#      logged its delivery; pass/trusted +2 connections;
#   2. app2 (unregistered; policy "reject") -> relay: swaks exits 2 with
#      "connection refused" before its timeout (a RST); Postfix never
#      saw app2; reject/untrusted_source +2 connections, nothing else;
#   3. app1 -> outside host: swaks exits 2 after its timeout (dropped);
#      the outside host got nothing; only drop/unapproved_relay moved;
#   4. smtpgatectl trust add app2 --ticket ...: exit 0, listed; app2's
#      mail is now delivered;
#   5. app3 (rate class 1/s, burst 3; ban after 5 violations) fires 12
#      messages at once: at least the burst is admitted, exactly 5
#      connections are rate_limited, then app3 is banned (log, ban list,
#      audit ban.auto, drop/banned) and its next attempt is dropped,
#      while its IPv6 address (another source) still delivers.  The ban
#      drops every packet from app3, so an admitted conversation that
#      has not finished when it starts is cut: the checks count what the
#      gateway admitted and what reached the mailbox, and do not assume
#      the two are equal (the race depends on how fast 12 swaks start);
#   6. `smtpgatectl --json stats` and /metrics (curl) agree, with the
#      exact totals of the story;
#   7. the audit log has the approval (ticket, uid 0, ok);
#   8. the relay's Postfix stops cleanly; the system's /etc/postfix and
#      /var/spool/postfix were not touched.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab.sh
. "$E2E_REPO/scripts/lab.sh"

LAB_SWAKS_TIMEOUT=3   # seconds swaks waits for a dropped SYN
BURST_ADMITTED=0

# sends SPEC...: site_send_batch, then one TAP check per SPEC that its
# lab_swaks line starts with WANT.  The specs are "HOST FAM DEST ID".
sends_expect() {
	local want="$1" label="$2" i=0 spec

	shift 2
	site_send_batch "$@"
	for spec in "$@"; do
		check_match "$label: ${spec% *}: swaks says $want" "${BATCH_LINE[$i]}" "^$want " ||
			tap_diag "$(tail -5 "${BATCH_LOG[$i]}" 2>/dev/null)"
		i=$((i + 1))
	done
}

# delivered ID HOST FAM LABEL: the message ID is in the relay's mailbox,
# received from HOST's address, and Postfix logged its delivery.
check_delivered() {
	local id="$1" host="$2" fam="$3" label="$4" f qid addr

	f=$(lab_postfix_find relay "$SITE_MAILBOX" "^X-Lab-Id: $id\$" 5)
	check "$label: the message is in the relay's mailbox ($SITE_MAILBOX@$SITE_DOMAIN)" test -n "$f" ||
		return
	addr="${SITE[${host}_$fam]}"
	[ "$fam" = 6 ] && addr="IPv6:$addr"
	check_match "$label: Received: from $host's address" \
		"$(grep -m1 -A1 '^Received: from' "$f" | tr -d '\n')" "\\[$addr\\]"
	# "Received: from ... \n\tby relay.lab.example (Postfix) with ESMTP id QID"
	qid=$(sed -n 's/^.*by relay\.lab\.example (Postfix) with ESMTP id \([0-9A-F]*\).*$/\1/p' "$f" |
		head -1)
	check_match "$label: Postfix logged the delivery of $qid to the Maildir" \
		"$(lab_postfix_log relay | grep -F " ${qid:-none}: ")" \
		"to=<$SITE_MAILBOX@$SITE_DOMAIN>, relay=virtual, .*status=sent \\(delivered to maildir\\)"
}

# postfix_saw ADDR: how many of Postfix's log lines name client ADDR.
postfix_saw() {
	lab_postfix_log relay | grep -cF "[$1]"
}

setup() {
	local marker="$LAB_DIR/before" ss4 i

	touch "$marker"
	site_build || tap_bail "building the site failed"
	site_start_mail || tap_bail "Postfix or smtp-sink did not start"
	check "Postfix (relay) runs: a master daemon with this lab's config dir" \
		lab_postfix_running relay
	check_eq "Postfix listens on port 25 of the relay's IPv4 and IPv6 address, nothing else" \
		"$(lab_exec relay ss -Hltn | awk '{ print $4 }' | sort | paste -sd ' ')" \
		"${SITE[relay_4]}:25 [${SITE[relay_6]}]:25"
	ss4=$(lab_exec outside ss -Hltn | awk '{ print $4 }' | sort | paste -sd ' ')
	check_eq "smtp-sink listens on the outside host's IPv4 and IPv6 address (one per family)" \
		"$ss4" "${SITE[outside_4]}:25 [${SITE[outside_6]}]:25"

	# Without smtpgate every path delivers: the lab works.
	sends_expect delivered "baseline (no smtpgate)" \
		"app2 4 relay $LAB_PREFIX-base-app2-4" "app2 6 relay $LAB_PREFIX-base-app2-6" \
		"app1 4 outside $LAB_PREFIX-base-app1-4" "app1 6 outside $LAB_PREFIX-base-app1-6"
	for i in 4 6; do
		check "baseline: app2's IPv$i message is in the relay's mailbox" \
			lab_postfix_find relay "$SITE_MAILBOX" "^X-Lab-Id: $LAB_PREFIX-base-app2-$i\$" 5
		check "baseline: the outside host received app1's IPv$i message" \
			site_sink_find "$LAB_PREFIX-base-app1-$i" 5
	done
	[ "$TAP_FAILED" = 0 ] || tap_bail "the lab does not work without smtpgate; nothing below would mean anything"

	if site_start_gateway; then
		ok "smtpgated starts in gw (XDP on srv0, the demo's policy)"
	else
		tap_bail "smtpgated does not start: $(lab_daemon_log "$SITE_DAEMON" | tail -20)"
	fi
	check "the log says srv0: xdp attached" lab_daemon_wait_log "$SITE_DAEMON" "notice: srv0: xdp attached" 1
}

step_registered() {
	local before after fam i=0

	before=$(site_counters)
	sends_expect delivered "1. registered" \
		"app1 4 relay $LAB_PREFIX-1-4" "app1 6 relay $LAB_PREFIX-1-6"
	for fam in 4 6; do
		check_eq "1. registered: swaks exit status 0 (IPv$fam)" "${BATCH_RC[$i]}" 0
		check_delivered "$LAB_PREFIX-1-$fam" app1 "$fam" "1. registered, IPv$fam"
		i=$((i + 1))
	done
	after=$(site_counters)
	check_eq "1. registered: pass/trusted counted 2 connections" \
		"$(sg_delta "$before" "$after" pass trusted conns)" 2
	check_eq "1. registered: nothing else counted" "$(sg_moved "$before" "$after" pass trusted)" ""
}

step_unregistered() {
	local before after i ms saw4 saw6

	saw4=$(postfix_saw "${SITE[app2_4]}")
	saw6=$(postfix_saw "${SITE[app2_6]}")
	before=$(site_counters)
	sends_expect refused "2. unregistered (reject)" \
		"app2 4 relay $LAB_PREFIX-2-4" "app2 6 relay $LAB_PREFIX-2-6"
	for i in 0 1; do
		check_eq "2. unregistered: swaks exit status 2 (could not connect), IPv$((i * 2 + 4))" \
			"${BATCH_RC[$i]}" 2
		check_match "2. unregistered: swaks says connection refused, IPv$((i * 2 + 4))" \
			"$(cat "${BATCH_LOG[$i]}")" "connect: Connection refused"
		ms=$(awk '{ print $2 }' <<<"${BATCH_LINE[$i]}")
		check_cmp "2. unregistered: refused at once, not after swaks's ${LAB_SWAKS_TIMEOUT} s timeout (${ms} ms), IPv$((i * 2 + 4))" \
			"${ms:-99999}" -lt $((LAB_SWAKS_TIMEOUT * 1000))
	done
	after=$(site_counters)
	# (It did in the baseline, before smtpgate.)
	check_eq "2. unregistered: Postfix did not hear from app2 (IPv4)" \
		"$(postfix_saw "${SITE[app2_4]}")" "$saw4"
	check_eq "2. unregistered: Postfix did not hear from app2 (IPv6)" \
		"$(postfix_saw "${SITE[app2_6]}")" "$saw6"
	check_eq "2. unregistered: reject/untrusted_source counted 2 connections" \
		"$(sg_delta "$before" "$after" reject untrusted_source conns)" 2
	check_eq "2. unregistered: ... of one SYN each (a RST leaves nothing to retransmit)" \
		"$(sg_delta "$before" "$after" reject untrusted_source packets)" 2
	check_eq "2. unregistered: nothing else counted" \
		"$(sg_moved "$before" "$after" reject untrusted_source)" ""
}

step_outside() {
	local before after i ms sink

	sink=$(lab_smtp_sink_count outside)
	before=$(site_counters)
	sends_expect timeout "3. unapproved relay (drop)" \
		"app1 4 outside $LAB_PREFIX-3-4" "app1 6 outside $LAB_PREFIX-3-6"
	for i in 0 1; do
		check_eq "3. unapproved relay: swaks exit status 2, IPv$((i * 2 + 4))" "${BATCH_RC[$i]}" 2
		ms=$(awk '{ print $2 }' <<<"${BATCH_LINE[$i]}")
		check_cmp "3. unapproved relay: swaks waited its whole timeout (${ms} ms), IPv$((i * 2 + 4))" \
			"${ms:-0}" -ge $((LAB_SWAKS_TIMEOUT * 1000 - 100))
	done
	after=$(site_counters)
	check_eq "3. unapproved relay: the outside host received nothing more" \
		"$(lab_smtp_sink_count outside)" "$sink"
	check_cmp "3. unapproved relay: drop/unapproved_relay counted the SYNs (>= 2 connections)" \
		"$(sg_delta "$before" "$after" drop unapproved_relay conns)" -ge 2
	check_eq "3. unapproved relay: nothing else counted" \
		"$(sg_moved "$before" "$after" drop unapproved_relay)" ""
}

step_approve() {
	local fam out rc list before after

	for fam in 4 6; do
		out=$(site_ctl trust add "${SITE[app2_$fam]}" --relay internal --ticket "$SITE_TICKET" \
			--owner crm-app --expires +90d 2>&1)
		rc=$?
		check_eq "4. smtpgatectl trust add ${SITE[app2_$fam]} --ticket $SITE_TICKET: exit 0" "$rc" 0 ||
			tap_diag "$out"
		check_match "4. ... says what it trusted" "$out" "^trusted ${SITE[app2_$fam]} for internal"
	done
	list=$(site_ctl --json trust list)
	check_eq "4. trust list: app2's two approvals with the ticket" \
		"$(jq -c --arg t "$SITE_TICKET" '[.[] | select(.ticket == $t) | .prefix] | sort' <<<"$list")" \
		"[\"${SITE[app2_4]}\",\"${SITE[app2_6]}\"]"
	before=$(site_counters)
	sends_expect delivered "4. approved" \
		"app2 4 relay $LAB_PREFIX-4-4" "app2 6 relay $LAB_PREFIX-4-6"
	for fam in 4 6; do
		check_delivered "$LAB_PREFIX-4-$fam" app2 "$fam" "4. approved, IPv$fam"
	done
	after=$(site_counters)
	check_eq "4. approved: pass/trusted counted 2 connections" \
		"$(sg_delta "$before" "$after" pass trusted conns)" 2
}

step_burst() {
	local before after specs=() i delivered=0 admitted limited banned line bans audit boxed=0

	before=$(site_counters)
	for ((i = 1; i <= SITE_BURST; i++)); do
		specs+=("app3 4 relay $LAB_PREFIX-5-$i")
	done
	site_send_batch "${specs[@]}"
	for ((i = 0; i < SITE_BURST; i++)); do
		[ "${BATCH_RC[$i]}" = 0 ] && delivered=$((delivered + 1))
	done
	after=$(site_counters)
	admitted=$(sg_delta "$before" "$after" pass trusted conns)
	BURST_ADMITTED=$admitted
	tap_diag "burst: $admitted admitted, $delivered of $SITE_BURST delivered:" "$(printf '%s\n' "${BATCH_LINE[@]}" | sort | uniq -c)"
	# The bucket starts full: the first 3 SYNs find a token each.
	check_cmp "5. burst: at least the class's burst (3) was admitted ($admitted)" "$admitted" -ge 3
	check_cmp "5. burst: enough were refused to reach the ban ($admitted <= $SITE_BURST - $SITE_BAN_VIOLATIONS)" \
		"$admitted" -le $((SITE_BURST - SITE_BAN_VIOLATIONS))
	check_cmp "5. burst: no message was delivered that the gateway did not admit ($delivered <= $admitted)" \
		"$delivered" -le "$admitted"
	# Delivery to the Maildir follows acceptance by a few milliseconds.
	for ((i = 0; i < 50; i++)); do
		boxed=$(lab_postfix_files relay "$SITE_MAILBOX" |
			xargs -r -d '\n' grep -lE "^X-Lab-Id: $LAB_PREFIX-5-[0-9]+\$" | grep -c .)
		[ "$boxed" -ge "$delivered" ] && break
		sleep 0.1
	done
	# >=: a message Postfix took whose client was cut before QUIT's
	# answer is in the mailbox but not among swaks's successes.
	check_cmp "5. burst: the relay's mailbox has every delivered message ($boxed >= $delivered)" "$boxed" -ge "$delivered"
	check_cmp "5. burst: and none the gateway did not admit ($boxed <= $admitted)" "$boxed" -le "$admitted"
	limited=$(sg_delta "$before" "$after" drop rate_limited conns)
	check_eq "5. burst: exactly $SITE_BAN_VIOLATIONS connections were rate_limited (the ban's threshold)" \
		"$limited" "$SITE_BAN_VIOLATIONS"
	banned=$(sg_delta "$before" "$after" drop banned conns)
	check_cmp "5. burst: the rest were dropped as banned (>= $((SITE_BURST - admitted - SITE_BAN_VIOLATIONS)))" \
		"$banned" -ge $((SITE_BURST - admitted - SITE_BAN_VIOLATIONS))
	if [ "$delivered" -lt "$admitted" ]; then
		# A conversation cut by the ban leaves banned packets that are
		# not new connections (its ACKs and data).
		check_cmp "5. burst: the $((admitted - delivered)) admitted but cut conversation(s) show as banned non-SYN packets" \
			"$(sg_delta "$before" "$after" drop banned packets)" -gt "$banned"
	fi
	line=$(lab_daemon_wait_log "$SITE_DAEMON" "warning: banned ${SITE[app3_4]} after repeated rate-limit violations" 3)
	check_match "5. ban: the log says app3 is banned" "$line" "banned ${SITE[app3_4]}"
	bans=$(site_ctl --json ban list)
	check_eq "5. ban: ban list shows app3, automatic, active" \
		"$(jq -c '[.[] | [.addr, .kind, .active]]' <<<"$bans")" "[[\"${SITE[app3_4]}\",\"auto\",true]]"
	lab_daemon_paths "$SITE_DAEMON" >/dev/null
	audit=$(jq -c 'select(.command == "ban.auto")' "$LAB_DAEMON_LOG_DIR/audit.jsonl" 2>/dev/null)
	check_match "5. ban: audit.jsonl has a ban.auto record for app3" "$audit" \
		'"command":"ban.auto","result":"ok","args":\{"addr":"'"${SITE[app3_4]}"'"'

	before=$(site_counters)
	sends_expect timeout "5. banned" "app3 4 relay $LAB_PREFIX-5-again"
	sends_expect delivered "5. banned is per address" "app3 6 relay $LAB_PREFIX-5-v6"
	after=$(site_counters)
	check_cmp "5. banned: drop/banned counted the new attempt" \
		"$(sg_delta "$before" "$after" drop banned conns)" -ge 1
	check_delivered "$LAB_PREFIX-5-v6" app3 6 "5. app3's IPv6 address is not banned"
}

step_counters() {
	local text stats want_pass

	check_eq "6. smtpgatectl --json stats and /metrics agree (packets, bytes, connections)" \
		"$(site_compare_counters)" match
	stats=$(site_counters)
	text=$(site_metrics)
	# 2 (app1) + 2 (app2 approved) + the burst's admitted + 1 (app3 over IPv6).
	want_pass=$((2 + 2 + BURST_ADMITTED + 1))
	check_eq "6. pass/trusted: $want_pass connections in the whole story (stats)" \
		"$(sg_field "$stats" pass trusted)" "$want_pass"
	check_eq "6. pass/trusted: $want_pass connections in the whole story (/metrics)" \
		"$(site_metric "$text" pass trusted)" "$want_pass"
	check_eq "6. reject/untrusted_source: 2 (/metrics)" "$(site_metric "$text" reject untrusted_source)" 2
	check_eq "6. drop/rate_limited: $SITE_BAN_VIOLATIONS (/metrics)" \
		"$(site_metric "$text" drop rate_limited)" "$SITE_BAN_VIOLATIONS"
	check_eq "6. smtpgate_bans_active 1" \
		"$(awk '$1 == "smtpgate_bans_active" { print $2 }' <<<"$text")" 1
	check_eq "6. smtpgate_trusted_prefixes 6 (4 in the policy, 2 approvals)" \
		"$(awk '$1 == "smtpgate_trusted_prefixes" { print $2 }' <<<"$text")" 6
}

step_audit() {
	local a

	a=$(site_ctl --json audit)
	check_eq "7. audit: the two approvals, ticket $SITE_TICKET, by uid 0, ok" \
		"$(jq -c --arg t "$SITE_TICKET" '[.[] | select(.command == "trust.add") | [.args.prefix, .ticket, .uid, .result]]' <<<"$a")" \
		"[[\"${SITE[app2_4]}\",\"$SITE_TICKET\",0,\"ok\"],[\"${SITE[app2_6]}\",\"$SITE_TICKET\",0,\"ok\"]]"
	check_match "7. audit (human): a trust.add line with the ticket" "$(site_ctl audit)" \
		"trust\\.add +$SITE_TICKET +ok"
}

step_stop() {
	local marker="$LAB_DIR/before" pid

	lab_postfix_paths relay >/dev/null
	pid=$(lab_postfix_master_pid relay)
	check "8. postfix stop: the relay's Postfix stops" lab_postfix_stop relay
	check_eq "8. ... nothing of it is left (its process group is gone)" \
		"$(kill -0 -- "-${pid:-0}" 2>/dev/null && echo running)" ""
	check_eq "8. the system's /etc/postfix was not touched" \
		"$(find /etc/postfix -newer "$marker" 2>/dev/null)" ""
	check_eq "8. the system's /var/spool/postfix was not touched" \
		"$(find /var/spool/postfix -newer "$marker" 2>/dev/null)" ""
}

main() {
	local t0 t1 tool

	t0=$(lab_now_ms)
	for tool in swaks postfix smtp-sink jq curl; do
		command -v "$tool" >/dev/null || {
			echo "not ok 1 - set-up: $tool is missing (scripts/install-deps.sh)"
			echo "1..1"
			exit 1
		}
	done
	e2e_init 150
	[ -x "$SMTPGATED" ] || tap_bail "$SMTPGATED is missing (make BUILD=${BUILD##*/})"
	setup
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"
	for step in step_registered step_unregistered step_outside step_approve step_burst \
		step_counters step_audit step_stop; do
		t1=$(lab_now_ms)
		"$step"
		tap_diag "$step: $(($(lab_now_ms) - t1)) ms"
	done
	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"
