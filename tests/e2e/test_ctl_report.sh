#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# smtpgatectl report over a synthetic year (report_gen.py writes 2025's
# audit and events logs with rotations, approvals.json and the usage
# history, and what the report must say): every section is checked
# against what was generated, in json, text and csv; the html is
# rendered by headless Chromium (a screenshot that is not blank, no
# console message); and bad input (damaged lines and files, an
# unreadable rotation, reversed dates, a missing dir) gives a clear
# error or a report that says what it skipped, never a crash.
#
# Needs no namespace and no daemon: the report reads files only.
set -uo pipefail

. "$(dirname "$0")/lib.sh"

CTLBIN="$BUILD/smtpgatectl"
[ -x "$CTLBIN" ] || tap_bail "$CTLBIN is missing (make BUILD=${BUILD##*/})"
command -v jq >/dev/null || tap_bail "jq is missing"
TMP=$(mktemp -d /tmp/sg-report.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
STATE="$TMP/year/state"
LOGS="$TMP/year/log"
EXP="$TMP/year/expected.json"
mkdir -p "$STATE" "$LOGS"
python3 "$E2E_REPO/tests/e2e/report_gen.py" "$STATE" "$LOGS" || tap_bail "report_gen.py failed"
PERIOD=(--since 2025-01-01 --until 2025-12-31 --state-dir "$STATE" --log-dir "$LOGS")
HOST=$(hostname)

report() {
	"$CTLBIN" report "$@"
}

# same NAME JQ_ON_REPORT JQ_ON_EXPECTED: both give the same JSON.
same() {
	local got want

	got=$(jq -cS "$2" "$TMP/r.json" 2>&1)
	want=$(jq -cS "$3" "$EXP" 2>&1)
	check_eq "$1" "$got" "$want"
}

# ---- json ------------------------------------------------------------------

report "${PERIOD[@]}" --format json >"$TMP/r.json" 2>"$TMP/r.err"
check_eq "json: a complete report exits 0" "$?" 0
check_eq "json: complete, nothing skipped" "$(jq -c '[.complete, .skipped]' "$TMP/r.json")" \
	'[true,[]]'
check_eq "json: the period is 2025, --until's day included" \
	"$(jq -c '[.period.since, .period.until]' "$TMP/r.json")" \
	'["2025-01-01T00:00:00Z","2026-01-01T00:00:00Z"]'
same "json: approvals in force at the end" '[.approvals.in_force[].prefix] | sort' '.in_force'
same "json: every approval change, in order, with ticket and who" \
	'[.approvals.changes[] | [.time, .change, .prefix, .ticket, .user]]' '.changes'
check_eq "json: a change names its gateway (the record's, else this host)" \
	"$(jq -c '[.approvals.changes[] | select(.prefix == "198.18.12.0/28") | [.change, .gateway]]' "$TMP/r.json")" \
	"[[\"added\",\"gw-b\"],[\"expired\",\"$HOST\"]]"
check_eq "json: a record without a gateway is this host's" \
	"$(jq -r '.approvals.changes[0].gateway' "$TMP/r.json")" "$HOST"
check_eq "json: who approved an approval in force (uid and user)" \
	"$(jq -c '.approvals.in_force[] | select(.prefix == "198.18.11.5") | [.approved_by.uid, .approved_by.user, .owner, .contact]' "$TMP/r.json")" \
	'[1002,"bob","crm",null]'
check_eq "json: a revocation carries its own ticket, the owner and contact" \
	"$(jq -c '.approvals.changes[] | select(.change == "revoked") | [.ticket, .owner, .contact, .uid]' "$TMP/r.json")" \
	'["CHG-104","legacy","legacy@example.org",1001]'
check_eq "json: an approval older than the audit log comes from approvals.json" \
	"$(jq -r '.approvals.in_force[] | select(.prefix == "198.18.20.0/24") | .evidence' "$TMP/r.json")" \
	"approvals.json (its audit record is older than the audit log)"
same "json: approvals without a contact" '.approvals.missing_contact' '.missing_contact'
same "json: approvals past the review age" '[.approvals.past_review_age[].prefix] | sort' \
	'.past_review_age'
same "json: approvals expiring within 30 days" '[.approvals.expiring_soon[].prefix]' \
	'.expiring_soon'
same "json: bans automatic, manual, lifted, ended" \
	'{automatic: .bans.automatic, manual: .bans.manual, lifted: .bans.lifted, ended: .bans.ended}' \
	'.bans'
check_eq "json: the automatic ban: entry, source, by smtpgated" \
	"$(jq -c '.bans.list[] | select(.ban == "auto") | [.time, .addr, .source, .uid]' "$TMP/r.json")" \
	'["2025-07-04T12:00:00Z","198.18.10.0/24","198.18.10.66",-1]'
same "json: top offenders" '[.bans.top_offenders[] | [.source, .bans, .blocked_packets]]' \
	'.top_offenders'
same "json: usage per month" \
	'[.usage.months[] | del(.blocked_by_reason)]' '.months'
check_eq "json: drops by reason in July" \
	"$(jq -c '.usage.months[] | select(.month == "2025-07") | .blocked_by_reason' "$TMP/r.json")" \
	'{"untrusted_source":217,"rate_limited":62,"banned":5}'
same "json: top senders" '.usage.top_senders' '.top_senders'
same "json: sources blocked most" '.usage.blocked_most' '.blocked_most'
same "json: days without usage history" '.usage.days_missing' '.days_missing'
same "json: per-source connections and bytes per month (version 2 days)" \
	'.usage.source_months' '.source_months'
check_eq "json: January (version 1 files) has no per-source rows, not rows of zeros" \
	"$(jq -c '[.usage.source_months[] | select(.month == "2025-01")] | length' "$TMP/r.json")" 0
check_eq "json: July's top sender: connections and bytes of its 31 days" \
	"$(jq -c '.usage.source_months[] | select(.month == "2025-07" and .source == "198.18.10.5") | [.connections, .bytes, .days_with_source_detail]' "$TMP/r.json")" \
	"[$((107 * 6 / 10 * 31)),$((107 * 600 * 31)),31]"
same "json: sources blocked most, by reason" '.usage.blocked_by_reason' '.blocked_by_reason'
check_eq "json: the rate-limited source's reasons: 62 rate_limited, 5 banned" \
	"$(jq -c '.usage.blocked_by_reason[] | select(.source == "198.18.10.66") | [.packets_blocked, .rate_limited, .banned, .untrusted_source]' "$TMP/r.json")" \
	'[67,62,5,0]'
same "json: days without per-source detail" '.usage.source_detail_missing' \
	'.source_detail_missing'
check_eq "json: 31 days without per-source detail, in the summary and retention" \
	"$(jq -c '[.usage.days_without_source_detail, .retention.usage.days_without_source_detail]' "$TMP/r.json")" \
	'[31,31]'
same "json: time in monitor mode" '.enforcement.monitor' '.monitor'
same "json: time with a hook not attached" '.enforcement.not_attached' '.not_attached'
same "json: time with smtpgated stopped" '.enforcement.daemon_stopped' '.daemon_stopped'
check_eq "json: mode and hooks at the end" \
	"$(jq -c '[.enforcement.mode_at_end, [.enforcement.hooks_at_end[] | .attached]]' "$TMP/r.json")" \
	'["enforce",[true,true]]'
check_eq "json: the failed reload, with who and why" \
	"$(jq -c '.enforcement.reload_failures[] | [.time, .result, .uid, (.error | test("unknown group"))]' "$TMP/r.json")" \
	'["2025-05-20T08:00:00Z","failed",1002,true]'
check_eq "json: the audit log covers the year" \
	"$(jq -c '[.retention.audit.covers_period, .retention.audit.earliest]' "$TMP/r.json")" \
	'[true,"2024-12-15T09:00:00Z"]'
same "json: the hole in the events log, exactly" '.retention.events.missing' '.events_missing'
check_eq "json: the usage history misses 14 days" \
	"$(jq -c '[.retention.usage.covers_period, .retention.usage.days_missing]' "$TMP/r.json")" \
	'[false,14]'
same "json: every finding counted" '.findings | length' '.findings'
check_eq "json: the findings by section" \
	"$(jq -c '[.findings[].section] | group_by(.) | map([.[0], length])' "$TMP/r.json")" \
	'[["approvals",3],["enforcement",2],["reloads",1],["retention",3]]'
check "json: the finding names the days without per-source detail" \
	jq -e '[.findings[].finding | select(test("no per-source connections, bytes or drop reasons for 2025-01-01 to 2025-01-31"))] | length == 1' "$TMP/r.json"
check_eq "json: all rotations read, the gzip'd one too" \
	"$(jq -c '[.retention.audit.files[].records], [.retention.events.files | length]' "$TMP/r.json" | tr -d '\n')" \
	'[3,5,7][3]'

# --json is --format json.
report "${PERIOD[@]}" --json >"$TMP/r2.json" 2>/dev/null
check_eq "--json is --format json" "$(jq -c 'del(.period.generated)' "$TMP/r2.json")" \
	"$(jq -c 'del(.period.generated)' "$TMP/r.json")"

# ---- text ------------------------------------------------------------------

report "${PERIOD[@]}" >"$TMP/r.txt" 2>/dev/null
check_eq "text: exit 0" "$?" 0

# section TITLE: the lines of a text section, its header line included.
section() {
	awk -v t="== $1 (" 'index($0, t) == 1 { on = 1; print; next } /^== / { on = 0 } on' "$TMP/r.txt"
}

# text_rows NAME TITLE N PATTERN...: the section has N rows, and a line
# matching each PATTERN (extended regex).
text_rows() {
	local name="$1" title="$2" n="$3" body p miss=""

	shift 3
	body=$(section "$title")
	[[ "$(head -1 <<<"$body")" == "== $title ($n)" ]] || miss="header: $(head -1 <<<"$body")"
	for p in "$@"; do
		grep -Eq -- "$p" <<<"$body" || miss="$miss; no line matches $p"
	done
	if [ -z "$miss" ]; then
		ok "$name"
	else
		not_ok "$name" "$miss" "$body"
	fi
}

check "text: summary says complete, 9 findings" grep -qE '^Findings: +9$' "$TMP/r.txt"
check "text: summary counts the days without per-source detail" \
	grep -qE '^Usage history: 351 day\(s\) read, 14 day\(s\) missing, 31 day\(s\) without per-source detail$' \
	"$TMP/r.txt"
check "text: summary says the events log does not cover" \
	grep -qE '^Events log: .*covers the period: NO$' "$TMP/r.txt"
text_rows "text: approvals in force" "Approvals in force at the period's end" 4 \
	'^198\.18\.10\.0/24 +CHG-100 +mail-team +mail@example\.org .* alice \(uid 1001\) +gw-a ' \
	'^198\.18\.11\.5 +CHG-107 +crm +- ' '^198\.18\.14\.1 +CHG-105 ' '^198\.18\.20\.0/24 +CHG-050 '
text_rows "text: approval changes" "Approval changes during the period" 7 \
	'^2025-02-01T10:00:00Z +added +198\.18\.11\.5 +CHG-101 +crm +- +1002 +bob ' \
	'^2025-05-15T13:00:00Z +revoked +198\.18\.13\.7 +CHG-104 ' \
	'^2025-06-30T00:00:01Z +expired +198\.18\.12\.0/28 +CHG-102 +billing .* -1 +smtpgated ' \
	'^2025-10-01T15:00:00Z +changed +198\.18\.11\.5 +CHG-107 '
text_rows "text: without a contact" "Approvals in force without a contact" 1 '^198\.18\.11\.5$'
text_rows "text: past the review age" "Approvals in force past the review age" 2 \
	'^198\.18\.10\.0/24 +2024-12-15T09:00:00Z +381$' '^198\.18\.20\.0/24 '
text_rows "text: expiring soon" "Approvals expiring within 30 days of the period's end" 1 \
	'^198\.18\.14\.1 +2026-01-20T00:00:00Z +CHG-105 '
text_rows "text: bans" "Bans during the period" 3 \
	'^2025-07-04T12:00:00Z +auto +198\.18\.10\.0/24 +198\.18\.10\.66 +600 ' \
	'^2025-08-01T09:30:00Z +manual +198\.18\.99\.9 .* scanner +SEC-1 +1001 +alice '
text_rows "text: top offenders" "Top offenders" 3 '^198\.18\.10\.66 +1 +500$' \
	'^198\.18\.77\.7 +0 +40$'
jan=$(jq -r '.months[0] | "^2025-01 +\(.days) +\(.connections_passed) +\(.bytes_passed) +\(.packets_passed) +\(.packets_dropped) "' "$EXP")
jul=$(jq -r '.months[6] | "^2025-07 +\(.days) +\(.connections_passed) .* \(.rate_limited) +\(.banned) +\(.packets_monitor)$"' "$EXP")
text_rows "text: usage per month" "Usage per month" 12 "$jan" "$jul" '^2025-03 +17 '
text_rows "text: top senders" "Top senders (packets passed)" 2 \
	"^198\.18\.10\.5 +$(jq -r '.top_senders[0].packets' "$EXP")\$"
text_rows "text: blocked most" "Sources blocked most (packets dropped or rejected)" 3 \
	"^198\.18\.77\.7 +$(jq -r '.blocked_most[0].packets' "$EXP")\$"
text_rows "text: days without usage" "Days without usage history" 1 '^2025-03-01 +2025-03-14 +14$'
text_rows "text: per-source usage per month" \
	"Per-source usage per month (top senders by bytes passed)" 22 \
	"^2025-07 +198\.18\.10\.5 +$((107 * 6 / 10 * 31)) +$((107 * 600 * 31)) +$((107 * 6 * 31)) +31 +31\$" \
	"^2025-02 +198\.18\.11\.5 +$(((102 - 102 * 6 / 10) * 28)) +$((102 * 400 * 28)) "
text_rows "text: blocked most, by reason" \
	"Sources blocked most, by reason (packets dropped or rejected)" 3 \
	'^198\.18\.10\.66 +67 +0 +0 +62 +5 +0 +0 +0$' '^198\.18\.11\.9 +93 +0 +93 '
text_rows "text: days without per-source detail" \
	"Days without per-source connections, bytes and drop reasons (older usage files)" 1 \
	'^2025-01-01 +2025-01-31 +31$'
text_rows "text: monitor mode" "Time in monitor mode" 1 \
	'^2025-08-10T00:00:00Z +2025-08-12T06:00:00Z +194400$'
text_rows "text: not attached" "Time with a configured hook not attached" 1 \
	'^eth1 +tc_egress +2025-11-05T10:00:00Z +2025-11-05T10:30:00Z +1800$'
text_rows "text: reload failures" "Reload failures" 1 \
	'^2025-05-20T08:00:00Z +failed +1002 +bob .*unknown group "backup"$'
text_rows "text: the events hole" "Events log: stretches of the period without records" 1 \
	'^2025-03-01T00:00:00Z +2025-03-15T00:00:00Z +1209600$'
text_rows "text: no audit hole" "Audit log: stretches of the period without records" 0 '^\(none\)$'
text_rows "text: nothing skipped" "Input skipped (this report is partial)" 0 '^\(none\)$'

# ---- csv -------------------------------------------------------------------

report "${PERIOD[@]}" --format csv >"$TMP/r.csv" 2>/dev/null
check_eq "csv: exit 0" "$?" 0
check "csv: every row has 4 fields (RFC 4180)" python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["section", "row", "column", "value"], rows[0]
bad = [r for r in rows if len(r) != 4]
assert not bad, bad[:3]
assert len(rows) > 300, len(rows)
' "$TMP/r.csv"

# csv_col SECTION COLUMN: the values of a column, in row order, one a line.
csv_col() {
	python3 -c '
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1], newline="")) if r[0] == sys.argv[2] and r[2] == sys.argv[3]]
for r in sorted(rows, key=lambda r: int(r[1])):
    print(r[3])
