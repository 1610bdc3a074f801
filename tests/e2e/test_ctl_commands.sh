#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Every smtpgatectl command against a real smtpgated (in a namespace of
# its own, XDP on a veth), human and --json output asserted field by
# field; every invalid input refused with exit 2, the argument named,
# nothing changed and (admin) a refused audit record; the raw protocol's
# limits (not JSON, too large, too slow, unknown keys); then the daemon
# stopped: exit 3 with the message, and stats --pin-dir still reading the
# kernel's counters.
set -uo pipefail

. "$(dirname "$0")/ctl_lib.sh"

ctl_up 120

# A client that connects and says nothing must be answered after 5 s;
# it waits in the background while the rest runs.
(
	t0=$(lab_now_ms)
	timeout 12 socat -t 0.5 - "UNIX-CONNECT:$CTL_SOCK" < <(sleep 8) >"$CTL_DIR/silent.out" 2>/dev/null
	echo $(($(lab_now_ms) - t0)) >"$CTL_DIR/silent.ms"
) &
SILENT=$!
# Refusals of this test's own making (the silent client's is not).
REFUSED_SEL='.result == "refused" and ((.error // "") | test("within 5 seconds") | not)'

NOW=$(date +%s)

# ---- the CLI itself --------------------------------------------------

check "--version prints the version" "$CTL" --version
check_match "--version text" "$CHECK_OUT" '^smtpgatectl [0-9]+\.[0-9]+\.[0-9]+$'
out=$("$CTL" --help)
check_match "--help lists every command" "$out" \
	'status.*trust add.*trust del.*trust list.*relay list.*ban add.*ban del.*ban list.*stats.*reload.*audit.*check'
out=$("$CTL" trust add --help)
check_match "trust add --help shows its options" "$out" \
	'trust add PREFIX --relay GROUP.*--ticket ID --owner NAME.*--rate CLASS.*--expires'
out=$("$CTL" trust --help)
check_match "trust --help shows add, del and list" "$out" 'trust add.*trust del.*trust list'
"$CTL" frobnicate >/dev/null 2>&1
check_eq "an unknown command is exit 2" "$?" 2
out=$(ctl trust list --bogus 2>&1)
check_eq "an unknown option is exit 2" "$?" 2
check_match "... and says which" "$out" 'unknown option --bogus'
out=$(ctl trust add 2>&1)
check_eq "trust add without PREFIX is exit 2" "$?" 2
check_match "... naming PREFIX" "$out" 'PREFIX is required'
check "--config FILE finds the socket in the host config" "$CTL" --config "$CTL_CONFIG" status

# ---- status -----------------------------------------------------------

st=$(ctl --json status)
check_eq "status --json is exit 0 and JSON" "$(jq -r type <<<"$st")" object
check_eq "status: mode" "$(jq -r .mode <<<"$st")" enforce
check_cmp "status: generation" "$(jq -r .generation <<<"$st")" -ge 1
check_eq "status: policy_path" "$(jq -r .policy_path <<<"$st")" "$CTL_POLICY"
check_eq "status: policy_sha256 is the file's" "$(jq -r .policy_sha256 <<<"$st")" \
	"$(sha256sum "$CTL_POLICY" | cut -d' ' -f1)"
check_match "status: last_reload_success is RFC 3339" "$(jq -r .last_reload_success <<<"$st")" \
	'^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
check_eq "status: reload_failures" "$(jq -r .reload_failures <<<"$st")" 0
check_eq "status: trusted_entries (policy's one)" "$(jq -r .trusted_entries <<<"$st")" 1
check_eq "status: approvals" "$(jq -r .approvals <<<"$st")" 0
check_eq "status: bans_active" "$(jq -r .bans_active <<<"$st")" 0
check_eq "status: events_lost" "$(jq -r .events_lost <<<"$st")" 0
check_eq "status: pin_dir" "$(jq -r .pin_dir <<<"$st")" "$CTL_PIN"
check_eq "status: pid" "$(jq -r .pid <<<"$st")" "$SGD_PID"
# startup_ms: from the process's start (fork) to the socket listening,
# so at most the process's age now (both from /proc, in 10 ms ticks).
startup=$(jq -r .startup_ms <<<"$st")
age_ms=$(awk -v hz="$(getconf CLK_TCK)" 'NR == FNR { up = $1; next }
	{ sub(/.*\) /, ""); split($0, f, " "); print int(up * 1000 - f[20] * 1000 / hz) }' \
	/proc/uptime "/proc/$SGD_PID/stat")
check_match "status: startup_ms is whole milliseconds" "$startup" '^[0-9]+$'
check_cmp "status: startup_ms ($startup) is within the process's age ($age_ms ms)" \
	"${startup:-x}" -le $((age_ms + 10))
