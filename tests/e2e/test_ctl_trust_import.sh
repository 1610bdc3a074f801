#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# smtpgatectl trust import: a batch of approvals, all or nothing.
#   1. 5,000 approvals from a file: all in force in the data plane (a
#      real connection from one of them passes; the kernel's map counts
#      them), all listed, on disk, and one audit record each;
#   2. a bad element in the middle of a batch: exit 2, the error names
#      the element, nothing changed (listing, maps, disk, audit: only the
#      refusal);
#   3. duplicates in the batch, conflicts with an approval or a
#      policy.json entry: refused whole; an element identical to an
#      approval in force is left unchanged, so an import runs again;
#   4. a journal that cannot be written: nothing imported, the data
#      plane put back (the connection is blocked again);
#   5. the daemon restarted: every imported approval still there, in
#      force, from approvals.json and its journal.
set -uo pipefail

. "$(dirname "$0")/ctl_lib.sh"

N=5000
ctl_up 180
RES="$CTL_DIR/import"
mkdir -p "$RES"

# approvals FILE FIRST COUNT [TICKET]: COUNT approvals of 198.19.0.0/16
# hosts from index FIRST, plus (FIRST = 0) 198.18.1.6, the app's address.
approvals() {
	python3 - "$@" <<'PY'
import json, sys
path, first, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ticket = sys.argv[4] if len(sys.argv) > 4 else "CHG-IMP"
a = [{"prefix": "198.19.%d.%d" % (i // 256, i % 256), "relays": ["internal"], "ticket": ticket,
      "owner": "importer", "expires": "+30d" if i % 2 else None, "note": "bulk %d" % i}
     for i in range(first, first + n)]
for e in a:
    if e["expires"] is None:
        del e["expires"]
if first == 0:
    a[-1] = {"prefix": "198.18.1.6", "relays": ["internal"], "ticket": ticket, "owner": "importer",
             "contact": "ops@example.org"}
json.dump({"approvals": a}, open(path, "w"))
PY
}

# The approvals on disk (approvals.json with its journal applied), one
# JSON object per line, sorted by prefix (ctl_approvals_doc's jq is
# quadratic: too slow for thousands of journal lines).
disk() {
	python3 - "$CTL_STATE/approvals.json" "$CTL_STATE/approvals.journal" <<'PY'
import json, os, sys
a = {}
if os.path.exists(sys.argv[1]):
    for e in json.load(open(sys.argv[1]))["approvals"]:
        a[e["addr"]] = e
if os.path.exists(sys.argv[2]):
    for line in open(sys.argv[2]):
        if not line.endswith("\n"):
            break
        r = json.loads(line)
        if r["op"] == "add":
            a[r["approval"]["addr"]] = r["approval"]
        else:
            a.pop(r["addr"], None)
for k in sorted(a):
    print(json.dumps(a[k], sort_keys=True))
PY
}

entries() { ctl --json status | jq -c '[.trusted_entries, .approvals]'; }
map_entries() { lab_exec gw "$CTL" --json stats --pin-dir "$CTL_PIN" | jq .data_plane.trusted_entries; }
ok_records() { ctl_audit_count '.command == "trust.import" and .result == "ok"'; }
snapshot() {
	{
		ctl --json trust list | jq -c '.[] | [.prefix, .source, .ticket]'
		disk
		map_entries
	} >"$1"
}

# ---- 1. success ---------------------------------------------------------------

approvals "$RES/a.json" 0 "$N"
check_match "198.18.1.6 is blocked before the import" "$(ctl_try 198.18.1.6)" '^failed '
out=$(ctl trust import "$RES/a.json" 2>&1)
check_eq "trust import of $N: exit 0, says how many" "$?:$out" "0:imported $N approvals (0 already in force, unchanged)"
check_eq "status: $((N + 1)) entries, $N approvals" "$(entries)" "[$((N + 1)),$N]"
check_eq "the kernel's map holds them all" "$(map_entries)" $((N + 1))
check_match "198.18.1.6 (the batch's last element) connects now" "$(ctl_try 198.18.1.6)" '^connected '
ctl --json trust list --source approval >"$RES/listed.json"
check_eq "trust list: all $N listed" "$(jq length "$RES/listed.json")" "$N"
check "... exactly the file's prefixes" cmp <(jq -r '.approvals[].prefix' "$RES/a.json" | sort) \
	<(jq -r '.[].prefix' "$RES/listed.json" | sort)
check_eq "... with their fields (an element with +30d, one with a contact)" \
	"$(jq -c '[.[] | select(.prefix == "198.19.0.1" or .prefix == "198.18.1.6") | [.prefix, .ticket, .owner, .contact, (.expires != null), .created_by]]' "$RES/listed.json")" \
	'[["198.18.1.6","CHG-IMP","importer","ops@example.org",false,"root (uid 0)"],["198.19.0.1","CHG-IMP","importer",null,true,"root (uid 0)"]]'
check_eq "on disk: all $N" "$(disk | wc -l)" "$N"
check_eq "audit: one ok record per approval" "$(ok_records)" "$N"
check_eq "... each naming its prefix and ticket" \
	"$(jq -r 'select(.command == "trust.import" and .result == "ok") | [.args.prefix, .ticket, .user] | @tsv' "$CTL_LOG/audit.jsonl" | sort -u | wc -l)" "$N"

# ---- 2. a bad element in the middle ---------------------------------------------

approvals "$RES/b.json" 10000 100 CHG-BAD
jq '.approvals[50].relays = ["nope"]' "$RES/b.json" >"$RES/b2.json"
snapshot "$RES/before"
refused0=$(ctl_audit_count '.command == "trust.import" and .result == "refused"')
out=$(ctl trust import "$RES/b2.json" 2>&1)
check_eq "a batch with a bad element 50: exit 2" "$?" 2
check_match "... the error names the element and the problem" "$out" \
	'^smtpgatectl: trust import: approvals: element 50 \(198\.19\.39\.66\): relays: no relay group named "nope"'
snapshot "$RES/after"
check "... nothing changed (listing, disk, kernel's map)" cmp "$RES/before" "$RES/after"
check_eq "... no ok record added, the refusal recorded once" \
	"$(ok_records) $(ctl_audit_count '.command == "trust.import" and .result == "refused"')" "$N $((refused0 + 1))"
jq '.approvals[99] = "198.19.1.1"' "$RES/b.json" >"$RES/b3.json"
out=$(ctl trust import "$RES/b3.json" 2>&1)
check_eq "an element that is not an object: exit 2, named" "$?:$out" \
	"2:smtpgatectl: trust import: approvals: element 99 is not an object"
jq '.approvals[7].colour = "red"' "$RES/b.json" >"$RES/b4.json"
check_match "an unknown key: named" "$(ctl trust import "$RES/b4.json" 2>&1)" \
	'approvals: element 7 \(198\.19\.39\.23\): colour: unknown key'
echo '{"approvals": [' >"$RES/b5.json"
check_match "a file that is not JSON: exit 2, the place" "$(ctl trust import "$RES/b5.json" 2>&1; echo "rc=$?")" \
	"b5.json: line 2, column 0: .*rc=2"
snapshot "$RES/after"
check "none of these changed anything" cmp "$RES/before" "$RES/after"

# ---- 3. duplicates and conflicts ------------------------------------------------

jq '.approvals[70].prefix = .approvals[20].prefix' "$RES/b.json" >"$RES/d1.json"
check_match "the same prefix twice in the batch: refused, both named" \
	"$(ctl trust import "$RES/d1.json" 2>&1; echo "rc=$?")" \
	'approvals: elements 20 and 70 are both for 198\.19\.39\.36.*rc=2'
jq '.approvals[30] = {"prefix": "198.19.0.7", "relays": ["backup"], "ticket": "CHG-X", "owner": "x"}' \
	"$RES/b.json" >"$RES/d2.json"
check_match "an approval in force with other values: conflict" \
	"$(ctl trust import "$RES/d2.json" 2>&1; echo "rc=$?")" \
	'approvals: element 30 \(198\.19\.0\.7\): already trusted \(an approval, ticket CHG-IMP\) with other values.*rc=2'
jq '.approvals[40].prefix = "198.18.1.200"' "$RES/b.json" >"$RES/d3.json"
check_match "a policy.json entry: conflict" "$(ctl trust import "$RES/d3.json" 2>&1; echo "rc=$?")" \
	'approvals: element 40 \(198\.18\.1\.200\): already trusted \(policy\.json, ticket POL-1\).*rc=2'
snapshot "$RES/after"
check "... nothing changed" cmp "$RES/before" "$RES/after"
# The first file again, with 100 new ones: the 5000 are unchanged.
jq -s '{approvals: (.[0].approvals + .[1].approvals)}' "$RES/a.json" "$RES/b.json" >"$RES/again.json"
sed -i 's/"+30d"/"2030-01-01T00:00:00Z"/g' "$RES/again.json" # +30d would differ from the first run
out=$(ctl trust import "$RES/again.json" 2>&1)
check_eq "the file again (expiries as times now) plus 100 new: the odd expiries differ" "$?" 2
jq '{approvals: [.approvals[] | select(.expires == null)]}' "$RES/a.json" >"$RES/again2.json"
jq -s '{approvals: (.[0].approvals + .[1].approvals)}' "$RES/again2.json" "$RES/b.json" >"$RES/again3.json"
out=$(ctl trust import "$RES/again3.json" 2>&1)
check_eq "the unexpiring half (and 198.18.1.6) again plus 100 new: only the new are imported" "$?:$out" \
	"0:imported 100 approvals ($((N / 2 + 1)) already in force, unchanged)"
check_eq "... and only they are audited" "$(ok_records)" $((N + 100))
check_eq "status: $((N + 101)) entries" "$(entries)" "[$((N + 101)),$((N + 100))]"

# ---- 4. the journal cannot be written -------------------------------------------

ctl_stop
ctl_start SG_TEST_FAIL_JOURNAL_WRITE=1 || tap_bail "smtpgated does not restart"
approvals "$RES/c.json" 20000 50 CHG-J
jq '.approvals[49].prefix = "198.18.1.7"' "$RES/c.json" >"$RES/c2.json"
snapshot "$RES/before"
out=$(ctl trust import "$RES/c2.json" 2>&1)
check_eq "a journal that cannot be written: exit 1" "$?" 1
check_match "... says nothing was imported" "$out" 'cannot save the approvals, so none was imported'
snapshot "$RES/after"
check "... nothing changed" cmp "$RES/before" "$RES/after"
check_match "... 198.18.1.7 (put in the map, then taken out) is blocked" "$(ctl_try 198.18.1.7)" '^failed '
check_eq "... no ok record for it, one failed record" \
	"$(ok_records) $(ctl_audit_count '.command == "trust.import" and .result == "failed"')" "$((N + 100)) 1"

# ---- 5. restarted ----------------------------------------------------------------

ctl_stop
ctl_start || tap_bail "smtpgated does not restart"
check_eq "after a restart: every approval is back" "$(entries)" "[$((N + 101)),$((N + 100))]"
check_eq "... listed" "$(ctl --json trust list --ticket CHG-IMP | jq length)" "$N"
check_match "... in force: 198.18.1.6 connects" "$(ctl_try 198.18.1.6)" '^connected '
check_eq "... with its contact" "$(ctl --json trust list --prefix 198.18.1.6 | jq -r '.[0].contact')" ops@example.org

tap_done
