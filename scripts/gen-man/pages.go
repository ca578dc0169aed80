package main

import "strings"

// What the man pages say beyond --help: the environment and the files each
// command reads or writes, and the pages of the tools it works with.

// environment is what every command reads from the environment, and what
// one command reads besides.
func environment(page string) []item {
	items := []item{
		{"COLUMNS", "the width of table output when it is not a terminal's; --wide ignores it"},
		{"LC_ALL, LC_CTYPE, LANG", "a UTF-8 locale lets tables draw with box-drawing characters, any other draws with ASCII"},
		{"GOGC, GOMEMLIMIT", "the Go runtime's garbage collection; when GOGC is unset, fwaudit collects each time the heap has grown by 24 MiB or a third of its live size, whichever is more, and by no more than its live size; GOMEMLIMIT still caps it"},
	}
	switch {
	case page == "fwaudit-suggest":
		items = append(items, item{"SSH_CONNECTION", "the SSH session suggest is run from: its source stays allowed, so the suggested ruleset does not lock it out"})
	case strings.HasPrefix(page, "fwaudit-completion"):
		items = items[:0]
		items = append(items, item{"none", "the completion script asks fwaudit itself, which reads nothing from the environment for it"})
	}
	return items
}

// files is what a command reads and writes.
func files(page string) []item {
	live := []item{
		{"/proc/net/tcp, /proc/net/tcp6, /proc/net/udp, /proc/net/udp6", "the listening sockets, when netlink sock_diag cannot list them"},
		{"/proc/PID/fd/", "which process holds each socket (another user's process needs root)"},
		{"/proc/sys/net/ipv6/conf/all/disable_ipv6", "IPv6 turned off: no IPv6 finding"},
		{"iptables-save, ip6tables-save, nft", "the rules, read live through these commands (iptables-legacy-save and iptables-nft-save where both exist); --rules, --rules6 and --nft read saved copies instead"},
	}
	timer := []item{
		{"/usr/lib/systemd/system/fwaudit-report.service, fwaudit-report.timer", "the daily report: fwaudit-report.timer runs fwaudit report --output-dir /var/lib/fwaudit/reports; systemctl enable --now fwaudit-report.timer starts it"},
		{"/etc/default/fwaudit", "the timer's settings: FWAUDIT_KEEP (reports of this host to keep, default 30, 0 keeps all), FWAUDIT_FAIL_ON (a severity: the unit fails on a finding at or above it, or on an incomplete audit), FWAUDIT_ARGS (more report arguments, such as --hostname web1)"},
		{"/var/lib/fwaudit/reports/HOST-TIME.json", "the reports the timer writes, mode 0640 in a directory of mode 0750; fwaudit fleet reads the directory, fwaudit diff compares two of them"},
	}
	switch page {
	case "fwaudit", "fwaudit-report":
		return append(live, timer...)
	case "fwaudit-scan", "fwaudit-suggest", "fwaudit-explain":
		return live
	case "fwaudit-fleet", "fwaudit-diff":
		return []item{{"DIR/*.json", "reports written by fwaudit report -o json; the directory may be the one fwaudit report --output-dir fills, /var/lib/fwaudit/reports for the timer"},
			timer[2]}
	case "fwaudit-services":
		return []item{{"none", "the catalog of services is built into fwaudit"}}
	case "fwaudit-version", "fwaudit-help":
		return []item{{"none", "it reads no file"}}
	case "fwaudit-completion-bash":
		return []item{{"/usr/share/bash-completion/completions/fwaudit", "where the Debian package installs the bash completion"}}
	case "fwaudit-completion-zsh":
		return []item{{"/usr/share/zsh/vendor-completions/_fwaudit", "where the Debian package installs the zsh completion"}}
	case "fwaudit-completion-fish":
		return []item{{"/usr/share/fish/vendor_completions.d/fwaudit.fish", "where the Debian package installs the fish completion"}}
	}
	return []item{{"none", "it writes its script to stdout and reads no file"}}
}

// seeAlso is the pages of the tools a command works with.
func seeAlso(page string) []string {
	fw := []string{"iptables-save(8)", "ip6tables-save(8)", "nft(8)", "ss(8)"}
	switch page {
	case "fwaudit", "fwaudit-report":
		return append(fw, "systemd.timer(5)", "journalctl(1)")
	case "fwaudit-scan", "fwaudit-explain":
		return fw
	case "fwaudit-suggest":
		return append(fw, "iptables-restore(8)", "ip6tables-restore(8)")
	case "fwaudit-fleet", "fwaudit-diff":
		return []string{"fwaudit-report(1)"}
	}
	return nil
}
