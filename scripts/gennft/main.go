// Command gennft writes the inputs of scripts/bench-nft.sh: nftables
// rulesets in `nft -f` syntax and a listener list in `ss -tunlp` layout.
// Output is deterministic: the same flags give the same bytes.
//
//	gennft -rules 10000 > rules.nft    # table inet filter, 10,000 rules
//	gennft -banset 100000 > ban.nft    # a 100,000-element interval set
//	gennft -rules 1000 -banset 100000  # both: 1,000 rules, one of them
//	                                   # dropping the set's sources
//	gennft -sockets 50 > ss.txt        # 50 listeners as ss -tunlp prints them
//
// The rule ruleset mixes what hand-written host firewalls hold: per-port
// accepts, source restrictions with prefixes (IPv4 and IPv6), iifname
// matches, ct state, anonymous and named port sets, port ranges, single
// address drops and jumps to regular chains that end in return. The ban
// set holds non-overlapping, non-adjacent /32s and prefixes from /29 to
// /16. Ports come half from the listener list, so rules decide something
// about the listeners the benchmark evaluates. With both -rules and
// -banset the rule ruleset also holds the ban set, dropped right after
// the conntrack rules (where fail2ban and CrowdSec put theirs); -rules
// then counts that rule among its rules.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
)

func main() {
	rules := flag.Int("rules", 0, "write a table inet filter with this many rules")
	banset := flag.Int("banset", 0, "write a ruleset whose interval set has this many elements")
	sockets := flag.Int("sockets", 0, "write this many listeners in ss -tunlp layout")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	set := 0
	for _, n := range []int{*rules, *banset, *sockets} {
		if n < 0 {
			fail("sizes must not be negative")
		}
		if n > 0 {
			set++
		}
	}
	both := set == 2 && *rules > 0 && *banset > 0
	if (set != 1 && !both) || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: gennft [-seed N] -rules N | -banset N | -rules N -banset N | -sockets N")
		os.Exit(2)
	}
	g := &gen{rng: rand.New(rand.NewPCG(*seed, 0x6e6674)), w: bufio.NewWriterSize(os.Stdout, 1<<20)}
	switch {
	case *rules > 0:
		var ban []string
		if *banset > 0 {
			ban = g.banElems(*banset)
		}
		g.rules(*rules, ban)
	case *banset > 0:
		g.banset(*banset)
	default:
		if *sockets > 1000 {
			fail("-sockets at most 1000")
		}
		g.sockets(*sockets)
	}
	if err := g.w.Flush(); err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "gennft: error:", msg)
	os.Exit(1)
}

type gen struct {
	rng *rand.Rand
	w   *bufio.Writer
}

// listenerPort is the port of the i-th listener gennft -sockets writes:
// well-known services first, then ports no service list names.
func listenerPort(i int) int {
	known := []int{22, 25, 53, 80, 443, 3306, 5432, 6379, 8080, 9000, 123, 161, 5353, 11211, 27017, 9090, 9100, 3000, 8443, 993}
	if i < len(known) {
		return known[i]
	}
	return 1000 + i*37
}

// port returns a listener's port half of the time, any other port otherwise.
func (g *gen) port() int {
	if g.rng.IntN(2) == 0 {
		return listenerPort(g.rng.IntN(50))
	}
	return 1024 + g.rng.IntN(64000)
}

// ports returns k distinct ports, sorted.
func (g *gen) ports(k int) []int {
	var ps []int
	for len(ps) < k {
		p := g.port()
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

func portSet(ps []int) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmt.Sprint(p)
	}
	return "{ " + strings.Join(s, ", ") + " }"
}

// prefix4 returns an IPv4 prefix of length bits outside 0/8, 10/8, 127/8
// and 224/3, host bits cleared.
func (g *gen) prefix4(bits int) netip.Prefix {
	a := [4]byte{byte(1 + g.rng.IntN(222)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256))}
	if a[0] == 10 || a[0] == 127 {
		a[0]++
	}
	return netip.PrefixFrom(netip.AddrFrom4(a), bits).Masked()
}

