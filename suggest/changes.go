package suggest

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// Change is one thing loading the suggestion changes, in the verdicts'
// terms: who may open a connection to a listener or to a range of ports
// nothing listens on, or a chain's policy. Before and after are both
// judged by the firewall package's evaluator: today's rules, and the
// rules the chosen format leaves loaded.
type Change struct {
	Family  firewall.Family
	What    string // "tcp/22", "tcp/8080 on 192.0.2.10", "udp/1-52,54-65535", "policy filter/INPUT"
	Before  string // "open", "restricted 192.0.2.0/24", "blocked", "unknown", "DROP", ...
	After   string
	Why     string // why it changes; "" when it does not, or nobody asked
	Changed bool
}

// String is the change as people read it:
// "tcp/5432: restricted 192.0.2.0/24 → restricted 192.0.2.0/24 (kept)".
func (c Change) String() string {
	s := c.What + ": " + c.Before + " → " + c.After
	switch {
	case !c.Changed && c.Why != "":
		s += " (" + c.Why + ")"
	case !c.Changed:
		s += " (kept)"
	case c.Why != "":
		s += " (" + c.Why + ")"
	}
	return s
}

// Touches reports whether loading format changes fam's rules: iptables
// only IPv4, ip6tables only IPv6; nft, script and "" (both restore files)
// both families.
func Touches(format string, fam firewall.Family) bool {
	switch format {
	case "iptables":
		return fam == firewall.IPv4
	case "ip6tables":
		return fam == firewall.IPv6
	}
	return true
}

// Changes compares today's rules (cur) with what loading p in format
// leaves loaded, for the families format touches: every chain policy,
// every listener (per family it receives) and every range of ports
// nothing listens on that either side admits someone to. The iptables,
// ip6tables and script formats replace the filter table (other tables
// stay); nft adds table inet fwaudit beside everything loaded, so both
// must accept. Format "" is loading both restore files.
func Changes(p *Policy, listeners []scan.Listener, cur *firewall.Loaded, format string) ([]Change, error) {
	if cur == nil {
		cur = &firewall.Loaded{}
	}
	listeners = append(slices.Clone(listeners), p.published...)
	var out []Change
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		if !Touches(format, fam) {
			continue
		}
		sets, err := afterLoading(p, cur, format, fam)
		if err != nil {
			return nil, fmt.Errorf("comparing the suggested %s ruleset: %w", fam, err)
		}
		today := cur.Of(fam)
		after := cur.With(fam, sets)
		out = append(out, p.policyChanges(fam, today.Sets, sets, format == "nft", today.Sets == nil)...)
		out = append(out, portChanges(p, listeners, cur, after, fam)...)
	}
	return out, nil
}

// afterLoading is what is loaded in fam once p is loaded in format: ours
// alone where today's rules are not known; for ufw, today's rules with
// ufw's user rules replaced (ufwAfter); for nft, ours beside every
// table loaded today but an earlier table inet fwaudit (the output
// replaces it); for the restore formats, today's rules with the filter
// table replaced.
func afterLoading(p *Policy, cur *firewall.Loaded, format string, fam firewall.Family) ([]*firewall.Ruleset, error) {
	ours, err := suggestedRuleset(p, fam)
	if err != nil {
		return nil, err
	}
	today := cur.Of(fam)
	switch {
	case today.Sets == nil:
		return []*firewall.Ruleset{ours}, nil
	case format == "ufw":
		return ufwAfter(p, today.Sets, fam)
	case format == "firewalld":
		return firewalldAfter(p, today.Sets, fam)
	case format == "nft":
		if p.onDocker() {
			if ours, err = nftStandIn(p, fam); err != nil {
				return nil, err
			}
		}
		ours.Source = "table inet fwaudit"
		return append(p.withoutReplaced(today.Sets), ours), nil
	case p.noflush(fam):
		return firewall.AfterNoflush(today.Sets, ours), nil
	}
	return AfterRestore(today.Sets, ours), nil // ours holds the filter table only
}

// withoutReplaced drops the tables the nft rendering deletes: an earlier
// suggestion's table inet fwaudit, and the admin's own tables it replaces.
func (p *Policy) withoutReplaced(sets []*firewall.Ruleset) []*firewall.Ruleset {
	var out []*firewall.Ruleset
	for _, rs := range sets {
		nrs := &firewall.Ruleset{Family: rs.Family, Source: rs.Source}
		for _, t := range rs.Tables {
			if !(t.NftFamily == "inet" && t.Name == "fwaudit") && !p.replaced(t) {
				nrs.Tables = append(nrs.Tables, t)
			}
		}
		if len(nrs.Tables) > 0 || len(rs.Tables) == 0 {
			out = append(out, nrs)
		}
	}
	return out
}

