package firewall

import (
	"math/rand"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func issueStrings(is []Issue) []string {
	var out []string
	for _, i := range is {
		s := i.Kind + " " + strconv.Itoa(i.Rule.Line)
		if i.By != nil {
			s += " by " + strconv.Itoa(i.By.Line)
		}
		out = append(out, s)
	}
	return out
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		want  []string
	}{
		{"duplicate ignoring comments", filterRules("DROP",
			`-A INPUT -p tcp --dport 22 -m comment --comment "a" -j ACCEPT`,
			`-A INPUT -p tcp --dport 22 -j ACCEPT`),
			[]string{"duplicate 6 by 5", "shadowed 6 by 5"}},
		{"catch-all drop shadows later rules", filterRules("ACCEPT",
			"-A INPUT -j DROP",
			"-A INPUT -p tcp --dport 80 -j ACCEPT"),
			[]string{"shadowed 6 by 5"}},
		{"a wider earlier rule shadows", filterRules("DROP",
			"-A INPUT -s 10.0.0.0/8 -j ACCEPT",
			"-A INPUT -s 10.1.0.0/16 -p tcp --dport 22 -j ACCEPT"),
			[]string{"shadowed 6 by 5"}},
		// an ESTABLISHED UDP packet on eth1 from 10/8 gets past all three:
		// three dimensions at once, which no one- or two-at-a-time
		// variation finds (the kernel's counter on the last rule moves)
		{"three conditions at once reach the last rule", filterRules("DROP",
			"-A INPUT ! -i eth1 -j ACCEPT",
			"-A INPUT -m conntrack ! --ctstate ESTABLISHED -j ACCEPT",
			"-A INPUT ! -p udp -j ACCEPT",
			"-A INPUT -s 10.0.0.0/8 -j DROP"),
			nil},
		{"a narrower earlier rule does not", filterRules("DROP",
			"-A INPUT -s 10.1.0.0/16 -j ACCEPT",
			"-A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT"),
			nil},
		{"union of earlier rules shadows", filterRules("DROP",
			"-A INPUT -s 0.0.0.0/1 -j DROP",
			"-A INPUT -s 128.0.0.0/1 -j ACCEPT",
			"-A INPUT -p udp -j ACCEPT"),
			[]string{"shadowed 7 by 6"}},
		// a rule whose own match holds for several classes is reached by
		// the ones an earlier rule leaves: port 1001, ESTABLISHED, an eth
		// interface other than eth0 and eth1, port 2000
		{"a port range after one of its ports", filterRules("DROP",
			"-A INPUT -p tcp --dport 1000 -j DROP",
			"-A INPUT -p tcp --dport 1000:2000 -j ACCEPT"),
			nil},
		{"two states after one of them", filterRules("DROP",
			"-A INPUT -m conntrack --ctstate NEW -j DROP",
			"-A INPUT -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT"),
			nil},
		{"a wildcard after the interfaces it names", filterRules("DROP",
			"-A INPUT -i eth0 -j DROP",
			"-A INPUT -i eth1 -j ACCEPT",
			"-A INPUT -i eth+ -j ACCEPT"),
			nil},
		{"a port list after its first port", filterRules("DROP",
			"-A INPUT -p tcp --dport 1000 -j DROP",
			"-A INPUT -p tcp -m multiport --dports 1000,2000 -j ACCEPT"),
			nil},
		{"a port range after all of its ports", filterRules("DROP",
			"-A INPUT -p tcp --dport 1000 -j DROP",
			"-A INPUT -p tcp --dport 1001:2000 -j DROP",
			"-A INPUT -p tcp --dport 1000:2000 -j ACCEPT"),
			// named by the rule the first witness (port 1000) met
			[]string{"shadowed 7 by 5"}},
		{"different states are not shadowed", filterRules("DROP",
			"-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT",
			"-A INPUT -m conntrack --ctstate NEW -j ACCEPT",
			"-A INPUT -i eth0 -j DROP",
			"-A INPUT -p icmp --icmp-type 8 -j ACCEPT"),
			nil},
		{"rules after a chain that always drops", filterRules("DROP",
			"-A INPUT -j LOGGING",
			"-A INPUT -p tcp --dport 443 -j ACCEPT",
			"-A LOGGING -m limit --limit 2/min -j LOG",
			"-A LOGGING -j DROP"),
			[]string{"shadowed 7 by 6"}},
		{"runtime matches reach later rules", filterRules("DROP",
			"-A INPUT -m recent --rcheck -j DROP",
			"-A INPUT -p tcp --dport 443 -j ACCEPT"),
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := issueStrings(Analyze(parseString(t, tt.rules, IPv4)))
			if !reflect.DeepEqual(tt.want, got) {
				t.Errorf("(-want +got):\n- %v\n+ %v", tt.want, got)
			}
		})
	}
}

