//go:build linux

package e2e

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// capturedNft parses testdata/nft/captured/NAME.json (`nft -a -j list
// ruleset` of testdata/nft/NAME.nft, loaded into a fresh namespace, all
// counters zero) twice, and moves the "after" reading's counters: keys are
// "family table chain handle", values packet counts.
func capturedNft(t *testing.T, name string, moved map[string]uint64) (before, after *NftCounters) {
	t.Helper()
	js := Testdata(t, "nft/captured/"+name+".json")
	var ipt4 map[string]map[string][]string
	if name == "beside-iptables" {
		ipt4 = iptablesRules(Testdata(t, "nft/captured/beside-iptables.iptables-save"))
	}
	parse := func() *NftCounters {
		c, err := ParseNftCounters(js)
		if err == nil {
			err = c.annotate(nil, ipt4, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	before, after = parse(), parse()
	for key, n := range moved {
		f := strings.Fields(key)
		h, _ := strconv.ParseUint(f[3], 10, 64)
		ch := after.Chain(f[0], f[1], f[2])
		if ch == nil {
			t.Fatalf("test bug: no chain %s in %s", key, name)
		}
		found := false
		for i := range ch.Rules {
			if ch.Rules[i].Handle == h {
				ch.Rules[i].Pkts += n
				found = true
			}
		}
		if !found {
			t.Fatalf("test bug: no rule %s in %s", key, name)
		}
	}
	return before, after
}

func pkt(proto, src string, port uint16) NftPacket {
	s := netip.MustParseAddr(src)
	d := HostV4
	if s.Is6() {
		d = HostV6
	}
	return NftPacket{Proto: proto, Src: s, Dst: d, Port: port, In: "veth0"}
}

// TestNftDeciding checks the nft counter walk on captured rulesets; it
// needs no root.
func TestNftDeciding(t *testing.T) {
	for _, c := range []struct {
		name, ruleset string
		moved         map[string]uint64
		p             NftPacket
		verdict, rule string   // rule: as KernelDecision.Rule (nft: up to ": ")
		later         []string // the other accepting ends
		err           string
	}{
		{"jump, return, then the policy", "chains-matches", map[string]uint64{"inet filter input 13": 1, "inet filter web 17": 1},
			pkt("tcp", "192.0.2.2", 8080), "drop", "inet filter input policy drop", nil, ""},
		{"jump, accept in the regular chain", "chains-matches", map[string]uint64{"inet filter input 13": 1, "inet filter web 18": 1},
			pkt("tcp", "192.0.2.3", 8080), "accept", "inet filter web handle 18", nil, ""},
		{"goto, return: the base chain's policy", "chains-matches", map[string]uint64{"inet filter input 14": 1, "inet filter dns 20": 1},
			pkt("udp", "2001:db8::2", 53), "drop", "inet filter input policy drop", nil, ""},
		{"goto falls off: the policy, not the next rule", "chains-matches", map[string]uint64{"inet filter input 14": 1},
			pkt("udp", "192.0.2.2", 53), "drop", "inet filter input policy drop", nil, ""},
		{"jump, goto, reject two levels down", "chains-matches", map[string]uint64{"inet filter input 15": 1, "inet filter tls 23": 1, "inet filter deny 24": 1},
			pkt("tcp", "2001:db8::3", 443), "drop", "inet filter deny handle 24", nil, ""},
		{"back from a jump, the next rule", "chains-matches", map[string]uint64{"inet filter input 15": 1, "inet filter input 16": 1},
			pkt("tcp", "192.0.2.3", 443), "accept", "inet filter input handle 16", nil, ""},
		{"an established rule's counter is someone else's", "chains-matches", map[string]uint64{"inet filter input 7": 3, "inet filter input 10": 1},
			pkt("tcp", "192.0.2.2", 22), "accept", "inet filter input handle 10", nil, ""},
		{"two packets", "chains-matches", map[string]uint64{"inet filter input 10": 2},
			pkt("tcp", "192.0.2.2", 22), "", "", nil, "more packets matched"},
		{"a rule after the deciding one moved", "chains-matches", map[string]uint64{"inet filter input 10": 1, "inet filter input 16": 1},
			pkt("tcp", "192.0.2.2", 22), "", "", nil, "than the one probe explains"},
		{"ct state vmap misses NEW, dport vmap jumps", "ct-vmap", map[string]uint64{"inet filter input 4": 1, "inet filter input 7": 1, "inet filter web 9": 1},
			pkt("tcp", "192.0.2.3", 8080), "accept", "inet filter web handle 9", nil, ""},
		{"dport vmap drops", "ct-vmap", map[string]uint64{"inet filter input 4": 1, "inet filter input 7": 1},
			pkt("tcp", "192.0.2.3", 3306), "drop", "inet filter input handle 7", nil, ""},
		{"dport vmap misses: the policy", "ct-vmap", map[string]uint64{"inet filter input 4": 1, "inet filter input 7": 1},
			pkt("tcp", "192.0.2.3", 5432), "drop", "inet filter input policy drop", nil, ""},
		{"two packets through the vmaps", "ct-vmap", map[string]uint64{"inet filter input 4": 2, "inet filter input 7": 2},
			pkt("tcp", "192.0.2.3", 5432), "", "", nil, "than the one probe explains"},
		{"udp passes the tcp vmap", "ct-vmap", map[string]uint64{"inet filter input 4": 1, "inet filter input 8": 1},
			pkt("udp", "2001:db8::3", 53), "accept", "inet filter input handle 8", nil, ""},
		{"dnat: forward decides; the reply's established counter ignored", "dnat-forward",
			map[string]uint64{"ip portfwd prerouting 2": 1, "inet filter forward 9": 1, "inet filter forward 6": 1},
			pkt("tcp", "192.0.2.3", 8080), "accept", "inet filter forward handle 9", nil, ""},
		{"dnat: forward drops", "dnat-forward", map[string]uint64{"ip portfwd prerouting 3": 1, "inet filter forward 7": 1},
			pkt("tcp", "192.0.2.2", 9090), "drop", "inet filter forward handle 7", nil, ""},
		{"dnat: forward policy", "dnat-forward", map[string]uint64{"ip portfwd prerouting 4": 1},
			pkt("tcp", "192.0.2.2", 7070), "drop", "inet filter forward policy drop", nil, ""},
		{"no dnat: input", "dnat-forward", map[string]uint64{"inet filter input 5": 1},
			pkt("tcp", "192.0.2.2", 22), "accept", "inet filter input handle 5", nil, ""},
		{"dnat'd, yet input counted", "dnat-forward", map[string]uint64{"ip portfwd prerouting 2": 1, "inet filter forward 9": 1, "inet filter input 5": 1},
			pkt("tcp", "192.0.2.3", 8080), "", "", nil, "off the walk"},
		{"accepted at -10, dropped at 10", "two-base-chains", map[string]uint64{"inet early input 2": 1, "inet late input 3": 1},
			pkt("tcp", "2001:db8::2", 8080), "drop", "inet late input handle 3", nil, ""},
		{"accepted by rules in two base chains", "two-base-chains", map[string]uint64{"inet early input 3": 1, "inet late input 6": 1},
			pkt("tcp", "192.0.2.3", 3306), "accept", "inet late input handle 6", []string{"inet early input handle 3"}, ""},
		{"ip table drops IPv4", "two-base-chains", map[string]uint64{"ip mid input 2": 1},
			pkt("tcp", "192.0.2.3", 9000), "drop", "ip mid input handle 2", nil, ""},
		{"ip table does not see IPv6", "two-base-chains", map[string]uint64{"inet late input 5": 1},
			pkt("tcp", "2001:db8::3", 9000), "accept", "inet late input handle 5", nil, ""},
		{"ip table counted an IPv6 packet", "two-base-chains", map[string]uint64{"ip mid input 2": 1, "inet late input 5": 1},
			pkt("tcp", "2001:db8::3", 9000), "", "", nil, "off the walk"},
		{"a drop is final: later chains do not count", "two-base-chains", map[string]uint64{"inet early input 4": 1, "inet late input 5": 1},
			pkt("tcp", "192.0.2.2", 5432), "", "", nil, "off the walk"},
		{"named vmap jumps, falls back, a later rule accepts", "named-maps-concat",
			map[string]uint64{"inet filter input 7": 1, "inet filter input 10": 1},
			pkt("tcp", "192.0.2.2", 8080), "accept", "inet filter input handle 10", nil, ""},
		{"named vmap drops", "named-maps-concat", map[string]uint64{"inet filter input 7": 1},
			pkt("tcp", "2001:db8::2", 3306), "drop", "inet filter input handle 7", nil, ""},
		{"a statement without verdict is passed", "meta-mark",
			map[string]uint64{"inet filter prerouting 3": 1, "inet filter input 7": 1},
			pkt("tcp", "2001:db8::2", 9000), "accept", "inet filter input handle 7", nil, ""},
		{"native accept, iptables-nft policy drop", "beside-iptables", map[string]uint64{"inet guard early 3": 1},
			pkt("tcp", "192.0.2.3", 5432), "drop", "-P INPUT DROP", nil, ""},
		{"iptables-nft accepts, native policy accept", "beside-iptables", map[string]uint64{"ip filter INPUT 6": 1},
			pkt("tcp", "192.0.2.3", 22), "accept", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", nil, ""},
		{"iptables-nft accepts, native drops", "beside-iptables", map[string]uint64{"ip filter INPUT 8": 1, "inet guard late 4": 1},
			pkt("tcp", "192.0.2.3", 3306), "drop", "inet guard late handle 4", nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, after := capturedNft(t, c.ruleset, c.moved)
			d, err := NftDeciding(before, after, c.p, labLocal)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %+v, %v; want error containing %q", d, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v (path %v)", err, d.Path)
			}
			name := func(d KernelDecision) string {
				if d.Nft == nil {
					return d.Rule
				}
				return d.Nft.String()
			}
			if d.Verdict != c.verdict || name(d) != c.rule {
				t.Errorf("got %s by %q, want %s by %q (path %v)", d.Verdict, d.Rule, c.verdict, c.rule, d.Path)
			}
			var later []string
			for _, l := range d.Later {
				later = append(later, name(l))
			}
			if strings.Join(later, "|") != strings.Join(c.later, "|") {
				t.Errorf("later = %q, want %q", later, c.later)
			}
		})
	}
}

// TestNftDecidingNoCounter: a verdict rule the walk reaches without a
// counter before its verdict cannot be read.
func TestNftDecidingNoCounter(t *testing.T) {
	js := `{"nftables": [
 {"chain": {"family": "inet", "table": "t", "name": "in", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
 {"rule": {"family": "inet", "table": "t", "chain": "in", "handle": 2, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "t", "chain": "in", "handle": 3, "expr": [{"counter": {"packets": 0, "bytes": 0}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}}, {"accept": null}]}}
]}`
	c, err := ParseNftCounters(js)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Chain("inet", "t", "in").Rules
	if r[0].Counted || r[1].Counted {
		t.Errorf("counted = %v, %v; want false (no counter; a counter before the matches)", r[0].Counted, r[1].Counted)
	}
	if _, err := NftDeciding(c, c, pkt("tcp", "192.0.2.2", 22), labLocal); err == nil || !strings.Contains(err.Error(), "no counter") {
		t.Errorf("got %v, want a no-counter error", err)
	}
}

func TestParseNftRef(t *testing.T) {
	want := NftRef{Family: "inet", Table: "filter", Chain: "input", Handle: 7}
	for _, c := range []struct {
		name, got string
		match     bool
	}{
		{"rule with text", "inet filter input handle 7: tcp dport 22 accept", true},
		{"rule without text", "inet filter input handle 7", true},
		{"other handle", "inet filter input handle 17: tcp dport 22 accept", false},
		{"other chain", "inet filter forward handle 7: tcp dport 22 accept", false},
		{"other family", "ip filter input handle 7: tcp dport 22 accept", false},
		{"policy", "inet filter input policy drop", false},
		{"iptables", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := want.Matches(c.got); got != c.match {
				t.Errorf("Matches(%q) = %v, want %v", c.got, got, c.match)
			}
		})
	}
	pol := NftRef{Family: "inet", Table: "filter", Chain: "input", Policy: "drop"}
	if !pol.Matches("inet filter input policy drop") || pol.Matches("inet filter input policy accept") || pol.Matches("inet filter input handle 0") {
		t.Errorf("policy matching is wrong")
	}
}