// Beside lists, for the listeners whose verdict under p alone differs
// from the verdict with everything else that stays loaded (other tables
// on the same hooks: native nft tables, the other iptables backend, nat
// and mangle), a warning that says so: those tables still drop or
// accept what the suggestion decides.
func Beside(p *Policy, listeners []scan.Listener, cur *firewall.Loaded, format string) ([]string, error) {
	if cur == nil {
		return nil, nil
	}
	listeners = append(slices.Clone(listeners), p.published...)
	var out []string
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		if !Touches(format, fam) || !cur.Known(fam) || p.noflush(fam) || (format == "nft" && p.onDocker()) {
			continue // on a Docker host the suggestion is made to work with Docker's rules
		}
		sets, err := afterLoading(p, cur, format, fam)
		if err != nil {
			return nil, err
		}
		ours, err := suggestedRuleset(p, fam)
		if err != nil {
			return nil, err
		}
		if len(sets) == 1 {
			continue // nothing else stays loaded
		}
		// ours alone: nothing unseen
		alone, with := &firewall.Loaded{Host: cur.Host}, cur.With(fam, sets)
		*alone.Of(fam) = firewall.FamilyRules{Sets: []*firewall.Ruleset{ours}}
		for _, l := range heardIn(listeners, fam) {
			a, _ := result(alone, l, fam)
			w, _ := result(with, l, fam)
			if !sameVerdict(a, w) {
				out = append(out, fmt.Sprintf("%s over %s: the suggestion alone is %s, but with the rules that stay loaded beside it (%s) it is %s",
					where(l), fam, verdictText(a), others(sets), verdictText(w)))
			}
		}
	}
	return out, nil
}

// others names the rulesets besides ours.
func others(sets []*firewall.Ruleset) string {
	var names []string
	for _, rs := range sets {
		if rs.Source != "table inet fwaudit" {
			names = append(names, rs.Source)
		}
	}
	return strings.Join(names, ", ")
}

// policyChanges lists the policy of every built-in chain on either side.
//
// With nft, table inet fwaudit and the tables it replaces are compared by
// hook: the admin's input chain that policy drop replaces is "policy
// input: drop → drop", no change.
func (p *Policy) policyChanges(fam firewall.Family, before, after []*firewall.Ruleset, nft, unknown bool) []Change {
	type chainPolicy struct{ key, label, policy string }
	collect := func(sets []*firewall.Ruleset) []chainPolicy {
		var out []chainPolicy
		for _, rs := range sets {
			for _, cp := range rs.Policies() {
				t, c := cp.Table, cp.Chain
				if nft && (rs.Source == "table inet fwaudit" || p.replaced(t) || t.NftFamily == "inet" && t.Name == "fwaudit") {
					key := "hook\x00" + cp.Hook
					if !slices.ContainsFunc(out, func(x chainPolicy) bool { return x.key == key }) {
						out = append(out, chainPolicy{key, "policy " + cp.Hook + " (table inet fwaudit)", strings.ToLower(cp.Policy)})
					}
					continue
				}
				label := "policy " + t.Name + "/" + c.Name
				if t.NftFamily != "" {
					label = "policy " + t.NftFamily + " " + t.Name + "/" + c.Name
				}
				if nft && rs.Source == "table inet fwaudit" {
					label = "policy " + cp.Hook
				}
				if len(sets) > 1 {
					label += " (" + rs.Source + ")"
				}
				out = append(out, chainPolicy{rs.Source + "\x00" + t.NftFamily + "\x00" + t.Name + "\x00" + c.Name, label, cp.Policy})
			}
		}
		return out
	}
	b, a := collect(before), collect(after)
	find := func(list []chainPolicy, key string) (chainPolicy, bool) {
		for _, x := range list {
			if x.key == key {
				return x, true
			}
		}
		return chainPolicy{}, false
	}
	var out []Change
	add := func(label, before, after string) {
		// no base chain on a hook accepts, as a policy accept does
		same := strings.EqualFold(before, after) ||
			before == "no chain" && strings.EqualFold(after, "accept") ||
			after == "no chain" && strings.EqualFold(before, "accept")
		c := Change{Family: fam, What: label, Before: before, After: after, Changed: !same}
		if same && !strings.EqualFold(before, after) {
			c.Why = "the same: a hook without a chain accepts"
		}
		if c.Changed && before == "no chain" {
			c.Why = "added"
		}
		out = append(out, c)
	}
	for _, x := range a {
		y, ok := find(b, x.key)
		before := "no chain"
		switch {
		case ok:
			before = y.policy
		case unknown:
			before = "unknown"
		}
		after := x.policy
		if nft && strings.HasSuffix(x.label, "(table inet fwaudit)") {
			after = strings.ToLower(after)
		}
		add(x.label, before, after)
	}
	for _, y := range b {
		if _, ok := find(a, y.key); !ok {
			add(y.label, y.policy, "no chain")
		}
	}
	return out
}