func TestAnalyzeRancher(t *testing.T) {
	rs := loadFixture(t, "rancher-docker-shadowed-diekmann.iptables-save")
	got := issueStrings(Analyze(rs))
	// line 55 repeats line 53 and sits after "-A INPUT -j LOGGING" (LOG + DROP)
	want := []string{"duplicate 55 by 53", "shadowed 55 by 53"}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("(-want +got):\n- %v\n+ %v", want, got)
	}
}

func TestPosture(t *testing.T) {
	type flags struct{ DefaultDeny, ForwardDeny, Loopback, Established bool }
	tests := []struct {
		name string
		file string
		want flags
	}{
		{"hardened by hand", "", flags{true, true, true, true}},
		{"ufw", "ufw-server2-diekmann.iptables-save", flags{true, true, true, true}},
		{"gopherproxy", "gopherproxy-blocklist-diekmann.iptables-save", flags{true, true, true, true}},
		{"mixed legacy", "GEN-mixed-backends.iptables-legacy-save", flags{true, false, true, true}},
		{"mixed nft: policy ACCEPT everywhere", "GEN-mixed-backends.iptables-nft-save", flags{false, false, false, true}},
		{"ugent: source-port accepts", "ugent-server-diekmann.iptables-save", flags{false, true, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rs *Ruleset
			if tt.file == "" {
				rs = parseString(t, filterRules("DROP",
					"-A INPUT -i lo -j ACCEPT",
					"-A INPUT -s 127.0.0.0/8 -j DROP",
					"-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
					"-A INPUT -p tcp --dport 22 -j ACCEPT"), IPv4)
			} else {
				rs = loadFixture(t, tt.file)
			}
			p := NewEvaluator(IPv4, []*Ruleset{rs}, Host{}).Posture()
			got := flags{p.DefaultDeny.Pass, p.ForwardDefaultDeny.Pass, p.Loopback.Pass, p.Established.Pass}
			if tt.want != got {
				t.Errorf("(-want +got):\n- %+v\n+ %+v\n%+v", tt.want, got, p)
			}
		})
	}
}

// TestAnalyzeBudget: with its walks cut short, the analysis reports only
// what the full analysis reports, plus one "unfinished" issue naming the
// rule where it stopped; with the budget it has, it finishes.
func TestAnalyzeBudget(t *testing.T) {
	defer func(w int) { AnalysisWork = w }(AnalysisWork)
	r := rand.New(rand.NewSource(11))
	cut, dropped := 0, 0
	for iter := 0; iter < 150; iter++ {
		rs := parseString(t, randomRuleset(r, 30), IPv4)
		AnalysisWork = 200_000_000
		full := issueStrings(Analyze(rs))
		for _, s := range full {
			if strings.HasPrefix(s, "unfinished") {
				t.Fatalf("a 30-rule ruleset ran out of budget: %v", full)
			}
		}
		AnalysisWork = 40 * 3 // a few walks of a chain of about 40 rules
		part := Analyze(rs)
		got := issueStrings(part)
		unfinished := 0
		for i, s := range got {
			if part[i].Kind == "unfinished" {
				unfinished++
				continue
			}
			if !slices.Contains(full, s) {
				t.Fatalf("cut short, the analysis reports %q, which the full one does not: %v", s, full)
			}
		}
		if unfinished > 1 {
			t.Fatalf("%d unfinished issues, want at most one: %v", unfinished, got)
		}
		if unfinished == 1 {
			cut++
			if len(got)-1 < len(full) {
				dropped++
			}
		}
	}
	if cut == 0 || dropped == 0 {
		t.Fatalf("the budget cut %d analyses short and lost a finding in %d: the test proves nothing", cut, dropped)
	}
}