check_match "the running line says how long the start took" \
	"$(lab_daemon_log "$CTL_NAME" --run | grep 'notice: running:' | tail -1)" \
	"; ready $(awk -v m="$startup" 'BEGIN { printf "%.2f", m / 1000 }') s after the process started$"
check_eq "status: one attachment, srv0 xdp attached" \
	"$(jq -c '[.attachments[] | {interface, hook, attached}]' <<<"$st")" \
	'[{"interface":"srv0","hook":"xdp","attached":true}]'
check_match "status: attachment mode" "$(jq -r '.attachments[0].mode' <<<"$st")" '^(native|generic)$'
check_eq "status: totals per verdict" "$(jq -c '.totals | keys' <<<"$st")" \
	'["drop","monitor","pass","reject"]'
out=$(ctl status)
check_match "status (human): aligned key/value lines" "$out" $'mode +enforce\n'
check_match "status (human): attachment table" "$out" $'INTERFACE +HOOK +MODE +ATTACHED\nsrv0 +xdp'

# ---- trust add / list -------------------------------------------------

before_refused=$(ctl_audit_count "$REFUSED_SEL")
t_before=$(date +%s)
res=$(ctl --json trust add 198.18.1.5 --relay internal,backup --ticket CHG-1001 \
	--owner payroll-app --rate bulk --contact ops@example.org --expires +30d --note "first")
check_eq "trust add --json: exit 0" "$?" 0
t_after=$(date +%s)
check_eq "trust add: prefix" "$(jq -r .prefix <<<"$res")" 198.18.1.5
check_eq "trust add: relays" "$(jq -c .relays <<<"$res")" '["internal","backup"]'
check_eq "trust add: rate" "$(jq -r .rate <<<"$res")" bulk
check_eq "trust add: ticket" "$(jq -r .ticket <<<"$res")" CHG-1001
check_eq "trust add: owner" "$(jq -r .owner <<<"$res")" payroll-app
check_eq "trust add: contact" "$(jq -r .contact <<<"$res")" ops@example.org
check_eq "trust add: note" "$(jq -r .note <<<"$res")" first
check_eq "trust add: source" "$(jq -r .source <<<"$res")" approval
check_eq "trust add: created_by" "$(jq -r .created_by <<<"$res")" "root (uid 0)"
check_eq "trust add: expired/shadowed" "$(jq -c '[.expired, .shadowed]' <<<"$res")" '[false,false]'
exp=$(date -d "$(jq -r .expires <<<"$res")" +%s)
# +30d is 30 days from when the daemon took the request: between the
# seconds before and after the command (whatever the machine's load).
check_cmp "trust add: +30d expires no earlier than 30 days after the request" \
	"$exp" -ge $((t_before + 30 * 86400))
check_cmp "trust add: +30d expires no later than 30 days after the reply" \
	"$exp" -le $((t_after + 30 * 86400))
out=$(ctl trust add 2001:db8:1::/120 --relay internal --ticket CHG-1002 --owner v6-app)
check_eq "trust add (human, IPv6 prefix): exit 0" "$?" 0
check_match "trust add (human): one line saying what is trusted" "$out" \
	'^trusted 2001:db8:1::/120 for internal \(rate default, ticket CHG-1002, owner v6-app, expires never\)$'
check_eq "trust add: accepted requests leave no refused audit line" \
	"$(ctl_audit_count "$REFUSED_SEL")" "$before_refused"

lst=$(ctl --json trust list)
check_eq "trust list --json: sorted by prefix (IPv4 first)" "$(jq -r '[.[].prefix] | join(" ")' <<<"$lst")" \
	"198.18.1.5 198.18.1.200 2001:db8:1::/120"
check_eq "trust list: sources" "$(jq -r '[.[].source] | join(" ")' <<<"$lst")" "approval policy approval"
check_eq "trust list: the policy entry's fields" \
	"$(jq -c '.[1] | [.relays, .rate, .ticket, .owner, .expires, .created, .expired, .shadowed]' <<<"$lst")" \
	'[["internal"],"default","POL-1","static-app",null,null,false,false]'
check_match "trust list: created is RFC 3339" "$(jq -r '.[0].created' <<<"$lst")" '^20[0-9-]+T[0-9:]+Z$'
out=$(ctl trust list)
check_match "trust list (human): header" "$out" \
	'^PREFIX +RELAYS +RATE +TICKET +OWNER +EXPIRES +SOURCE +STATE'
