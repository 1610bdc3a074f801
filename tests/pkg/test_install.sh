#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make install DESTDIR=... PREFIX=... (for distributions other than
# Debian): every file where the variables say, the unit's commands
# following SBINDIR and BINDIR, no config (only examples).
set -uo pipefail

. "$(dirname "$0")/../e2e/lib.sh"

tmp=$(mktemp -d /tmp/smtpgate-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

out=$(make -C "$E2E_REPO" -s BUILD="$BUILD" install DESTDIR="$tmp/root" PREFIX=/opt/sg 2>&1)
check_eq "make install DESTDIR=... PREFIX=/opt/sg: exit 0" "$?:$out" "0:"
(cd "$tmp/root" && find . -type f -printf '%P %m\n' | sort | awk '{ print $2, $1 }') >"$tmp/files"
check_eq "the files, with their modes" "$(tr '\n' '|' <"$tmp/files")" \
"644 etc/logrotate.d/smtpgate|644 etc/smtpgate/policy.json.example|644 etc/smtpgate/smtpgate.json.example|\
755 opt/sg/bin/smtpgatectl|644 opt/sg/lib/systemd/system/smtpgated.service|644 opt/sg/lib/tmpfiles.d/smtpgate.conf|\
755 opt/sg/libexec/smtpgate/smtpgatectl-full|755 opt/sg/sbin/smtpgated|644 opt/sg/share/bash-completion/completions/smtpgatectl|\
644 opt/sg/share/doc/smtpgate/examples/example.policy.json|644 opt/sg/share/doc/smtpgate/examples/example.smtpgate.json|\
644 opt/sg/share/doc/smtpgate/examples/minimal.policy.json|644 opt/sg/share/doc/smtpgate/examples/throttle.policy.json|\
644 opt/sg/share/man/man8/smtpgatectl.8|644 opt/sg/share/man/man8/smtpgated.8|"
check_eq "the unit's commands follow SBINDIR and BINDIR" \
	"$(sed -n 's/^Exec[A-Za-z]*=\([^ ]*\).*/\1/p' "$tmp/root/opt/sg/lib/systemd/system/smtpgated.service" | sort -u | tr '\n' ' ')" \
	"/opt/sg/bin/smtpgatectl /opt/sg/sbin/smtpgated "
# /opt/sg/lib/systemd/system is not on systemd's search path: from /etc.
mkdir -p "$tmp/root/etc/systemd/system"
cp "$tmp/root/opt/sg/lib/systemd/system/smtpgated.service" "$tmp/root/etc/systemd/system/"
out=$(systemd-analyze verify --man=no --root="$tmp/root" /etc/systemd/system/smtpgated.service 2>&1)
check_eq "systemd-analyze verify --root accepts the installed unit" "$?:$out" "0:"

# smtpgatectl is the thin client; what needs libbpf, libcurl or the
# policy compiler runs smtpgatectl-full from ../libexec/smtpgate.
check_eq "the installed smtpgatectl loads only libjansson and libc" \
	"$(ldd "$tmp/root/opt/sg/bin/smtpgatectl" | awk '$1 ~ /^lib/ { print $1 }' | sort | tr '\n' ' ')" \
	"libc.so.6 libjansson.so.4 "
out=$("$tmp/root/opt/sg/bin/smtpgatectl" check "$tmp/root/opt/sg/share/doc/smtpgate/examples/example.policy.json" 2>&1)
check_match "... and its check (smtpgatectl-full's) runs from the installed tree" "$?:$out" '^0:.*: ok '

tap_done