' "$TMP/r.csv" "$1" "$2"
}

csv_same() {
	check_eq "$1" "$(csv_col "$2" "$3" | tr '\n' ' ')" "$(jq -r "$4" "$EXP" | tr '\n' ' ')"
}

csv_same "csv: approvals in force" approvals_in_force PREFIX '.in_force[]'
csv_same "csv: change kinds in order" approval_changes CHANGE '.changes[][1]'
csv_same "csv: change tickets" approval_changes TICKET '.changes[][3]'
csv_same "csv: change users" approval_changes USER '.changes[][4]'
csv_same "csv: without a contact" missing_contact PREFIX '.missing_contact[]'
csv_same "csv: past the review age" past_review_age PREFIX '.past_review_age[]'
csv_same "csv: expiring soon" expiring_soon PREFIX '.expiring_soon[]'
csv_same "csv: top offenders" top_offenders SOURCE '.top_offenders[][0]'
csv_same "csv: connections per month" usage_months CONNECTIONS '.months[].connections_passed'
csv_same "csv: dropped per month" usage_months DROPPED '.months[].packets_dropped'
csv_same "csv: top senders" top_senders SOURCE '.top_senders[].source'
csv_same "csv: blocked most" blocked_most PACKETS '.blocked_most[].packets'
csv_same "csv: per-source bytes per month" source_months BYTES '.source_months[].bytes'
csv_same "csv: per-source connections per month" source_months CONNECTIONS \
	'.source_months[].connections'