func TestWithCounters(t *testing.T) {
	in := `table inet fwaudit {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		tcp dport 22 accept comment "ssh: accept"
		icmpv6 type { nd-router-solicit, nd-router-advert } accept comment "neighbour discovery"
		tcp dport 80 counter accept
		limit rate 5/minute log prefix "drop "
	}
}`
	want := `table inet fwaudit {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" counter accept
		ct state established,related counter accept
		tcp dport 22 counter accept comment "ssh: accept"
		icmpv6 type { nd-router-solicit, nd-router-advert } counter accept comment "neighbour discovery"
		tcp dport 80 counter accept
		limit rate 5/minute log prefix "drop "
	}
}`
	if got := withCounters(in); got != want {
		t.Errorf("withCounters:\n%s\nwant:\n%s", got, want)
	}
}

func TestNftRuleText(t *testing.T) {
	list := `table inet filter { # handle 1
	set admins { # handle 3
		type ipv4_addr
		flags interval
		elements = { 192.0.2.3, 198.51.100.0/24 }
	}

	chain input { # handle 1
		type filter hook input priority filter; policy drop;
		iif "lo" counter packets 3 bytes 180 accept # handle 4
		ip saddr @admins tcp dport 5432 counter packets 0 bytes 0 accept # handle 9
	}
}
table netdev edge { # handle 3
	chain ingress { # handle 1
		type filter hook ingress device "veth0" priority -500; policy accept;
	}
}
table ip filter { # handle 2
	chain INPUT { # handle 1
		type filter hook input priority filter; policy drop;
		tcp dport 22 counter packets 0 bytes 0 accept # handle 7
	}
}
`
	got := nftRuleText(list)
	for key, want := range map[string]string{
		"inet filter input 4":   `iif "lo" counter accept`,
		"inet filter input 9":   "ip saddr @admins tcp dport 5432 counter accept",
		"ip filter INPUT 7":     "tcp dport 22 counter accept",
		"netdev edge ingress 0": "veth0",
	} {
		f := strings.Fields(key)
		h, _ := strconv.ParseUint(f[3], 10, 64)
		if g := got[strings.Join(f[:3], " ")][h]; g != want {
			t.Errorf("%s: %q, want %q", key, g, want)
		}
	}
}

