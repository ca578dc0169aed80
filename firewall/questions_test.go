package firewall

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// dockerish is a Docker host's iptables rules cut down to what the
// questions tell apart: published ports (one on 127.0.0.1, one to this
// host's own address, one to loopback, one with a negated port), Docker's
// chains with FORWARD jumping to DOCKER-USER, and a filter INPUT that
// ends in a catch-all drop under policy ACCEPT.
const dockerish = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A DOCKER -d 192.0.2.20/32 ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 5432:5433 -j DNAT --to-destination 172.17.0.3:6000
-A DOCKER ! -i docker0 -p udp -m udp --dport 53 -j DNAT --to-destination 192.0.2.10:5353
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 9000 -j DNAT --to-destination 127.0.0.1:9000
-A DOCKER ! -i docker0 -p tcp -m tcp ! --dport 22 -j DNAT --to-destination 172.17.0.4
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j DROP
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -j DOCKER
-A DOCKER-USER -s 10.1.0.0/16 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
`

func parseDockerish(t *testing.T, text string) *Ruleset {
	t.Helper()
	rs, err := ParseSave(strings.NewReader(text), "iptables-nft", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestPortForwards(t *testing.T) {
	rs := parseDockerish(t, dockerish)
	ev := NewEvaluator(IPv4, []*Ruleset{rs}, Host{Interfaces: []string{"eth0"}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.10")}})
	var got []string
	for _, f := range ev.PortForwards() {
		got = append(got, f.Proto+" "+netip.AddrPortFrom(f.Addr, f.Ports.Lo).String()+"-"+f.Target(f.Ports.Hi).String()+" "+f.Chain.Name)
	}
	// the DNATs to this host's address and to loopback, and the one for
	// every port but 22, are not forwards to another host
	want := []string{"tcp 192.0.2.20:8080-172.17.0.2:80 DOCKER", "tcp 0.0.0.0:5432-172.17.0.3:6001 DOCKER"}
	if !slices.Equal(got, want) {
		t.Errorf("PortForwards:\n got %q\nwant %q", got, want)
	}

	// published on loopback only (-p 127.0.0.1:8083:80, and [::1] in
	// IPv6): the forward applies to that address, not to all
	for _, c := range []struct {
		fam       Family
		rule, out string
	}{
		{IPv4, "-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 8083 -j DNAT --to-destination 172.17.0.2:80", "tcp 127.0.0.1:8083"},
		{IPv6, "-A DOCKER -d ::1/128 ! -i docker0 -p tcp -m tcp --dport 8083 -j DNAT --to-destination [fd00::2]:80", "tcp [::1]:8083"},
	} {
		text := "*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n" + c.rule + "\nCOMMIT\n"
		rs, err := ParseSave(strings.NewReader(text), "rules", c.fam)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range NewEvaluator(c.fam, []*Ruleset{rs}, Host{}).PortForwards() {
			got = append(got, f.Proto+" "+netip.AddrPortFrom(f.Addr, f.Ports.Lo).String())
		}
		if !slices.Equal(got, []string{c.out}) {
			t.Errorf("PortForwards of %q = %q, want %q", c.rule, got, c.out)
		}
	}
}

// TestPortForwardsFree5gc: Docker's published ports on a captured host
// (a free5gc compose project beside tailscale) are the forwards, and a
// port only INPUT decides is none.
func TestPortForwardsFree5gc(t *testing.T) {
	rs := loadFixture(t, "docker-nft-free5gc-tailscale.iptables-save")
	e := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
	for _, tt := range []struct {
		proto string
		port  uint16
		want  []string
	}{
		{"tcp", 5000, []string{"-A DOCKER ! -i br-free5gc -p tcp -m tcp --dport 5000 -j DNAT --to-destination 10.100.200.5:5000"}},
		{"udp", 8805, []string{"-A DOCKER ! -i br-free5gc -p udp -m udp --dport 8805 -j DNAT --to-destination 10.100.200.7:8805"}},
		{"tcp", 22, nil},
	} {
		var got []string
		for _, f := range e.PortForwards() {
			if f.Proto == tt.proto && f.Ports.Lo <= tt.port && tt.port <= f.Ports.Hi {
				got = append(got, f.Rule.Text)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s/%d: forwarded by %q, want %q", tt.proto, tt.port, got, tt.want)
		}
	}
}

func TestCatchAllAndPolicies(t *testing.T) {
	rs := parseDockerish(t, dockerish)
	in := rs.FilterChains("input")
	if len(in) != 1 {
		t.Fatalf("FilterChains(input) = %d chains, want 1", len(in))
	}
	r, ok := in[0].CatchAll(IPv4, 47000)
	if !ok || r.Text != "-A INPUT -j DROP" {
		t.Errorf("CatchAll = %v %v, want the final drop", r, ok)
	}
	// the accept for 22 is no catch-all: it names a port
	cut := parseDockerish(t, strings.Replace(dockerish, "-A INPUT -j DROP\n", "", 1))
	if r, ok := cut.FilterChains("input")[0].CatchAll(IPv4, 47000); ok {
		t.Errorf("CatchAll without the drop = %v, want none", r.Text)
	}
	if p, ok := rs.FilterPolicy("forward"); !ok || p != "DROP" {
		t.Errorf("FilterPolicy(forward) = %q %v, want DROP", p, ok)
	}
	var hooks []string
	for _, cp := range rs.Policies() {
		hooks = append(hooks, cp.Table.Name+"/"+cp.Hook+"="+cp.Policy)
	}
	want := []string{"nat/prerouting=ACCEPT", "nat/input=ACCEPT", "nat/output=ACCEPT", "nat/postrouting=ACCEPT",
		"filter/input=ACCEPT", "filter/forward=DROP", "filter/output=ACCEPT"}
	if !slices.Equal(hooks, want) {
		t.Errorf("Policies:\n got %q\nwant %q", hooks, want)
	}
	var acc []string
	for _, ia := range rs.InputAccepts() {
		acc = append(acc, ia.Rule.Text)
	}
	if want := []string{"-A INPUT -i lo -j ACCEPT", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"}; !slices.Equal(acc, want) {
		t.Errorf("InputAccepts = %q, want %q", acc, want)
	}
	if rs.FiltersNothing() || !parseDockerish(t, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n").FiltersNothing() {
		t.Error("FiltersNothing is wrong for a ruleset with rules or one without")
	}
}

func TestDockerFiltering(t *testing.T) {
	rs := parseDockerish(t, dockerish)
	if got := DockerFilteringOf([]*Ruleset{rs}); got != DockerUser {
		t.Errorf("DockerFilteringOf = %v, want DockerUser", got)
	}
	if n := DockerUserRules([]*Ruleset{rs}); n != 1 {
		t.Errorf("DockerUserRules = %d, want 1 (Docker's closing RETURN is not counted)", n)
	}
	noJump := parseDockerish(t, strings.Replace(dockerish, "-A FORWARD -j DOCKER-USER\n", "", 1))
	if got := DockerFilteringOf([]*Ruleset{noJump}); got != DockerChains {
		t.Errorf("without the jump DockerFilteringOf = %v, want DockerChains", got)
	}
	plain := parseDockerish(t, "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
	if got := DockerFilteringOf([]*Ruleset{plain}); got != NoDocker {
		t.Errorf("without Docker DockerFilteringOf = %v, want NoDocker", got)
	}
}

func TestAfterNoflush(t *testing.T) {
	today := parseDockerish(t, dockerish)
	file := parseDockerish(t, NoflushHead("DROP", true)+
		"-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT\n-A DOCKER-USER -j RETURN\nCOMMIT\n")
	after := AfterNoflush([]*Ruleset{today}, file)
	if len(after) != 1 {
		t.Fatalf("AfterNoflush gave %d rulesets, want 1", len(after))
	}
	rs := after[0]
	texts := func(c *Chain) []string {
		var out []string
		for _, r := range c.Rules {
			out = append(out, r.Text)
		}
		return out
	}
	if in := rs.IptablesFilterChain("INPUT"); in.Policy != "DROP" || !slices.Equal(texts(in), []string{"-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT"}) {
		t.Errorf("INPUT after = %s %q", in.Policy, texts(in))
	}
	if du := rs.IptablesFilterChain(DockerUserChain); !slices.Equal(texts(du), []string{"-A DOCKER-USER -j RETURN"}) {
		t.Errorf("DOCKER-USER after = %q", texts(du))
	}
	// FORWARD, Docker's chain and the nat table stay
	if fw := rs.IptablesFilterChain("FORWARD"); fw.Policy != "DROP" || len(fw.Rules) != 2 {
		t.Errorf("FORWARD after = %s %q", fw.Policy, texts(fw))
	}
	if rs.Table("nat") != today.Table("nat") {
		t.Error("the nat table was not kept")
	}
	// today is not written into
	if len(today.IptablesFilterChain("INPUT").Rules) != 3 {
		t.Error("AfterNoflush changed today's rules")
	}
}

func TestAsNftTableAndPriorityText(t *testing.T) {
	rs := parseDockerish(t, "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
	rs.AsNftTable("inet", "fwaudit", PriorityBeforeFilter)
	var got []string
	for _, c := range rs.Tables[0].Chains {
		got = append(got, c.Name+" "+c.Hook+" "+NftPriorityText(c.Priority)+" "+c.Type)
	}
	want := []string{"INPUT input filter filter", "FORWARD forward filter - 1 filter", "OUTPUT output filter filter"}
	if !slices.Equal(got, want) || rs.Source != "table inet fwaudit" || rs.Tables[0].NftFamily != "inet" {
		t.Errorf("AsNftTable: %q (%s), want %q", got, rs.Source, want)
	}
	if NftPriorityText(10) != "filter + 10" {
		t.Errorf("NftPriorityText(10) = %q", NftPriorityText(10))
	}
}

func TestWithChainsPoliciesByHook(t *testing.T) {
	today := parseDockerish(t, dockerish)
	out, ok := WithChains([]*Ruleset{today}, func(t *Table) bool { return t.IptablesFilterChain(DockerUserChain) != nil },
		map[string][]*Rule{DockerUserChain: nil}, map[string]string{"input": "DROP"})
	if !ok {
		t.Fatal("WithChains found no table")
	}
	f := out[0]
	if f.IptablesFilterChain("INPUT").Policy != "DROP" || len(f.IptablesFilterChain(DockerUserChain).Rules) != 0 {
		t.Error("WithChains did not set the input policy or the chain's rules")
	}
	// nat INPUT is on the input hook too, but not in the picked table
	if f.Table("nat").Chain("INPUT").Policy != "ACCEPT" || today.IptablesFilterChain("INPUT").Policy != "ACCEPT" {
		t.Error("WithChains changed a chain it was not asked to")
	}
}

func TestIsPolicyText(t *testing.T) {
	for text, want := range map[string]bool{
		"-P INPUT DROP":                        true,
		"-t mangle -P INPUT DROP":              true,
		"-t security -P FORWARD DROP":          true,
		"inet filter input policy drop":        true,
		"-A INPUT -j DROP":                     false,
		"-t mangle -A INPUT -j DROP":           false,
		`inet filter input: tcp dport 22 drop`: false,
	} {
		if IsPolicyText(text) != want {
			t.Errorf("IsPolicyText(%q) = %v", text, !want)
		}
	}
	// what the evaluator names when a mangle chain's policy decides
	rs, err := ParseSave(strings.NewReader("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT DROP [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"), "rules.v4", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	d := NewEvaluator(IPv4, []*Ruleset{rs}, Host{}).DecideVerdict(Packet{Proto: "tcp", DPort: 22})
	if d.Verdict != DecideDrop || d.Rule.String() != "-t mangle -P INPUT DROP" || !IsPolicyText(d.Rule.String()) {
		t.Errorf("mangle INPUT policy DROP: %s by %q, IsPolicyText %v; want drop by the policy, recognised", d.Verdict, d.Rule, IsPolicyText(d.Rule.String()))
	}
}
