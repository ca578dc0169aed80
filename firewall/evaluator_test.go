package firewall

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// filterRules builds a filter table with INPUT policy pol, user chains
// declared from the rules that append to them.
func filterRules(pol string, rules ...string) string {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT " + pol + " [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	seen := map[string]bool{"INPUT": true, "FORWARD": true, "OUTPUT": true}
	for _, r := range rules {
		f := strings.Fields(r)
		if len(f) > 1 && f[0] == "-A" && !seen[f[1]] {
			seen[f[1]] = true
			b.WriteString(":" + f[1] + " - [0:0]\n")
		}
	}
	for _, r := range rules {
		b.WriteString(r + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

var any4 = netip.IPv4Unspecified()

func tcp(port uint16) Query { return Query{Proto: "tcp", Addr: any4, Port: port} }
func udp(port uint16) Query { return Query{Proto: "udp", Addr: any4, Port: port} }

// brief is the part of a Result a test pins.
type brief struct {
	Verdict    Verdict
	Sources    string
	Except     string
	Interfaces string
	Reasons    string
	Rule       string
	Dsts       string // Destinations
	Doubtful   string
	// Each: ByInterface, as "eth0 open; eth1 restricted 10.0.0.0/8
	// except ..." ("*" for any other interface)
	Each string
}

func briefOf(r Result) brief {
	var each []string
	for _, x := range r.ByInterface {
		name := x.Iface
		if name == "" {
			name = "*"
		}
		s := name + " " + string(x.Verdict)
		if len(x.Sources) > 0 {
			s += " " + strings.Join(prefixStrings(x.Sources), " ")
		}
		if len(x.Except) > 0 {
			s += " except " + strings.Join(prefixStrings(x.Except), " ")
		}
		each = append(each, s)
	}
	return brief{r.Verdict, strings.Join(prefixStrings(r.Sources), " "), strings.Join(prefixStrings(r.Except), " "),
		strings.Join(r.Interfaces, " "), strings.Join(r.Reasons, "; "), r.Rule.String(), strings.Join(prefixStrings(r.Destinations), " "),
		strings.Join(prefixStrings(r.Doubtful), " "), strings.Join(each, "; ")}
}

func evalText(t *testing.T, text string, host Host, q Query) brief {
	t.Helper()
	rs := parseString(t, text, IPv4)
	return briefOf(NewEvaluator(IPv4, []*Ruleset{rs}, host).Evaluate(q))
}

// TestEvaluateDestinations: a wildcard socket behind a destination match
// is reached at the host addresses the match holds, and only there (the
// kernel test is TestTruthDestination).
func TestEvaluateDestinations(t *testing.T) {
	host := Host{Interfaces: []string{"eth0"}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.11")}}
	tests := []struct {
		name, rules string
		want        brief
	}{
		{"one of the host's addresses", filterRules("DROP", "-A INPUT -d 192.0.2.10/32 -p tcp --dport 22 -j ACCEPT"),
			brief{Verdict: Restricted, Rule: "-A INPUT -d 192.0.2.10/32 -p tcp --dport 22 -j ACCEPT", Dsts: "192.0.2.10/32"}},
		{"a -d holding every host address is no restriction", filterRules("DROP", "-A INPUT -d 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT"),
			brief{Verdict: Open, Rule: "-A INPUT -d 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT"}},
		{"sources at one address", filterRules("DROP", "-A INPUT -s 198.51.100.0/24 -d 192.0.2.11/32 -p tcp --dport 22 -j ACCEPT"),
			brief{Verdict: Restricted, Sources: "198.51.100.0/24", Rule: "-A INPUT -s 198.51.100.0/24 -d 192.0.2.11/32 -p tcp --dport 22 -j ACCEPT", Dsts: "192.0.2.11/32"}},
		{"a drop at one address", filterRules("ACCEPT", "-A INPUT -d 192.0.2.11/32 -p tcp --dport 22 -j DROP"),
			brief{Verdict: Restricted, Rule: "-P INPUT ACCEPT", Dsts: "192.0.2.10/32"}},
		{"blocked at both", filterRules("DROP"), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evalText(t, tt.rules, host, tcp(22)); got != tt.want {
				t.Errorf("(-want +got):\n- %+v\n+ %+v", tt.want, got)
			}
		})
	}
}

func TestEvaluateMatches(t *testing.T) {
	const acc22 = "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"
	tests := []struct {
		name  string
		rules string
		q     Query
		want  brief
	}{
		{"policy drop blocks", filterRules("DROP"), tcp(22), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"policy accept opens", filterRules("ACCEPT"), tcp(22), brief{Verdict: Open, Rule: "-P INPUT ACCEPT"}},
		{"dport accept", filterRules("DROP", acc22), tcp(22), brief{Verdict: Open, Rule: acc22}},
		{"dport other port", filterRules("DROP", acc22), tcp(23), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"dport wrong protocol", filterRules("DROP", acc22), udp(22), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"protocol number", filterRules("DROP", "-A INPUT -p 6 --dport 22 -j ACCEPT"), tcp(22), brief{Verdict: Open, Rule: "-A INPUT -p 6 --dport 22 -j ACCEPT"}},
		{"negated protocol", filterRules("DROP", "-A INPUT ! -p udp -j ACCEPT"), tcp(9), brief{Verdict: Open, Rule: "-A INPUT ! -p udp -j ACCEPT"}},
		{"negated protocol other", filterRules("DROP", "-A INPUT ! -p udp -j ACCEPT"), udp(9), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"port range", filterRules("DROP", "-A INPUT -p tcp --dport 1000:2000 -j ACCEPT"), tcp(1500), brief{Verdict: Open, Rule: "-A INPUT -p tcp --dport 1000:2000 -j ACCEPT"}},
		{"negated port", filterRules("ACCEPT", "-A INPUT -p tcp ! --dport 22 -j DROP"), tcp(22), brief{Verdict: Open, Rule: "-P INPUT ACCEPT"}},
		{"negated port other", filterRules("ACCEPT", "-A INPUT -p tcp ! --dport 22 -j DROP"), tcp(80), brief{Verdict: Blocked, Rule: "-A INPUT -p tcp ! --dport 22 -j DROP"}},
		{"multiport list and range", filterRules("DROP", "-A INPUT -p tcp -m multiport --dports 80,443,8000:8100 -j ACCEPT"), tcp(8080), brief{Verdict: Open, Rule: "-A INPUT -p tcp -m multiport --dports 80,443,8000:8100 -j ACCEPT"}},
		{"multiport negated", filterRules("DROP", "-A INPUT -p tcp -m multiport ! --dports 80,443 -j ACCEPT"), tcp(443), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"multiport ports either side", filterRules("DROP", "-A INPUT -p udp -m multiport --ports 53 -j ACCEPT"), udp(9999), brief{Verdict: Open, Rule: "-A INPUT -p udp -m multiport --ports 53 -j ACCEPT"}},
		{"source port opens every port", filterRules("DROP", "-A INPUT -p tcp -m tcp --sport 53 -j ACCEPT"), tcp(3306), brief{Verdict: Open, Rule: "-A INPUT -p tcp -m tcp --sport 53 -j ACCEPT"}},
		{"multiport source ports", filterRules("DROP", "-A INPUT -p tcp -m multiport --sports 137,138 -j ACCEPT"), tcp(1), brief{Verdict: Open, Rule: "-A INPUT -p tcp -m multiport --sports 137,138 -j ACCEPT"}},
		{"source restricted", filterRules("DROP", "-A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT", "-A INPUT -s 192.0.2.7 -j ACCEPT"), tcp(22),
			brief{Verdict: Restricted, Sources: "10.0.0.0/8 192.0.2.7/32", Rule: "-A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT"}},
		{"negated source open with except", filterRules("DROP", "-A INPUT ! -s 10.0.0.0/8 -j ACCEPT"), tcp(22),
			brief{Verdict: Open, Except: "10.0.0.0/8", Rule: "-A INPUT ! -s 10.0.0.0/8 -j ACCEPT"}},
		{"blocklist then accept", filterRules("DROP", "-A INPUT -s 192.0.2.1/32 -j DROP", "-A INPUT -s 198.51.100.0/24 -j REJECT", acc22), tcp(22),
			brief{Verdict: Open, Except: "192.0.2.1/32 198.51.100.0/24", Rule: acc22}},
		{"iprange source", filterRules("DROP", "-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.6 -j ACCEPT"), tcp(22),
			brief{Verdict: Restricted, Sources: "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32", Rule: "-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.6 -j ACCEPT"}},
		{"iprange negated", filterRules("ACCEPT", "-A INPUT -m iprange ! --src-range 0.0.0.0-127.255.255.255 -j DROP"), tcp(22),
			brief{Verdict: Restricted, Sources: "0.0.0.0/1", Rule: "-P INPUT ACCEPT"}},
		{"output interface never set on input", filterRules("DROP", "-A INPUT -o eth0 -j ACCEPT"), tcp(22), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"negated output interface always true", filterRules("DROP", "-A INPUT ! -o eth0 -j ACCEPT"), tcp(22), brief{Verdict: Open, Rule: "-A INPUT ! -o eth0 -j ACCEPT"}},
		{"input interface restricts", filterRules("DROP", "-A INPUT -i eth1 -p tcp --dport 22 -j ACCEPT"), tcp(22),
			brief{Verdict: Restricted, Interfaces: "eth1", Rule: "-A INPUT -i eth1 -p tcp --dport 22 -j ACCEPT"}},
		{"interface wildcard", filterRules("DROP", "-A INPUT -i wg+ -j ACCEPT"), tcp(22),
			brief{Verdict: Restricted, Interfaces: "wg0", Rule: "-A INPUT -i wg+ -j ACCEPT"}},
		{"negated interface reaches the outside", filterRules("DROP", "-A INPUT ! -i eth1 -j ACCEPT"), tcp(22),
			brief{Verdict: Open, Rule: "-A INPUT ! -i eth1 -j ACCEPT"}},
		{"loopback only", filterRules("DROP", "-A INPUT -i lo -j ACCEPT"), tcp(22), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"state NEW", filterRules("DROP", "-A INPUT -p tcp -m state --state NEW --dport 22 -j ACCEPT"), tcp(22), brief{Verdict: Open, Rule: "-A INPUT -p tcp -m state --state NEW --dport 22 -j ACCEPT"}},
		{"established only", filterRules("DROP", "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"), tcp(22), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"invalid drop does not hit new", filterRules("DROP", "-A INPUT -m conntrack --ctstate INVALID -j DROP", acc22), tcp(22), brief{Verdict: Open, Rule: acc22}},
		{"negated state", filterRules("DROP", "-A INPUT -m conntrack ! --ctstate NEW -j DROP", "-A INPUT -j ACCEPT"), tcp(22), brief{Verdict: Open, Rule: "-A INPUT -j ACCEPT"}},
		{"untracked and dnat states", filterRules("DROP", "-A INPUT -m conntrack --ctstate UNTRACKED,DNAT -j ACCEPT"), tcp(22), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"syn", filterRules("DROP", "-A INPUT -p tcp --syn -j ACCEPT"), tcp(22), brief{Verdict: Open, Rule: "-A INPUT -p tcp --syn -j ACCEPT"}},
		{"not syn drop", filterRules("DROP", "-A INPUT -p tcp ! --syn -j DROP", acc22), tcp(22), brief{Verdict: Open, Rule: acc22}},
		{"tcp flags ack only", filterRules("DROP", "-A INPUT -p tcp --tcp-flags SYN,ACK ACK -j ACCEPT"), tcp(22), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"tcp flags on udp", filterRules("DROP", "-A INPUT -p tcp --tcp-flags SYN SYN -j ACCEPT"), udp(22), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"icmp rule ignores tcp", filterRules("DROP", "-A INPUT -p icmp --icmp-type echo-request -j ACCEPT"), tcp(22), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"comment", filterRules("DROP", `-A INPUT -p tcp --dport 22 -m comment --comment "ssh \"admin\"" -j ACCEPT`), tcp(22),
			brief{Verdict: Open, Rule: `-A INPUT -p tcp --dport 22 -m comment --comment "ssh \"admin\"" -j ACCEPT`}},
		{"addrtype local", filterRules("DROP", "-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT"), tcp(22), brief{Verdict: Open, Rule: "-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT"}},
		{"addrtype broadcast", filterRules("DROP", "-A INPUT -m addrtype --dst-type BROADCAST,MULTICAST -j ACCEPT"), tcp(22), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"addrtype negated local", filterRules("ACCEPT", "-A INPUT -m addrtype ! --dst-type LOCAL -j DROP"), tcp(22), brief{Verdict: Open, Rule: "-P INPUT ACCEPT"}},
		{"addrtype source local", filterRules("DROP", "-A INPUT -m addrtype --src-type LOCAL -j ACCEPT"), tcp(22),
			brief{Verdict: Restricted, Sources: "127.0.0.0/8", Rule: "-A INPUT -m addrtype --src-type LOCAL -j ACCEPT"}},
		{"pkttype unicast", filterRules("DROP", "-A INPUT -m pkttype --pkt-type unicast -j ACCEPT"), tcp(22), brief{Verdict: Open, Rule: "-A INPUT -m pkttype --pkt-type unicast -j ACCEPT"}},
		{"fragment never first packet", filterRules("DROP", "-A INPUT -f -j ACCEPT"), tcp(22), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"not fragment", filterRules("DROP", "-A INPUT ! -f -j ACCEPT"), tcp(22), brief{Verdict: Open, Rule: "-A INPUT ! -f -j ACCEPT"}},
		{"specific bind matches -d", filterRules("DROP", "-A INPUT -d 192.0.2.10/32 -p tcp --dport 22 -j ACCEPT"),
			Query{Proto: "tcp", Addr: netip.MustParseAddr("192.0.2.10"), Port: 22}, brief{Verdict: Open, Rule: "-A INPUT -d 192.0.2.10/32 -p tcp --dport 22 -j ACCEPT"}},
		{"specific bind other -d", filterRules("DROP", "-A INPUT -d 192.0.2.10/32 -p tcp --dport 22 -j ACCEPT"),
			Query{Proto: "tcp", Addr: netip.MustParseAddr("192.0.2.11"), Port: 22}, brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		// reached only at the -d address: a suggestion that left the
		// match out would open it at every address of the host
		{"wildcard bind reachable at a -d address", filterRules("DROP", "-A INPUT -d 192.0.2.10/32 -p tcp --dport 22 -j ACCEPT"), tcp(22),
			brief{Verdict: Restricted, Rule: "-A INPUT -d 192.0.2.10/32 -p tcp --dport 22 -j ACCEPT", Dsts: "192.0.2.10/32"}},
		{"wildcard bind reachable at a -d range", filterRules("DROP", "-A INPUT -s 192.0.2.0/24 -d 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT"), tcp(22),
			brief{Verdict: Restricted, Sources: "192.0.2.0/24", Rule: "-A INPUT -s 192.0.2.0/24 -d 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT", Dsts: "10.0.0.0/8"}},
		{"loopback bind", filterRules("DROP"), Query{Proto: "tcp", Addr: netip.MustParseAddr("127.0.0.1"), Port: 22}, brief{Verdict: NotApplicable, Reasons: "route_localnet not read: assuming the kernel's default (0), which drops a packet for 127.0.0.0/8 from outside interfaces"}},
		{"v6 bind on v4 evaluator", filterRules("DROP"), Query{Proto: "tcp", Addr: netip.MustParseAddr("2001:db8::1"), Port: 22}, brief{Verdict: NotApplicable}},
		{"unknown protocol query", filterRules("DROP"), Query{Proto: "bogus", Port: 1}, brief{Verdict: Unknown, Reasons: `unknown protocol "bogus"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := evalText(t, tt.rules, Host{}, tt.q)
			if tt.want != got {
				t.Errorf("(-want +got):\n- %+v\n+ %+v", tt.want, got)
			}
		})
	}
}

func TestEvaluateRuntimeMatches(t *testing.T) {
	const acc22 = "-A INPUT -p tcp --dport 22 -j ACCEPT"
	tests := []struct {
		name  string
		rules string
		q     Query
		want  brief
	}{
		{"recent drop makes it conditional", filterRules("DROP", "-A INPUT -p tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --name SSH -j DROP", acc22), tcp(22),
			brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: "-m recent", Rule: acc22}},
		{"recent set always matches", filterRules("DROP", "-A INPUT -p tcp --dport 22 -m recent --set --name SSH -j ACCEPT"), tcp(22),
			brief{Verdict: Open, Rule: "-A INPUT -p tcp --dport 22 -m recent --set --name SSH -j ACCEPT"}},
		{"runtime match on another port does not matter", filterRules("DROP", "-A INPUT -p tcp --dport 23 -m recent --rcheck -j DROP", acc22), tcp(22),
			brief{Verdict: Open, Rule: acc22}},
		{"limited LOG does not taint", filterRules("DROP", "-A INPUT -m limit --limit 3/min -j LOG --log-prefix \"x \"", acc22), tcp(22),
			brief{Verdict: Open, Rule: acc22}},
		// open either way; the rule named is the one that accepts whatever
		// the rate, not the one that may
		{"limited accept then accept", filterRules("DROP", "-A INPUT -p tcp --dport 22 -m limit --limit 3/min -j ACCEPT", acc22), tcp(22),
			brief{Verdict: Open, Rule: acc22}},
		{"limited accept then policy drop", filterRules("DROP", "-A INPUT -p tcp --dport 22 -m limit --limit 3/min -j ACCEPT"), tcp(22),
			brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: "-m limit", Rule: "-A INPUT -p tcp --dport 22 -m limit --limit 3/min -j ACCEPT"}},
		{"limited jump to a returning chain", filterRules("DROP", "-A INPUT -m limit --limit 1/s -j LOGGING", acc22, "-A LOGGING -j LOG"), tcp(22),
			brief{Verdict: Open, Rule: acc22}},
		{"ipset blocks some sources", filterRules("DROP", "-A INPUT -s 10.0.0.0/8 -m set --match-set bad src -j DROP", acc22), tcp(22),
			brief{Verdict: Open, Except: "10.0.0.0/8", Doubtful: "10.0.0.0/8", Reasons: "-m set", Rule: acc22}},
		// the certain part decides the word: restricted to the fixed
		// source, everyone else in doubt (a knock list)
		{"recent list beside a fixed source", filterRules("DROP", "-A INPUT -s 192.0.2.10/32 -p tcp --dport 22 -j ACCEPT", "-A INPUT -p tcp --dport 22 -m recent --rcheck --name knock -j ACCEPT"), tcp(22),
			brief{Verdict: Restricted, Sources: "192.0.2.10/32", Doubtful: "0.0.0.0/1 128.0.0.0/2 192.0.0.0/23 192.0.2.0/29 192.0.2.8/31 192.0.2.11/32 192.0.2.12/30 192.0.2.16/28 192.0.2.32/27 192.0.2.64/26 192.0.2.128/25 192.0.3.0/24 192.0.4.0/22 192.0.8.0/21 192.0.16.0/20 192.0.32.0/19 192.0.64.0/18 192.0.128.0/17 192.1.0.0/16 192.2.0.0/15 192.4.0.0/14 192.8.0.0/13 192.16.0.0/12 192.32.0.0/11 192.64.0.0/10 192.128.0.0/9 193.0.0.0/8 194.0.0.0/7 196.0.0.0/6 200.0.0.0/5 208.0.0.0/4 224.0.0.0/3",
				Reasons: "-m recent", Rule: "-A INPUT -s 192.0.2.10/32 -p tcp --dport 22 -j ACCEPT"}},
		// a rate limit on part of the sources of an accept that follows:
		// those sources are in doubt, the rest certainly open
		{"limit drop for some sources", filterRules("DROP", "-A INPUT -s 10.49.0.0/16 -p tcp --dport 22 -m limit --limit 1/s -j DROP", acc22), tcp(22),
			brief{Verdict: Open, Except: "10.49.0.0/16", Doubtful: "10.49.0.0/16", Reasons: "-m limit", Rule: acc22}},
		// a drop of replies to part of the sources, by the socket's owner
		{"owner match on the reply path", filterRules("DROP", acc22, "-A OUTPUT -d 10.49.0.0/16 -m owner --gid-owner 15000 -j DROP"), tcp(22),
			brief{Verdict: Open, Except: "10.49.0.0/16", Doubtful: "10.49.0.0/16", Reasons: "-m owner", Rule: acc22}},
		{"mac match", filterRules("DROP", "-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT"), tcp(22),
			brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: "-m mac", Rule: "-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT"}},
		{"unknown option", filterRules("DROP", "-A INPUT -p tcp -m tcp --dport 22 --frobnicate -j ACCEPT"), tcp(22),
			brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: `unknown option "--frobnicate"`, Rule: "-A INPUT -p tcp -m tcp --dport 22 --frobnicate -j ACCEPT"}},
		{"unknown module", filterRules("ACCEPT", "-A INPUT -m geoip --src-cc CN -j DROP"), tcp(22),
			brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: "-m geoip", Rule: "-P INPUT ACCEPT"}},
		{"nfqueue", filterRules("DROP", "-A INPUT -p tcp --dport 22 -j NFQUEUE --queue-num 1"), tcp(22),
			brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: "-j NFQUEUE", Rule: "-A INPUT -p tcp --dport 22 -j NFQUEUE --queue-num 1"}},
		{"conditional only for some sources", filterRules("DROP", "-A INPUT -s 10.0.0.0/8 -m limit --limit 1/s -j ACCEPT"), tcp(22),
			brief{Verdict: Conditional, Sources: "10.0.0.0/8", Reasons: "-m limit", Rule: "-A INPUT -s 10.0.0.0/8 -m limit --limit 1/s -j ACCEPT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := evalText(t, tt.rules, Host{}, tt.q)
			if tt.want != got {
				t.Errorf("(-want +got):\n- %+v\n+ %+v", tt.want, got)
			}
		})
	}
}

func TestEvaluateChains(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		want  brief
	}{
		{"jump and accept", filterRules("DROP", "-A INPUT -j USER", "-A USER -p tcp --dport 22 -j ACCEPT"),
			brief{Verdict: Open, Rule: "-A USER -p tcp --dport 22 -j ACCEPT"}},
		{"end of user chain returns", filterRules("DROP", "-A INPUT -j USER", "-A INPUT -j ACCEPT", "-A USER -p udp -j DROP"),
			brief{Verdict: Open, Rule: "-A INPUT -j ACCEPT"}},
		{"RETURN skips the rest of the user chain", filterRules("DROP", "-A INPUT -j USER", "-A INPUT -j ACCEPT", "-A USER -p tcp -j RETURN", "-A USER -j DROP"),
			brief{Verdict: Open, Rule: "-A INPUT -j ACCEPT"}},
		{"RETURN in a built-in chain applies the policy", filterRules("DROP", "-A INPUT -p tcp -j RETURN", "-A INPUT -j ACCEPT"),
			brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"drop in a user chain", filterRules("ACCEPT", "-A INPUT -j USER", "-A USER -p tcp --dport 22 -j DROP"),
			brief{Verdict: Blocked, Rule: "-A USER -p tcp --dport 22 -j DROP"}},
		{"goto: RETURN goes to the caller of the caller", filterRules("DROP",
			"-A INPUT -j A", "-A INPUT -j ACCEPT",
			"-A A -g B", "-A A -j DROP",
			"-A B -j RETURN"),
			brief{Verdict: Open, Rule: "-A INPUT -j ACCEPT"}},
		{"jump: RETURN continues in the caller", filterRules("DROP",
			"-A INPUT -j A", "-A INPUT -j ACCEPT",
			"-A A -j B", "-A A -j DROP",
			"-A B -j RETURN"),
			brief{Verdict: Blocked, Rule: "-A A -j DROP"}},
		{"goto from a built-in chain: return applies the policy", filterRules("DROP", "-A INPUT -g B", "-A INPUT -j ACCEPT", "-A B -j RETURN"),
			brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"non-terminating targets pass", filterRules("DROP", "-A INPUT -j LOG", "-A INPUT -j MARK --set-mark 1", "-A INPUT -j NFLOG", "-A INPUT -j CONNMARK --save-mark", "-A INPUT", "-A INPUT -j ACCEPT"),
			brief{Verdict: Open, Rule: "-A INPUT -j ACCEPT"}},
		{"reject", filterRules("ACCEPT", "-A INPUT -p tcp -j REJECT --reject-with tcp-reset"),
			brief{Verdict: Blocked, Rule: "-A INPUT -p tcp -j REJECT --reject-with tcp-reset"}},
		{"first match wins", filterRules("ACCEPT", "-A INPUT -s 10.0.0.0/8 -j ACCEPT", "-A INPUT -s 10.0.0.0/7 -j DROP"),
			brief{Verdict: Open, Except: "11.0.0.0/8", Rule: "-P INPUT ACCEPT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := evalText(t, tt.rules, Host{}, tcp(22))
			if tt.want != got {
				t.Errorf("(-want +got):\n- %+v\n+ %+v", tt.want, got)
			}
		})
	}
}

func TestEvaluateTables(t *testing.T) {
	filterOpen := filterRules("DROP", "-A INPUT -p tcp --dport 22 -j ACCEPT", "-A INPUT -p tcp --dport 8080 -j ACCEPT")
	tests := []struct {
		name  string
		rules string
		q     Query
		want  brief
	}{
		{"raw ACCEPT ends only raw", "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -j ACCEPT\nCOMMIT\n" + filterRules("DROP"), tcp(22),
			brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"raw DROP", "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 22 -j DROP\nCOMMIT\n" + filterOpen, tcp(22),
			brief{Verdict: Blocked, Rule: "-A PREROUTING -p tcp --dport 22 -j DROP"}},
		{"mangle PREROUTING DROP", "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -s 10.0.0.0/8 -j DROP\nCOMMIT\n" + filterOpen, tcp(22),
			brief{Verdict: Open, Except: "10.0.0.0/8", Rule: "-A INPUT -p tcp --dport 22 -j ACCEPT"}},
		{"mangle INPUT DROP", "*mangle\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n" + filterOpen, tcp(22),
			brief{Verdict: Blocked, Rule: "-A INPUT -p tcp --dport 22 -j DROP"}},
		{"security INPUT DROP", filterOpen + "*security\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n", tcp(22),
			brief{Verdict: Blocked, Rule: "-A INPUT -p tcp --dport 22 -j DROP"}},
		{"REDIRECT to the same port", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 22 -j REDIRECT\nCOMMIT\n" + filterOpen, tcp(22),
			brief{Verdict: Open, Rule: "-A INPUT -p tcp --dport 22 -j ACCEPT"}},
		{"REDIRECT away from the port", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 22 -j REDIRECT --to-ports 8080\nCOMMIT\n" + filterOpen, tcp(22),
			brief{Verdict: Blocked, Rule: "-A PREROUTING -p tcp --dport 22 -j REDIRECT --to-ports 8080"}},
		// a REDIRECT into the port is followed from the port it names:
		// INPUT sees the packet with its new port (iptables-extensions(8))
		{"REDIRECT into the port, INPUT drops it", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 3000\nCOMMIT\n" + filterRules("DROP"), tcp(3000),
			brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"REDIRECT into the port, INPUT accepts DNAT", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -s 192.0.2.0/24 -p tcp --dport 80 -j REDIRECT --to-ports 3000\nCOMMIT\n" +
			filterRules("DROP", "-A INPUT -m conntrack --ctstate DNAT -j ACCEPT"), tcp(3000),
			brief{Verdict: Restricted, Sources: "192.0.2.0/24", Rule: "-A INPUT -m conntrack --ctstate DNAT -j ACCEPT"}},
		{"REDIRECT into the port, INPUT sees the new port", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 3000\nCOMMIT\n" +
			filterRules("DROP", "-A INPUT -p tcp --dport 80 -j ACCEPT", "-A INPUT -s 198.51.100.0/24 -p tcp --dport 3000 -j ACCEPT"), tcp(3000),
			brief{Verdict: Restricted, Sources: "198.51.100.0/24", Rule: "-A INPUT -s 198.51.100.0/24 -p tcp --dport 3000 -j ACCEPT"}},
		{"REDIRECT from a range into the port is flagged", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j REDIRECT --to-ports 3000\nCOMMIT\n" + filterRules("DROP"), tcp(3000),
			brief{Verdict: Conditional, Reasons: "nat REDIRECT to port 3000 from other ports not evaluated: -A PREROUTING -p tcp -j REDIRECT --to-ports 3000", Rule: "-P INPUT DROP"}},
		{"DNAT to another host", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 22 -j DNAT --to-destination 10.1.1.1:22\nCOMMIT\n" + filterOpen, tcp(22),
			brief{Verdict: Blocked, Rule: "-P FORWARD DROP"}},
		// Docker's published ports: the DNAT sends the connection through
		// FORWARD, whose rules (not INPUT's) decide who gets in.
		{"published port, FORWARD accepts it", "*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\nCOMMIT\n" +
			"*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:DOCKER - [0:0]\n-A FORWARD -o docker0 -j DOCKER\n-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n", tcp(8080),
			brief{Verdict: Open, Rule: "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT"}},
		{"published port, DOCKER-USER restricts it", "*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\nCOMMIT\n" +
			"*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A FORWARD -o docker0 -j DOCKER\n-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n" +
			"-A DOCKER-USER ! -s 192.0.2.0/24 -j DROP\n-A DOCKER-USER -j RETURN\nCOMMIT\n", tcp(8080),
			brief{Verdict: Restricted, Sources: "192.0.2.0/24", Rule: "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT"}},
		{"published port, but INPUT's accept does not apply", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\nCOMMIT\n" +
			"*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n-A INPUT -p tcp --dport 8080 -j ACCEPT\nCOMMIT\n", tcp(8080),
			brief{Verdict: Blocked, Rule: "-P FORWARD DROP"}},
		{"nat ACCEPT keeps the packet", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j ACCEPT\n-A PREROUTING -p tcp -j DNAT --to-destination 10.1.1.1\nCOMMIT\n" + filterOpen, tcp(22),
			brief{Verdict: Open, Rule: "-A INPUT -p tcp --dport 22 -j ACCEPT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := evalText(t, tt.rules, Host{}, tt.q)
			if tt.want != got {
				t.Errorf("(-want +got):\n- %+v\n+ %+v", tt.want, got)
			}
		})
	}
}

func TestEvaluateHostAndBackends(t *testing.T) {
	t.Run("host interfaces", func(t *testing.T) {
		rules := filterRules("DROP", "-A INPUT -i eth1 -p tcp --dport 22 -j ACCEPT")
		got := evalText(t, rules, Host{Interfaces: []string{"eth0", "eth1", "lo"}}, tcp(22))
		want := brief{Verdict: Restricted, Interfaces: "eth1", Rule: "-A INPUT -i eth1 -p tcp --dport 22 -j ACCEPT"}
		if want != got {
			t.Errorf("(-want +got):\n- %+v\n+ %+v", want, got)
		}
	})
	t.Run("accepted on every host interface", func(t *testing.T) {
		rules := filterRules("DROP", "-A INPUT -i eth+ -p tcp --dport 22 -j ACCEPT")
		got := evalText(t, rules, Host{Interfaces: []string{"eth0", "eth1"}}, tcp(22))
		want := brief{Verdict: Open, Rule: "-A INPUT -i eth+ -p tcp --dport 22 -j ACCEPT"}
		if want != got {
			t.Errorf("(-want +got):\n- %+v\n+ %+v", want, got)
		}
	})
	t.Run("host addresses are LOCAL", func(t *testing.T) {
		rules := filterRules("DROP", "-A INPUT -m addrtype --dst-type LOCAL -d 192.0.2.5 -j ACCEPT")
		got := evalText(t, rules, Host{Interfaces: []string{"eth0"}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.5")}}, tcp(22))
		want := brief{Verdict: Open, Rule: "-A INPUT -m addrtype --dst-type LOCAL -d 192.0.2.5 -j ACCEPT"}
		if want != got {
			t.Errorf("(-want +got):\n- %+v\n+ %+v", want, got)
		}
	})
	t.Run("host with only loopback is judged on a generic interface", func(t *testing.T) {
		got := evalText(t, filterRules("DROP", "-A INPUT -p tcp --dport 22 -j ACCEPT"), Host{Interfaces: []string{"lo"}}, tcp(22))
		if got.Verdict != Open {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("host without an address of the family", func(t *testing.T) {
		rs := parseString(t, filterRules("DROP", "-A INPUT -p tcp --dport 22 -j ACCEPT"), IPv6)
		host := Host{Interfaces: []string{"eth0"}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}
		got := NewEvaluator(IPv6, []*Ruleset{rs}, host).Evaluate(Query{Proto: "tcp", Addr: netip.IPv6Unspecified(), Port: 22})
		if got.Verdict != Open {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("unseen nft table makes accepts conditional", func(t *testing.T) {
		host := Host{Unseen: []string{"native nftables table inet filter not evaluated"}}
		got := evalText(t, filterRules("ACCEPT"), host, tcp(22))
		want := brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: "native nftables table inet filter not evaluated", Rule: "-P INPUT ACCEPT"}
		if want != got {
			t.Errorf("(-want +got):\n- %+v\n+ %+v", want, got)
		}
		got = evalText(t, filterRules("DROP"), host, tcp(22))
		if got.Verdict != Blocked {
			t.Errorf("a drop stays blocked: got %+v", got)
		}
	})
	t.Run("legacy and nft both apply", func(t *testing.T) {
		legacy := parseString(t, filterRules("DROP", "-A INPUT -p tcp --dport 22 -j ACCEPT"), IPv4)
		nft := parseString(t, filterRules("ACCEPT", "-A INPUT -p tcp --dport 5432 -j ACCEPT"), IPv4)
		e := NewEvaluator(IPv4, []*Ruleset{legacy, nft}, Host{})
		got := []Verdict{e.Evaluate(tcp(22)).Verdict, e.Evaluate(tcp(5432)).Verdict}
		if want := []Verdict{Open, Blocked}; !reflect.DeepEqual(want, got) {
			t.Errorf("(-want +got):\n- %v\n+ %v", want, got)
		}
	})
	t.Run("no rulesets accept everything", func(t *testing.T) {
		e := NewEvaluator(IPv4, nil, Host{})
		if got := e.Evaluate(tcp(22)).Verdict; got != Open {
			t.Errorf("got %v", got)
		}
	})
	t.Run("ipv6", func(t *testing.T) {
		rs := parseString(t, filterRules("DROP", "-A INPUT -s 2001:db8::/32 -p tcp --dport 22 -j ACCEPT", "-A INPUT -p ipv6-icmp -j ACCEPT"), IPv6)
		got := briefOf(NewEvaluator(IPv6, []*Ruleset{rs}, Host{}).Evaluate(Query{Proto: "tcp", Addr: netip.IPv6Unspecified(), Port: 22}))
		want := brief{Verdict: Restricted, Sources: "2001:db8::/32", Rule: "-A INPUT -s 2001:db8::/32 -p tcp --dport 22 -j ACCEPT"}
		if want != got {
			t.Errorf("(-want +got):\n- %+v\n+ %+v", want, got)
		}
	})
}

// FuzzEvaluate asks random questions of real rulesets: the evaluator must
// answer every one with a verdict, and Decide must agree with Evaluate
// whenever both are determinate.
func FuzzEvaluate(f *testing.F) {
	f.Add("tcp", uint16(22), uint32(0xc0000207), "")
	f.Add("udp", uint16(53), uint32(0x0a000001), "eth0")
	f.Add("tcp", uint16(3306), uint32(0xbc5fe9c8), "lo")
	sets := []*Ruleset{}
	for _, name := range []string{"ufw-server2-diekmann.iptables-save", "gopherproxy-blocklist-diekmann.iptables-save", "parser-torture-diekmann.iptables-save", "firewalld-fedora27-counters.iptables-save"} {
		sets = append(sets, loadFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, proto string, port uint16, src uint32, iface string) {
		src4 := netip.AddrFrom4([4]byte{byte(src >> 24), byte(src >> 16), byte(src >> 8), byte(src)})
		for _, rs := range sets {
			e := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
			r := e.Evaluate(Query{Proto: proto, Addr: any4, Port: port})
			if r.Verdict == "" {
				t.Fatal("empty verdict")
			}
			d := e.Decide(Packet{Proto: proto, Src: src4, DPort: port, InIface: iface})
			if d.Verdict == "" {
				t.Fatal("empty decision")
			}
			if iface != "" || r.Verdict == Conditional || r.Verdict == Unknown || d.Verdict == DecideConditional || len(r.Interfaces) > 0 {
				continue
			}
			in := false
			switch r.Verdict {
			case Open:
				in = true
				for _, p := range r.Except {
					in = in && !p.Contains(src4)
				}
			case Restricted:
				in = len(r.Sources) == 0
				for _, p := range r.Sources {
					in = in || p.Contains(src4)
				}
			}
			if in != (d.Verdict == DecideAccept) {
				t.Fatalf("%s %s/%d from %s: Evaluate %s %v, Decide %s", rs.Source, proto, port, src4, r.Verdict, r.Sources, d.Verdict)
			}
		}
	})
}

func TestEvaluateKernelPaths(t *testing.T) {
	notrack := "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
		"-A PREROUTING -p udp -m udp --dport 53 -j CT --notrack\n-A PREROUTING -p tcp --dport 8053 -j NOTRACK\nCOMMIT\n" +
		filterRules("DROP",
			"-A INPUT -p udp --dport 53 -m conntrack --ctstate NEW -j ACCEPT",
			"-A INPUT -p tcp --dport 8053 -m conntrack --ctstate UNTRACKED -j ACCEPT")
	outputDrop := "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n" +
		"-A OUTPUT -o lo -j ACCEPT\n-A OUTPUT -p tcp --sport 22 -j ACCEPT\nCOMMIT\n"
	dnatLo := "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i veth0 -p tcp --dport 6379 -j DNAT --to-destination 127.0.0.1:6379\n" +
		"-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 127.0.0.1:9090\nCOMMIT\n" +
		filterRules("DROP", "-A INPUT -d 127.0.0.1/32 -p tcp --dport 6379 -j ACCEPT", "-A INPUT -p tcp --dport 9090 -j ACCEPT")
	lo := func(port uint16) Query {
		return Query{Proto: "tcp", Addr: netip.MustParseAddr("127.0.0.1"), Port: port}
	}
	tests := []struct {
		name  string
		rules string
		q     Query
		want  brief
	}{
		{"notrack: NEW accept does not see untracked packets", notrack, udp(53), brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"notrack: UNTRACKED accept does", notrack, tcp(8053), brief{Verdict: Open, Rule: "-A INPUT -p tcp --dport 8053 -m conntrack --ctstate UNTRACKED -j ACCEPT"}},
		{"output drop: the SYN-ACK cannot leave", outputDrop, tcp(80), brief{Verdict: Blocked, Rule: "-P OUTPUT DROP"}},
		{"output drop: replies from 22 allowed", outputDrop, tcp(22), brief{Verdict: Open, Rule: "-P INPUT ACCEPT"}},
		{"output drop does not judge udp delivery", outputDrop, udp(53), brief{Verdict: Open, Rule: "-P INPUT ACCEPT"}},
		{"DNAT to a loopback-bound socket", dnatLo, lo(6379), brief{Verdict: Restricted, Interfaces: "veth0", Rule: "-A INPUT -d 127.0.0.1/32 -p tcp --dport 6379 -j ACCEPT"}},
		{"DNAT from another port to loopback", dnatLo, lo(9090), brief{Verdict: Open, Rule: "-A INPUT -p tcp --dport 9090 -j ACCEPT"}},
		{"loopback socket nobody DNATs to", dnatLo, lo(11211), brief{Verdict: NotApplicable, Reasons: "route_localnet not read: assuming the kernel's default (0), which drops a packet for 127.0.0.0/8 from outside interfaces"}},
		{"ipv6 routing header match never holds", "", tcp(0), brief{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rules == "" {
				rs := parseString(t, filterRules("DROP", "-A INPUT -m rt --rt-type 0 -j DROP", "-A INPUT -p tcp --dport 80 -j ACCEPT"), IPv6)
				got := NewEvaluator(IPv6, []*Ruleset{rs}, Host{}).Evaluate(Query{Proto: "tcp", Addr: netip.IPv6Unspecified(), Port: 80})
				if got.Verdict != Open {
					t.Errorf("got %+v", got)
				}
				return
			}
			got := evalText(t, tt.rules, Host{}, tt.q)
			if tt.want != got {
				t.Errorf("(-want +got):\n- %+v\n+ %+v", tt.want, got)
			}
		})
	}
}

func TestDecideKernelPaths(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		name, rules string
		p           Packet
		want        string
	}{
		{"notrack", "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p udp --dport 53 -j CT --notrack\nCOMMIT\n" +
			filterRules("DROP", "-A INPUT -p udp --dport 53 -m conntrack --ctstate NEW -j ACCEPT"), Packet{Proto: "udp", DPort: 53}, "drop"},
		{"output drop", "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT DROP [0:0]\nCOMMIT\n", Packet{Proto: "tcp", DPort: 80}, "drop"},
		{"dnat to loopback", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 6379 -j DNAT --to-destination 127.0.0.1:6379\nCOMMIT\n" +
			filterRules("DROP", "-A INPUT -d 127.0.0.1/32 -p tcp --dport 6379 -j ACCEPT"), Packet{Proto: "tcp", Dst: ip("192.0.2.1"), DPort: 6379}, "accept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := parseString(t, tt.rules, IPv4)
			d := NewEvaluator(IPv4, []*Ruleset{rs}, Host{}).Decide(tt.p)
			if d.Verdict != tt.want {
				t.Errorf("want %s, got %s (%s)", tt.want, d.Verdict, d.Rule)
			}
		})
	}
	t.Run("unseen nft table", func(t *testing.T) {
		rs := parseString(t, filterRules("ACCEPT"), IPv4)
		d := NewEvaluator(IPv4, []*Ruleset{rs}, Host{Unseen: []string{"native nftables table inet guard not evaluated"}}).Decide(Packet{Proto: "tcp", DPort: 22})
		if d.Verdict != DecideConditional || len(d.Reasons) != 1 {
			t.Errorf("got %+v", d)
		}
	})
}

// TestEvaluateDoubtNft: nft runtime matches (a rate limit, a conntrack
// mark) on part of the sources put only those in doubt; a match that
// covers every source leaves nothing certain (conditional).
func TestEvaluateDoubtNft(t *testing.T) {
	const head = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n"
	tests := []struct {
		name, rules string
		want        brief
	}{
		{"limit on part of the sources", "\t\tip saddr 10.49.0.0/16 limit rate over 10/second drop\n\t\ttcp dport 22 accept\n",
			brief{Verdict: Open, Except: "10.49.0.0/16", Doubtful: "10.49.0.0/16", Reasons: "nft limit limit rate over 10/second burst 5 packets"}},
		{"ct mark on part of the sources", "\t\tip saddr 10.49.0.0/16 ct mark 0x1 drop\n\t\ttcp dport 22 accept\n",
			brief{Verdict: Open, Except: "10.49.0.0/16", Doubtful: "10.49.0.0/16"}},
		{"limit on every source", "\t\ttcp dport 22 limit rate 10/second accept\n",
			brief{Verdict: Conditional, Sources: "0.0.0.0/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseNftText([]byte(head+tt.rules+"\t}\n}\n"), "test.nft", nil)
			if err != nil {
				t.Fatal(err)
			}
			got := briefOf(NewEvaluator(IPv4, []*Ruleset{n.Family(IPv4)}, Host{}).Evaluate(tcp(22)))
			got.Rule = ""
			if tt.want.Reasons == "" {
				got.Reasons = "" // the match's text as nft lists it
			}
			if tt.want != got {
				t.Errorf("(-want +got):\n- %+v\n+ %+v", tt.want, got)
			}
		})
	}
}

// TestEvaluateSourcePorts: a rule that tests the source port admits its
// sources from those ports only; the verdict names them, so that a
// suggestion keeps the restriction (the kernel test is the never-wider
// measurement of e2e/testdata/sport.rules and ufw's DHCP rule).
func TestEvaluateSourcePorts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []string
		q     Query
		want  string
	}{
		{"ufw dhcp reply", []string{"-A INPUT -p udp -m udp --sport 67 --dport 68 -j ACCEPT"}, udp(68), "[{67 67}]"},
		{"replies from any port", []string{"-A INPUT -p tcp -m tcp --sport 80 -j ACCEPT"}, tcp(8080), "[{80 80}]"},
		{"no source port test", []string{"-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"}, tcp(22), "[]"},
		{"sport makes no difference to this port", []string{"-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", "-A INPUT -p udp -m udp --sport 67 -j ACCEPT"}, tcp(22), "[]"},
		{"an anti-scan drop of port 0", []string{"-A INPUT -p tcp -m tcp --sport 0 -j DROP", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"}, tcp(22), "[{1 65535}]"},
		{"ephemeral only", []string{"-A INPUT -p tcp -m tcp --sport 1024:65535 --dport 22 -j ACCEPT"}, tcp(22), "[{1024 65535}]"},
		{"some sources from one port, all from another", []string{"-A INPUT -s 10.0.0.0/8 -p udp -m udp --dport 68 -j ACCEPT", "-A INPUT -p udp -m udp --sport 67 --dport 68 -j ACCEPT"}, udp(68), "[{67 67}]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := parseString(t, filterRules("DROP", tc.rules...), IPv4)
			got := NewEvaluator(IPv4, []*Ruleset{rs}, Host{}).Evaluate(tc.q)
			s := fmt.Sprint(got.SourcePorts)
			if s != tc.want {
				t.Errorf("SourcePorts = %s, want %s (verdict %v)", s, tc.want, got.Verdict)
			}
		})
	}
}

// TestEvaluateSocketOnly: a connection a port forward sends on to another
// host never reaches the local socket on that port (the kernel routes it
// out after PREROUTING's DNAT); asked for the socket alone, what FORWARD
// lets through does not count, and what reaches INPUT on other interfaces
// still does (the kernel test is the never-wider measurement of
// medium-company-nat and e2e/testdata/nft/dnat-forward.nft).
func TestEvaluateSocketOnly(t *testing.T) {
	nat := "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i ppp0 -p tcp -m tcp --dport 4081 -j DNAT --to-destination 172.16.2.34\nCOMMIT\n"
	for _, tc := range []struct {
		name         string
		filter       string
		port, socket brief
	}{
		{"FORWARD accepts, INPUT drops", filterRules("DROP", "-A FORWARD -d 172.16.2.34/32 -p tcp -m tcp --dport 4081 -j ACCEPT"),
			brief{Verdict: Restricted, Interfaces: "ppp0", Rule: "-A FORWARD -d 172.16.2.34/32 -p tcp -m tcp --dport 4081 -j ACCEPT"},
			brief{Verdict: Blocked, Rule: "-P INPUT DROP"}},
		{"FORWARD accepts, INPUT accepts on eth0", filterRules("DROP", "-A FORWARD -d 172.16.2.34/32 -p tcp -m tcp --dport 4081 -j ACCEPT",
			"-A INPUT -i eth0 -p tcp -m tcp --dport 4081 -j ACCEPT"),
			brief{Verdict: Open, Rule: "-A FORWARD -d 172.16.2.34/32 -p tcp -m tcp --dport 4081 -j ACCEPT"},
			brief{Verdict: Restricted, Interfaces: "eth0", Rule: "-A INPUT -i eth0 -p tcp -m tcp --dport 4081 -j ACCEPT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := parseString(t, nat+tc.filter, IPv4)
			host := Host{Interfaces: []string{"lo", "ppp0", "eth0"}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.0.0.1")}}
			e := NewEvaluator(IPv4, []*Ruleset{rs}, host)
			q := tcp(4081)
			if got := briefOf(e.Evaluate(q)); got != tc.port {
				t.Errorf("port:\n got %+v\nwant %+v", got, tc.port)
			}
			q.SocketOnly = true
			if got := briefOf(e.Evaluate(q)); got != tc.socket {
				t.Errorf("socket alone:\n got %+v\nwant %+v", got, tc.socket)
			}
		})
	}
}