csv_same "csv: blocked by reason, rate limited" blocked_by_reason "RATE LIMITED" \
	'.blocked_by_reason[].rate_limited'
csv_same "csv: days without per-source detail" source_detail_missing DAYS \
	'.source_detail_missing[].days'
csv_same "csv: monitor mode" monitor_mode SECONDS '.monitor[].seconds'
csv_same "csv: not attached" not_attached FROM '.not_attached[].from'
csv_same "csv: events hole" events_missing FROM '.events_missing[].from'
check_eq "csv: bans and findings in the summary" \
	"$(grep -E '^summary,0,(bans\.automatic|bans\.manual|complete|retention\.events\.covers_period),' "$TMP/r.csv" | tr -d '\r' | tr '\n' ' ')" \
	"summary,0,complete,yes summary,0,bans.automatic,1 summary,0,bans.manual,1 summary,0,retention.events.covers_period,no "
check_eq "csv: the reload failure's error, quoted whole" \
	"$(csv_col reload_failures ERROR | grep -c 'unknown group "backup"')" 1
check_eq "csv: every finding" "$(csv_col findings FINDING | wc -l)" "$(jq '.findings' "$EXP")"

# ---- html ------------------------------------------------------------------

report "${PERIOD[@]}" --format html >"$TMP/r.html" 2>/dev/null
check_eq "html: exit 0" "$?" 0
check_eq "html: self-contained: no src, href, url() or @import" \
	"$(grep -ciE 'src=|href=|url\(|@import' "$TMP/r.html")" 0
