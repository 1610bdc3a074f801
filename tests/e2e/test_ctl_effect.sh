#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# An approval takes effect the moment `trust add` returns, and stops the
# moment `trust del` returns: app (198.18.1.x) -> gw (smtpgated, XDP on
# the server-facing veth) -> relay:25.  The sender's TCP connection is
# tried right after each command, with no wait in between, several times
# over; a prefix approval, an approval for the wrong relay group and an
# approval that expires are checked the same way, with the counters that
# say why each packet went where it went.
set -uo pipefail

. "$(dirname "$0")/ctl_lib.sh"

ctl_up 60

# pass/trusted connections and drops by reason, from the daemon.
counter() {
	ctl --json stats | jq "[.attachments[0].counters[] | select(.verdict == \"$1\" and .reason == \"$2\") | .connections] | add // 0"
}

out=$(ctl_try 198.18.1.5)
check_match "before any approval: 198.18.1.5 cannot reach the relay" "$out" '^failed '
check_cmp "... dropped as untrusted_source" "$(counter drop untrusted_source)" -ge 1

for round in 1 2 3; do
	ctl trust add 198.18.1.5 --relay internal --ticket "CHG-$round" --owner app >/dev/null
	out=$(ctl_try 198.18.1.5)
	check_match "round $round: connects right after trust add returns" "$out" '^connected [0-9]+ 220 relay$'
	ctl trust del 198.18.1.5 --ticket "CHG-$round-END" >/dev/null
	out=$(ctl_try 198.18.1.5)
	check_match "round $round: blocked right after trust del returns" "$out" '^failed '
done
check_eq "three approved connections counted as pass/trusted" "$(counter pass trusted)" 3

# A prefix: every address under it.
ctl trust add 198.18.1.4/30 --relay internal --ticket CHG-NET --owner app-pool >/dev/null
for a in 198.18.1.5 198.18.1.6 198.18.1.7; do
	check_match "prefix 198.18.1.4/30 approved: $a connects" "$(ctl_try "$a")" '^connected '
done
ctl trust del 198.18.1.4/30 --ticket CHG-NET-END >/dev/null
check_match "prefix removed: 198.18.1.6 blocked again" "$(ctl_try 198.18.1.6)" '^failed '

# The relay groups matter: approved for "backup" only, the internal relay
# stays out of reach.
before=$(counter drop unapproved_relay)
ctl trust add 198.18.1.6 --relay backup --ticket CHG-BK --owner app >/dev/null
check_match "approved for another relay group: still blocked" "$(ctl_try 198.18.1.6)" '^failed '
check_cmp "... as unapproved_relay" "$(counter drop unapproved_relay)" -gt "$before"
ctl trust del 198.18.1.6 --ticket CHG-BK-END >/dev/null

# An approval that expires: the kernel stops it at its deadline; the
# daemon then removes it and audits that.
ctl trust add 198.18.1.7 --relay internal --ticket CHG-EXP --owner app --expires +3s >/dev/null
check_match "an approval expiring in 3 s: connects now" "$(ctl_try 198.18.1.7)" '^connected '
sleep 4
check_match "... and not after its expiry" "$(ctl_try 198.18.1.7)" '^failed '
for ((i = 0; i < 40; i++)); do
	[ "$(ctl_prefixes)" = "198.18.1.200" ] && break
	sleep 0.1
done
check_eq "... the daemon removed the expired approval" "$(ctl_prefixes)" "198.18.1.200"
check_eq "... from approvals.json too" "$(ctl_approvals_doc | jq '.approvals | length')" 0
check_eq "... and audited it" \
	"$(jq -c 'select(.command == "expire") | [.ticket, .result, .uid]' "$CTL_LOG/audit.jsonl")" \
	'["CHG-EXP","ok",-1]'

tap_done
