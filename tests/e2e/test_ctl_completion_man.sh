#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The committed files made from smtpgatectl's option tables
# (userspace/ctl/options_table.c) still say what the tables say:
#
#   - the generated part of scripts/smtpgatectl.bash-completion is what
#     `smtpgatectl --print-completion` prints, and the SYNOPSIS of
#     docs/man/smtpgatectl.8 what `--print-man-synopsis` prints (a
#     failure shows the difference; scripts/update-cli-docs.sh mends it);
#   - smtpgatectl and smtpgatectl-full print the same (one table for both);
#   - the completion, loaded into bash, completes from them: commands,
#     verbs, each command's options (smtpgatectl-full's too), values of
#     options and operands;
#   - the man page still formats without a groff warning.
#
# No daemon, no namespace: it reads files and runs the CLI.
set -uo pipefail

. "$(dirname "$0")/lib.sh"

CTL="$BUILD/smtpgatectl"
CTL_FULL="$BUILD/smtpgatectl-full"
COMPLETION="$E2E_REPO/scripts/smtpgatectl.bash-completion"
MAN="$E2E_REPO/docs/man/smtpgatectl.8"

for bin in "$CTL" "$CTL_FULL"; do
	[ -x "$bin" ] || tap_bail "$bin is missing (make BUILD=${BUILD##*/})"
done

# generated_part FILE: its lines from "BEGIN generated" to "END generated".
generated_part() {
	awk '/BEGIN generated/ { on = 1 } on { print } /END generated/ { on = 0 }' "$1"
}

# check_generated NAME FILE OPTION: FILE's generated part is smtpgatectl OPTION's output.
check_generated() {
	local want got

	want=$("$CTL" "$3")
	got=$(generated_part "$2")
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		ok "$1"
	else
		not_ok "$1" "${2#"$E2E_REPO"/} differs from smtpgatectl $3 (run scripts/update-cli-docs.sh):" \
			"$(diff <(echo "$want") <(echo "$got") | head -40)"
	fi
}

# ---- the committed files and the tables ----------------------------------

check_generated "bash completion: its generated part is the tables'" "$COMPLETION" \
	--print-completion
check_generated "man page: its SYNOPSIS is the tables'" "$MAN" --print-man-synopsis
check_eq "smtpgatectl-full has the same tables" \
	"$("$CTL_FULL" --print-completion; "$CTL_FULL" --print-man-synopsis)" \
	"$("$CTL" --print-completion; "$CTL" --print-man-synopsis)"
check_eq "the SYNOPSIS is the man page's only one" "$(grep -c '^\.SH SYNOPSIS' "$MAN")" 1
man_warn=$(groff -man -Tutf8 -ww -z "$MAN" 2>&1)
check_eq "man page: groff finds nothing to warn about" "$man_warn" ""

# ---- the completion at work ----------------------------------------------

# complete WORD...: what <TAB> offers after "smtpgatectl WORD...", the
# last word being the one completed; one line, sorted.
complete() {
	bash -c '. "$1"; shift; COMP_WORDS=(smtpgatectl "$@"); COMP_CWORD=$#; _smtpgatectl
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$COMPLETION" "$@" 2>&1 |
		sed 's/ $//'
}

check_eq "completion: the commands" "$(complete '')" \
	"audit ban check help relay reload report stats status store trust"
check_eq "completion: the global options" "$(complete -)" \
	"--config --help --json --socket --version"
check_eq "completion: trust's verbs" "$(complete trust '')" "--help add del import list"
check_eq "completion: store's verb (smtpgatectl-full's)" "$(complete store i)" "import"
check_eq "completion: trust add's options" "$(complete trust add --)" \
	"--config --contact --expires --help --json --note --owner --rate --relay --socket --ticket"
check_eq "completion: trust list --s" "$(complete trust list --s)" "--socket --source"
check_eq "completion: stats --pin-dir (smtpgatectl-full's)" "$(complete stats --p)" "--pin-dir"
check_eq "completion: audit --fleet (smtpgatectl-full's)" "$(complete audit --f)" "--fleet"
check_eq "completion: report's options (smtpgatectl-full's)" "$(complete report --)" \
	"--config --format --help --json --log-dir --review-age --since --socket --state-dir --until"
check_eq "completion: a value from words" "$(complete report --format '')" "csv html json text"
check_eq "completion: the same option, the command's own words" \
	"$(complete audit --since -)" "-1h -24h -30d -7d"
check_eq "completion: nothing for free text" "$(complete trust add --ticket '')" ""
check_eq "completion: a directory value" "$(complete stats --pin-dir "$E2E_REPO/tests/e2")" \
	"$E2E_REPO/tests/e2e"
check_eq "completion: an operand that is a JSON file" \
	"$(complete check "$E2E_REPO/policies/invalid.pol")" "$E2E_REPO/policies/invalid.policy.json"
check_eq "completion: help's commands" "$(complete help st)" "stats status store"

tap_done
