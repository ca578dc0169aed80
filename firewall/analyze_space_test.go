package firewall

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetPassAgainstWalks: on random rulesets, every rule the set pass
// finds reached is reached by a packet of some class walked through the
// whole input path, and every rule it finds unreached (that some packet's
// matches take) by none, of every class (reachedByClass): each answer of
// the pass, not only those the analysis reports, is checked by the
// walker.
func TestSetPassAgainstWalks(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	reached, unreached, rounds, inlined := 0, 0, 0, 0
	for iter := 0; iter < 60; iter++ {
		for _, text := range []string{randomAnalysisRuleset(r, 4+r.Intn(16)), randomRuleset(r, 4+r.Intn(16)), randomPortJumpRuleset(r, 6+r.Intn(20))} {
			rs := parseString(t, text, IPv4)
			e := NewEvaluator(rs.Family, []*Ruleset{rs}, Host{})
			sp, ok := spacePass(e, (&analyzer{e: e}).witnessDims())
			if !ok {
				t.Fatalf("the set pass does not take a filter-only ruleset:\n%s", text)
			}
			rounds++
			inlined += sp.inlined
			e.reachable(func(_ *cchain, cr *crule) {
				if !sp.active(cr) {
					return
				}
				got, tried := reachedByClass(rs, cr.r)
				if got != sp.reached[cr] {
					t.Fatalf("%s\nline %d: the set pass finds it reached: %v; walking %d packets of every class: %v", text, cr.r.Line, sp.reached[cr], tried, got)
				}
				if got {
					reached++
				} else {
					unreached++
				}
			})
		}
	}
	if unreached < 50 || reached < 50 || inlined < 50 {
		t.Fatalf("%d rules reached and %d unreached in %d rulesets, %d jumps walked within the jump: the test proves little", reached, unreached, rounds, inlined)
	}
	t.Logf("%d rulesets: %d rules reached, %d unreached, each as the walks find; %d jumps walked within the jump", rounds, reached, unreached, inlined)
}

