#!/usr/bin/env bash
# Builds the fwaudit Debian package with dpkg-deb from the files in
# packaging/: make deb (or packaging/build-deb.sh OUTDIR). The package holds
# a static binary, man pages for every command, bash, zsh and fish
# completions, the fwaudit-report service and timer, /etc/default/fwaudit,
# and the README, copyright and changelog.
#
# Environment: GO (go), VERSION (git describe), MAINTAINER,
# SOURCE_DATE_EPOCH (default: the last commit's time), for a reproducible
# package.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
GO=${GO:-go}
MAINTAINER=${MAINTAINER:-fwaudit authors <fwaudit@example.org>}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

# Debian's version: a tag v1.2.3-4-gabc is 1.2.3+4+gabc, an untagged
# commit 0~gitYYYYMMDD.HASH (sorting before any release); -1 is the
# package's revision.
if [[ $VERSION =~ ^v?[0-9]+\.[0-9] ]]; then
	upstream=${VERSION#v}
	upstream=${upstream//-/+}
else
	upstream="0~git$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d).${VERSION//-/.}"
fi
debversion="$upstream-1"

goarch=$($GO env GOARCH)
case $goarch in
amd64 | arm64 | riscv64 | ppc64le | s390x) arch=$goarch ;;
386) arch=i386 ;;
arm) arch=armhf ;;
*) echo "build-deb: error: no Debian architecture known for GOARCH $goarch" >&2; exit 1 ;;
esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" \
	"$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
	"$root/usr/share/fish/vendor_completions.d" "$root/usr/lib/systemd/system" \
	"$root/etc/default" "$root/usr/share/doc/fwaudit"

# A static binary (no cgo): it runs on any Debian release of its
# architecture and depends on no library, so the package depends on nothing.
# fwaudit --version and the man pages say the package's upstream version
# (0~git20261124.c70bca4 for package version 0~git20261124.c70bca4-1), so
# that what a user runs matches what dpkg -l lists
ldflags="-s -w -X github.com/fwaudit/fwaudit/cmd.version=$upstream"
CGO_ENABLED=0 $GO build -trimpath -buildmode=pie -ldflags "$ldflags" -o "$root/usr/bin/fwaudit" ./cmd/fwaudit
CGO_ENABLED=0 $GO run -trimpath -ldflags "$ldflags" ./scripts/gen-man "$stage/man"
for f in "$stage"/man/*.1; do
	gzip -9n <"$f" >"$root/usr/share/man/man1/$(basename "$f").gz"
done

bin=$root/usr/bin/fwaudit
"$bin" completion bash >"$root/usr/share/bash-completion/completions/fwaudit"
"$bin" completion zsh >"$root/usr/share/zsh/vendor-completions/_fwaudit"
"$bin" completion fish >"$root/usr/share/fish/vendor_completions.d/fwaudit.fish"

cp packaging/systemd/fwaudit-report.service packaging/systemd/fwaudit-report.timer "$root/usr/lib/systemd/system/"
cp packaging/default "$root/etc/default/fwaudit"
cp packaging/debian/conffiles packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"

doc=$root/usr/share/doc/fwaudit
gzip -9n <README.md >"$doc/README.md.gz"
{
	printf 'fwaudit (%s) unstable; urgency=medium\n\n' "$debversion"
	printf '  * Built from fwaudit %s.\n\n' "$VERSION"
	printf ' -- %s  %s\n' "$MAINTAINER" "$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.Debian.gz"

# copyright: fwaudit's, then the licence of every module linked into the
# binary, as each module ships it (the binary carries their code)
{
	cat packaging/copyright.in
	$GO version -m "$bin" | awk '$1 == "dep" { print $2 "@" $3 }' | while read -r mod; do
		dir=$($GO list -m -f '{{.Dir}}' "$mod")
		lic=$(find "$dir" -maxdepth 1 -type f \( -iname 'LICENSE*' -o -iname 'LICENCE*' -o -iname 'COPYING*' \) | sort | head -n 1)
		if [ -z "$lic" ]; then
			echo "build-deb: error: no licence file in module $mod ($dir)" >&2
			exit 1
		fi
		if grep -q 'Apache License' "$lic"; then
			name=Apache-2.0
		elif grep -q 'Permission is hereby granted, free of charge' "$lic"; then
			name=Expat
		elif grep -q 'Neither the name' "$lic"; then
			name=BSD-3-clause
		elif grep -q 'Redistribution and use' "$lic"; then
			name=BSD-2-clause
		else
			echo "build-deb: error: cannot name the licence in $lic" >&2
			exit 1
		fi
		printf '\nFiles: go-module/%s\n' "${mod%@*}"
		printf 'Copyright: the authors of Go module %s (linked into /usr/bin/fwaudit)\n' "$mod"
		printf 'License: %s\n' "$name"
		if [ "$name" = Apache-2.0 ]; then
			printf ' On Debian systems the full text of the Apache License, Version 2.0\n'
			printf ' is in /usr/share/common-licenses/Apache-2.0.\n'
		else
			# DEP-5: the text indented one space, a blank line as " ."
			sed -e 's/[[:space:]]*$//' -e 's/^$/./' -e 's/^/ /' "$lic"
		fi
	done
} >"$doc/copyright"

find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
chmod 0755 "$root/usr/bin/fwaudit" "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

(cd "$root" && find . -path ./DEBIAN -prune -o -type f ! -path ./etc/\* -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$debversion|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$MAINTAINER|" -e "s|@SIZE@|$size|" \
	packaging/control.in >"$root/DEBIAN/control"

mkdir -p "$out"
deb=$out/fwaudit_${debversion}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