// TestShadowNames: which report findings name a rule that counted packets.
func TestShadowNames(t *testing.T) {
	nftRule := movedRule{nft: &NftRef{Family: "inet", Table: "filter", Chain: "input", Handle: 7}, text: "tcp dport 22 counter accept"}
	iptRule := movedRule{source: "iptables-nft", text: "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"}
	for _, c := range []struct {
		name string
		f    shadowFinding
		m    movedRule
		want bool
	}{
		{"nft by handle", shadowFinding{Rule: "inet filter input handle 7: tcp dport 22 accept"}, nftRule, true},
		{"nft other handle", shadowFinding{Rule: "inet filter input handle 8: tcp dport 22 accept"}, nftRule, false},
		{"iptables same source", shadowFinding{Family: "ipv4", Source: "iptables-nft", Rule: "-A INPUT -p tcp -m tcp --dport 22  -j ACCEPT"}, iptRule, true},
		{"iptables other backend", shadowFinding{Family: "ipv4", Source: "iptables-legacy", Rule: "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"}, iptRule, false},
		{"iptables no source, same family", shadowFinding{Family: "ipv4", Rule: "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"}, iptRule, true},
		{"iptables no source, other family", shadowFinding{Family: "ipv6", Rule: "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"}, iptRule, false},
		{"iptables other text", shadowFinding{Family: "ipv4", Source: "iptables-nft", Rule: "-A INPUT -p tcp -m tcp --dport 23 -j ACCEPT"}, iptRule, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := shadowNames(c.f, c.m); got != c.want {
				t.Errorf("shadowNames(%+v, %s) = %v, want %v", c.f, c.m, got, c.want)
			}
		})
	}
}
