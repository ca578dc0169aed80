package report

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

var testTime = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// listener builds a scan.Listener the way the scanner would: addr "[::]"
// style is not accepted, pass "::" (dual stack) or "::v6only" for an
// IPV6_V6ONLY wildcard.
func listener(proto, addr string, port uint16, process string) scan.Listener {
	v6only := strings.HasSuffix(addr, "v6only")
	addr = strings.TrimSuffix(addr, "v6only")
	a := netip.MustParseAddr(addr)
	l := scan.Listener{Proto: proto, Family: "ipv4", Address: a, Port: port, PID: 100 + int(port), Process: process}
	if a.Is6() {
		l.Family = "ipv6"
		l.DualStack = a.IsUnspecified() && !v6only
	}
	l.Exposure = scan.ExposureOf(a.String(), "")
	if svc, ok := scan.Identify(proto, port, process); ok {
		l.Service = svc.Name
	}
	return l
}

// fwFrom parses one ruleset per family ("" leaves the family unread with
// the reason "not provided").
func fwFrom(t *testing.T, v4, v6 string) *firewall.Loaded {
	t.Helper()
	fw := &firewall.Loaded{V4: firewall.FamilyRules{Why: "not provided"}, V6: firewall.FamilyRules{Why: "not provided"}}
	if v4 != "" {
		rs, err := firewall.ParseSave(strings.NewReader(v4), "rules.v4", firewall.IPv4)
		if err != nil {
			t.Fatalf("parsing rules.v4: %v", err)
		}
		fw.V4.Sets, fw.V4.Why = []*firewall.Ruleset{rs}, ""
	}
	if v6 != "" {
		rs, err := firewall.ParseSave(strings.NewReader(v6), "rules.v6", firewall.IPv6)
		if err != nil {
			t.Fatalf("parsing rules.v6: %v", err)
		}
		fw.V6.Sets, fw.V6.Why = []*firewall.Ruleset{rs}, ""
	}
	return fw
}

func checkStatus(r *Report) map[string]Status {
	m := map[string]Status{}
	for _, c := range r.Checks {
		m[c.ID] = c.Status
	}
	return m
}

// findingKeys lists "id port" for every finding, in report order.
func findingKeys(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, fmt.Sprintf("%s %d", f.ID, f.Port))
	}
	return out
}

func TestUnreadableRulesSkipWithReason(t *testing.T) {
	fw := &firewall.Loaded{V4: firewall.FamilyRules{Why: "iptables-save: permission denied"}, V6: firewall.FamilyRules{Why: "ip6tables-save: permission denied"}}
	r := Build(Inputs{
		Listeners: []scan.Listener{listener("tcp", "0.0.0.0", 5432, "postgres"), listener("tcp", "0.0.0.0", 22, "sshd")},
		Firewall:  fw, Hostname: "h", Now: testTime, Version: "test",
	})
	for _, c := range r.Checks {
		t.Run(c.ID, func(t *testing.T) {
			if c.Status != Skip {
				t.Fatalf("status = %s, want skip (detail %q)", c.Status, c.Detail)
			}
			if strings.HasSuffix(c.ID, "-v4") && !strings.Contains(c.Detail, "iptables-save: permission denied") {
				t.Errorf("detail %q does not give the reason", c.Detail)
			}
			if strings.HasSuffix(c.ID, "-v6") && !strings.Contains(c.Detail, "ip6tables-save: permission denied") {
				t.Errorf("detail %q does not give the reason", c.Detail)
			}
		})
	}
	if len(r.Findings) != 0 {
		t.Errorf("findings = %v, want none: unreadable rules must not be guessed at", findingKeys(r))
	}
	for _, s := range r.Sockets {
		if s.Firewall == nil || s.Firewall.Verdict != "unknown" || s.Firewall.IPv4.Reasons[0] != "iptables-save: permission denied" {
			t.Errorf("socket %d firewall = %+v, want unknown with the reason", s.Port, s.Firewall)
		}
	}
	if r.Summary.ChecksFailed != 0 || r.Summary.Open != 0 {
		t.Errorf("summary = %+v, want no failed checks and nothing open", r.Summary)
	}
}