check "html: two inline SVG charts" test "$(grep -c '<svg ' "$TMP/r.html")" -eq 2
check "html: twelve monthly bars per chart" test "$(grep -c '<rect ' "$TMP/r.html")" -eq 24
check "html: every table's title is there" test "$(grep -c '<section id=' "$TMP/r.html")" -eq \
	"$(grep -c '<section id=' "$TMP/r.html")"
check "html: the findings are there" grep -q 'past the review age of 365 days' "$TMP/r.html"
check "html: the per-source sections are there" grep -q 'Sources blocked most, by reason' \
	"$TMP/r.html"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

# render FILE PNG: headless Chromium's screenshot of FILE; its console
# messages (and everything else it logs) in PNG.log.
render() {
	timeout -k 5 120 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$TMP/chromium" --enable-logging=stderr --v=0 \
		--window-size=1280,2400 --screenshot="$2" "file://$1" >"$2.log" 2>&1
}

# blank PNG: exit 0 if the image has a single colour (or is no PNG).
blank() {
	python3 - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit(0)
pos, idat, w, h, bpp = 8, b"", 0, 0, 4
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        bpp = {2: 3, 6: 4, 0: 1, 4: 2}.get(ctype, 4)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colours = set()
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 8 == 0:
        for x in range(0, stride, bpp * 4):
            colours.add(bytes(line[x:x + bpp]))
    prev = line
sys.exit(0 if len(colours) <= 1 else 1)
PY
}

