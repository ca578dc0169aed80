package suggest

import (
	"net/netip"

	"github.com/fwaudit/fwaudit/scan"
)

// Test hosts, as the scan package would report them. Each has dual-stack
// listeners and at least one loopback-only listener that must get no rule.

func lst(proto, addr string, port uint16, process string, dual bool) scan.Listener {
	a := netip.MustParseAddr(addr)
	fam := "ipv4"
	if a.Is6() {
		fam = "ipv6"
	}
	svc, _ := scan.Identify(proto, port, process)
	return scan.Listener{Proto: proto, Family: fam, DualStack: dual, Address: a, Port: port,
		PID: 100 + int(port), Process: process, Processes: []scan.Process{{PID: 100 + int(port), Name: process}},
		Service: svc.Name, Exposure: scan.ExposureOf(addr, "")}
}

// freshHost: a new VPS, sshd on 22 (one dual-stack socket), chronyd on
// loopback.
var freshHost = []scan.Listener{
	lst("tcp", "::", 22, "sshd", true),
	lst("udp", "127.0.0.1", 323, "chronyd", false),
	lst("udp", "::1", 323, "chronyd", false),
}

// mailHost: sshd moved to 5622, postfix and dovecot, a resolver on
// loopback.
var mailHost = []scan.Listener{
	lst("tcp", "0.0.0.0", 5622, "sshd", false),
	lst("tcp", "::", 5622, "sshd", false),
	lst("tcp", "0.0.0.0", 25, "master", false),
	lst("tcp", "::", 25, "master", false),
	lst("tcp", "::", 143, "dovecot", true),
	lst("tcp", "0.0.0.0", 465, "master", false),
	lst("tcp", "::", 465, "master", false),
	lst("tcp", "0.0.0.0", 587, "master", false),
	lst("tcp", "::", 587, "master", false),
	lst("tcp", "::", 993, "dovecot", true),
	lst("tcp", "::", 995, "dovecot", true),
	lst("udp", "127.0.0.53", 53, "systemd-resolve", false),
	lst("tcp", "127.0.0.53", 53, "systemd-resolve", false),
}

// dbHost: postgresql on 0.0.0.0 (IPv4 only), nginx dual-stack, sshd on
// both families, redis on loopback.
var dbHost = []scan.Listener{
	lst("tcp", "0.0.0.0", 22, "sshd", false),
	lst("tcp", "::", 22, "sshd", false),
	lst("tcp", "::", 80, "nginx", true),
	lst("tcp", "::", 443, "nginx", true),
	lst("tcp", "0.0.0.0", 5432, "postgres", false),
	lst("tcp", "127.0.0.1", 6379, "redis-server", false),
}

// hostileHost: process names an attacker who can start processes
// controls, on unknown ports, plus a specific bind of each family.
var hostileHost = []scan.Listener{
	lst("tcp", "::", 22, "sshd", true),
	lst("tcp", "0.0.0.0", 7001, "$(reboot)", false),
	lst("tcp", "0.0.0.0", 7002, `"; rm -rf /`, false),
	lst("tcp", "0.0.0.0", 7003, "`reboot`", false),
	lst("tcp", "0.0.0.0", 7004, "a\nCOMMIT\n*nat", false),
	lst("tcp", "0.0.0.0", 7005, `it's \ "x"`, false),
	lst("udp", "192.0.2.10", 7006, "x' ; reboot ; '", false),
	lst("tcp", "2001:db8::10", 7007, "#}\n} accept", false),
	lst("tcp", "0.0.0.0", 7008, longName(400), false),
	// Canaries built from bash builtins only: TestScriptRuns runs the
	// script with an empty PATH and fails if CANARY appears.
	lst("tcp", "0.0.0.0", 7009, "$(echo x>>CANARY)", false),
	lst("tcp", "0.0.0.0", 7010, "`echo x>>CANARY`';echo x>>CANARY;'", false),
}

func longName(n int) string {
	chars := []rune("aé\"'\\")
	b := make([]rune, n)
	for i := range b {
		b[i] = chars[i%len(chars)]
	}
	return string(b)
}

// deviceHost: sockets bound to one interface (SO_BINDTODEVICE, "%virbr0"
// in ss): dnsmasq's DHCP on a libvirt bridge and a service on eth1 only.
var deviceHost = []scan.Listener{
	lst("tcp", "::", 22, "sshd", true),
	onDevice(lst("udp", "0.0.0.0", 67, "dnsmasq", false), "virbr0"),
	onDevice(lst("tcp", "0.0.0.0", 8080, "unknownd", false), "eth1"),
	onDevice(lst("udp", "0.0.0.0", 5353, "avahi-daemon", false), "lo"), // local: no rule
}

func onDevice(l scan.Listener, dev string) scan.Listener {
	l.Device, l.Exposure = dev, scan.ExposureOf(l.Address.String(), dev)
	return l
}

// carriedHost runs behind rules of its own (carriedV4, carriedV6): a
// blocklist, source and interface restrictions, listeners the rules keep
// closed, and families that differ. Its suggestion carries all of it over.
var carriedHost = []scan.Listener{
	lst("tcp", "::", 22, "sshd", true),
	lst("udp", "::", 53, "named", true),
	lst("tcp", "::", 80, "nginx", true),
	lst("tcp", "::", 443, "nginx", true),
	lst("tcp", "0.0.0.0", 5432, "postgres", false),
	lst("tcp", "0.0.0.0", 8080, "myapp", false),
	lst("tcp", "0.0.0.0", 8099, "myapp", false),
	lst("tcp", "0.0.0.0", 9100, "node_exporter", false),
}

const carriedV4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 198.51.100.7/32 -p tcp -m multiport --dports 22,80 -j REJECT --reject-with icmp-port-unreachable
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 5432 -j ACCEPT
-A INPUT -i eth1 -p tcp -m tcp --dport 8080 -j ACCEPT
-A INPUT -s 192.0.2.2/31 -p udp -m udp --dport 53 -j ACCEPT
COMMIT
`

const carriedV6 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 2001:db8:bad::/48 -j DROP
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -p udp -m udp --dport 53 -j ACCEPT
COMMIT
`