// prefix6 returns a prefix of 2001:db8::/32 (RFC 3849) of length bits.
func (g *gen) prefix6(bits int) netip.Prefix {
	var a [16]byte
	a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
	for i := 4; i < 16; i++ {
		a[i] = byte(g.rng.IntN(256))
	}
	return netip.PrefixFrom(netip.AddrFrom16(a), bits).Masked()
}

func (g *gen) v4() string {
	bits := []int{8, 16, 20, 24, 24, 24, 28, 32}[g.rng.IntN(8)]
	p := g.prefix4(bits)
	if bits == 32 {
		return p.Addr().String()
	}
	return p.String()
}

// ifname returns an interface name; a trailing * is nft's wildcard.
func (g *gen) ifname() string {
	return []string{"eth0", "eth1", "ens3", "wg0", "br-lan", "vlan10", "tun*", "veth*"}[g.rng.IntN(8)]
}

func (g *gen) proto() string {
	if g.rng.IntN(4) == 0 {
		return "udp"
	}
	return "tcp"
}

// rule returns one rule of the input chain's generated body, or jump:
// the caller writes a jump to a new regular chain instead.
func (g *gen) rule() (text string, jump bool) {
	switch k := g.rng.IntN(100); {
	case k < 20:
		return fmt.Sprintf("ip saddr %s %s dport %d accept", g.v4(), g.proto(), g.port()), false
	case k < 28:
		return fmt.Sprintf("ip6 saddr %s tcp dport %d accept", g.prefix6([]int{48, 56, 64}[g.rng.IntN(3)]), g.port()), false
	case k < 38:
		return fmt.Sprintf("iifname %q %s dport %d accept", g.ifname(), g.proto(), g.port()), false
	case k < 46:
		return fmt.Sprintf("tcp dport %s ct state new accept", portSet(g.ports(2+g.rng.IntN(5)))), false
	case k < 52:
		p := 1024 + g.rng.IntN(60000)
		return fmt.Sprintf("%s dport %d-%d accept", g.proto(), p, p+1+g.rng.IntN(100)), false
	case k < 58:
		return fmt.Sprintf("iifname %q ip saddr %s tcp dport %s accept", g.ifname(), g.v4(), portSet(g.ports(2+g.rng.IntN(3)))), false
	case k < 62:
		return fmt.Sprintf("ct state new %s dport %d counter accept", g.proto(), g.port()), false
	case k < 66:
		return fmt.Sprintf("tcp dport %d reject with tcp reset", g.port()), false
	case k < 94:
		return fmt.Sprintf("ip saddr %s drop", g.prefix4(32).Addr()), false
	default:
		return "", true
	}
}

// chainBody returns a regular chain's rules: service accepts for sources
// the jump already narrowed, a drop, and return.
func (g *gen) chainBody(n int) []string {
	out := make([]string, 0, n)
	for len(out) < n-1 {
		switch g.rng.IntN(4) {
		case 0:
			out = append(out, fmt.Sprintf("%s dport %d accept", g.proto(), g.port()))
		case 1:
			out = append(out, fmt.Sprintf("ip saddr %s tcp dport %s accept", g.v4(), portSet(g.ports(2+g.rng.IntN(3)))))
		case 2:
			out = append(out, fmt.Sprintf("ct state new tcp dport %d accept", g.port()))
		default:
			out = append(out, fmt.Sprintf("ip saddr %s counter drop", g.prefix4(32).Addr()))
		}
	}
	return append(out, "return")
}