check_match "trust list (human): the approval's row" "$out" \
	$'\n198\\.18\\.1\\.5 +internal,backup +bulk +CHG-1001 +payroll-app +20[0-9T:-]+Z +approval +active'
check_eq "trust list --expiring 31d: only the entry expiring in 30 days" \
	"$(ctl --json trust list --expiring 31d | jq -r '[.[].prefix] | join(" ")')" 198.18.1.5
check_eq "trust list --expiring 29d: none" "$(ctl --json trust list --expiring 29d | jq length)" 0
out=$(ctl trust list --expiring 29d)
check_eq "trust list --expiring (human) with none" "$out" "no trusted entry expires within 29d"
ctl trust list --expiring 3x >/dev/null 2>&1
check_eq "trust list --expiring with a bad duration is exit 2" "$?" 2

disk=$(ctl_approvals_doc | jq -c '[.approvals[] | {addr, relays, rate, ticket, owner}]')
check_eq "approvals.json holds both approvals" "$disk" \
	'[{"addr":"198.18.1.5","relays":["internal","backup"],"rate":"bulk","ticket":"CHG-1001","owner":"payroll-app"},{"addr":"2001:db8:1::/120","relays":["internal"],"rate":"default","ticket":"CHG-1002","owner":"v6-app"}]'
st=$(ctl --json status)
check_eq "status after two approvals: trusted_entries, approvals" \
	"$(jq -c '[.trusted_entries, .approvals]' <<<"$st")" '[3,2]'

out=$(ctl trust add 198.18.9.9 --relay internal --ticket CHG-OUT --owner far-app 2>&1 >/dev/null)
check_eq "trust add outside the scope: done (exit 0)" "$?" 0
check_eq "... with a warning that it has no effect" "$out" \
	"smtpgatectl: trust add: warning: 198.18.9.9 is outside the policy's scope: its mail is not governed, so the approval has no effect"
check "... removed again" ctl trust del 198.18.9.9 --ticket CHG-OUT-END

# ---- validation: each refused with exit 2, the argument named, nothing
# changed, and a refused audit record --------------------------------

# refuse NAME WANT_EXIT REGEX CTL_ARGS...
refuse() {
	local name="$1" want="$2" regex="$3" list0 list1 ref0 ref1 out rc

	shift 3
	list0=$(ctl_prefixes)
	ref0=$(ctl_audit_count "$REFUSED_SEL")
	out=$(ctl "$@" 2>&1 >/dev/null)
	rc=$?
	list1=$(ctl_prefixes)
	ref1=$(ctl_audit_count "$REFUSED_SEL")
	if [ "$rc" = "$want" ] && [[ "$out" =~ $regex ]] && [ "$list0" = "$list1" ] &&
		[ "$ref1" = $((ref0 + 1)) ] && [ "$(wc -l <<<"$out")" = 1 ]; then
		ok "refused: $name"
	else
		not_ok "refused: $name" "exit $rc (want $want), message '$out' (want /$regex/)" \
			"trust list before '$list0' after '$list1'; refused audit lines $ref0 -> $ref1"
	fi
}

refuse "invalid address" 2 '^smtpgatectl: trust add: PREFIX: "198\.18\.1\.300" is not an IP prefix' \
	trust add 198.18.1.300 --relay internal --ticket T-1 --owner o
refuse "invalid prefix length" 2 '^smtpgatectl: trust add: PREFIX: .*198\.18\.1\.0/33' \
	trust add 198.18.1.0/33 --relay internal --ticket T-1 --owner o
refuse "host bits set" 2 '^smtpgatectl: trust add: PREFIX: "198\.18\.1\.0/16" has host bits set' \
	trust add 198.18.1.0/16 --relay internal --ticket T-1 --owner o
refuse "a space in the prefix length" 2 '^smtpgatectl: trust add: PREFIX: "198\.18\.1\.0/ 24": prefix length must be 0-32$' \
	trust add "198.18.1.0/ 24" --relay internal --ticket T-1 --owner o
refuse "an IPv6 prefix over all of IPv4 (::/0)" 2 '^smtpgatectl: trust add: PREFIX: "::/0" contains ::ffff:0:0/96, .* so it would match every IPv4 source as well: write IPv6 prefixes that leave ::ffff:0:0/96 out' \
	trust add ::/0 --relay internal --ticket T-1 --owner o
refuse "an IPv4-mapped IPv6 address" 2 '^smtpgatectl: trust add: PREFIX: "::ffff:198\.18\.1\.9" is an IPv4-mapped IPv6 address, .*: write 198\.18\.1\.9 instead$' \
	trust add ::ffff:198.18.1.9 --relay internal --ticket T-1 --owner o
