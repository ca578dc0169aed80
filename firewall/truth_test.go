package firewall

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
)

// Rules from real hosts that were once read otherwise than the kernel
// reads them; each has a kernel test of the same name in e2e/truth_test.go.

// TestTruthEmptySecurityTable reads what firewalld's iptables backend
// loads: empty security and mangle tables with policy ACCEPT beside a
// filter table whose policies accept and whose rules end in a REJECT
// (testdata/rules/SOURCES.md).
func TestTruthEmptySecurityTable(t *testing.T) {
	b, err := os.ReadFile("../testdata/rules/firewalld-iptables-empty-tables.iptables-save")
	if err != nil {
		t.Fatal(err)
	}
	firewalldIptables := string(b)
	const accept22 = "-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"
	e := NewEvaluator(IPv4, []*Ruleset{parseString(t, firewalldIptables, IPv4)}, Host{})
	if got := briefOf(e.Evaluate(tcp(22))); got != (brief{Verdict: Open, Rule: accept22}) {
		t.Errorf("tcp/22: got %+v, want open by %s", got, accept22)
	}
	if d := e.Decide(Packet{Proto: "tcp", DPort: 22}); d.Verdict != DecideAccept || d.Rule.String() != accept22 {
		t.Errorf("Decide tcp/22: %s by %q, want accept by %q", d.Verdict, d.Rule, accept22)
	}
	p := e.Posture()
	if !p.ForwardDefaultDeny.Pass || p.ForwardDefaultDeny.Rule.String() != "-A FORWARD -j REJECT" {
		t.Errorf("forward default deny: %+v, want pass by -A FORWARD -j REJECT", p.ForwardDefaultDeny)
	}
	if !p.DefaultDeny.Pass {
		t.Errorf("default deny: %+v, want pass", p.DefaultDeny)
	}
	// an empty filter table's policy still names itself
	open := NewEvaluator(IPv4, []*Ruleset{parseString(t, "*security\n:INPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", IPv4)}, Host{})
	if got := open.Evaluate(tcp(22)); got.Verdict != Open || got.Rule.String() != "-P INPUT ACCEPT" {
		t.Errorf("no rules at all: %s by %q, want open by -P INPUT ACCEPT", got.Verdict, got.Rule)
	}
}

