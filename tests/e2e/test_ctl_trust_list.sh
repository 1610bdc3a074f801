#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# trust list at scale: filters and paging applied by the daemon, and the
# listing streamed.  A policy of 60,000 entries, plus a few approvals:
#   1. a client starts the full listing, reads its first bytes and stops
#      reading; while its listing is still open (not finished: checked by
#      what it has received), `smtpgatectl status` from another client is
#      answered; then the client reads the rest, and the listing is
#      complete and exact (every entry once, in order);
#      an approval added meanwhile is listed if it sorts after what was
#      already sent, never twice;
#   2. smtpgatectl trust list (text and --json) prints all of it, the
#      JSON one valid array;
#   3. --prefix, --ticket, --owner, --source, --expiring and their
#      combination list exactly the matching entries;
#   4. --limit/--after pages through a listing exactly, never separating
#      a policy entry from the approval it shadows; the reply says
#      whether more follow and where;
#   5. bad filter values are exit 2 naming the option.
set -uo pipefail

. "$(dirname "$0")/ctl_lib.sh"

BIG=60000
ctl_init 240
ctl_topology
RES="$CTL_DIR/list"
mkdir -p "$RES"

# The default test policy plus BIG /32s of 198.19.0.0/16 (ticket POL-BIG).
python3 - "$BIG" >"$RES/policy.json" <<PY
import json, sys
p = json.loads('''$CTL_POLICY_JSON''')
n = int(sys.argv[1])
p["trusted"] += [{"addr": "198.19.%d.%d" % (i // 256, i % 256), "relays": ["internal"],
                  "ticket": "POL-BIG", "owner": "bulk"} for i in range(n)]
print(json.dumps(p))
PY
ctl_write_config "$(cat "$RES/policy.json")"
ctl_start || tap_bail "smtpgated does not start with $BIG entries"

ctl trust add 198.18.1.5 --relay internal --ticket CHG-A --owner alice --expires +10d >/dev/null
ctl trust add 198.18.1.6 --relay internal --ticket CHG-B --owner bob >/dev/null
ctl trust add 198.18.1.77 --relay backup --ticket CHG-A --owner bob >/dev/null
ctl trust add 2001:db8:1::/120 --relay internal --ticket CHG-C --owner alice >/dev/null
# 198.18.1.77 into policy.json as well: its approval is now shadowed.
jq '.trusted += [{"addr": "198.18.1.77", "relays": ["internal"], "ticket": "POL-77", "owner": "static"}]' \
	"$RES/policy.json" >"$RES/policy2.json"
ctl_write_config "$(cat "$RES/policy2.json")"
check "reload with the shadowing entry" ctl reload
TOTAL=$((BIG + 1 + 1 + 4))

# ---- 1. status while a listing is open ---------------------------------------

cat >"$RES/slow.py" <<'PY'
import json, socket, subprocess, sys
sock, ctl = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.sendall(b'{"command":"trust.list"}\n')
s.shutdown(socket.SHUT_WR)
data = s.recv(65536)
# Stop reading: the daemon's chunks fill the socket and wait.
st = subprocess.run([ctl, "--socket", sock, "--json", "status"], capture_output=True, timeout=60)
open_then = not data.rstrip().endswith(b"}")
status_ok = st.returncode == 0 and json.loads(st.stdout)["mode"] == "enforce"
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    data += b
reply = json.loads(data)
prefixes = [e["prefix"] for e in reply["result"]]
print(json.dumps({"status_answered": status_ok, "listing_open_then": open_then,
                  "one_line": data.count(b"\n") == 1 and data.endswith(b"\n"),
                  "ok": reply["ok"], "more": reply["more"], "n": len(prefixes)}, sort_keys=True))
open(sys.argv[3], "w").write("\n".join(prefixes) + "\n")
PY
out=$(python3 "$RES/slow.py" "$CTL_SOCK" "$CTL" "$RES/slow.prefixes" 2>&1)
check_eq "status is answered while another client's listing is open and unread" \
	"$(jq -c '[.status_answered, .listing_open_then]' <<<"$out" 2>&1)" '[true,true]' ||
	tap_diag "$out"
check_eq "... and that listing, read afterwards, is complete: one line, ok, no more, $TOTAL entries" \
	"$(jq -c '[.one_line, .ok, .more, .n]' <<<"$out" 2>&1)" "[true,true,false,$TOTAL]"

# What the listing must be: every prefix, sorted by address (IPv4 first,
# as the mapped IPv6 address), the shadowed prefix twice.
python3 - "$RES/policy2.json" >"$RES/expected" <<'PY'
import ipaddress, json, sys
p = json.load(open(sys.argv[1]))
v = [t["addr"] for t in p["trusted"]] + ["198.18.1.5", "198.18.1.6", "198.18.1.77", "2001:db8:1::/120"]
def key(a):
    n = ipaddress.ip_network(a)
    addr = n.network_address
    if addr.version == 4:
        b = b"\0" * 10 + b"\xff\xff" + addr.packed
        plen = n.prefixlen + 96
    else:
        b, plen = addr.packed, n.prefixlen
    return (b, plen)
for a in sorted(v, key=key):
    print(a)
PY
check "... and exact: every entry once, in order" cmp "$RES/expected" "$RES/slow.prefixes"

# A change while a listing is open: an approval added after the part
# already sent is in the rest; one added before it is not (it was not
# there when that part was made); no entry comes twice.
cat >"$RES/change.py" <<'PY'
import json, socket, subprocess, sys
sock, ctl = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.sendall(b'{"command":"trust.list"}\n')
s.shutdown(socket.SHUT_WR)
data = s.recv(65536)
for p in ("198.18.1.3", "2001:db8:1::1:0/112"):
    subprocess.run([ctl, "--socket", sock, "trust", "add", p, "--relay", "internal",
                    "--ticket", "CHG-MID", "--owner", "mid"], check=True, capture_output=True)
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    data += b
prefixes = [e["prefix"] for e in json.loads(data)["result"]]
keys = [(e["prefix"], e["source"]) for e in json.loads(data)["result"]]
print(json.dumps({"n": len(prefixes), "dups": len(keys) - len(set(keys)),
                  "early": "198.18.1.3" in prefixes, "late": "2001:db8:1::1:0/112" in prefixes}))
PY
out=$(python3 "$RES/change.py" "$CTL_SOCK" "$CTL" 2>&1)
check_eq "approvals added while a listing is open: the one past the cursor is listed, the one before is not, nothing twice" \
	"$(jq -c '[.early, .late, .dups, .n]' <<<"$out" 2>&1)" "[false,true,0,$((TOTAL + 1))]" || tap_diag "$out"
ctl trust del 198.18.1.3 --ticket CHG-MID >/dev/null
ctl trust del 2001:db8:1::1:0/112 --ticket CHG-MID >/dev/null

# ---- 2. smtpgatectl prints all of it -------------------------------------------

ctl --json trust list >"$RES/all.json" 2>"$RES/all.err"
check_eq "trust list --json: exit 0" "$?" 0
check_eq "... one valid JSON array of $TOTAL entries" "$(jq length "$RES/all.json" 2>&1)" "$TOTAL"
check "... the same entries in the same order" cmp "$RES/expected" <(jq -r '.[].prefix' "$RES/all.json")
check_eq "... an entry per line" "$(wc -l <"$RES/all.json")" $((TOTAL + 2))
ctl trust list >"$RES/all.txt"
check_eq "trust list (text): a header and $TOTAL rows" "$(wc -l <"$RES/all.txt")" $((TOTAL + 1))
check_match "... the header first, then the first entry" "$(head -2 "$RES/all.txt")" \
	$'^PREFIX +RELAYS +RATE +TICKET +OWNER +EXPIRES +SOURCE +STATE\n198\\.18\\.1\\.5 +internal +default +CHG-A +alice +20[0-9T:-]+Z +approval +active$'

# ---- 3. filters ------------------------------------------------------------------

lst() { ctl --json trust list "$@" | jq -r '[.[] | .prefix + "@" + .source] | join(" ")'; }
check_eq "--prefix 198.18.1.0/24: the entries within it" "$(lst --prefix 198.18.1.0/24)" \
	"198.18.1.5@approval 198.18.1.6@approval 198.18.1.77@policy 198.18.1.77@approval 198.18.1.200@policy"
check_eq "--prefix 198.18.1.0/30: none" "$(lst --prefix 198.18.1.0/30)" ""
check_eq "--prefix 2001:db8::/32" "$(lst --prefix 2001:db8::/32)" "2001:db8:1::/120@approval"
check_eq "--prefix 2001:db8:1::/121 (inside the entry, not around it): none" "$(lst --prefix 2001:db8:1::/121)" ""
check_eq "--prefix 198.19.234.0/24: 96 of the policy's" "$(ctl --json trust list --prefix 198.19.234.0/24 | jq length)" 96
check_eq "--prefix 198.19.233.0/24: 256 of the policy's" "$(ctl --json trust list --prefix 198.19.233.0/24 | jq length)" 256
check_eq "--ticket CHG-A" "$(lst --ticket CHG-A)" "198.18.1.5@approval 198.18.1.77@approval"
check_eq "--owner bob" "$(lst --owner bob)" "198.18.1.6@approval 198.18.1.77@approval"
check_eq "--source approval" "$(lst --source approval)" \
	"198.18.1.5@approval 198.18.1.6@approval 198.18.1.77@approval 2001:db8:1::/120@approval"
check_eq "--source policy: $((BIG + 2)) entries" "$(ctl --json trust list --source policy | jq length)" $((BIG + 2))
check_eq "--ticket POL-BIG --prefix 198.19.0.0/24: 256" \
	"$(ctl --json trust list --ticket POL-BIG --prefix 198.19.0.0/24 | jq length)" 256
check_eq "--owner alice --source approval --expiring 30d" \
	"$(lst --owner alice --source approval --expiring 30d)" "198.18.1.5@approval"
check_eq "--owner nobody (text): says none matches" "$(ctl trust list --owner nobody)" "no trusted entry matches"
check_eq "--owner bob --json: the shadowed approval says so" \
	"$(ctl --json trust list --owner bob --prefix 198.18.1.77 | jq -c '[.[] | [.source, .shadowed]]')" \
	'[["approval",true]]'

# ---- 4. paging -----------------------------------------------------------------

# Pages of 1 through 198.18.1.0/24: 4 pages, the shadowing pair together.
after=""
pages=()
for ((i = 0; i < 10; i++)); do
	page=$(ctl --json trust list --prefix 198.18.1.0/24 --limit 1 ${after:+--after "$after"} 2>"$RES/page.err" |
		jq -r '[.[] | .prefix + "@" + .source] | join(" ")')
	pages+=("$page")
	grep -q "more entries follow" "$RES/page.err" || break
	after=$(sed -n 's/.*--after \(.*\)$/\1/p' "$RES/page.err")
done
check_eq "--limit 1 pages: one entry each, the policy entry and the approval it shadows together" \
	"$(printf '%s|' "${pages[@]}")" \
	"198.18.1.5@approval|198.18.1.6@approval|198.18.1.77@policy 198.18.1.77@approval|198.18.1.200@policy|"
out=$(printf '%s\n' '{"command":"trust.list","args":{"prefix":"198.18.1.0/24","limit":2}}' |
	timeout 10 socat -t 8 - "UNIX-CONNECT:$CTL_SOCK")
check_eq "the reply says more follow, and the next cursor" "$(jq -c '[.more, .next, (.result | length)]' <<<"$out")" \
	'[true,"198.18.1.6",2]'
out=$(printf '%s\n' '{"command":"trust.list","args":{"prefix":"198.18.1.0/24","limit":2,"after":"198.18.1.77"}}' |
	timeout 10 socat -t 8 - "UNIX-CONNECT:$CTL_SOCK")
check_eq "... and the last page says none follow" "$(jq -c '[.more, .next, [.result[].prefix]]' <<<"$out")" \
	'[false,null,["198.18.1.200"]]'
# The whole listing in pages of 7,000: the same as in one.
: >"$RES/paged"
after=""
for ((i = 0; i < 20; i++)); do
	ctl --json trust list --limit 7000 ${after:+--after "$after"} 2>"$RES/page.err" | jq -r '.[].prefix' >>"$RES/paged"
	grep -q "more entries follow" "$RES/page.err" || break
	after=$(sed -n 's/.*--after \(.*\)$/\1/p' "$RES/page.err")
done
check_eq "the full listing in pages of 7000: $(((TOTAL + 6999) / 7000)) pages" "$((i + 1))" $(((TOTAL + 6999) / 7000))
check "... exactly the listing" cmp "$RES/expected" "$RES/paged"

# ---- 5. bad values ----------------------------------------------------------------

refuse() {
	local what="$1" want="$2"
	shift 2
	out=$(ctl trust list "$@" 2>&1 >/dev/null)
	rc=$?
	check_eq "refused: $what (exit 2)" "$rc" 2
	check_match "... named: $want" "$out" "$want"
}
refuse "--source other" '^smtpgatectl: trust list: --source: "other" is neither "policy" nor "approval"' --source other
refuse "--limit 0" '^smtpgatectl: trust list: --limit: "0" is not a number of entries' --limit 0
refuse "--prefix with host bits" '^smtpgatectl: trust list: --prefix: ' --prefix 198.18.1.1/24
refuse "--after not a prefix" '^smtpgatectl: trust list: --after: ' --after nowhere
check_eq "the daemon still answers" "$(ctl --json status | jq -r .mode)" enforce

tap_done