refuse "unknown relay group" 2 '^smtpgatectl: trust add: --relay: no relay group named "nope" \(defined: internal, backup\)' \
	trust add 198.18.1.9 --relay nope --ticket T-1 --owner o
refuse "no relay group" 2 '^smtpgatectl: trust add: --relay: is required' \
	trust add 198.18.1.9 --ticket T-1 --owner o
refuse "unknown rate class" 2 '^smtpgatectl: trust add: --rate: no rate class named "fast" \(defined: default, bulk\)' \
	trust add 198.18.1.9 --relay internal --rate fast --ticket T-1 --owner o
refuse "missing ticket" 2 '^smtpgatectl: trust add: --ticket: is required' \
	trust add 198.18.1.9 --relay internal --owner o
refuse "missing owner" 2 '^smtpgatectl: trust add: --owner: is required' \
	trust add 198.18.1.9 --relay internal --ticket T-1
refuse "empty ticket" 2 '^smtpgatectl: trust add: --ticket: must not be empty' \
	trust add 198.18.1.9 --relay internal --ticket "" --owner o
refuse "ticket with a newline" 2 '^smtpgatectl: trust add: --ticket: must not contain control characters' \
	trust add 198.18.1.9 --relay internal --ticket $'T-1\nforged' --owner o
refuse "ticket too long" 2 '^smtpgatectl: trust add: --ticket: is 65 characters long, at most 64' \
	trust add 198.18.1.9 --relay internal --ticket "$(printf 'x%.0s' {1..65})" --owner o
refuse "duplicate prefix (an approval)" 2 '^smtpgatectl: trust add: PREFIX: 198\.18\.1\.5 is already trusted \(an approval, ticket CHG-1001\)' \
	trust add 198.18.1.5 --relay internal --ticket T-1 --owner o
refuse "duplicate prefix (policy.json)" 2 '^smtpgatectl: trust add: PREFIX: 198\.18\.1\.200 is already trusted \(policy\.json, ticket POL-1\)' \
	trust add 198.18.1.200 --relay internal --ticket T-1 --owner o
refuse "expiry in the past" 2 '^smtpgatectl: trust add: --expires: 2020-01-01T00:00:00Z is in the past' \
	trust add 198.18.1.9 --relay internal --ticket T-1 --owner o --expires 2020-01-01T00:00:00Z
refuse "expiry after 2262 (the kernel's nanosecond clock ends)" 2 '^smtpgatectl: trust add: --expires: 2999-12-31T23:59:59Z is after 2262-01-01T00:00:00Z, the last expiry .* leave out --expires$' \
	trust add 198.18.1.9 --relay internal --ticket T-1 --owner o --expires 2999-12-31T23:59:59Z
refuse "expiry not a time" 2 '^smtpgatectl: trust add: --expires: "next-week" is not an RFC 3339 time' \
	trust add 198.18.1.9 --relay internal --ticket T-1 --owner o --expires next-week
# (An admin's request may be up to 64 MiB, for trust import: 70000
# bytes reach the argument check.)
refuse "a 70000-character note" 2 '^smtpgatectl: trust add: --note: is 70000 characters long, at most 512' \
	trust add 198.18.1.9 --relay internal --ticket T-1 --owner o --note "$(head -c 70000 /dev/zero | tr '\0' n)"
refuse "trust del of a policy.json entry" 1 '^smtpgatectl: trust del: PREFIX: 198\.18\.1\.200 is not an approval \(it is an entry of policy\.json' \
	trust del 198.18.1.200 --ticket T-2
refuse "trust del of an unknown prefix" 1 '^smtpgatectl: trust del: PREFIX: 198\.18\.1\.77 is not an approval' \
	trust del 198.18.1.77 --ticket T-2
refuse "trust del without a ticket" 2 '^smtpgatectl: trust del: --ticket: is required' \
	trust del 198.18.1.5

rec=$(jq -c 'select(.result == "refused" and .command == "trust.add")' "$CTL_LOG/audit.jsonl" | grep '"fast"' | tail -1)
check_eq "refused audit record: uid, user, command, ticket, result" \
	"$(jq -c '[.uid, .user, .command, .ticket, .result]' <<<"$rec")" '[0,"root","trust.add","T-1","refused"]'
check_eq "refused audit record: args as asked" "$(jq -c '.args | [.prefix, .rate]' <<<"$rec")" '["198.18.1.9","fast"]'
check_eq "refused audit record: the error" "$(jq -r .error <<<"$rec")" \
	'rate: no rate class named "fast" (defined: default, bulk)'