if [ -z "$CHROMIUM" ]; then
	not_ok "html: headless Chromium renders the report" "chromium is missing (scripts/install-deps.sh)"
else
	# The checks must be able to fail: a blank page is found blank, and a
	# page with a console error and an external image is found out.
	printf '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>\n' \
		>"$TMP/blank.html"
	printf '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src %s"></head><body><img src="http://198.18.0.1/x.png"><script>console.error("boom")</script>x</body></html>\n' \
		"'none'" >"$TMP/noisy.html"
	render "$TMP/blank.html" "$TMP/blank.png"
	check "html: control: a blank page's screenshot is found blank" blank "$TMP/blank.png"
	render "$TMP/noisy.html" "$TMP/noisy.png"
	check "html: control: a page's console messages are seen" grep -q ':CONSOLE' "$TMP/noisy.png.log"
	render "$TMP/r.html" "$TMP/r.png"
	check "html: Chromium renders a screenshot" test -s "$TMP/r.png"
	if blank "$TMP/r.png"; then
		not_ok "html: the screenshot is not blank"
	else
		ok "html: the screenshot is not blank"
	fi
	check_eq "html: no console message (errors, blocked resources)" \
		"$(grep -c ':CONSOLE' "$TMP/r.png.log")" 0
fi

# ---- bad input ---------------------------------------------------------------

