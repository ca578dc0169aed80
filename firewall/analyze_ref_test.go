package firewall

// The rule analysis as it was before the walks of the rules that name a
// shadowing rule were remembered: the reference that TestAnalyzeAgainstRef
// compares Analyze with. Kept as it was, apart from the names.

import (
	"fmt"
	"math/rand"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// analyzeRef is Analyze with the reference shadow analysis.
func analyzeRef(rs *Ruleset) []Issue {
	var out []Issue
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			first := map[string]*Rule{}
			for _, r := range c.Rules {
				k := ruleKey(r)
				if f, ok := first[k]; ok {
					out = append(out, Issue{Kind: "duplicate", Rule: r, By: f})
				} else {
					first[k] = r
				}
			}
		}
	}
	return append(out, shadowedRef(rs)...)
}

type refAnalyzer struct {
	e       *Evaluator
	chainOf map[*crule]*cchain
	reached map[*crule]bool
	active  map[*crule]bool
	// per walk: the rules matched, in order, per chain (only while by
	// asks)
	seen map[*cchain][]int
	idx  map[*crule]int
	// walked: the packets walked so far; a walk adds to reached and to
	// nothing else, so walking one packet again adds nothing
	walked map[pktCtx]bool
	// scope is the number of rules in the chains judged (what one walk
	// costs, about); work adds it up per walk; cut is the rule at which
	// work passed AnalysisWork
	scope, work int
	cut         *crule
}

func shadowedRef(rs *Ruleset) []Issue {
	e := NewEvaluator(rs.Family, []*Ruleset{rs}, Host{})
	a := &refAnalyzer{e: e, chainOf: map[*crule]*cchain{}, reached: map[*crule]bool{}, active: map[*crule]bool{}, idx: map[*crule]int{}, walked: map[pktCtx]bool{}}
	// the chains to judge: the filter chains on the input hook (iptables'
	// filter INPUT) and what they reach
	var chains []*cchain
	inScope := map[*cchain]bool{}
	var visit func(c *cchain)
	visit = func(c *cchain) {
		if inScope[c] {
			return
		}
		inScope[c] = true
		chains = append(chains, c)
		for i := range c.rules {
			a.idx[&c.rules[i]] = i
			a.chainOf[&c.rules[i]] = c
			if c.rules[i].to != nil {
				visit(c.rules[i].to)
			}
		}
	}
	for _, c := range e.paths[0].in {
		if c.isFinal() {
			visit(c)
		}
	}
	for _, c := range chains {
		a.scope += len(c.rules)
	}
	dims := (&analyzer{e: e}).dimensions()
	var out []Issue
	for _, c := range chains {
		cv := &cover{fam: a.e.fam}
		// first: an earlier rule with the same matches that ends the walk
		// for every packet it matches (no runtime match), by its key
		first := map[string]*Rule{}
		for i := range c.rules {
			cr := &c.rules[i]
			key := ""
			if a.reached[cr] || endsAlways(cr) {
				key = ruleKey(cr.r)
			}
			if a.reached[cr] {
				if _, ok := first[key]; !ok && endsAlways(cr) {
					first[key] = cr.r
				}
				continue
			}
			if r, ok := first[key]; ok && key != "" {
				// the same matches as an earlier rule that accepts or drops
				// whatever it matches: nothing is left for this one
				out = append(out, Issue{Kind: "shadowed", Rule: cr.r, By: r})
				continue
			}
			if endsAlways(cr) {
				first[key] = cr.r
			}
			if r := cv.by(c, i); r != nil {
				// earlier rules that test nothing but the source, and end
				// the walk, take every source of this one: proven
				out = append(out, Issue{Kind: "shadowed", Rule: cr.r, By: r})
				continue
			}
			if a.cut != nil {
				continue // out of budget: only the proofs above
			}
			ws, exact := (&analyzer{e: e}).witnesses(cr, dims)
			if !exact {
				// its witnesses do not cover every class: walking them
				// could not prove it shadowed
				continue
			}
			for _, w := range ws {
				if cr.r.m.test(w) == triNo {
					continue
				}
				a.active[cr] = true
				if a.walked[*w] {
					continue // reached already holds what this packet reaches
				}
				if a.work >= AnalysisWork {
					a.cut = cr
					break
				}
				a.walked[*w] = true
				a.run(w)
				if a.reached[cr] {
					break
				}
			}
			if a.active[cr] && !a.reached[cr] && a.cut != cr {
				// no packet of any class the rules tell apart reaches it
				out = append(out, Issue{Kind: "shadowed", Rule: cr.r, By: a.by(c, i, ws)})
			}
		}
	}
	if a.cut != nil {
		out = append(out, Issue{Kind: "unfinished", Rule: a.cut.r})
	}
	return out
}

// by names the rule that shadows rule i of c: the last earlier rule
// (other than LOG and the like) that the first witness to reach any
// earlier rule matched. Only a shadowed rule asks, so its witnesses are
// walked again here rather than keeping what every walk matched.
func (a *refAnalyzer) by(c *cchain, i int, ws []*pktCtx) *Rule {
	defer func() { a.seen = nil }()
	for _, w := range ws {
		if c.rules[i].r.m.test(w) == triNo {
			continue
		}
		a.seen = map[*cchain][]int{}
		a.run(w)
		var by *Rule
		for _, j := range a.seen[c] {
			if j < i && c.rules[j].act != actSkip {
				by = c.rules[j].r
			}
		}
		if by != nil {
			return by
		}
	}
	return nil
}