check_match "refused audit record: time" "$(jq -r .time <<<"$rec")" '^20[0-9-]+T[0-9:]+Z$'
out=$(ctl --json trust add 198.18.1.9 --relay nope --ticket T-1 --owner o 2>/dev/null)
check_eq "--json failure: one JSON document with code and arg" \
	"$(jq -c '[.ok, .code, .arg]' <<<"$out")" '[false,"invalid_argument","relays"]'

# ---- the raw protocol ---------------------------------------------------

# raw TEXT: sends TEXT as it is, prints the reply.
raw() {
	printf '%s' "$1" | timeout 10 socat -t 8 - "UNIX-CONNECT:$CTL_SOCK" 2>/dev/null
}

INVALID_SEL='.command == "invalid_request" and .result == "refused" and (.error | test("not valid JSON|must be a JSON object|larger than"))'
ref0=$(ctl_audit_count "$INVALID_SEL")
out=$(raw $'{"command": "trust.add", "args": \n')
check_eq "not JSON: invalid_argument" "$(jq -r .code <<<"$out")" invalid_argument
check_match "not JSON: says so" "$(jq -r .error <<<"$out")" '^the request is not valid JSON'
out=$(raw $'[1, 2]\n')
check_eq "not an object: invalid_argument" "$(jq -r .error <<<"$out")" "the request must be a JSON object"
out=$(head -c $((64 * 1024 * 1024 + 10)) /dev/zero | tr '\0' x |
	timeout 20 socat -t 8 - "UNIX-CONNECT:$CTL_SOCK" 2>/dev/null)
check_eq "an admin's 64 MiB without a newline: too large" "$(jq -r .error <<<"$out")" \
	"the request is larger than 64 MiB"
check_eq "admin's invalid messages are audited as refused" "$(ctl_audit_count "$INVALID_SEL")" $((ref0 + 3))
out=$(raw $'{"command": "trust.list", "args": {"expiring": 5}}\n')
check_eq "unknown argument key: invalid_argument" "$(jq -c '[.ok, .code]' <<<"$out")" '[false,"invalid_argument"]'
check_match "unknown argument key: named" "$(jq -r .error <<<"$out")" '^expiring: unknown argument of trust.list'
out=$(raw $'{"command": "trust.drop"}\n')
check_match "unknown command: named" "$(jq -r .error <<<"$out")" '^command: unknown command "trust.drop"'
out=$(raw $'{"command": "status"}')
check_eq "a request ended by EOF instead of a newline is answered" "$(jq -r .ok <<<"$out")" true
wait "$SILENT"
check_eq "a silent client is answered" "$(jq -r .error "$CTL_DIR/silent.out")" \
	"the request was not complete within 5 seconds"
check_match "... after 5 to 7 seconds" "$(cat "$CTL_DIR/silent.ms")" '^[5-7][0-9]{3}$'

# ---- relay list -----------------------------------------------------------

rl=$(ctl --json relay list)
check_eq "relay list --json" "$(jq -c '[.[] | {group, addr, ports, all_governed_ports, cap_conn_per_sec}]' <<<"$rl")" \
	'[{"group":"internal","addr":"198.18.0.25","ports":[25],"all_governed_ports":false,"cap_conn_per_sec":null},{"group":"backup","addr":"198.18.0.26","ports":[25],"all_governed_ports":true,"cap_conn_per_sec":null}]'
out=$(ctl relay list)
check_match "relay list (human)" "$out" $'^GROUP +ADDR +PORTS +CAP_CONN/S +CAP_BURST\ninternal +198\\.18\\.0\\.25 +25 '

# ---- ban add / del / list -----------------------------------------------------

b=$(ctl --json ban add 198.18.1.7 --duration 1h --reason "spam run" --ticket INC-9)
check_eq "ban add: addr, kind, active" "$(jq -c '[.addr, .kind, .active]' <<<"$b")" '["198.18.1.7","manual",true]'
exp=$(( $(date -d "$(jq -r .expires <<<"$b")" +%s) - $(date -d "$(jq -r .since <<<"$b")" +%s) ))
check_cmp "ban add: expires one hour after since (±2 s)" "$(( exp > 3600 ? exp - 3600 : 3600 - exp ))" -le 2
check "ban add without duration" ctl ban add 2001:db8:1::66
bl=$(ctl --json ban list)
check_eq "ban list: both, sorted" "$(jq -c '[.[] | [.addr, .kind, (.expires == null), .active]]' <<<"$bl")" \
	'[["198.18.1.7","manual",false,true],["2001:db8:1::66","manual",true,true]]'
