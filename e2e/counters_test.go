//go:build linux

package e2e

import (
	"strings"
	"testing"
)

// dump builds an iptables-save -c text from per-line counters.
func dump(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// TestDeciding checks the counter walk on captured before/after dumps; it
// needs no root.
func TestDeciding(t *testing.T) {
	base := []string{
		"*filter",
		":INPUT DROP [%p:0]",
		":FORWARD DROP [0:0]",
		":OUTPUT ACCEPT [%o:0]",
		":svc - [0:0]",
		":gone - [0:0]",
		"[%1:0] -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		"[%2:0] -A INPUT -p tcp -j svc",
		"[%3:0] -A INPUT -p udp -g gone",
		"[%4:0] -A INPUT -p udp -j ACCEPT",
		"[%5:0] -A INPUT -p tcp -m tcp --dport 3306 -j RETURN",
		"[%6:0] -A INPUT -m comment --comment \"say -j ACCEPT\" -j LOG",
		"[%7:0] -A INPUT -p tcp -j ACCEPT",
		"[%8:0] -A svc -s 192.0.2.3/32 -j REJECT --reject-with icmp-port-unreachable",
		"[%9:0] -A svc -j RETURN",
		"[%a:0] -A gone -p udp -m udp --dport 53 -j ACCEPT",
		"COMMIT",
	}
	render := func(counts string) string {
		// counts: "p o 1 2 3 4 5 6 7 8 9 a" as digits, in that order.
		keys := []string{"%p", "%o", "%1", "%2", "%3", "%4", "%5", "%6", "%7", "%8", "%9", "%a"}
		f := strings.Fields(counts)
		out := strings.Join(base, "\n")
		for i, k := range keys {
			out = strings.ReplaceAll(out, k, f[i])
		}
		return out
	}
	zero := render("0 0 0 0 0 0 0 0 0 0 0 0")
	for _, c := range []struct {
		name, after string
		verdict     string
		rule        string
		policy      bool
		err         string
	}{
		{"user chain rejects", render("0 0 0 1 0 0 0 0 0 1 0 0"), "drop", "-A svc -s 192.0.2.3/32 -j REJECT --reject-with icmp-port-unreachable", false, ""},
		{"user chain returns, log, accept", render("0 0 0 1 0 0 0 1 1 0 1 0"), "accept", "-A INPUT -p tcp -j ACCEPT", false, ""},
		{"RETURN in INPUT: policy", render("1 0 0 1 0 0 1 0 0 0 1 0"), "drop", "-P INPUT DROP", true, ""},
		{"goto accepts", render("0 0 0 0 1 0 0 0 0 0 0 1"), "accept", "-A gone -p udp -m udp --dport 53 -j ACCEPT", false, ""},
		{"goto falls off: INPUT policy, not the next rule", render("1 0 0 0 1 0 0 0 0 0 0 0"), "drop", "-P INPUT DROP", true, ""},
		{"output noise ignored", render("0 7 0 0 1 0 0 0 0 0 0 1"), "accept", "-A gone -p udp -m udp --dport 53 -j ACCEPT", false, ""},
		{"two packets", render("0 0 0 2 0 0 0 2 2 0 2 0"), "", "", false, "than the one probe explains"},
		{"policy never counted", render("0 0 0 1 0 0 1 0 0 0 1 0"), "", "", false, "policy but its counter moved by 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, err := ParseCounters(zero)
			if err != nil {
				t.Fatal(err)
			}
			after, err := ParseCounters(c.after)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Deciding(before, after)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Verdict != c.verdict || d.Rule != c.rule || d.Policy != c.policy {
				t.Errorf("got %s %q policy=%v, want %s %q policy=%v (path %q)", d.Verdict, d.Rule, d.Policy, c.verdict, c.rule, c.policy, d.Path)
			}
		})
	}

	t.Run("chain visited twice", func(t *testing.T) {
		b := dump("*filter", ":INPUT DROP [0:0]", ":c - [0:0]",
			"[0:0] -A INPUT -s 192.0.2.2/32 -j c", "[0:0] -A INPUT -p tcp -m tcp --dport 5432 -j c", "[0:0] -A INPUT -j ACCEPT",
			"[0:0] -A c -p tcp -m tcp --dport 3306 -j ACCEPT", "[0:0] -A c -j RETURN", "COMMIT")
		a := dump("*filter", ":INPUT DROP [0:0]", ":c - [0:0]",
			"[1:60] -A INPUT -s 192.0.2.2/32 -j c", "[1:60] -A INPUT -p tcp -m tcp --dport 5432 -j c", "[1:60] -A INPUT -j ACCEPT",
			"[0:0] -A c -p tcp -m tcp --dport 3306 -j ACCEPT", "[2:120] -A c -j RETURN", "COMMIT")
		before, _ := ParseCounters(b)
		after, _ := ParseCounters(a)
		d, err := Deciding(before, after)
		if err != nil || d.Rule != "-A INPUT -j ACCEPT" {
			t.Errorf("got %+v, %v; want the final accept", d, err)
		}
	})
	t.Run("raw drop comes first", func(t *testing.T) {
		b := dump("*raw", ":PREROUTING ACCEPT [0:0]", "[0:0] -A PREROUTING -p tcp -m tcp --dport 3306 -j DROP", "COMMIT",
			"*filter", ":INPUT ACCEPT [0:0]", "COMMIT")
		a := dump("*raw", ":PREROUTING ACCEPT [0:0]", "[1:60] -A PREROUTING -p tcp -m tcp --dport 3306 -j DROP", "COMMIT",
			"*filter", ":INPUT ACCEPT [0:0]", "COMMIT")
		before, _ := ParseCounters(b)
		after, _ := ParseCounters(a)
		d, err := Deciding(before, after)
		if err != nil || d.Verdict != "drop" || d.Table != "raw" {
			t.Errorf("got %+v, %v; want a drop in raw", d, err)
		}
	})
	t.Run("no rules at all", func(t *testing.T) {
		d, err := Deciding(Counters{}, Counters{})
		if err != nil || d.Verdict != "accept" || !d.NoRules {
			t.Errorf("got %+v, %v; want accept with NoRules", d, err)
		}
	})
}

func TestRuleTarget(t *testing.T) {
	for _, c := range []struct {
		rule   string
		target string
		goTo   bool
	}{
		{`-A INPUT -p tcp -j ACCEPT`, "ACCEPT", false},
		{`-A INPUT -p udp -g udp-in`, "udp-in", true},
		{`-A INPUT -m comment --comment "not -j DROP here" -j LOG --log-prefix "x "`, "LOG", false},
		{`-A INPUT -m comment --comment "a \" -j DROP"`, "", false},
	} {
		if tg, g := ruleTarget(c.rule); tg != c.target || g != c.goTo {
			t.Errorf("ruleTarget(%q) = %q, %v; want %q, %v", c.rule, tg, g, c.target, c.goTo)
		}
	}
}