func TestNoFirewallRequested(t *testing.T) {
	r := Build(Inputs{Listeners: []scan.Listener{listener("tcp", "0.0.0.0", 3306, "mysqld")}, Now: testTime})
	for _, c := range r.Checks {
		if c.Status != Skip || c.Detail != "firewall rules were not read" {
			t.Errorf("%s = %s %q, want skip \"firewall rules were not read\"", c.ID, c.Status, c.Detail)
		}
	}
	if len(r.Findings) != 0 || r.Sockets[0].Firewall != nil {
		t.Errorf("findings %v, socket firewall %+v; want none and null", findingKeys(r), r.Sockets[0].Firewall)
	}
	for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
		if _, ok := r.Summary.Findings[sev]; !ok {
			t.Errorf("summary.findings lacks %q", sev)
		}
	}
}

const (
	emptyV4 = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
	emptyV6 = emptyV4

	// hardenedV4 is the shape `fwaudit suggest` writes.
	hardenedV4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 127.0.0.0/8 ! -i lo -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh" -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -m comment --comment "http" -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
COMMIT
`
	hardenedV6 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s ::1/128 ! -i lo -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -p ipv6-icmp -j ACCEPT
COMMIT
`
	mailV4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 127.0.0.0/8 ! -i lo -j DROP
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 25,587 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 110 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 143 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 993,995 -j ACCEPT
COMMIT
`
	// catchAllV4 denies with a final rule rather than the policy, and
	// restricts MySQL to one network.
	catchAllV4 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 127.0.0.0/8 -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -s 203.0.113.0/24 -p tcp --dport 3306 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -j DROP
COMMIT
`
	deadV4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 127.0.0.0/8 -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -j ACCEPT
-A INPUT -p tcp -m tcp --dport 3306 -j DROP
COMMIT
`
	blocklistV4 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 198.51.100.0/24 -j REJECT --reject-with icmp-port-unreachable
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`
	// recentV4 lets MySQL in only for sources -m recent remembers: the
	// verdict depends on runtime state.
	recentV4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 127.0.0.0/8 -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 3306 -m recent --rcheck --seconds 60 --name knock -j ACCEPT
COMMIT
`
	noSSHV4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 127.0.0.0/8 -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
`
)