out=$(ctl ban list)
check_match "ban list (human)" "$out" $'^ADDR +KIND +SINCE +EXPIRES +ACTIVE\n198\\.18\\.1\\.7 +manual '
check_eq "status: bans_active" "$(ctl --json status | jq .bans_active)" 2
out=$(ctl ban add 198.18.1.0/24 2>&1)
check_eq "ban add of a prefix is exit 2" "$?" 2
check_match "... naming ADDR" "$out" '^smtpgatectl: ban add: ADDR: "198\.18\.1\.0/24" is a prefix'
out=$(ctl ban add ::ffff:198.18.1.8 2>&1)
check_eq "ban add of an IPv4-mapped IPv6 address is exit 2" "$?" 2
check_match "... saying which IPv4 address to write" "$out" \
	'^smtpgatectl: ban add: ADDR: "::ffff:198\.18\.1\.8" is an IPv4-mapped IPv6 address, .*: write 198\.18\.1\.8 instead$'
out=$(ctl ban add 198.18.1.8 --duration soon 2>&1)
check_eq "ban add with a bad duration is exit 2" "$?" 2
check_match "... naming --duration" "$out" '^smtpgatectl: ban add: --duration: "soon" is not a duration'
check "ban del" ctl ban del 2001:db8:1::66
out=$(ctl ban del 2001:db8:1::66 2>&1)
check_eq "ban del of an address not banned is exit 1" "$?" 1
check_match "... saying so" "$out" '^smtpgatectl: ban del: ADDR: 2001:db8:1::66 is not banned$'
check_eq "ban audit records: add, add, del ok" \
	"$(ctl_audit_count '(.command | startswith("ban.")) and .result == "ok"')" 3
check_eq "ban audit record: ticket and args" \
	"$(jq -c 'select(.command == "ban.add") | [.ticket, .args.reason, .args.duration_sec]' "$CTL_LOG/audit.jsonl" | head -1)" \
	'["INC-9","spam run",3600]'

# ---- stats ------------------------------------------------------------------

# Traffic: the approval passes, an unregistered source is dropped, the
# banned one too.
r1=$(ctl_try 198.18.1.5)
check_match "traffic: the approved source connects" "$r1" '^connected '
r2=$(ctl_try 198.18.1.6)
check_match "traffic: an unregistered source does not" "$r2" '^failed '
r3=$(ctl_try 198.18.1.7)
check_match "traffic: the banned source does not" "$r3" '^failed '
s=$(ctl --json stats --sources --top 10)
check_eq "stats: one attachment, srv0 xdp" "$(jq -c '[.attachments[] | [.interface, .hook]]' <<<"$s")" '[["srv0","xdp"]]'
check_cmp "stats: pass/trusted packets counted" \
	"$(jq '[.attachments[0].counters[] | select(.verdict == "pass" and .reason == "trusted") | .packets] | add // 0' <<<"$s")" -ge 3
check_cmp "stats: pass/trusted one new connection" \
	"$(jq '[.attachments[0].counters[] | select(.verdict == "pass" and .reason == "trusted") | .connections] | add // 0' <<<"$s")" -eq 1
check_cmp "stats: drop/untrusted_source counted" \
	"$(jq '[.attachments[0].counters[] | select(.verdict == "drop" and .reason == "untrusted_source") | .packets] | add // 0' <<<"$s")" -ge 1
check_cmp "stats: drop/banned counted" \
	"$(jq '[.attachments[0].counters[] | select(.verdict == "drop" and .reason == "banned") | .packets] | add // 0' <<<"$s")" -ge 1
check_eq "stats: no zero counters listed" "$(jq '[.attachments[0].counters[] | select(.packets == 0)] | length' <<<"$s")" 0
check_eq "stats --sources: the three sources with their verdicts" \
	"$(jq -c '[.sources[] | [.source, (.packets.pass > 0), (.packets.drop > 0)]] | sort' <<<"$s")" \
	'[["198.18.1.5",true,false],["198.18.1.6",false,true],["198.18.1.7",false,true]]'
check_eq "stats --sources: connections passed, bytes, blocked by reason per source" \
	"$(jq -c '[.sources[] | [.source, .connections, (.bytes > 0), (.blocked | keys), ((.blocked | add // 0) == .packets.drop + .packets.reject)]] | sort' <<<"$s")" \
	'[["198.18.1.5",1,true,[],true],["198.18.1.6",0,false,["untrusted_source"],true],["198.18.1.7",0,false,["banned"],true]]'
check_eq "stats --sources: sorted by total" "$(jq '[.sources[].total] | . == (sort | reverse)' <<<"$s")" true
check_eq "stats --sources: total is the sum" "$(jq '[.sources[] | .total == (.packets | add)] | all' <<<"$s")" true
check_eq "stats --top 1: one source" "$(ctl --json stats --sources --top 1 | jq '.sources | length')" 1
GEN=$(ctl --json status | jq .generation)
check_eq "stats: data_plane" "$(jq -c '.data_plane | [.generation, .trusted_entries, .bans_active]' <<<"$s")" \
	"[$GEN,3,1]"