// randomPortJumpRuleset is a ruleset like the generated host firewalls of
// the benchmarks, small: accepts on ports, port lists and ranges (so that
// the classes of destination ports are many and overlap), with sources,
// interfaces and states, source drops, and jumps on a source to chains
// of the same rules that end in an unconditional RETURN, no RETURN, or
// (now and then) one in the middle or a goto, so that both ways of
// walking a jump are taken.
func randomPortJumpRuleset(r *rand.Rand, n int) string {
	pick := func(xs ...string) string { return xs[r.Intn(len(xs))] }
	port := func() string { return pick("22", "53", "80", "443", "8080", "1000", "1001", "2000") }
	src := func() string { return fmt.Sprintf("10.%d.%d.0/%s", r.Intn(2), r.Intn(2)*128, pick("16", "17", "24")) }
	const chains = 4
	var b strings.Builder
	fmt.Fprintf(&b, "*filter\n:INPUT %s [0:0]\n", pick("ACCEPT", "DROP"))
	for k := 0; k < chains; k++ {
		fmt.Fprintf(&b, ":C%d - [0:0]\n", k)
	}
	rule := func(chain string, k int) string {
		switch r.Intn(9) {
		case 0:
			return fmt.Sprintf("-A %s -p tcp -m multiport --dports %s,%s,%s -j ACCEPT", chain, port(), port(), port())
		case 1:
			return fmt.Sprintf("-A %s -s %s -p %s --dport %s -j ACCEPT", chain, src(), pick("tcp", "udp"), port())
		case 2:
			return fmt.Sprintf("-A %s -i %s -p tcp --dport %s -j %s", chain, pick("eth0", "eth1", "eth+"), port(), pick("ACCEPT", "DROP"))
		case 3:
			return fmt.Sprintf("-A %s -p tcp --dport %s:%s -m conntrack --ctstate NEW -j ACCEPT", chain, pick("1000", "20"), pick("1001", "2000", "8080"))
		case 4:
			return fmt.Sprintf("-A %s -p tcp ! --dport %s -j REJECT", chain, port())
		case 5, 6:
			return fmt.Sprintf("-A %s -s %s -j DROP", chain, src())
		default:
			if k+1 >= chains {
				return fmt.Sprintf("-A %s -p tcp --dport %s -j ACCEPT", chain, port())
			}
			to := k + 1 + r.Intn(chains-k-1)
			how := "-j"
			if r.Intn(8) == 0 {
				how = "-g"
			}
			return fmt.Sprintf("-A %s -s %s %s C%d", chain, src(), how, to)
		}
	}
	for i := 0; i < n; i++ {
		b.WriteString(rule("INPUT", -1) + "\n")
	}
	for k := 0; k < chains; k++ {
		name := fmt.Sprintf("C%d", k)
		m := 1 + r.Intn(5)
		for i := 0; i < m; i++ {
			if r.Intn(10) == 0 {
				fmt.Fprintf(&b, "-A %s -p tcp --dport %s -j RETURN\n", name, port())
			}
			b.WriteString(rule(name, k) + "\n")
		}
		if r.Intn(2) == 0 {
			fmt.Fprintf(&b, "-A %s -j RETURN\n", name)
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// TestSetPassSourceRun: a run of source-only rules swept together marks
// reached exactly the rules that are first to hold some source the chain
// still has.
func TestSetPassSourceRun(t *testing.T) {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n")
	b.WriteString("-A INPUT -s 10.0.0.0/8 -j ACCEPT\n") // line 3
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&b, "-A INPUT -s 10.%d.0.0/16 -j DROP\n", i) // lines 4..15: inside 10/8, unreached
	}
	b.WriteString("-A INPUT -s 192.0.2.0/24 -j DROP\n")    // 16: reached
	b.WriteString("-A INPUT -s 192.0.2.128/25 -j DROP\n")  // 17: within 16, unreached
	b.WriteString("-A INPUT -s 198.51.100.0/24 -j DROP\n") // 18: reached
	b.WriteString("-A INPUT -s 198.51.0.0/16 -j DROP\n")   // 19: reached (the rest of the /16)
	b.WriteString("COMMIT\n")
	rs := parseString(t, b.String(), IPv4)
	e := NewEvaluator(rs.Family, []*Ruleset{rs}, Host{})
	sp, ok := spacePass(e, (&analyzer{e: e}).witnessDims())
	if !ok {
		t.Fatal("the set pass does not take a filter-only ruleset")
	}
	var got []int
	e.reachable(func(_ *cchain, cr *crule) {
		if sp.reached[cr] {
			got = append(got, cr.r.Line)
		}
	})
	if want := []int{3, 16, 18, 19}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("reached lines %v, want %v", got, want)
	}
}

// TestShadowerSkipsOnlyFutileWalks: naming the shadowing rule while
// skipping the witnesses no reached earlier rule can match gives the
// report it gives walking every witness, on random rulesets of each kind
// and the fixtures.
func TestShadowerSkipsOnlyFutileWalks(t *testing.T) {
	defer func() { skipWalks = true }()
	r := rand.New(rand.NewSource(5))
	named := 0
	check := func(name string, rs *Ruleset) {
		t.Helper()
		skipWalks = true
		got := issueStrings(Analyze(rs))
		skipWalks = false
		want := issueStrings(Analyze(rs))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s\nskipping walks:\n%v\nwalking every witness:\n%v", name, got, want)
		}
		for _, s := range got {
			if strings.HasPrefix(s, "shadowed") && strings.Contains(s, " by ") {
				named++
			}
		}
	}
	for iter := 0; iter < 60; iter++ {
		for _, text := range []string{randomAnalysisRuleset(r, 4+r.Intn(16)), randomRuleset(r, 4+r.Intn(16)), randomPortJumpRuleset(r, 6+r.Intn(20))} {
			check(text, parseString(t, text, IPv4))
		}
	}
	for _, f := range fixtureFiles(t) {
		check(f, loadFixture(t, filepath.Base(f)))
	}
	if named < 50 {
		t.Fatalf("only %d shadowed rules named by another: the test proves little", named)
	}
	t.Logf("%d shadowed rules named by another, the same either way", named)
}