// TestTruthReversePathOnLoopback: the kernel skips reverse-path checks
// for packets on lo (rpfMatch), with and without the host's routes; and
// the established probe of each outside interface comes from a source
// routed back through it.
func TestTruthReversePathOnLoopback(t *testing.T) {
	const rules = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -m rpfilter --validmark --invert -j DROP
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`
	live := Host{Interfaces: []string{"eth0", "eth1"},
		Addrs:  []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8:1::1")},
		Routes: []Route{{netip.MustParsePrefix("2001:db8::/64"), "eth0"}, {netip.MustParsePrefix("2001:db8:1::/64"), "eth1"}}}
	for name, host := range map[string]Host{"offline": {}, "live, no default route": live} {
		t.Run(name, func(t *testing.T) {
			e := NewEvaluator(IPv6, []*Ruleset{parseString(t, rules, IPv6)}, host)
			lo := Packet{Proto: "tcp", Src: netip.IPv6Loopback(), Dst: netip.IPv6Loopback(), DPort: 4444, InIface: "lo"}
			if d := e.Decide(lo); d.Verdict != DecideAccept || d.Rule.String() != "-A INPUT -i lo -j ACCEPT" {
				t.Errorf("::1 on lo: %s by %q (%v), want accept by -A INPUT -i lo -j ACCEPT", d.Verdict, d.Rule, d.Reasons)
			}
			p := e.Posture()
			if !strings.HasPrefix(p.Loopback.Detail, "lo accepted") && !strings.Contains(p.Loopback.Detail, "on an outside interface") {
				t.Errorf("loopback check: %+v, want lo accepted", p.Loopback)
			}
			if host.Routes != nil && (!p.Loopback.Pass || !p.Established.Pass) {
				t.Errorf("live: loopback %+v, established %+v, want both to pass", p.Loopback, p.Established)
			}
		})
	}
}

// TestUnevaluatedMatchKeepsToItsHeader: a match on a header field that is
// not evaluated casts doubt only on packets that have that header: a tcp
// field never on UDP, an ip field never on IPv6 (and the reverse); and the
// flag and fragment tests firewalld-style hosts carry are decided for the
// packet judged.
func TestUnevaluatedMatchKeepsToItsHeader(t *testing.T) {
	tests := []struct {
		match string
		// the queries (family, proto/port) it may make conditional; every
		// other must not be
		doubt []string
	}{
		{"tcp urgptr 5", []string{"ipv4 tcp", "ipv6 tcp"}},
		{"tcp sequence 7", []string{"ipv4 tcp", "ipv6 tcp"}},
		{"udp length 9", []string{"ipv4 udp", "ipv6 udp"}},
		{"ip ttl 1", []string{"ipv4 tcp", "ipv4 udp"}},
		{"ip6 hoplimit 1", []string{"ipv6 tcp", "ipv6 udp"}},
		{"tcp flags & (fin|syn|rst|psh|ack|urg) == 0x0", nil},
		{"tcp flags & (fin|syn) == fin|syn", nil},
		{"tcp flags & (syn|rst) == syn|rst", nil},
		{"ip frag-off & 0x1fff != 0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.match, func(t *testing.T) {
			text := "table inet f {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\t" +
				tt.match + " drop\n\t\ttcp dport 22 accept\n\t\tudp dport 53 accept\n\t}\n}\n"
			// fwaudit's own reader, or nft itself for what it leaves to nft
			n, err := ParseNftText([]byte(text), "test.nft", nil)
			if err != nil {
				if os.Geteuid() != 0 {
					t.Skip("SKIPPING: reading this nft text needs nft in a network namespace (root); run `sudo make test`")
				}
				if n, err = LoadNftText(context.Background(), ExecRunner{}, []byte(text), "test.nft"); err != nil {
					t.Fatal(err)
				}
			}
			for _, fam := range []Family{IPv4, IPv6} {
				e := NewEvaluator(fam, []*Ruleset{n.Family(fam)}, Host{})
				for _, q := range []Query{{Proto: "tcp", Port: 22}, {Proto: "udp", Port: 53}} {
					got := e.Evaluate(q).Verdict
					may := slices.Contains(tt.doubt, string(fam)+" "+q.Proto)
					switch {
					case !may && got != Open:
						t.Errorf("%s %s/%d: %s, want open (the match cannot hold for this packet, or is decided)", fam, q.Proto, q.Port, got)
					case may && got != Conditional:
						t.Errorf("%s %s/%d: %s, want conditional (the match is not evaluated)", fam, q.Proto, q.Port, got)
					}
				}
			}
		})
	}
}

// TestParseNftJSONNotARuleset: valid JSON with an "nftables" array that
// holds neither nft's metainfo nor a table is not a ruleset (read as one,
// it was an empty one: every port open); an empty ruleset as nft writes
// it (metainfo alone) still is.
func TestParseNftJSONNotARuleset(t *testing.T) {
	for _, in := range []string{`{"nftables":[{"foo":1}]}`, `{"nftables":[]}`, `{"nftables":[{"rule":{}}]}`} {
		_, err := ParseNftJSON(strings.NewReader(in), "in.json")
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Source != "in.json" || !strings.Contains(err.Error(), "not nft -j output") {
			t.Errorf("%s: error %v, want a ParseError naming in.json", in, err)
		}
	}
	n, err := ParseNftJSON(strings.NewReader(`{"nftables":[{"metainfo":{"version":"1.0.6","release_name":"Lester Gooch #5","json_schema_version":1}}]}`), "empty.json")
	if err != nil || len(n.Tables()) != 0 {
		t.Errorf("metainfo alone: %v, %v; want an empty ruleset", n, err)
	}
}

// TestTruthTCPOption: --tcp-option is judged for the SYN a client sends
// (MSS, SACK-permitted, timestamps, window scale, NOP): option 64 is not
// in it, MSS is.
func TestTruthTCPOption(t *testing.T) {
	rules := func(opt string) string {
		return filterRules("DROP", "-A INPUT -p tcp -m tcp --tcp-option "+opt+" -j DROP", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", "-A INPUT -p udp -m udp --dport 53 -j ACCEPT")
	}
	tests := []struct {
		opt  string
		q    Query
		want Verdict
	}{
		{"64", tcp(22), Open},
		{"64", Query{Proto: "udp", Port: 53}, Open},
		{"2", tcp(22), Blocked},
		{"! 2", tcp(22), Open},
		{"! 64", tcp(22), Blocked},
		{"19", tcp(22), Open}, // MD5 signatures: not a client's
	}
	for _, tt := range tests {
		t.Run(tt.opt+" "+tt.q.Proto, func(t *testing.T) {
			if got := evalText(t, rules(tt.opt), Host{}, tt.q); got.Verdict != tt.want {
				t.Errorf("--tcp-option %s, %s/%d: %+v, want %s", tt.opt, tt.q.Proto, tt.q.Port, got, tt.want)
			}
		})
	}
}

// TestTruthDNATPortAlone: firewalld's iptables backend writes a
// forward-port without an address as "-j DNAT --to-destination :22"; the
// kernel maps no address, so a connection to 8022 reaches the socket on
// 22 at the address it was sent to, and the DNAT state lets it in. A port
// alone on a packet that is not for this host is not followed here.
func TestTruthDNATPortAlone(t *testing.T) {
	const rules = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8022 -j DNAT --to-destination :22
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
`
	host := Host{Interfaces: []string{"eth0"}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}
	for _, h := range []Host{{}, host} {
		e := NewEvaluator(IPv4, []*Ruleset{parseString(t, rules, IPv4)}, h)
		if got := e.Evaluate(tcp(22)); got.Verdict != Open || got.Rule.String() != "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT" {
			t.Errorf("host %v: tcp/22: %s by %q (%v), want open through the DNAT from 8022", h.Addrs, got.Verdict, got.Rule, got.Reasons)
		}
		if d := e.Decide(Packet{Proto: "tcp", DPort: 8022}); d.Verdict != DecideAccept {
			t.Errorf("host %v: Decide tcp/8022: %s by %q, want accept (translated to 22)", h.Addrs, d.Verdict, d.Rule)
		}
		if got := e.Evaluate(tcp(8022)); got.Verdict != Blocked {
			t.Errorf("host %v: tcp/8022: %s by %q, want blocked (a socket on 8022 gets nothing: the packet goes to 22)", h.Addrs, got.Verdict, got.Rule)
		}
	}
	// sent to another host, the packet keeps that address and is
	// forwarded: FORWARD's policy drops it
	e := NewEvaluator(IPv4, []*Ruleset{parseString(t, rules, IPv4)}, host)
	away := Packet{Proto: "tcp", Dst: netip.MustParseAddr("198.51.100.9"), DPort: 8022, InIface: "eth0"}
	if d := e.Decide(away); d.Verdict != DecideDrop {
		t.Errorf("Decide tcp/8022 to another host: %s by %q, want drop (forwarded)", d.Verdict, d.Rule)
	}
}