// rules writes a table inet filter with n rules in all its chains (set
// elements not counted); with ban elements, also the set banned and a rule
// that drops its sources.
func (g *gen) rules(n int, ban []string) {
	head := []string{
		`iifname "lo" accept`,
		`ct state established,related accept`,
		`ct state invalid drop`,
	}
	if ban != nil {
		head = append(head, `ip saddr @banned drop`)
	}
	head = append(head,
		`meta l4proto icmp accept`,
		`meta l4proto ipv6-icmp accept`,
		`tcp dport @web_ports accept`,
		`ip saddr @admin_v4 tcp dport 22 accept`,
	)
	tail := []string{`tcp dport 22 ct state new accept`}
	if n < len(head)+len(tail) {
		fail(fmt.Sprintf("-rules needs at least %d (the fixed head and tail of the input chain)", len(head)+len(tail)))
	}
	type chain struct {
		name  string
		rules []string
	}
	var input []string
	var regular []chain
	left := n - len(head) - len(tail)
	for left > 0 {
		text, jump := g.rule()
		if jump && left >= 4 {
			name := fmt.Sprintf("svc_%d", len(regular))
			body := g.chainBody(min(left-1, 3+g.rng.IntN(8)))
			input = append(input, fmt.Sprintf("ip saddr %s jump %s", g.v4(), name))
			regular = append(regular, chain{name, body})
			left -= 1 + len(body)
			continue
		}
		if jump {
			text = fmt.Sprintf("ip saddr %s drop", g.prefix4(32).Addr())
		}
		input = append(input, text)
		left--
	}
	w := g.w
	if ban != nil {
		fmt.Fprintf(w, "# gennft -rules %d -banset %d: %d rules in table inet filter and an interval set of %d IPv4 addresses and prefixes\n", n, len(ban), n, len(ban))
	} else {
		fmt.Fprintf(w, "# gennft -rules %d: %d rules in table inet filter\n", n, n)
	}
	fmt.Fprintln(w, "table inet filter {")
	if ban != nil {
		g.writeBanSet(ban)
	}
	fmt.Fprintln(w, "\tset web_ports {\n\t\ttype inet_service\n\t\telements = { 80, 443, 8080, 8443 }\n\t}")
	fmt.Fprintln(w, "\tset admin_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 192.0.2.0/24, 198.51.100.0/25 }\n\t}")
	fmt.Fprintln(w, "\tchain input {\n\t\ttype filter hook input priority filter; policy drop;")
	for _, r := range slices.Concat(head, input, tail) {
		fmt.Fprintf(w, "\t\t%s\n", r)
	}
	fmt.Fprintln(w, "\t}")
	fmt.Fprintln(w, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}")
	fmt.Fprintln(w, "\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t}")
	for _, c := range regular {
		fmt.Fprintf(w, "\tchain %s {\n", c.name)
		for _, r := range c.rules {
			fmt.Fprintf(w, "\t\t%s\n", r)
		}
		fmt.Fprintln(w, "\t}")
	}
	fmt.Fprintln(w, "}")
}

// banset writes a table inet filter whose set banned has n elements
// (banElems) and 8 rules, one of them dropping the set's sources.
func (g *gen) banset(n int) {
	elems := g.banElems(n)
	w := g.w
	fmt.Fprintf(w, "# gennft -banset %d: an interval set of %d IPv4 addresses and prefixes\n", n, n)
	fmt.Fprintln(w, "table inet filter {")
	g.writeBanSet(elems)
	fmt.Fprintln(w, "\tchain input {\n\t\ttype filter hook input priority filter; policy drop;")
	for _, r := range []string{
		`iifname "lo" accept`,
		`ct state established,related accept`,
		`ct state invalid drop`,
		`ip saddr @banned drop`,
		`tcp dport { 22, 80, 443 } accept`,
		`udp dport { 53, 123 } accept`,
		`ip6 saddr 2001:db8::/32 tcp dport 5432 accept`,
		`meta l4proto ipv6-icmp accept`,
	} {
		fmt.Fprintf(w, "\t\t%s\n", r)
	}
	fmt.Fprintln(w, "\t}\n}")
}

