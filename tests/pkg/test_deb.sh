#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The Debian package, without installing it on this machine:
#   - `make deb`'s script builds it (dpkg-buildpackage, debhelper) and
#     lintian finds no error or warning; its version is the Makefile's;
#   - dpkg-deb -c: each file where it belongs, with its mode and owner;
#     no config (examples only), nothing in /run or /var, no BPF object
#     on disk (embedded through the skeleton);
#   - conffiles, dependencies, maintainer scripts (groups, no detach on
#     removal, detach on purge);
#   - unpacked into a throwaway root (dpkg-deb -x): the binaries run,
#     systemd-analyze verify --root accepts the unit, the man pages
#     render, bash completion completes.
# Installing it under a real systemd (groups, start, purge): tests/vm.
#
# SMTPGATE_DEB=path/to/smtpgate_*.deb checks that package instead of
# building one (about 2 minutes on 2 CPUs).
set -uo pipefail

. "$(dirname "$0")/../e2e/lib.sh"

VERSION=$(sed -n 's/^VERSION *:= *//p' "$E2E_REPO/Makefile")
tmp=$(mktemp -d /tmp/smtpgate-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

deb="${SMTPGATE_DEB:-}"
if [ -z "$deb" ]; then
	out="$BUILD/deb"
	start=$(date +%s)
	log=$("$E2E_REPO/scripts/build-deb.sh" "$out" "$VERSION" 2>&1)
	rc=$?
	tap_diag "$log"
	check_eq "scripts/build-deb.sh (make deb): built, lintian clean (in $(($(date +%s) - start)) s)" "$rc" 0
	deb=$(ls "$out"/smtpgate_"$VERSION"_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || tap_bail "no package in $out"
	check_eq "lintian: no error or warning left" "$(grep -cE '^[EW]: ' "$out/lintian.txt")" 0
fi
[ -f "$deb" ] || tap_bail "no package at $deb"

# ---- the control fields ------------------------------------------------------

check_eq "Package: smtpgate" "$(dpkg-deb -f "$deb" Package)" smtpgate
check_eq "its version is the Makefile's VERSION" "$(dpkg-deb -f "$deb" Version)" "$VERSION"
check_match "depends on adduser (postinst) and the shared libraries" "$(dpkg-deb -f "$deb" Depends)" \
	"^adduser, .*libbpf1.*libjansson4"
# dlopen'ed only with a fleet store (curl_dl.c): named in debian/control,
# since dpkg-shlibdeps cannot see it.
check_match "depends on libcurl4, which smtpgated loads for the fleet store" \
	"$(dpkg-deb -f "$deb" Depends)" "(^|, )libcurl4 \\(>= 7\\.85\\.0\\)(,|$)"

# ---- the contents: paths, modes, owners ---------------------------------------

# mode owner path, for every file, e.g. "-rwxr-xr-x root/root /usr/sbin/smtpgated".
dpkg-deb -c "$deb" | awk '{ p = $6; sub(/^\./, "", p); print $1, $2, p }' >"$tmp/contents"
has() {
	grep -qxF -- "$1" "$tmp/contents"
}
for f in "-rwxr-xr-x root/root /usr/sbin/smtpgated" \
	"-rwxr-xr-x root/root /usr/bin/smtpgatectl" \
	"-rwxr-xr-x root/root /usr/libexec/smtpgate/smtpgatectl-full" \
	"-rw-r--r-- root/root /lib/systemd/system/smtpgated.service" \
	"-rw-r--r-- root/root /usr/lib/tmpfiles.d/smtpgate.conf" \
	"-rw-r--r-- root/root /etc/logrotate.d/smtpgate" \
	"-rw-r--r-- root/root /etc/smtpgate/smtpgate.json.example" \
	"-rw-r--r-- root/root /etc/smtpgate/policy.json.example" \
	"-rw-r--r-- root/root /usr/share/man/man8/smtpgated.8.gz" \
	"-rw-r--r-- root/root /usr/share/man/man8/smtpgatectl.8.gz" \
	"-rw-r--r-- root/root /usr/share/bash-completion/completions/smtpgatectl" \
	"-rw-r--r-- root/root /usr/share/doc/smtpgate/examples/example.smtpgate.json" \
	"-rw-r--r-- root/root /usr/share/doc/smtpgate/examples/example.policy.json" \
	"-rw-r--r-- root/root /usr/share/doc/smtpgate/copyright" \
	"-rw-r--r-- root/root /usr/share/doc/smtpgate/operations.md.gz"; do
	check "contains $f" has "$f"
done
check_eq "no config, only examples: the unit cannot start by itself" \
	"$(grep -cE ' /etc/smtpgate/(smtpgate|policy)\.json$' "$tmp/contents")" 0
check_eq "nothing in /run, /var or /sys (tmpfiles and the unit make them)" \
	"$(grep -cE ' /(run|var|sys)/' "$tmp/contents")" 0
check_eq "no BPF object on disk: embedded in the binaries (skeleton)" \
	"$(grep -cE '\.bpf\.o$|/usr/lib/smtpgate' "$tmp/contents")" 0
check_eq "everything owned by root" "$(awk '$2 != "root/root"' "$tmp/contents" | wc -l)" 0
check_eq "nothing setuid, setgid or writable by others" \
	"$(awk '$1 ~ /[sS]|^.{8}w/' "$tmp/contents" | wc -l)" 0

# ---- conffiles and maintainer scripts --------------------------------------

dpkg-deb -e "$deb" "$tmp/ctl"
check_eq "conffiles: the logrotate file and the examples in /etc/smtpgate" \
	"$(sort "$tmp/ctl/conffiles" | tr '\n' ' ')" \
	"/etc/logrotate.d/smtpgate /etc/smtpgate/policy.json.example /etc/smtpgate/smtpgate.json.example "
for s in postinst prerm postrm; do
	check "$s: valid sh" sh -n "$tmp/ctl/$s"
done
check_match "postinst: creates the system groups with addgroup --system" \
	"$(cat "$tmp/ctl/postinst")" 'for group in smtpgate-admin smtpgate-read; do.*addgroup --system'
check_eq "postinst: never enables the unit by itself (only re-enables a unit that was enabled)" \
	"$(grep -c "deb-systemd-helper enable" "$tmp/ctl/postinst") $(grep -c "was-enabled" "$tmp/ctl/postinst")" "1 1"
check_eq "prerm: no detach (removal and upgrades leave enforcement in force)" \
	"$(grep -v '^[[:space:]]*#' "$tmp/ctl/prerm" | grep -c -- '--detach')" 0
check_eq "postrm: a detach only on purge" \
	"$(grep -v '^[[:space:]]*#' "$tmp/ctl/postrm" | grep -- '--detach' | wc -l) $(sed -n '/^purge)/,/;;/p' "$tmp/ctl/postrm" | grep -v '^[[:space:]]*#' | grep -c -- '--detach')" "1 1"
check_match "postrm purge: smtpgated --detach with the host's config" \
	"$(sed -n '/^purge)/,/;;/p' "$tmp/ctl/postrm")" '"\$saved" --config "\$config" --detach'

# ---- unpacked into a throwaway root ----------------------------------------

root="$tmp/root"
dpkg-deb -x "$deb" "$root"
check_eq "smtpgated runs: --version is the package's" \
	"$("$root/usr/sbin/smtpgated" --version 2>&1 | cut -d' ' -f1-2)" "smtpgated $VERSION"
check_eq "smtpgatectl runs: --version is the package's" \
	"$("$root/usr/bin/smtpgatectl" --version 2>&1)" "smtpgatectl $VERSION"
check "the BPF programs are inside smtpgated (skeleton)" grep -q sg_tc_egress "$root/usr/sbin/smtpgated"
mkdir -p "$tmp/man/man8" && cp "$root"/usr/share/man/man8/*.gz "$tmp/man/man8/"
out=$(MANPATH="$tmp/man" systemd-analyze verify --root="$root" /lib/systemd/system/smtpgated.service 2>&1)
check_eq "systemd-analyze verify --root: the installed unit, binaries and man pages agree" "$?:$out" "0:"
check_eq "the unit points at the installed binaries" \
	"$(sed -n 's/^Exec\(Start\|Reload\)=\([^ ]*\).*/\2/p' "$root/lib/systemd/system/smtpgated.service" | sort -u | tr '\n' ' ')" \
	"/usr/bin/smtpgatectl /usr/sbin/smtpgated "
for m in smtpgated smtpgatectl; do
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$root/usr/share/man/man8/$m.8.gz" 2>&1 >/dev/null)
	check_eq "man $m: renders without warnings" "$warn" ""
done
check_eq "tmpfiles.d: /run/smtpgate for both control groups" \
	"$(grep -v '^#' "$root/usr/lib/tmpfiles.d/smtpgate.conf" | tr -s ' ' | tr '\n' '|')" \
	"d /run/smtpgate 0750 root smtpgate-admin -|a+ /run/smtpgate - - - - group:smtpgate-read:r-x|"
comp=$(bash -c '. "$1"; COMP_WORDS=(smtpgatectl tr); COMP_CWORD=1; _smtpgatectl; echo "${COMPREPLY[*]}"' _ \
	"$root/usr/share/bash-completion/completions/smtpgatectl" 2>&1)
check_eq "bash completion: smtpgatectl tr<TAB> -> trust" "$comp" trust
check "the example config in /etc passes --check's parser (the interfaces need not exist)" \
	"$root/usr/bin/smtpgatectl" check "$root/usr/share/doc/smtpgate/examples/example.policy.json"

tap_done
