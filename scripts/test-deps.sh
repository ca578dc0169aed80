#!/usr/bin/env bash
# Installs what the kernel tests need when it is missing: iptables (legacy
# and nft), nftables, ufw, iproute2 (ip, ss), net-tools (netstat), procps
# (sysctl), util-linux (unshare, nsenter, setpriv), docker.io (dockerd,
# docker, containerd, runc, docker-proxy) for the real-daemon Docker test,
# chromium (the HTML reports are opened in it headless), and for the Debian
# package's tests dpkg-deb, lintian, man-db (man), systemd
# (systemd-analyze) and bash-completion; for the Ansible fleet test
# ansible-core (ansible-playbook), openssh-server (sshd), openssh-client and
# ansible-lint (make lint), and firewalld (firewalld, firewall-cmd; run by
# the kernel tests in a namespace with a dbus-daemon of their own), with no ssh,
# dbus or firewalld daemon started on this machine.
set -eu
need=()
for pair in iptables-restore:iptables iptables-legacy:iptables nft:nftables ufw:ufw ip:iproute2 ss:iproute2 netstat:net-tools sysctl:procps unshare:util-linux nsenter:util-linux dockerd:docker.io docker:docker.io containerd:containerd runc:runc containerd-shim-runc-v2:containerd docker-proxy:docker.io chromium:chromium setpriv:util-linux dpkg-deb:dpkg lintian:lintian man:man-db systemd-analyze:systemd ansible-playbook:ansible-core sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client ansible-lint:ansible-lint firewalld:firewalld firewall-cmd:firewalld; do
	bin=${pair%%:*} pkg=${pair##*:}
	if ! command -v "$bin" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$bin" ] && ! [ -x "/sbin/$bin" ]; then
		need+=("$pkg")
	fi
done
# completion scripts in /usr/share/bash-completion are loaded by bash-completion
[ -f /usr/share/bash-completion/bash_completion ] || need+=(bash-completion)
[ ${#need[@]} -eq 0 ] && exit 0
pkgs=$(printf '%s\n' "${need[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" != 0 ]; then
	echo "warning: missing test dependencies ($pkgs); run as root (sudo make test) to install them" >&2
	exit 0
fi
echo "installing test dependencies: $pkgs" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Installing docker.io or openssh-server must not start a daemon on this machine (the tests
# start their own, in a network namespace): deny service starts meanwhile.
made_policy=
if ! [ -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	made_policy=1
fi
trap 'if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
