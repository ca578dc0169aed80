package firewall

// The rule analysis as it was before its witnesses varied the classes a
// rule's own match holds for: the reference that TestAnalyzeAgainstRef
// compares Analyze with. Kept as it was, apart from the names.

import (
	"fmt"
	"math/rand"
	"net/netip"
	"path/filepath"
	"slices"
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
	dims := a.dimensions()
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
			if r := cv.coveredBy(c, i); r != nil {
				// earlier rules that test nothing but the source, and end
				// the walk, take every source of this one: proven
				out = append(out, Issue{Kind: "shadowed", Rule: cr.r, By: r})
				continue
			}
			if a.cut != nil {
				continue // out of budget: only the proofs above
			}
			ws, exact := a.witnesses(cr, dims)
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

func (a *refAnalyzer) dimensions() dims {
	e := a.e
	var d dims
	protos := map[int]bool{6: true, 17: true, 1: true, 253: true}
	if e.fam == IPv6 {
		delete(protos, 1)
		protos[58] = true
	}
	var dr, sr []PortRange
	icmp := map[int]bool{8: true, 128: true}
	d.used, d.sampled = map[string]bool{}, map[string]bool{}
	e.reachable(func(_ *cchain, cr *crule) {
		m := &cr.r.m
		d.used["proto"] = d.used["proto"] || m.proto != -1 || len(m.x.protos) > 0 || len(m.x.ports) > 0 || len(m.x.icmp) > 0 || len(m.x.flags) > 0
		d.used["in"] = d.used["in"] || m.in.set || len(m.x.ifaces) > 0
		d.used["state"] = d.used["state"] || len(m.x.states) > 0
		d.used["dst"] = d.used["dst"] || m.x.hasDst || m.x.hasOrigDst || len(m.x.addrtype) > 0
		d.used["icmp"] = d.used["icmp"] || len(m.x.icmp) > 0
		d.used["flags"] = d.used["flags"] || len(m.x.flags) > 0
		for _, pm := range m.x.ports {
			d.used["dport"] = d.used["dport"] || pm.kind != portSrc
			d.used["sport"] = d.used["sport"] || pm.kind == portSrc || pm.kind == portEither
		}
		if len(m.x.runtime) > 0 || len(m.x.marks) > 0 || m.x.rpf != nil {
			d.used["other"] = true // runtime state: walked both ways already
		}
		if cr.r.m.proto > 0 {
			protos[int(cr.r.m.proto)] = true
		}
		for _, pm := range cr.r.m.x.ports {
			if pm.kind != portSrc {
				dr = append(dr, pm.ranges...)
			}
			if pm.kind == portSrc || pm.kind == portEither {
				sr = append(sr, pm.ranges...)
			}
		}
		for _, ic := range cr.r.m.x.icmp {
			if ic.typ >= 0 {
				icmp[ic.typ] = true
			}
		}
	})
	// in order: the first witness to meet an earlier rule names the
	// shadowing rule, so the order of the classes must not change between
	// runs
	for p := range protos {
		d.protos = append(d.protos, p)
	}
	slices.Sort(d.protos)
	d.dports = capPorts(portClasses(dr, 40001), 256)
	d.sports = capPorts(portClasses(sr, defaultSPort), 64)
	d.sampled["dport"] = len(portClasses(dr, 40001)) > 256
	d.sampled["sport"] = len(portClasses(sr, defaultSPort)) > 64
	d.ifaces = append(append([]string{}, e.ifaces...), "lo")
	for _, x := range e.dsts {
		d.dsts = append(d.dsts, dstClass{x, atLocal})
	}
	if e.fam == IPv4 {
		d.dsts = append(d.dsts, dstClass{netip.MustParseAddr("192.0.2.200"), atUnicast},
			dstClass{netip.MustParseAddr("224.0.0.251"), atMulticast},
			dstClass{netip.MustParseAddr("255.255.255.255"), atBroadcast},
			dstClass{netip.MustParseAddr("127.0.0.1"), atLocal})
	} else {
		d.dsts = append(d.dsts, dstClass{netip.MustParseAddr("2001:db8:ffff::200"), atUnicast},
			dstClass{netip.MustParseAddr("ff02::fb"), atMulticast},
			dstClass{netip.MustParseAddr("::1"), atLocal})
	}
	d.states = []uint8{stNew, stEstablished, stRelated, stInvalid, stUntracked}
	d.flags = []uint8{tcpSYN, tcpACK, tcpRST, tcpFIN | tcpACK, tcpSYN | tcpACK, 0}
	for t := range icmp {
		d.icmp = append(d.icmp, t)
	}
	slices.Sort(d.icmp)
	return d
}

// witnesses are packets satisfying as much of cr's own matches as can be
// read off it, then each free dimension varied one at a time, then pairs,
// then (where it is small enough) every combination of the classes of the
// dimensions the rules test. exact says whether that last walk covers
// every class, so that a rule none of them reaches can never be reached.
func (a *refAnalyzer) witnesses(cr *crule, d dims) (ws []*pktCtx, exact bool) {
	m := &cr.r.m
	// start from the generic interface and address: they match no rule
	// that names one
	base := pktCtx{proto: 6, sport: defaultSPort, dport: defaultSPort + 1, in: a.e.ifaces[len(a.e.ifaces)-1], state: stNew, flags: tcpSYN, icmpType: 8}
	if len(a.e.dsts) > 0 {
		base.dst, base.dstType = a.e.dsts[0], atLocal
	}
	if m.proto > 0 && !m.protoNeg {
		base.proto = int(m.proto)
	}
	if base.proto == 58 {
		base.icmpType = 128
	}
	fixed := map[string]bool{}
	if m.proto > 0 && !m.protoNeg {
		fixed["proto"] = true
	}
	for _, pm := range m.x.ports {
		if pm.neg || len(pm.ranges) == 0 {
			continue
		}
		switch pm.kind {
		case portDst, portEither, portOrigDst:
			base.dport, fixed["dport"] = pm.ranges[0].Lo, true
		case portSrc:
			base.sport, fixed["sport"] = pm.ranges[0].Lo, true
		}
	}
	if m.in.set && !m.in.neg {
		base.in, fixed["in"] = m.in.name, true
		if m.in.wild {
			base.in += "0"
		}
	}
	for _, d := range []struct {
		has bool
		set addrSet
	}{{m.x.hasDst, m.x.dst}, {m.x.hasOrigDst, m.x.origDst}} {
		if d.has && !fixed["dst"] {
			if x, ok := d.set.intersect(normalSpace(a.e.fam)).firstAddr(); ok {
				base.dst, base.dstType, fixed["dst"] = x, atLocal, true
			}
		}
	}
	for _, s := range m.x.states {
		if !s.neg {
			for b := uint8(1); b != 0; b <<= 1 {
				if s.mask&b != 0 {
					base.state, fixed["state"] = b, true
					break
				}
			}
		}
	}
	if base.state != stNew {
		base.flags = tcpACK
	}
	for _, f := range m.x.flags {
		if !f.neg {
			base.flags, fixed["flags"] = f.comp, true
		}
	}
	for _, ic := range m.x.icmp {
		if !ic.neg && ic.typ >= 0 {
			base.icmpType, base.icmpCode, fixed["icmp"] = ic.typ, ic.codeLo, true
		}
	}
	for _, at := range m.x.addrtype {
		if at.dst != 0 && !at.dstNeg {
			for _, dc := range d.dsts {
				if dc.typ&at.dst != 0 {
					base.dst, base.dstType, fixed["dst"] = dc.addr, dc.typ, true
					break
				}
			}
		}
	}
	type dim struct {
		name string
		n    int
		set  func(p *pktCtx, i int)
	}
	all := []dim{
		{"proto", len(d.protos), func(p *pktCtx, i int) { p.proto = d.protos[i] }},
		{"in", len(d.ifaces), func(p *pktCtx, i int) { p.in = d.ifaces[i] }},
		{"state", len(d.states), func(p *pktCtx, i int) {
			p.state = d.states[i]
			if p.state != stNew && !fixed["flags"] {
				p.flags = tcpACK
			}
		}},
		{"dst", len(d.dsts), func(p *pktCtx, i int) { p.dst, p.dstType = d.dsts[i].addr, d.dsts[i].typ }},
		{"icmp", len(d.icmp), func(p *pktCtx, i int) { p.icmpType = d.icmp[i] }},
		{"flags", len(d.flags), func(p *pktCtx, i int) { p.flags = d.flags[i] }},
		{"dport", len(d.dports), func(p *pktCtx, i int) { p.dport = d.dports[i] }},
		{"sport", len(d.sports), func(p *pktCtx, i int) { p.sport = d.sports[i] }},
	}
	var free []dim
	for _, x := range all {
		if !fixed[x.name] {
			free = append(free, x)
		}
	}
	out := []*pktCtx{&base}
	// one free dimension at a time
	for _, x := range free {
		for i := 0; i < x.n; i++ {
			p := base
			x.set(&p, i)
			out = append(out, &p)
		}
	}
	// then pairs of the small dimensions (ports stay at the base or are
	// varied alone above)
	const pairCap = 16
	for a := 0; a < len(free); a++ {
		for b := a + 1; b < len(free); b++ {
			x, y := free[a], free[b]
			if x.n > pairCap || y.n > pairCap {
				continue
			}
			for i := 0; i < x.n; i++ {
				for j := 0; j < y.n; j++ {
					p := base
					x.set(&p, i)
					y.set(&p, j)
					out = append(out, &p)
				}
			}
		}
	}
	// then every combination of the classes of the dimensions the rules
	// test, within a budget: only that proves a rule unreachable
	var prod []dim
	size := 1
	exact = true
	for _, x := range free {
		if !d.used[x.name] {
			continue // no rule tells packets apart on it: the base value stands for all
		}
		if d.sampled[x.name] {
			exact = false
		}
		prod = append(prod, x)
		if size *= x.n; size > exhaustive {
			return out, false
		}
	}
	if len(prod) > 2 {
		idx := make([]int, len(prod))
		for {
			p := base
			for k, x := range prod {
				x.set(&p, idx[k])
			}
			out = append(out, &p)
			k := 0
			for ; k < len(prod); k++ {
				if idx[k]++; idx[k] < prod[k].n {
					break
				}
				idx[k] = 0
			}
			if k == len(prod) {
				break
			}
		}
	}
	return out, exact
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
			f = append(f, "-p tcp", pick("--dport 22", "--dport 20:25", "! --dport 80", "--sport 53", "--dport 80",
				"-m multiport --ports 22,53", "-m multiport ! --dports 20:25,80"))
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
// reference analysis to finish, and on every fixture, Analyze reports what
// the reference reports (the same duplicates; the same shadowed rules,
// named as shadowed by the same rule, or by one where the reference named
// none), less the rules the reference
// called shadowed only because its witnesses held a rule's own match at
// one value (the first port of a range, one state of several, an
// interface the wildcard's representative happened to share), plus rules
// the reference could not judge (more classes than its witnesses could
// try): each of those is proven shadowed by walking every packet of every
// class its match takes (reachedByClass), and shadowed by the rule named,
// when the reference names one for no rule there.
func TestAnalyzeAgainstRef(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	shadows, fewer, more := 0, 0, 0
	check := func(name string, rs *Ruleset) {
		t.Helper()
		ref := analyzeRef(rs)
		want := issueStrings(ref)
		is := Analyze(rs)
		got := issueStrings(is)
		for k, s := range got {
			// where the reference named no shadowing rule, one of the
			// witnesses it lacked may
			bare, _, _ := strings.Cut(s, " by ")
			if slices.Contains(want, s) || slices.Contains(want, bare) {
				continue
			}
			if is[k].Kind != "shadowed" || slices.ContainsFunc(ref, func(o Issue) bool { return o.Kind == "shadowed" && o.Rule == is[k].Rule }) {
				t.Fatalf("%s: Analyze reports %q, the reference does not:\n%v\nreference\n%v", name, s, got, want)
			}
			if reached, tried := reachedByClass(rs, is[k].Rule); reached || tried == 0 {
				t.Fatalf("%s: Analyze reports %q, the reference does not, and %d packets of its classes walked reach it: %v\n%v\nreference\n%v", name, s, tried, reached, got, want)
			}
			more++
		}
		for _, s := range want {
			if strings.HasPrefix(s, "shadowed") {
				shadows++
			}
			if !slices.ContainsFunc(got, func(g string) bool { return g == s || strings.HasPrefix(g, s+" by ") }) {
				if !strings.HasPrefix(s, "shadowed") {
					t.Fatalf("%s: the reference reports %q, Analyze does not:\n%v\nreference\n%v", name, s, got, want)
				}
				fewer++
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
	t.Logf("%d shadowed rules, %d of them no longer reported; %d more, each proven by walking every class", shadows, fewer, more)
	for _, f := range fixtureFiles(t) {
		check(f, loadFixture(t, filepath.Base(f)))
	}
}

// reachedByClass walks every packet that rule's own match takes, of every
// class the set pass tells apart (every class of ports, one port each),
// through the whole input path with every source, and reports whether one
// reaches the rule: the witness walks without their bound, an answer the
// set pass does not take part in. tried counts the packets walked.
func reachedByClass(rs *Ruleset, rule *Rule) (reached bool, tried int) {
	e := NewEvaluator(rs.Family, []*Ruleset{rs}, Host{})
	a := &analyzer{e: e}
	d := a.witnessDims()
	cl, ok := classesFor(e, d)
	if !ok {
		panic("too many classes for the exhaustive walk")
	}
	var target *crule
	e.reachable(func(_ *cchain, cr *crule) {
		if cr.r == rule {
			target = cr
		}
	})
	if target == nil {
		return false, 0
	}
	m := &target.r.m
	// a dimension no rule tests has one class; so do ICMP types but for
	// ICMP, flags but for TCP and ports but for protocols with ports: no
	// match reads them there
	one := func(n int, name string, pr int) int {
		switch {
		case !d.used[name],
			name == "icmp" && pr != 1 && pr != 58,
			name == "flags" && pr != 6,
			(name == "dport" || name == "sport") && !portProtos[pr]:
			return 1
		}
		return n
	}
	for _, pr := range cl.protos {
		for _, in := range cl.ifaces[:one(len(cl.ifaces), "in", pr)] {
			for _, st := range cl.states[:one(len(cl.states), "state", pr)] {
				for _, dc := range cl.dsts[:one(len(cl.dsts), "dst", pr)] {
					for _, fl := range cl.flags[:one(len(cl.flags), "flags", pr)] {
						for _, ic := range cl.icmp[:one(len(cl.icmp), "icmp", pr)] {
							for _, dp := range d.dportAll[:one(len(d.dportAll), "dport", pr)] {
								for _, spt := range d.sportAll[:one(len(d.sportAll), "sport", pr)] {
									p := pktCtx{proto: pr, in: in, state: st, dst: dc.addr, dstType: dc.typ, flags: fl,
										icmpType: ic[0], icmpCode: ic[1], dport: dp, sport: spt}
									if m.test(&p) == triNo {
										continue
									}
									tried++
									w := &walker{fam: e.fam, p: &p, rp: e.rp}
									w.nat.local = func(netip.Addr) bool { return true }
									w.onMatch = func(cr *crule) {
										if cr == target {
											reached = true
										}
									}
									w.pipeline(e.paths[0], fullSet(e.fam))
									if reached {
										return true, tried
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return false, tried
}
