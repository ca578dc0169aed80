#!/usr/bin/env bash
# Runs CI as a machine that has never run it would: a fresh clone of HEAD in
# a new directory, HOME an empty directory holding only Go's own settings
# (~/.config/go/env), CI=true, no terminal. Nothing an earlier run left in
# ~/.cache, ~/.ansible or the checkout can make it pass. It does not undo
# what the first run of scripts/test-deps.sh installs (Debian packages).
#
#   sudo scripts/fresh-ci.sh            # clone HEAD of this checkout
#   sudo scripts/fresh-ci.sh COMMIT     # clone and check out COMMIT
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:-HEAD}
work=$(mktemp -d /tmp/fwaudit-fresh.XXXXXX)
trap 'rm -rf "$work"' EXIT
git clone -q "$src" "$work/fwaudit"
git -C "$work/fwaudit" checkout -q "$(git -C "$src" rev-parse "$rev")"
mkdir -p "$work/home/.config/go"
if [ -f "$HOME/.config/go/env" ]; then
	cp "$HOME/.config/go/env" "$work/home/.config/go/env"
fi
echo "fresh run of $(git -C "$work/fwaudit" rev-parse --short HEAD) in $work (HOME=$work/home)" >&2
cd "$work/fwaudit"
start=$(date +%s)
rc=0
HOME="$work/home" CI=true bash .ci/run </dev/null || rc=$?
echo "fresh run exited $rc after $(( $(date +%s) - start )) s" >&2
exit "$rc"