func (a *refAnalyzer) run(p *pktCtx) {
	a.work += a.scope
	q := *p // a walk may translate its packet: the witness stays as it was
	w := &walker{fam: a.e.fam, p: &q, rp: a.e.rp}
	w.nat.local = func(netip.Addr) bool { return true }
	w.onMatch = func(cr *crule) {
		a.reached[cr] = true
		if a.seen != nil {
			if i, ok := a.idx[cr]; ok {
				if c := a.chainOf[cr]; c != nil {
					a.seen[c] = append(a.seen[c], i)
				}
			}
		}
	}
	w.pipeline(a.e.paths[0], fullSet(a.e.fam))
}

// randomAnalysisRuleset writes a filter table whose INPUT chain and two
// user chains use every dimension the analysis tells packets apart by:
// protocols, port ranges, interfaces (exact, wildcard, negated),
// conntrack states, TCP flags, ICMP types, destinations, address types,
// sources, runtime matches, LOG, jumps, gotos and returns.
func randomAnalysisRuleset(r *rand.Rand, n int) string {
	pick := func(xs ...string) string { return xs[r.Intn(len(xs))] }
	pols := []string{"ACCEPT", "DROP"}
	var b strings.Builder
	fmt.Fprintf(&b, "*filter\n:INPUT %s [0:0]\n:U - [0:0]\n:V - [0:0]\n", pols[r.Intn(2)])
	rule := func(chain string) string {
		f := []string{"-A", chain}
		if r.Intn(2) == 0 {
			f = append(f, pick("", "! ")+fmt.Sprintf("-s 10.%d.0.0/%s", r.Intn(3), pick("8", "16", "24")))
		}
		if r.Intn(3) == 0 {
			f = append(f, pick("-i eth0", "-i eth1", "! -i eth0", "-i eth+", "-i lo", "! -i lo"))
		}
		switch r.Intn(6) {
		case 0:
			f = append(f, "-p tcp", pick("--dport 22", "--dport 20:25", "! --dport 80", "--sport 53", "--dport 80"))
			if r.Intn(3) == 0 {
				f = append(f, pick("--syn", "--tcp-flags SYN,ACK ACK", "! --syn"))
			}
		case 1:
			f = append(f, "-p udp", pick("--dport 53", "--dport 50:60", ""))
		case 2:
			f = append(f, "-p icmp", pick("--icmp-type echo-request", "--icmp-type 3", ""))
		case 3:
			f = append(f, pick("-p tcp", "! -p tcp", "-p udp"))
		}
		if r.Intn(3) == 0 {
			f = append(f, "-m conntrack", pick("", "! ")+"--ctstate "+pick("NEW", "ESTABLISHED,RELATED", "INVALID", "NEW,ESTABLISHED"))
		}
		if r.Intn(6) == 0 {
			f = append(f, pick("-d 192.0.2.1", "! -d 10.0.0.0/8", "-m addrtype --dst-type LOCAL", "-m addrtype --dst-type BROADCAST"))
		}
		if r.Intn(12) == 0 {
			f = append(f, "-m limit --limit 1/s")
		}
		targets := []string{"ACCEPT", "DROP", "REJECT", "LOG"}
		switch chain {
		case "INPUT":
			targets = append(targets, "U", "V")
		case "U":
			targets = append(targets, "RETURN", "V")
		default:
			targets = append(targets, "RETURN")
		}
		t := targets[r.Intn(len(targets))]
		if (t == "U" || t == "V") && r.Intn(3) == 0 {
			f = append(f, "-g "+t)
		} else {
			f = append(f, "-j "+t)
		}
		return strings.Join(f, " ")
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"INPUT", n}, {"U", n / 2}, {"V", n / 3}} {
		for i := 0; i < c.n; i++ {
			b.WriteString(rule(c.name) + "\n")
		}
		// a copy of an earlier rule now and then: a duplicate, shadowed
		// when it ends the walk
		if c.n > 2 && r.Intn(2) == 0 {
			rules := strings.Split(strings.TrimSpace(b.String()), "\n")
			for k := len(rules) - 1; k >= 0; k-- {
				if strings.HasPrefix(rules[k], "-A "+c.name+" ") {
					b.WriteString(rules[k-r.Intn(min(k, c.n))/2] + "\n")
					break
				}
			}
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// TestAnalyzeAgainstRef: on random rulesets small enough for the
// reference analysis to finish, and on every fixture, Analyze reports
// exactly what the reference reports, in the same order.
func TestAnalyzeAgainstRef(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	shadows := 0
	check := func(name string, rs *Ruleset) {
		t.Helper()
		want := issueStrings(analyzeRef(rs))
		got := issueStrings(Analyze(rs))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: Analyze\n%v\nreference\n%v", name, got, want)
		}
		for _, s := range want {
			if strings.HasPrefix(s, "shadowed") {
				shadows++
			}
		}
	}
	for iter := 0; iter < 150; iter++ {
		text := randomAnalysisRuleset(r, 4+r.Intn(20))
		check(text, parseString(t, text, IPv4))
		text = randomRuleset(r, 4+r.Intn(20))
		check(text, parseString(t, text, IPv4))
	}
	if shadows < 50 {
		t.Fatalf("only %d shadowed rules in the random rulesets: the test proves little", shadows)
	}
	for _, f := range fixtureFiles(t) {
		check(f, loadFixture(t, filepath.Base(f)))
	}
}