// banElems returns n elements of a ban set: about nine in ten /32s, the
// rest prefixes from /29 to /16, in address order with a gap after each
// (nft rejects overlapping intervals), avoiding 0/8, 10/8, 127/8 and 224/3.
func (g *gen) banElems(n int) []string {
	// The largest gap keeps n elements inside 1.0.0.0-223.255.255.255:
	// prefixes take about n/10 * 4,096 addresses on average.
	space := uint64(222) << 24
	avg := space / uint64(n) // room per element
	if avg < 4 {
		fail("-banset too large for the IPv4 unicast space")
	}
	var elems []string
	cur := uint64(1) << 24
	for len(elems) < n {
		bits := 32
		if g.rng.IntN(10) == 0 {
			bits = []int{16, 20, 22, 24, 24, 24, 26, 28, 29}[g.rng.IntN(9)]
		}
		size := uint64(1) << (32 - bits)
		if size > avg/2 {
			bits, size = 32, 1 // too big for the room left per element
		}
		cur = (cur + size - 1) &^ (size - 1) // align to the prefix
		switch cur >> 24 {
		case 10, 127:
			cur = (cur>>24 + 1) << 24
		}
		if cur+size > uint64(224)<<24 {
			fail("-banset: ran out of addresses")
		}
		a := netip.AddrFrom4([4]byte{byte(cur >> 24), byte(cur >> 16), byte(cur >> 8), byte(cur)})
		if bits == 32 {
			elems = append(elems, a.String())
		} else {
			elems = append(elems, netip.PrefixFrom(a, bits).String())
		}
		cur += size + 1 + uint64(g.rng.Int64N(int64(avg/2)))
	}
	return elems
}

// writeBanSet writes the set banned with elems, eight to a line.
func (g *gen) writeBanSet(elems []string) {
	w := g.w
	fmt.Fprintln(w, "\tset banned {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = {")
	for i := 0; i < len(elems); i += 8 {
		line := elems[i:min(i+8, len(elems))]
		sep := ","
		if i+8 >= len(elems) {
			sep = ""
		}
		fmt.Fprintf(w, "\t\t\t%s%s\n", strings.Join(line, ", "), sep)
	}
	fmt.Fprintln(w, "\t\t}\n\t}")
}

// sockets writes n listeners the way `ss -tunlp` (iproute2 6.1) prints
// them: UDP before TCP, a header, users:(("name",pid=N,fd=N)).
func (g *gen) sockets(n int) {
	names := map[int]string{22: "sshd", 25: "master", 53: "named", 80: "nginx", 443: "nginx", 3306: "mysqld",
		5432: "postgres", 6379: "redis-server", 8080: "java", 9000: "php-fpm", 123: "chronyd", 161: "snmpd",
		5353: "avahi-daemon", 11211: "memcached", 27017: "mongod", 9090: "prometheus", 9100: "node_exporter",
		3000: "grafana", 8443: "java", 993: "dovecot"}
	type sock struct{ proto, addr, port, peer, users string }
	var udp, tcp []sock
	for i := 0; i < n; i++ {
		port := listenerPort(i)
		proto := "tcp"
		if i%5 == 4 {
			proto = "udp"
		}
		name, ok := names[port]
		if !ok {
			name = fmt.Sprintf("app%d", i)
		}
		pid := 700 + i*3
		var addr, peer string
		switch i % 7 {
		case 0, 3:
			addr, peer = "0.0.0.0", "0.0.0.0"
		case 1:
			addr, peer = "*", "*" // dual stack
		case 2:
			addr, peer = "[::]", "[::]"
		case 4:
			addr, peer = "127.0.0.1", "0.0.0.0"
		case 5:
			addr, peer = "192.0.2.10", "0.0.0.0"
		default:
			addr, peer = "[2001:db8::10]", "[::]"
		}
		s := sock{proto, addr, fmt.Sprint(port), peer, fmt.Sprintf("users:((%q,pid=%d,fd=%d))", name, pid, 3+i%4)}
		if proto == "udp" {
			udp = append(udp, s)
		} else {
			tcp = append(tcp, s)
		}
	}
	w := g.w
	// ss right-aligns the address and left-aligns the port after it.
	fmt.Fprintf(w, "%-5s %-6s %-6s %-6s %20s %-17s%s\n", "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "Process")
	for _, s := range slices.Concat(udp, tcp) {
		state, backlog := "LISTEN", 128
		if s.proto == "udp" {
			state, backlog = "UNCONN", 0
		}
		fmt.Fprintf(w, "%-5s %-6s %-6d %-6d %14s:%-5s %11s:%-5s %s\n", s.proto, state, 0, backlog, s.addr, s.port, s.peer, "*", s.users)
	}
}
