package firewall

import (
	"fmt"
	"math/rand"
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
	reached, unreached, rounds := 0, 0, 0
	for iter := 0; iter < 60; iter++ {
		for _, text := range []string{randomAnalysisRuleset(r, 4+r.Intn(16)), randomRuleset(r, 4+r.Intn(16))} {
			rs := parseString(t, text, IPv4)
			e := NewEvaluator(rs.Family, []*Ruleset{rs}, Host{})
			sp, ok := spacePass(e, (&analyzer{e: e}).witnessDims())
			if !ok {
				t.Fatalf("the set pass does not take a filter-only ruleset:\n%s", text)
			}
			rounds++
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
	if unreached < 50 || reached < 50 {
		t.Fatalf("%d rules reached and %d unreached in %d rulesets: the test proves little", reached, unreached, rounds)
	}
	t.Logf("%d rulesets: %d rules reached, %d unreached, each as the walks find", rounds, reached, unreached)
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
