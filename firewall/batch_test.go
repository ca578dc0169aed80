package firewall

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// randomRuleset writes a filter table whose INPUT chain has long runs of
// batchable rules mixed with jumps, gotos, LOG and runtime matches.
func randomRuleset(r *rand.Rand, n int) string {
	pols := []string{"ACCEPT", "DROP"}
	var b strings.Builder
	fmt.Fprintf(&b, "*filter\n:INPUT %s [0:0]\n:U - [0:0]\n", pols[r.Intn(2)])
	rule := func(chain string) string {
		var f []string
		f = append(f, "-A", chain)
		if r.Intn(3) > 0 {
			f = append(f, fmt.Sprintf("-s 10.%d.%d.0/%d", r.Intn(4), r.Intn(4)*64, []int{16, 18, 24, 26}[r.Intn(4)]))
		}
		if r.Intn(4) == 0 {
			f = append(f, "! -s 10.1.0.0/16")
		}
		switch r.Intn(4) {
		case 0:
			f = append(f, "-p tcp", fmt.Sprintf("--dport %d", []int{22, 80, 443}[r.Intn(3)]))
		case 1:
			f = append(f, "-p udp")
		}
		if r.Intn(10) == 0 {
			f = append(f, "-m limit --limit 1/s")
		}
		targets := []string{"ACCEPT", "DROP", "REJECT", "LOG"}
		if chain == "U" {
			targets = append(targets, "RETURN")
		} else {
			targets = append(targets, "U", "U")
		}
		t := targets[r.Intn(len(targets))]
		if t == "U" && r.Intn(2) == 0 {
			f = append(f, "-g U")
		} else {
			f = append(f, "-j "+t)
		}
		return strings.Join(f, " ")
	}
	for i := 0; i < n; i++ {
		b.WriteString(rule("INPUT") + "\n")
	}
	for i := 0; i < n/2; i++ {
		b.WriteString(rule("U") + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// TestBatchMatchesRuleByRule checks the batched sweep against walking one
// rule at a time on random rulesets.
func TestBatchMatchesRuleByRule(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	defer func(m int) { minBatch = m }(minBatch)
	for iter := 0; iter < 200; iter++ {
		text := randomRuleset(r, 40)
		type out struct {
			Verdict                              Verdict
			Sources, Except, Interfaces, Reasons []string
		}
		eval := func(mb int) []out {
			minBatch = mb
			rs := parseString(t, text, IPv4)
			e := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
			var res []out
			for _, q := range []Query{tcp(22), tcp(80), udp(53), tcp(9)} {
				x := e.Evaluate(q)
				res = append(res, out{x.Verdict, prefixStrings(x.Sources), prefixStrings(x.Except), x.Interfaces, x.Reasons})
			}
			return res
		}
		batched, single := eval(2), eval(1<<30)
		if !reflect.DeepEqual(single, batched) {
			t.Fatalf("ruleset:\n%s\n(-rule by rule +batched):\n- %+v\n+ %+v", text, single, batched)
		}
	}
}

func TestSortItems(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	var items []bitem
	for k := 0; k < 500; k++ {
		for n := r.Intn(3); n >= 0; n-- {
			lo := uint64(r.Intn(50)) * 1000
			items = append(items, bitem{u128{0, lo}, u128{0, lo + uint64(r.Intn(999))}, int32(k)})
		}
	}
	want := append([]bitem(nil), items...)
	sort.SliceStable(want, func(i, j int) bool { return want[i].lo.less(want[j].lo) })
	got := append([]bitem(nil), items...)
	sortItems(got)
	if !reflect.DeepEqual(want, got) {
		t.Errorf("integer-key sort differs from a stable sort by start")
	}
}

// TestSplitMemo: an evaluator answering many queries reuses the splits of
// its batches (batch.recall) and must answer each exactly as a fresh
// evaluator does; on a long chain of small blocklists the remembered
// splits stop growing at the chain's budget.
func TestSplitMemo(t *testing.T) {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT DROP [0:0]\n")
	n := 0
	for i := 0; i < 600; i++ {
		for j := 0; j < 4; j++ {
			fmt.Fprintf(&b, "-A INPUT -s 10.%d.%d.%d/32 -j DROP\n", n>>16&255, n>>8&255, n&255)
			n += 3
		}
		fmt.Fprintf(&b, "-A INPUT -p tcp --dport %d -j ACCEPT\n", 1000+i%40)
		fmt.Fprintf(&b, "-A INPUT -p udp --dport %d -s 10.%d.0.0/16 -j ACCEPT\n", 2000+i%7, i%256)
		b.WriteString("-A INPUT -j LOG\n")
	}
	b.WriteString("COMMIT\n")
	rs := parseString(t, b.String(), IPv4)
	var qs []Query
	for p := uint16(995); p < 1045; p += 3 {
		qs = append(qs, tcp(p), udp(p+1000))
	}
	shared := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
	for round := 0; round < 2; round++ {
		for _, q := range qs {
			got := shared.Evaluate(q)
			want := NewEvaluator(IPv4, []*Ruleset{parseString(t, b.String(), IPv4)}, Host{}).Evaluate(q)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s/%d, round %d: with remembered splits %+v, fresh %+v", q.Proto, q.Port, round, got, want)
			}
		}
	}
	hits := 0
	for _, c := range shared.sets[0].all {
		if c.memoRanges > maxMemoRanges {
			t.Errorf("chain %s keeps %d ranges in remembered splits, bound %d", c.name, c.memoRanges, maxMemoRanges)
		}
		for i := range c.segs {
			if bt := c.segs[i].batch; bt != nil && bt.memo[0].sp != nil {
				hits++
			}
		}
	}
	if hits == 0 {
		t.Errorf("no batch remembered a split: the test checks nothing")
	}
}
