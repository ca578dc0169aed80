package firewall

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	rules := filterRules("DROP",
		"-A INPUT -i lo -j ACCEPT",
		"-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		"-A INPUT -j LOG --log-prefix \"in \"",
		"-A INPUT -j USER",
		"-A INPUT -p udp -m recent --update --name X -j DROP",
		"-A INPUT -p udp --dport 53 -j ACCEPT",
		"-A USER -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT",
		"-A USER -p tcp --dport 80 -j REJECT",
	)
	rs := parseString(t, rules, IPv4)
	e := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
	ip := netip.MustParseAddr
	tests := []struct {
		name    string
		p       Packet
		verdict string
		rule    string
		reasons []string
		steps   []string // "chain line matched action"
	}{
		{"accepted in a user chain", Packet{Proto: "tcp", Src: ip("10.1.2.3"), DPort: 22, InIface: "eth0"}, "accept",
			"-A USER -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT", nil,
			[]string{"INPUT 6 no continue", "INPUT 7 no continue", "INPUT 8 yes continue", "INPUT 9 yes jump USER", "USER 12 yes accept"}},
		{"source outside the user rule", Packet{Proto: "tcp", Src: ip("192.0.2.9"), DPort: 22, InIface: "eth0"}, "drop",
			"-P INPUT DROP", nil,
			[]string{"INPUT 6 no continue", "INPUT 7 no continue", "INPUT 8 yes continue", "INPUT 9 yes jump USER", "USER 12 no continue", "USER 13 no continue", "USER 0 yes return", "INPUT 10 no continue", "INPUT 11 no continue", "INPUT 0 yes drop"}},
		{"reject", Packet{Proto: "tcp", DPort: 80}, "drop", "-A USER -p tcp --dport 80 -j REJECT", nil, nil},
		{"loopback", Packet{Proto: "tcp", Src: ip("127.0.0.1"), Dst: ip("127.0.0.1"), DPort: 9, InIface: "lo"}, "accept", "-A INPUT -i lo -j ACCEPT", nil, nil},
		{"established", Packet{Proto: "tcp", DPort: 9, State: "ESTABLISHED"}, "accept", "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", nil, nil},
		{"runtime match both ways", Packet{Proto: "udp", DPort: 53}, "conditional", "-A INPUT -p udp -m recent --update --name X -j DROP", []string{"-m recent"},
			[]string{"INPUT 6 no continue", "INPUT 7 no continue", "INPUT 8 yes continue", "INPUT 9 yes jump USER", "USER 12 no continue", "USER 13 no continue", "USER 0 yes return", "INPUT 10 maybe maybe drop", "INPUT 11 yes accept"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Decide(tt.p)
			if d.Verdict != tt.verdict || d.Rule.String() != tt.rule || !reflect.DeepEqual(d.Reasons, tt.reasons) {
				t.Errorf("(-want +got):\n- %s %q %v\n+ %s %q %v", tt.verdict, tt.rule, tt.reasons, d.Verdict, d.Rule, d.Reasons)
			}
			if tt.steps == nil {
				return
			}
			var got []string
			for _, s := range d.Trace {
				got = append(got, strings.Join([]string{s.Chain, itoa(s.Line), s.Matched, s.Action}, " "))
			}
			if !reflect.DeepEqual(tt.steps, got) {
				t.Errorf("trace (-want +got):\n- %q\n+ %q", tt.steps, got)
			}
		})
	}
}

func TestDecideICMPAndDefaults(t *testing.T) {
	rs := parseString(t, filterRules("DROP", "-A INPUT -p icmp --icmp-type echo-request -j ACCEPT"), IPv4)
	e := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
	if d := e.Decide(Packet{Proto: "icmp", DPort: 8}); d.Verdict != DecideAccept {
		t.Errorf("echo-request: got %s", d.Verdict)
	}
	if d := e.Decide(Packet{Proto: "icmp", DPort: 0}); d.Verdict != DecideDrop {
		t.Errorf("echo-reply: got %s", d.Verdict)
	}
	if d := e.Decide(Packet{Proto: "nope"}); d.Verdict != DecideConditional || len(d.Reasons) != 1 {
		t.Errorf("bad protocol: got %+v", d)
	}
}

func TestDecideAgreesWithEvaluate(t *testing.T) {
	// for every fixture and a few ports, a packet from DefaultSource is
	// accepted by Decide exactly when Evaluate's accepted set holds it
	for _, name := range []string{"ufw-server2-diekmann.iptables-save", "gopherproxy-blocklist-diekmann.iptables-save", "firewalld-fedora27-counters.iptables-save", "rancher-docker-shadowed-diekmann.iptables-save", "GEN-mixed-backends.iptables-legacy-save"} {
		rs := loadFixture(t, name)
		e := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
		for _, port := range []uint16{22, 80, 443, 3306, 13001} {
			r := e.Evaluate(tcp(port))
			d := e.Decide(Packet{Proto: "tcp", DPort: port})
			if r.Verdict == Conditional || d.Verdict == DecideConditional {
				continue
			}
			var in bool
			switch r.Verdict {
			case Open:
				in = true
				for _, p := range r.Except {
					if p.Contains(DefaultSource(IPv4)) {
						in = false
					}
				}
			case Restricted:
				in = len(r.Sources) == 0 && len(r.Interfaces) == 0
				for _, p := range r.Sources {
					if p.Contains(DefaultSource(IPv4)) {
						in = true
					}
				}
			}
			if in != (d.Verdict == DecideAccept) {
				t.Errorf("%s tcp/%d: Evaluate %s (%v), Decide %s", name, port, r.Verdict, r.Sources, d.Verdict)
			}
		}
	}
}