// portChanges judges every listener receiving fam, then the ranges of
// ports nothing listens on that either side admits someone to.
func portChanges(p *Policy, listeners []scan.Listener, before, after *firewall.Loaded, fam firewall.Family) []Change {
	var out []Change
	seen := map[string]bool{}
	listened := map[string]map[uint16]bool{"tcp": {}, "udp": {}}
	for _, l := range listeners {
		if l.Exposure == scan.ExposureLocal || !l.Address.IsValid() || !slices.Contains(familiesOf(l), fam) {
			continue
		}
		if listened[l.Proto] != nil {
			listened[l.Proto][l.Port] = true
		}
		what := where(l)
		if seen[what] {
			continue
		}
		seen[what] = true
		b, _ := result(before, l, fam)
		a, _ := result(after, l, fam)
		c := Change{Family: fam, What: what, Before: verdictText(b), After: verdictText(a), Changed: !sameVerdict(b, a)}
		switch {
		case c.Changed && l.Client:
			c.Why = "a client socket (" + listenerWho(l) + "), not a service: not opened"
		case c.Changed:
			c.Why = p.why(l, fam)
		}
		out = append(out, c)
	}
	for _, proto := range []string{"tcp", "udp"} {
		out = append(out, idleChanges(p, proto, listened[proto], before, after, fam)...)
	}
	return out
}

// why is the reason Build gave for what it does with l over fam.
func (p *Policy) why(l scan.Listener, fam firewall.Family) string {
	for _, d := range p.decisions {
		if d.fam == fam && d.l.Proto == l.Proto && d.l.Port == l.Port && d.l.Address == l.Address && d.l.Device == l.Device {
			return d.why
		}
	}
	return ""
}

// idleChanges covers the ports of proto nobody listens on (over fam): the
// port numbers any rule on either side names cut 1-65535 into classes the
// rules cannot tell apart; one port of each class is judged, and classes
// with the same answers are shown together.
func idleChanges(p *Policy, proto string, listened map[uint16]bool, before, after *firewall.Loaded, fam firewall.Family) []Change {
	cuts := map[int]bool{1: true, 65536: true}
	for _, c := range []*firewall.Loaded{before, after} {
		for _, rs := range c.Of(fam).Sets {
			for _, t := range rs.Tables {
				for _, ch := range t.Chains {
					for _, r := range ch.Rules {
						for _, pr := range r.DPorts() {
							cuts[int(pr.Lo)], cuts[int(pr.Hi)+1] = true, true
						}
					}
				}
			}
		}
	}
	for port := range listened {
		cuts[int(port)], cuts[int(port)+1] = true, true
	}
	bounds := make([]int, 0, len(cuts))
	for b := range cuts {
		if b >= 1 && b <= 65536 {
			bounds = append(bounds, b)
		}
	}
	slices.Sort(bounds)
	bev, aev := before.Evaluator(fam, ""), after.Evaluator(fam, "")
	any := netip.IPv4Unspecified()
	if fam == firewall.IPv6 {
		any = netip.IPv6Unspecified()
	}
	type group struct {
		c      Change
		ranges [][2]int
	}
	var groups []*group
	byKey := map[string]*group{}
	for i := 0; i+1 < len(bounds); i++ {
		lo, hi := bounds[i], bounds[i+1]-1
		if lo == hi && listened[uint16(lo)] {
			continue
		}
		q := firewall.Query{Proto: proto, Addr: any, Port: uint16(lo)}
		b := firewall.Result{Verdict: firewall.Unknown}
		if bev != nil {
			b = bev.Evaluate(q)
		}
		a := aev.Evaluate(q)
		if b.Verdict == firewall.Blocked && a.Verdict == firewall.Blocked {
			continue
		}
		c := Change{Family: fam, Before: verdictText(b), After: verdictText(a), Changed: !sameVerdict(b, a)}
		if c.Changed {
			c.Why = "nothing listens"
			if a.Verdict != firewall.Blocked {
				c.Why = p.reasonFor(proto, uint16(lo), fam)
			}
		}
		key := resultKey(b) + "\x00" + resultKey(a) + "\x00" + c.Why
		g := byKey[key]
		if g == nil {
			g = &group{c: c}
			byKey[key] = g
			groups = append(groups, g)
		}
		if n := len(g.ranges); n > 0 && g.ranges[n-1][1]+1 == lo {
			g.ranges[n-1][1] = hi // adjacent classes alike: one range
		} else {
			g.ranges = append(g.ranges, [2]int{lo, hi})
		}
	}
	var out []Change
	for _, g := range groups {
		const most = 8
		var rs []string
		for _, r := range g.ranges {
			s := strconv.Itoa(r[0])
			if r[1] > r[0] {
				s += "-" + strconv.Itoa(r[1])
			}
			rs = append(rs, s)
		}
		what := proto + "/" + strings.Join(rs[:min(len(rs), most)], ",")
		if len(rs) > most {
			what += fmt.Sprintf(" and %d more ranges", len(rs)-most)
		}
		g.c.What = what
		out = append(out, g.c)
	}
	return out
}

// reasonFor is the reason of the rule that opens proto/port over fam.
func (p *Policy) reasonFor(proto string, port uint16, fam firewall.Family) string {
	for _, r := range append(slices.Clone(p.SSH), p.Rules...) {
		if r.Proto == proto && r.Port == port && r.Family == fam {
			return r.Reason
		}
	}
	return ""
}

// resultKey is a result in full, for grouping.
func resultKey(r firewall.Result) string {
	return fmt.Sprint(r.Verdict, withoutLoopback(r.Sources), withoutLoopback(r.Except), r.Interfaces, r.Reasons, withoutLoopback(r.Doubtful))
}