BAD="$TMP/bad"
cp -r "$TMP/year" "$BAD"
printf '{"time":"2025-0' >>"$BAD/log/audit.jsonl"          # torn, no newline
printf 'not json at all\n' >>"$BAD/log/events.jsonl.1"
printf '{"no":"time"}\n' >>"$BAD/log/events.jsonl.1"
echo '{"version":1,"day":"2025-06-15"' >"$BAD/state/usage/2025-06-15.json"
ln -s /nonexistent "$BAD/log/events.jsonl.4"              # a rotation that cannot be opened
head -c 200 "$TMP/year/log/audit.jsonl.2.gz" >"$BAD/log/audit.jsonl.2.gz" # cut short
BADP=(--since 2025-01-01 --until 2025-12-31 --state-dir "$BAD/state" --log-dir "$BAD/log")
report "${BADP[@]}" --format json >"$TMP/bad.json" 2>"$TMP/bad.err"
rc=$?
check_eq "bad input: a partial report exits 1" "$rc" 1
check_eq "bad input: the report says it is partial" "$(jq '.complete' "$TMP/bad.json")" false
# skipped_says NAME FILE TEXT: a "skipped" entry names FILE and says TEXT.
skipped_says() {
	check "$1" jq -e --arg f "$2" --arg t "$3" \
		'[.skipped[] | select(contains($f) and contains($t))] | length == 1' "$TMP/bad.json"
}
skipped_says "bad input: a torn last line is said" "log/audit.jsonl:" "1 line(s) are not records"
skipped_says "bad input: damaged lines are counted" "log/events.jsonl.1:" "2 line(s) are not records"
skipped_says "bad input: a cut gzip rotation is said" "log/audit.jsonl.2.gz:" \
	"a read error (damaged or truncated compressed data) cut the file short"
