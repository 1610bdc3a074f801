#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Writes the parts of the committed files that are made from
# smtpgatectl's option tables (userspace/ctl/options_table.c): the data
# of scripts/smtpgatectl.bash-completion and the SYNOPSIS of
# docs/man/smtpgatectl.8, each between its "BEGIN generated" and
# "END generated" lines.  Run it after changing an option, and commit
# the result: tests/e2e/test_ctl_completion_man.sh fails while a file
# and the tables disagree.
#
#   scripts/update-cli-docs.sh [SMTPGATECTL]   (default: $BUILD/smtpgatectl, BUILD=build)
set -euo pipefail

cd "$(dirname "$0")/.."
ctl="${1:-${BUILD:-build}/smtpgatectl}"

# splice FILE < BLOCK: FILE with its generated block replaced by BLOCK.
splice() {
	local file="$1" block tmp

	block=$(cat)
	if ! grep -q 'BEGIN generated' "$file" || ! grep -q 'END generated' "$file"; then
		echo "update-cli-docs: $file has no BEGIN/END generated lines" >&2
		return 1
	fi
	tmp=$(mktemp "$file.XXXXXX")
	# Through the environment: awk -v would take the backslashes of roff.
	BLOCK="$block" awk '
		/BEGIN generated/ { print ENVIRON["BLOCK"]; skip = 1; next }
		/END generated/ { skip = 0; next }
		!skip { print }
	' "$file" >"$tmp"
	chmod --reference="$file" "$tmp"
	mv "$tmp" "$file"
}

"$ctl" --print-completion | splice scripts/smtpgatectl.bash-completion
"$ctl" --print-man-synopsis | splice docs/man/smtpgatectl.8
