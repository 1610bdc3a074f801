#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Builds the Debian package with Debian's tooling (dpkg-buildpackage,
# debhelper; debian/ in this repository) from a copy of the tree, so
# nothing is written next to the repository, then checks it with lintian.
#
#   scripts/build-deb.sh OUTDIR VERSION     (make deb: build/deb 0.1.0)
#
# Result: OUTDIR/smtpgate_VERSION_<arch>.deb (and the -dbgsym package,
# .buildinfo, .changes), OUTDIR/build.log, OUTDIR/lintian.txt.  VERSION
# is the Makefile's; debian/changelog must say the same, or nothing is
# built.  Runs as root or not (Rules-Requires-Root: no).
set -euo pipefail

cd "$(dirname "$0")/.."
out="${1:?usage: $0 OUTDIR VERSION}"
version="${2:?usage: $0 OUTDIR VERSION}"

cl_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ "$cl_version" != "$version" ]; then
	echo "build-deb: debian/changelog is at $cl_version but the Makefile's VERSION is" \
		"$version: add a changelog entry (dch -v $version) or fix VERSION" >&2
	exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
src="$out/src/smtpgate-$version"
rm -rf "$out/src"
mkdir -p "$src"
rm -f "$out"/smtpgate*_"$version"_*.deb "$out"/smtpgate_"$version"_*.buildinfo \
	"$out"/smtpgate_"$version"_*.changes

# The tree as it is (committed or not), without build output.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$src" -xf -
else
	tar --exclude=./build --exclude='./build-*' -cf - . | tar -C "$src" -xf -
fi

echo "build-deb: dpkg-buildpackage in $src (log: $out/build.log)"
start=$(date +%s)
if ! (cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}" \
	dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1; then
	tail -40 "$out/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
fi
mv "$out"/src/smtpgate*_"$version"_* "$out"/
rm -rf "$out/src"
echo "build-deb: built in $(($(date +%s) - start)) s:"
ls -1 "$out"/*_"$version"_*.deb | sed 's/^/  /'

# Lintian: errors and warnings fail the build; the tags that remain on
# purpose are overridden in debian/smtpgate.lintian-overrides, each with
# its reason (docs/packaging.md).
changes=$(ls "$out"/smtpgate_"$version"_*.changes)
if ! lintian --fail-on error,warning --display-info --show-overrides "$changes" >"$out/lintian.txt" 2>&1; then
	cat "$out/lintian.txt" >&2
	echo "build-deb: lintian found errors or warnings ($out/lintian.txt)" >&2
	exit 1
fi
echo "build-deb: lintian: no errors or warnings ($(grep -c . "$out/lintian.txt" || true) info/override lines in $out/lintian.txt)"