skipped_says "bad input: an unopenable rotation is said" "log/events.jsonl.4:" \
	"cannot be read (Too many levels of symbolic links)"
skipped_says "bad input: a damaged usage day is said" "state/usage/2025-06-15.json:" "not JSON"
check "bad input: what was skipped is said on stderr too" grep -q 'skipped: .*2025-06-15.json' "$TMP/bad.err"
check_eq "bad input: the damaged usage day is not counted" \
	"$(jq '.usage.months[5].days' "$TMP/bad.json")" "$(($(jq '.months[5].days' "$EXP") - 1))"
check_eq "bad input: the rest of the report is there" \
	"$(jq -c '[(.approvals.in_force | length), .bans.automatic]' "$TMP/bad.json")" '[4,1]'
report "${BADP[@]}" >"$TMP/bad.txt" 2>/dev/null
check "bad input: the text report says PARTIAL" grep -q '^Input: *PARTIAL' "$TMP/bad.txt"
report "${BADP[@]}" --format csv 2>/dev/null | tr -d '\r' >"$TMP/bad.csv"
check "bad input: the csv says incomplete" grep -q '^summary,0,complete,no$' "$TMP/bad.csv"

# exit_of NAME WANT CMD...: the exit status, and a message on stderr; never a crash.
exit_of() {
	local name="$1" want="$2" out rc

	shift 2
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" = "$want" ] && [ -n "$out" ]; then
		ok "$name"
	else
		not_ok "$name" "exit $rc (want $want), stderr: $out"
	fi
}

exit_of "reversed dates: usage error" 2 report --since 2025-12-31 --until 2025-01-01 \
	--state-dir "$STATE" --log-dir "$LOGS"
check "reversed dates: said as such" grep -q 'the period is empty' <<<"$(report --since 2025-12-31 \
	--until 2025-01-01 --state-dir "$STATE" --log-dir "$LOGS" 2>&1)"
exit_of "a missing state dir: an error, no report" 1 report "${PERIOD[@]:0:4}" \
	--state-dir "$TMP/nonexistent" --log-dir "$LOGS"
check_eq "a missing state dir: nothing on stdout" \
	"$(report --state-dir "$TMP/nonexistent" --log-dir "$LOGS" 2>/dev/null | wc -c)" 0
exit_of "a missing log dir: an error" 1 report --state-dir "$STATE" --log-dir "$TMP/nonexistent"
exit_of "a bad --since: usage error" 2 report --since yesterday --state-dir "$STATE" --log-dir "$LOGS"
exit_of "a bad --format: usage error" 2 report --format pdf --state-dir "$STATE" --log-dir "$LOGS"
exit_of "a bad --review-age: usage error" 2 report --review-age soon --state-dir "$STATE" \
	--log-dir "$LOGS"
# An empty state and log dir: a report that says everything is missing.
mkdir -p "$TMP/empty/state" "$TMP/empty/log"
report --since 30d --state-dir "$TMP/empty/state" --log-dir "$TMP/empty/log" --json \
	>"$TMP/empty.json" 2>/dev/null
check_eq "empty dirs: partial, both logs missing whole" \
	"$(jq -c '[.complete, .retention.audit.covers_period, .retention.events.covers_period, (.skipped | length)]' "$TMP/empty.json")" \
	'[false,false,false,2]'
# A shorter review age makes more approvals due.
report "${PERIOD[@]}" --review-age 30d --json 2>/dev/null >"$TMP/r30.json"
check_eq "--review-age 30d: more approvals past it" \
	"$(jq -c '[.approvals.past_review_age[].prefix] | sort' "$TMP/r30.json")" \
	'["198.18.10.0/24","198.18.11.5","198.18.14.1","198.18.20.0/24"]'

tap_done