out=$(ctl stats --sources)
check_match "stats (human): counter table" "$out" \
	'INTERFACE +HOOK +VERDICT +REASON +PACKETS +BYTES +CONNECTIONS'
check_match "stats (human): sources table" "$out" \
	'SOURCE +TOTAL +PASS +DROP +REJECT +MONITOR +CONNS +BYTES +BLOCKED BY REASON'
check_match "stats (human): the banned source's reason" "$out" \
	'198\.18\.1\.7 +[0-9]+ +0 +[0-9]+ +0 +0 +0 +0 +banned=[0-9]+'
ctl stats --top 0 >/dev/null 2>&1
check_eq "stats --top 0 is exit 2" "$?" 2
for n in " 5" "+5" "5 " "0x5"; do
	ctl stats --top "$n" >/dev/null 2>&1
	check_eq "stats --top \"$n\" (not just digits) is exit 2" "$?" 2
done

# ---- reload --------------------------------------------------------------------

r=$(ctl --json reload)
check_eq "reload: the next generation, same sha, approvals kept" \
	"$(jq -c '[.generation, .policy_sha256 == "'"$(sha256sum "$CTL_POLICY" | cut -d' ' -f1)"'", .trusted_entries]' <<<"$r")" \
	"[$((GEN + 1)),true,3]"
cp "$CTL_POLICY" "$CTL_DIR/policy.good"
printf '{"relays": {"internal": [{"addr": "198.18.0.300"}]}}\n' >"$CTL_POLICY"
out=$(ctl reload 2>&1)
check_eq "reload of an invalid policy is exit 1" "$?" 1
check_match "... with the validation message" "$out" 'relays\.internal\[0\]\.addr: .*198\.18\.0\.300'
st=$(ctl --json status)
check_eq "... the running policy stays; the failure is counted" \
	"$(jq -c '[.generation, .reload_failures, .trusted_entries]' <<<"$st")" "[$((GEN + 1)),1,3]"
check_eq "... and audited as failed" "$(ctl_audit_count '.command == "reload" and .result == "failed"')" 1
cp "$CTL_DIR/policy.good" "$CTL_POLICY"

# ---- audit --------------------------------------------------------------------

a=$(ctl --json audit)
check_eq "audit --json: an array of every record" "$(jq length <<<"$a")" "$(wc -l <"$CTL_LOG/audit.jsonl")"
# The silent peer started at the top is refused (and audited) after 5 s:
# on a loaded machine that can come before the first change.
check_eq "audit: the first change recorded is the first trust.add" \
	"$(jq -c '[.[] | select(.command != "invalid_request")][0] | [.command, .ticket, .result, .uid, .user]' <<<"$a")" \
	'["trust.add","CHG-1001","ok",0,"root"]'
check_eq "audit --since -1h: all of them" "$(ctl --json audit --since -1h | jq length)" "$(jq length <<<"$a")"
check_eq "audit --since (future RFC 3339): none" \
	"$(ctl --json audit --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" | jq length)" 0
check_eq "audit --limit 2: the newest two" "$(ctl --json audit --limit 2 | jq -c '[.[].command]')" \
	"$(jq -c '[.[-2:][].command]' <<<"$a")"
out=$(ctl audit)
check_match "audit (human)" "$out" $'^TIME +GATEWAY +USER +UID +COMMAND +TICKET +RESULT +DETAILS\n20'
check_match "audit (human): a forged newline is shown as ?" "$out" 'T-1\?forged'
ctl audit --since yesterday >/dev/null 2>&1
check_eq "audit --since with a bad value is exit 2" "$?" 2
ctl audit --limit " 2" >/dev/null 2>&1
check_eq "audit --limit \" 2\" (a blank before the digits) is exit 2" "$?" 2

# ---- trust del --------------------------------------------------------------

d=$(ctl --json trust del 198.18.1.5 --ticket CHG-1003)
check_eq "trust del: the removed entry" "$(jq -c '[.prefix, .ticket, .source]' <<<"$d")" '["198.18.1.5","CHG-1001","approval"]'
check_eq "trust del: gone from the list" "$(ctl_prefixes)" "198.18.1.200 2001:db8:1::/120"
check_eq "trust del: gone from approvals.json" "$(ctl_approvals_doc | jq -c '[.approvals[].addr]')" \
	'["2001:db8:1::/120"]'
