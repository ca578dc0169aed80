#!/usr/bin/env bash
# Installs what the kernel tests need when it is missing: iptables (legacy
# and nft), nftables, ufw, iproute2 (ip, ss), net-tools (netstat), procps
# (sysctl) and util-linux (unshare, setpriv).
set -eu
need=()
for pair in iptables-restore:iptables iptables-legacy:iptables nft:nftables ufw:ufw ip:iproute2 ss:iproute2 netstat:net-tools sysctl:procps unshare:util-linux setpriv:util-linux; do
	bin=${pair%%:*} pkg=${pair##*:}
	if ! command -v "$bin" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$bin" ] && ! [ -x "/sbin/$bin" ]; then
		need+=("$pkg")
	fi
done
[ ${#need[@]} -eq 0 ] && exit 0
pkgs=$(printf '%s\n' "${need[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" != 0 ]; then
	echo "warning: missing test dependencies ($pkgs); run as root (sudo make test) to install them" >&2
	exit 0
fi
echo "installing test dependencies: $pkgs" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