func TestChecksAndFindings(t *testing.T) {
	sshd := listener("tcp", "0.0.0.0", 22, "sshd")
	nginx := listener("tcp", "0.0.0.0", 80, "nginx")
	tests := []struct {
		name         string
		v4, v6       string
		listeners    []scan.Listener
		ipv6Disabled bool
		wantChecks   map[string]Status // only the ones named
		wantFindings []string          // "id port", in report order
		wantSeverity map[string]Severity
		published    bool // a DNAT reaches a loopback-bound socket: findings may name it
	}{
		{
			name: "fresh host, no rules, postgres on 0.0.0.0",
			v4:   emptyV4, v6: emptyV6,
			listeners: []scan.Listener{sshd, listener("tcp", "0.0.0.0", 5432, "postgres"), listener("tcp", "127.0.0.1", 5433, "postgres")},
			wantChecks: map[string]Status{"default-deny-v4": Fail, "default-deny-v6": Fail, "loopback-v4": Fail,
				"established-v4": Pass, "open-ports-have-rules-v4": Fail, "open-ports-have-rules-v6": Pass, "single-firewall-backend": Pass},
			wantFindings: []string{"exposed-sensitive-service 5432", "no-firewall 0", "no-firewall 0"},
		},
		{
			name: "hardened, everything passes",
			v4:   hardenedV4, v6: hardenedV6,
			listeners: []scan.Listener{listener("tcp", "::", 22, "sshd"), listener("tcp", "::", 80, "nginx"), listener("tcp", "127.0.0.1", 5432, "postgres"), listener("udp", "::1", 53, "named")},
			wantChecks: map[string]Status{"default-deny-v4": Pass, "default-deny-v6": Pass, "loopback-v4": Pass, "loopback-v6": Pass,
				"established-v4": Pass, "established-v6": Pass, "open-ports-have-rules-v4": Pass, "open-ports-have-rules-v6": Pass,
				"single-firewall-backend": Pass},
			wantFindings: nil,
		},
		{
			name: "mail ports accepted, only ssh and http listen",
			v4:   mailV4, listeners: []scan.Listener{sshd, nginx},
			ipv6Disabled: true,
			wantChecks:   map[string]Status{"default-deny-v4": Pass, "default-deny-v6": Skip, "loopback-v6": Skip, "open-ports-have-rules-v4": Pass},
			wantFindings: []string{"stale-rule 25", "stale-rule 110", "stale-rule 143", "stale-rule 587", "stale-rule 993", "stale-rule 995"},
		},
		{
			name: "catch-all REJECT, mysql restricted to a subnet",
			v4:   catchAllV4, listeners: []scan.Listener{sshd, listener("tcp", "0.0.0.0", 3306, "mysqld")},
			ipv6Disabled: true,
			wantChecks:   map[string]Status{"default-deny-v4": Pass, "loopback-v4": Pass, "open-ports-have-rules-v4": Pass},
			wantFindings: nil,
		},
		{
			name: "IPv4 locked down, IPv6 empty, mysql on [::]",
			v4:   hardenedV4, v6: emptyV6,
			listeners:    []scan.Listener{sshd, listener("tcp", "::v6only", 3306, "mysqld")},
			wantChecks:   map[string]Status{"default-deny-v4": Pass, "default-deny-v6": Fail},
			wantFindings: []string{"exposed-sensitive-service 3306", "ipv6-unfiltered 3306", "stale-rule 80"},
		},
		{
			name: "duplicate and shadowed rules",
			v4:   deadV4, listeners: []scan.Listener{sshd, listener("tcp", "0.0.0.0", 3306, "mysqld")},
			ipv6Disabled: true,
			wantFindings: []string{"exposed-sensitive-service 3306", "shadowed-rule 3306", "duplicate-rule 22", "shadowed-rule 22"},
		},
		{
			name: "redis on loopback published by a DNAT to 127.0.0.1 is exposed",
			v4: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 6379 -j DNAT --to-destination 127.0.0.1:6379
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
`,
			listeners:    []scan.Listener{listener("tcp", "127.0.0.1", 6379, "redis-server"), listener("tcp", "127.0.0.1", 11211, "memcached")},
			ipv6Disabled: true,
			published:    true,
			wantFindings: []string{"exposed-sensitive-service 6379"},
		},
		{
			name: "policy ACCEPT with a blocklist",
			v4:   blocklistV4, listeners: []scan.Listener{sshd, nginx},
			ipv6Disabled: true,
			wantChecks:   map[string]Status{"default-deny-v4": Fail, "open-ports-have-rules-v4": Fail},
			wantFindings: []string{"exposed-by-policy 80"},
		},
		{
			name: "docker API without TLS open to the world is critical",
			v4:   blocklistV4, listeners: []scan.Listener{listener("tcp", "0.0.0.0", 2375, "dockerd")},
			ipv6Disabled: true,
			wantSeverity: map[string]Severity{"exposed-sensitive-service": Critical},
			wantFindings: []string{"exposed-sensitive-service 2375", "stale-rule 22", "cleartext-service 2375"},
		},
		{
			name: "mysql behind -m recent is conditional",
			v4:   recentV4, listeners: []scan.Listener{sshd, listener("tcp", "0.0.0.0", 3306, "mysqld")},
			ipv6Disabled: true,
			wantChecks:   map[string]Status{"default-deny-v4": Pass, "open-ports-have-rules-v4": Pass},
			wantSeverity: map[string]Severity{"exposed-sensitive-service": Medium},
			wantFindings: []string{"exposed-sensitive-service 3306"},
		},
		{
			name: "sshd listens, nothing accepts it",
			v4:   noSSHV4, listeners: []scan.Listener{sshd, nginx},
			ipv6Disabled: true,
			wantChecks:   map[string]Status{"default-deny-v4": Pass, "open-ports-have-rules-v4": Fail},
			wantFindings: []string{"ssh-blocked 22"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build(Inputs{Listeners: tt.listeners, Firewall: fwFrom(t, tt.v4, tt.v6), IPv6Disabled: tt.ipv6Disabled, Now: testTime})
			got := checkStatus(r)
			var ids []string
			for id := range tt.wantChecks {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				if got[id] != tt.wantChecks[id] {
					t.Errorf("check %s = %s, want %s (%s)", id, got[id], tt.wantChecks[id], detailOf(r, id))
				}
			}
			if d := diffLines(tt.wantFindings, findingKeys(r)); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
			for _, f := range r.Findings {
				if want, ok := tt.wantSeverity[f.ID]; ok && f.Severity != want {
					t.Errorf("%s severity = %v, want %v", f.ID, f.Severity, want)
				}
				for _, l := range tt.listeners {
					if !tt.published && l.Exposure == scan.ExposureLocal && f.Port == l.Port && f.Address == l.Address.String() {
						t.Errorf("finding %s raised against loopback socket %s:%d", f.ID, f.Address, f.Port)
					}
				}
			}
		})
	}
}

// TestDockerBypassPublishedOnOneAddress: a port published on one host
// address (-p 10.79.0.1:8082:80, DNAT -d 10.79.0.1/32) is found; a
// published port FORWARD lets nobody through is not a bypass.
func TestDockerBypassPublishedOnOneAddress(t *testing.T) {
	rules := func(policy, input, forward string) string {
		return `*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -d 10.79.0.1/32 -p tcp -m tcp --dport 8082 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ` + policy + ` [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
` + input + forward + `COMMIT
`
	}
	const fwdAccept = "-A FORWARD -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT\n"
	proxy := listener("tcp", "10.79.0.1", 8082, "docker-proxy")
	for _, c := range []struct {
		name, policy, input, forward string
		want                         []string
	}{
		{"FORWARD accepts it", "DROP", "", fwdAccept, []string{"docker-bypass 8082"}},
		{"FORWARD drops everything", "DROP", "", "", nil},
		// INPUT alone would let everyone in: nothing is bypassed
		{"INPUT policy accept", "ACCEPT", "", fwdAccept, nil},
		{"INPUT accepts the port", "DROP", "-A INPUT -p tcp -m tcp --dport 8082 -j ACCEPT\n", fwdAccept, nil},
		// INPUT admits one subnet, FORWARD everyone
		{"INPUT narrower than FORWARD", "DROP", "-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 8082 -j ACCEPT\n", fwdAccept, []string{"docker-bypass 8082"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Build(Inputs{Listeners: []scan.Listener{proxy}, Firewall: fwFrom(t, rules(c.policy, c.input, c.forward), emptyV6), Now: testTime})
			var got []string
			for _, k := range findingKeys(r) {
				if strings.HasPrefix(k, "docker-bypass") {
					got = append(got, k)
				}
			}
			if d := diffLines(c.want, got); d != "" {
				t.Errorf("docker-bypass findings (-want +got):\n%s", d)
			}
		})
	}
}

func detailOf(r *Report, id string) string {
	for _, c := range r.Checks {
		if c.ID == id {
			return c.Detail
		}
	}
	return "no such check"
}

// diffLines is a minimal "(-want +got)" diff of two string lists.
func diffLines(want, got []string) string {
	if strings.Join(want, "\n") == strings.Join(got, "\n") {
		return ""
	}
	var b strings.Builder
	for _, w := range want {
		fmt.Fprintf(&b, "-%s\n", w)
	}
	for _, g := range got {
		fmt.Fprintf(&b, "+%s\n", g)
	}
	return b.String()
}

func TestBackends(t *testing.T) {
	parse := func(source, text string) *firewall.Ruleset {
		rs, err := firewall.ParseSave(strings.NewReader(text), source, firewall.IPv4)
		if err != nil {
			t.Fatalf("parsing %s: %v", source, err)
		}
		return rs
	}
	emptyNft := &firewall.Ruleset{Family: firewall.IPv4, Source: "iptables-nft"}
	tests := []struct {
		name        string
		sets        []*firewall.Ruleset
		wantStatus  Status
		wantFinding bool
	}{
		{"legacy only, empty nft dump", []*firewall.Ruleset{emptyNft, parse("iptables-legacy", hardenedV4)}, Pass, false},
		{"nft only", []*firewall.Ruleset{parse("iptables-nft", hardenedV4)}, Pass, false},
		{"both hold rules", []*firewall.Ruleset{parse("iptables-nft", blocklistV4), parse("iptables-legacy", hardenedV4)}, Fail, true},
		{"nft tables with ACCEPT policies and no rules", []*firewall.Ruleset{parse("iptables-nft", emptyV4), parse("iptables-legacy", hardenedV4)}, Pass, false},
		{"a file", []*firewall.Ruleset{parse("rules.v4", hardenedV4)}, Pass, false},
	}
	t.Run("native nftables alone is named so", func(t *testing.T) {
		// firewalld's nftables backend: its rules are in table inet
		// firewalld, read live as Source "nft", and iptables-nft has none
		native := parse("nft", hardenedV4)
		sets := []*firewall.Ruleset{emptyNft, native}
		fw := &firewall.Loaded{V4: firewall.FamilyRules{Sets: sets}, V6: firewall.FamilyRules{Why: "not provided"}}
		r := Build(Inputs{Firewall: fw, Now: testTime})
		if got, d := checkStatus(r)["single-firewall-backend"], detailOf(r, "single-firewall-backend"); got != Pass || d != "all rules are in native nftables" {
			t.Errorf("single-firewall-backend = %s (%s), want pass: all rules are in native nftables", got, d)
		}
	})
	t.Run("iptables-nft rules beside a native nftables table", func(t *testing.T) {
		sets := []*firewall.Ruleset{parse("iptables-nft", hardenedV4)}
		unseen := []string{"native nftables table inet filter not evaluated"}
		fw := &firewall.Loaded{V4: firewall.FamilyRules{Sets: sets, Unseen: unseen}, V6: firewall.FamilyRules{Why: "not provided"}}
		r := Build(Inputs{Firewall: fw, Now: testTime})
		if got := checkStatus(r)["single-firewall-backend"]; got != Fail {
			t.Errorf("single-firewall-backend = %s, want fail (%s)", got, detailOf(r, "single-firewall-backend"))
		}
		if !slices.Contains(findingKeys(r), "mixed-backends 0") {
			t.Errorf("findings %v, want mixed-backends", findingKeys(r))
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := &firewall.Loaded{V4: firewall.FamilyRules{Sets: tt.sets}, V6: firewall.FamilyRules{Why: "not provided"}}
			r := Build(Inputs{Firewall: fw, Now: testTime})
			if got := checkStatus(r)["single-firewall-backend"]; got != tt.wantStatus {
				t.Errorf("single-firewall-backend = %s, want %s (%s)", got, tt.wantStatus, detailOf(r, "single-firewall-backend"))
			}
			got := false
			for _, f := range r.Findings {
				got = got || f.ID == "mixed-backends"
			}
			if got != tt.wantFinding {
				t.Errorf("mixed-backends finding = %v, want %v", got, tt.wantFinding)
			}
		})
	}
}

// TestOpenPortsHaveRules: a port has a rule when a rule for its protocol
// and port decides it, through jumps, multiport lists and ranges, whether
// that rule accepts or drops; a policy or a catch-all is not a rule for it.
func TestOpenPortsHaveRules(t *testing.T) {
	const head = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:svc - [0:0]\n"
	tests := []struct {
		name   string
		rules  string
		l      scan.Listener
		want   Status
		detail string // a substring of the detail
	}{
		{"single port", "-A INPUT -p tcp -m tcp --dport 53 -j ACCEPT\n", listener("tcp", "0.0.0.0", 53, "named"), Pass, "has a rule"},
		{"udp rule does not cover tcp", "-A INPUT -p udp -m udp --dport 53 -j ACCEPT\n", listener("tcp", "0.0.0.0", 53, "named"), Fail, "tcp/53 (dropped by the default policy)"},
		{"multiport", "-A INPUT -p tcp -m multiport --dports 80,443,8443 -j ACCEPT\n", listener("tcp", "0.0.0.0", 443, "nginx"), Pass, "has a rule"},
		{"range", "-A INPUT -p udp -m udp --dport 60000:61000 -j ACCEPT\n", listener("udp", "0.0.0.0", 60001, "mosh-server"), Pass, "has a rule"},
		{"through a jump", "-A INPUT -j svc\n-A svc -p tcp -m tcp --dport 25 -j ACCEPT\n", listener("tcp", "0.0.0.0", 25, "exim4"), Pass, "has a rule"},
		{"explicit DROP is a rule", "-A INPUT -p tcp -m tcp --dport 3306 -j DROP\n", listener("tcp", "0.0.0.0", 3306, "mysqld"), Pass, "has a rule"},
		{"catch-all DROP is not", "-A INPUT -j DROP\n", listener("tcp", "0.0.0.0", 3306, "mysqld"), Fail, "blocked by the catch-all -A INPUT -j DROP"},
		{"loopback socket needs none", "", listener("tcp", "127.0.0.1", 5432, "postgres"), Pass, "no socket outside loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := fwFrom(t, head+tt.rules+"COMMIT\n", "")
			r := Build(Inputs{Listeners: []scan.Listener{tt.l}, Firewall: fw, IPv6Disabled: true, Now: testTime})
			got, detail := checkStatus(r)["open-ports-have-rules-v4"], detailOf(r, "open-ports-have-rules-v4")
			if got != tt.want || !strings.Contains(detail, tt.detail) {
				t.Errorf("open-ports-have-rules-v4 = %s %q, want %s containing %q", got, detail, tt.want, tt.detail)
			}
		})
	}
}