check_eq "trust del: audited with its ticket" \
	"$(jq -c 'select(.command == "trust.del" and .result == "ok" and .ticket == "CHG-1003") | [.ticket, .args.prefix]' "$CTL_LOG/audit.jsonl")" \
	'["CHG-1003","198.18.1.5"]'

# ---- check (offline) ----------------------------------------------------------

c=$("$CTL" --json check "$CTL_POLICY")
check_eq "check: a valid policy is exit 0" "$?" 0
check_eq "check --json: summary" "$(jq -c '[.valid, .trusted_entries, .relay_groups, .rate_classes, .mode, (.errors | length)]' <<<"$c")" \
	'[true,1,2,2,"enforce",0]'
check_eq "check --json: sha256" "$(jq -r .sha256 <<<"$c")" "$(sha256sum "$CTL_POLICY" | cut -d' ' -f1)"
cp "$E2E_REPO/policies/invalid.policy.json" "$CTL_DIR/invalid.json"
out=$("$CTL" check "$CTL_DIR/invalid.json" 2>&1)
check_eq "check: an invalid policy is exit 1" "$?" 1
check_match "check: every problem named" "$out" 'trusted\[0\]\.addr: "10\.0\.0\.300" is not an IP prefix'
check_match "check: ... and the verdict" "$out" 'invalid \([0-9]+ errors\): smtpgated would refuse it'
check_cmp "check --json: the errors" "$("$CTL" --json check "$CTL_DIR/invalid.json" | jq '.errors | length')" -ge 5
cp "$CTL_POLICY" "$CTL_DIR/mine.json"
chown nobody "$CTL_DIR/mine.json"
out=$("$CTL" check "$CTL_DIR/mine.json" 2>&1)
check_eq "check: a policy not owned by root is still valid (exit 0)" "$?" 0
check_match "check: ... with a warning about its owner" "$out" '^warning: .*owned by nobody .*not root'
"$CTL" check "$CTL_DIR/missing.json" >/dev/null 2>&1
check_eq "check: a missing file is exit 1" "$?" 1

# ---- completion and man page ---------------------------------------------------

comp=$(bash -c '. "$1"; COMP_WORDS=(smtpgatectl trust a); COMP_CWORD=2; _smtpgatectl; echo "${COMPREPLY[*]}"' _ \
	"$E2E_REPO/scripts/smtpgatectl.bash-completion" 2>&1)
check_eq "bash completion: trust a<TAB>" "$comp" add
man_warn=$(groff -man -Tutf8 -ww -z "$E2E_REPO/docs/man/smtpgatectl.8" 2>&1)
check_eq "man page: groff finds nothing to warn about" "$man_warn" ""

# ---- the daemon down ---------------------------------------------------------

before=$(ctl --json stats)
ctl_stop
check_eq "the socket is removed when smtpgated stops" "$([ -e "$CTL_SOCK" ] && echo there || echo gone)" gone
out=$(ctl status 2>&1)
check_eq "daemon down: exit 3" "$?" 3
check_eq "daemon down: the message" "$out" \
	"smtpgatectl: status: cannot reach smtpgated at $CTL_SOCK: No such file or directory (is it running?)"
out=$(ctl --json trust list 2>/dev/null)
check_eq "daemon down --json: an error document" "$(jq -c '[.ok, .code]' <<<"$out")" '[false,"unreachable"]'
p=$(lab_exec gw "$CTL" --json stats --pin-dir "$CTL_PIN" --sources)
check_eq "stats --pin-dir with the daemon down: exit 0" "$?" 0
check_eq "stats --pin-dir: the same counters as through the daemon" \
	"$(jq -c '[.attachments[0].counters[] | select(.verdict == "pass")]' <<<"$p")" \
	"$(jq -c '[.attachments[0].counters[] | select(.verdict == "pass")]' <<<"$before")"
check_eq "stats --pin-dir: the kernel still enforces both entries" \
	"$(jq -c '.data_plane | [.trusted_entries, .bans_active]' <<<"$p")" '[2,1]'
check_eq "stats --pin-dir: sources" "$(jq '.sources | length' <<<"$p")" 3
out=$(lab_exec gw "$CTL" stats --pin-dir "$CTL_PIN")
check_match "stats --pin-dir (human): says where it read" "$out" "^read from the pinned maps in $CTL_PIN"
out=$("$CTL" stats --pin-dir "$CTL_DIR" 2>&1)
check_eq "stats --pin-dir of a dir without pins is exit 1" "$?" 1
check_match "... saying so" "$out" 'no smtpgate pins in'
check_eq "stats --pin-dir made no pins" "$(ls -A "$CTL_DIR" | grep -c '^sg_')" 0

tap_done
