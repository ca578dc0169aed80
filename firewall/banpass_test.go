package firewall

import (
	"fmt"
	"math/rand"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// randomBanRuleset writes an inet filter table whose input chain drops the
// sources of an interval set of at least bigSet elements and goes on with
// random rules: source-only drops and accepts (batches whose groups hold
// several rules), port and interface matches, rejects, jumps to a chain
// that returns, runtime matches (limit) and rules before the ban.
func randomBanRuleset(r *rand.Rand, n int) string {
	pfx := func() string {
		bits := []int{16, 16, 17, 20, 24, 32}[r.Intn(6)]
		return fmt.Sprintf("10.%d.%d.%d/%d", r.Intn(3), r.Intn(256), r.Intn(256), bits)
	}
	var b strings.Builder
	b.WriteString("table inet filter {\n\tset banned {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { ")
	seen := map[[2]int]bool{}
	var elems []string
	for len(elems) < bigSet+r.Intn(100) {
		// whole /24s at even third bytes, single addresses (not the
		// first or last) at odd ones: no two elements touch
		k := [2]int{r.Intn(2), r.Intn(256)}
		if seen[k] {
			continue
		}
		seen[k] = true
		if k[1]%2 == 0 {
			elems = append(elems, fmt.Sprintf("10.%d.%d.0/24", k[0], k[1]))
		} else {
			elems = append(elems, fmt.Sprintf("10.%d.%d.%d", k[0], k[1], 1+r.Intn(254)))
		}
	}
	b.WriteString(strings.Join(elems, ", "))
	b.WriteString(" }\n\t}\n")
	pols := []string{"accept", "drop"}
	fmt.Fprintf(&b, "\tchain input {\n\t\ttype filter hook input priority filter; policy %s;\n", pols[r.Intn(2)])
	b.WriteString("\t\tct state established,related accept\n")
	port := func() int { return []int{22, 80, 443, 53}[r.Intn(4)] }
	rule := func(sub bool) string {
		var f []string
		if r.Intn(3) > 0 {
			f = append(f, "ip saddr "+pfx())
		}
		switch r.Intn(5) {
		case 0:
			f = append(f, fmt.Sprintf("tcp dport %d", port()))
		case 1:
			f = append(f, fmt.Sprintf("udp dport %d", port()))
		case 2:
			f = append(f, fmt.Sprintf("iifname \"eth%d\" tcp dport %d", r.Intn(2), port()))
		}
		if r.Intn(12) == 0 {
			f = append(f, "limit rate 10/second")
		}
		acts := []string{"accept", "drop", "accept", "drop", "accept", "drop", "reject", "counter"}
		if sub {
			acts = append(acts, "return")
		} else {
			acts = append(acts, "jump sub")
		}
		f = append(f, acts[r.Intn(len(acts))])
		return "\t\t" + strings.Join(f, " ") + "\n"
	}
	for i := r.Intn(3); i > 0; i-- {
		b.WriteString(rule(false))
	}
	b.WriteString("\t\tip saddr @banned drop\n")
	for i := 0; i < n; i++ {
		b.WriteString(rule(false))
	}
	b.WriteString("\t}\n\tchain sub {\n")
	for i := 0; i < n/3; i++ {
		b.WriteString(rule(true))
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// TestBanPassMatchesPlainWalk checks the walk past a ban set (walkPastBan)
// against walking what the ban leaves through every later rule, on random
// rulesets: the same answers, pooled and per interface, down to the rule
// named. It also checks that the walk past the ban was taken.
func TestBanPassMatchesPlainWalk(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	defer func(p bool, f func()) { banPass, banPassed = p, f }(banPass, banPassed)
	passed := 0
	banPassed = func() { passed++ }
	queries := []Query{tcp(22), tcp(80), tcp(443), udp(53), tcp(9)}
	for iter := 0; iter < 300; iter++ {
		text := randomBanRuleset(r, 30)
		n, err := ParseNftText([]byte(text), "ban.nft", nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		type out struct {
			Res  Result
			Each []IfaceResult
		}
		eval := func(on bool) []out {
			banPass = on
			e := NewEvaluator(IPv4, []*Ruleset{n.Family(IPv4)}, Host{})
			var res []out
			for _, q := range queries {
				x, each := e.EvaluateEach(q)
				res = append(res, out{x, each})
			}
			return res
		}
		plain, past := eval(false), eval(true)
		for i := range plain {
			if !reflect.DeepEqual(plain[i], past[i]) {
				t.Fatalf("ruleset:\n%s\nquery %+v (-plain +past the ban):\n- %+v\n+ %+v", text, queries[i], plain[i], past[i])
			}
		}
		// the walks themselves: what each rule accepted and dropped,
		// which the answers above use only in part
		e := NewEvaluator(IPv4, []*Ruleset{n.Family(IPv4)}, Host{})
		type walked struct {
			must, may     []rng
			accBy, dropBy []attrib
			reasons       []runtimeReason
		}
		walk := func(on bool, p pktCtx) []walked {
			banPass = on
			var out []walked
			for _, pth := range e.paths {
				w := &walker{fam: e.fam, rp: e.rp}
				q := p
				w.p = &q
				must, may := w.pipeline(pth, fullSet(e.fam))
				out = append(out, walked{must.r, may.r, withoutMinus(w.accBy), withoutMinus(w.dropBy), w.reasons})
			}
			return out
		}
		for _, q := range queries {
			proto, _ := parseProto(q.Proto)
			for _, iface := range e.ifaces {
				p := pktCtx{proto: proto, sport: e.sports[0], dport: q.Port, in: iface, dst: e.dsts[0],
					dstType: e.dstType(e.dsts[0]), state: stNew, flags: tcpSYN}
				// printed: an empty list may be nil one way and not the other
				a, b := fmt.Sprintf("%+v", walk(false, p)), fmt.Sprintf("%+v", walk(true, p))
				if a != b {
					t.Fatalf("ruleset:\n%s\nquery %+v on %s (-plain +past the ban):\n- %+v\n+ %+v", text, q, iface, a, b)
				}
			}
		}
	}
	if passed < 600 {
		t.Errorf("the walk past the ban was taken %d times; want at least 600 of the 1,500 queries", passed)
	}
}

// withoutMinus is as with each set's minus taken out, as a walk without
// the ban pass attributes them; the size bestRule counts of each (in
// sizeWithout, not made) is that of the set made, to the last bit.
func withoutMinus(as []attrib) []attrib {
	out := make([]attrib, 0, len(as))
	for _, a := range as {
		if a.minus != nil {
			e := &Evaluator{}
			within := []addrSet{fullSet(a.set.fam), prefixSet(a.set.fam, netip.MustParsePrefix("10.0.0.0/15")),
				prefixSet(a.set.fam, netip.MustParsePrefix("10.1.128.0/17")).union(prefixSet(a.set.fam, netip.MustParsePrefix("192.0.2.0/24")))}
			made := a.set.subtract(*a.minus)
			for _, w := range within {
				want := made.intersectSize(w)
				if w.isFull() {
					want = made.size()
				}
				q := &walker{} // a query's memo: asked twice, the same
				for _, by := range []*walker{nil, q, q} {
					if got := e.sizeWithout(by, a.set, *a.minus, w); got != want {
						panic(fmt.Sprintf("sizeWithout(%v, ban, %v) = %v, the set made gives %v", a.set.r, w.r, got, want))
					}
				}
			}
			a.set, a.minus = made, nil
		}
		out = append(out, a)
	}
	return out
}

// TestBanPassAnalysisMatchesPlainWalk: the rule analysis walks past a ban
// set too, and finds the same rules shadowed, named by the same rules, as
// walking what the ban leaves through every later rule.
func TestBanPassAnalysisMatchesPlainWalk(t *testing.T) {
	r := rand.New(rand.NewSource(22))
	defer func(p bool, f func()) { banPass, banPassed = p, f }(banPass, banPassed)
	passed, issues := 0, 0
	for iter := 0; iter < 300; iter++ {
		text := randomBanRuleset(r, 30)
		n, err := ParseNftText([]byte(text), "ban.nft", nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		rs := n.Family(IPv4)
		banPass, banPassed = false, nil
		plain := Analyze(rs)
		banPass, banPassed = true, func() { passed++ }
		past := Analyze(rs)
		if !reflect.DeepEqual(plain, past) {
			t.Fatalf("ruleset:\n%s\n(-plain +past the ban):\n- %s\n+ %s", text, issueList(plain), issueList(past))
		}
		issues += len(plain)
	}
	if passed < 300 || issues < 300 {
		t.Errorf("the analysis walked past the ban %d times and found %d issues in 300 rulesets; want at least 300 of each", passed, issues)
	}
}

func issueList(is []Issue) string {
	var b strings.Builder
	for _, i := range is {
		by := ""
		if i.By != nil {
			by = i.By.Text
		}
		fmt.Fprintf(&b, "\n  %s %q by %q", i.Kind, i.Rule.Text, by)
	}
	return b.String()
}
