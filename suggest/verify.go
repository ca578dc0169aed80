package suggest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// verify proves the promise Build makes: loaded alone, the rendered
// ruleset admits no source to any listener, in any family whose current
// rules are known, that the current rules do not admit, except where
// --allow or --ssh-from named it. The judge is the firewall package's
// evaluator on both sides, not the policy's own bookkeeping.
func (b *builder) verify() error {
	cur := b.opts.Current
	if cur == nil {
		return nil
	}
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		if !cur.Known(fam) {
			continue
		}
		if b.p.noflush(fam) {
			// Docker's rules stay: judge what each format leaves loaded
			for _, format := range []string{restoreFormat(fam), "nft"} {
				sets, err := afterLoading(b.p, cur, format, fam)
				if err != nil {
					return fmt.Errorf("checking the suggested %s ruleset: %w", fam, err)
				}
				if err := b.verifyOn(fam, sets, cur.HostOf(fam)); err != nil {
					return err
				}
			}
			continue
		}
		if ufwActive(cur.Of(fam).Sets, fam) && !b.p.onDocker() {
			// ufw manages this host: judge what its script leaves too
			sets, err := ufwAfter(b.p, cur.Of(fam).Sets, fam)
			if err != nil {
				return fmt.Errorf("checking the suggested %s ufw rules: %w", fam, err)
			}
			if err := b.verifyOn(fam, sets, cur.HostOf(fam)); err != nil {
				return err
			}
		}
		if z, _ := firewalldZone(cur.Of(fam).Sets); z != "" && !b.p.onDocker() {
			// firewalld manages this host: judge what its reload leaves too
			// (a suggestion the zone cannot say is refused when that format
			// is asked for: renderFirewalld says why)
			if sets, err := firewalldAfter(b.p, cur.Of(fam).Sets, fam); err == nil {
				if err := b.verifyOn(fam, sets, cur.HostOf(fam)); err != nil {
					return err
				}
			}
		}
		rs, err := suggestedRuleset(b.p, fam)
		if err != nil {
			return fmt.Errorf("checking the suggested %s ruleset: %w", fam, err)
		}
		// Loaded alone: after `nft flush ruleset`, nothing unseen remains.
		h := cur.HostOf(fam)
		h.Unseen = nil
		if err := b.verifyOn(fam, []*firewall.Ruleset{rs}, h); err != nil {
			return err
		}
	}
	return nil
}

// restoreFormat is the restore format of fam.
func restoreFormat(fam firewall.Family) string {
	if fam == firewall.IPv6 {
		return "ip6tables"
	}
	return "iptables"
}

// verifyOn judges every decision of fam on the rulesets sets (what is
// loaded once the suggestion is) against today's answer.
func (b *builder) verifyOn(fam firewall.Family, sets []*firewall.Ruleset, h firewall.Host) error {
	cur := b.opts.Current
	loaded := &firewall.Loaded{Host: h}
	*loaded.Of(fam) = firewall.FamilyRules{Sets: sets, Unseen: h.Unseen}
	for _, d := range b.p.decisions {
		if d.fam != fam || d.explicit {
			continue
		}
		before, _ := result(cur, d.l, fam)
		after, _ := result(loaded, d.l, fam)
		if extra := wider(after, before, fam); extra != "" {
			return fmt.Errorf("refusing: the suggested ruleset would admit %s to %s over %s, which the current rules do not (%s today); this is a bug in fwaudit, please report it",
				extra, where(d.l), fam, verdictText(before))
		}
		if (d.l.Device != "" && d.l.Device != "lo") || b.publishedTo(d.l, fam) {
			continue
		}
		// and on every interface alone: the pooled answers say only who
		// gets in somewhere (a port Docker publishes is judged pooled, as
		// its forward rules are written)
		for _, p := range pairByIface(each(cur, d.l, fam), each(loaded, d.l, fam)) {
			if extra := wider(p.after, p.before, fam); extra != "" {
				return fmt.Errorf("refusing: the suggested ruleset would admit %s to %s over %s on %s, which the current rules do not (%s today there); this is a bug in fwaudit, please report it",
					extra, where(d.l), fam, p.iface, verdictText(p.before))
			}
		}
	}
	return nil
}

// ifacePair is one interface's answer today and after loading.
type ifacePair struct {
	iface         string
	before, after firewall.Result
}

// pairByIface pairs the per-interface answers of two evaluators by name;
// an interface one side does not name (offline) is answered there by its
// "any other interface".
func pairByIface(before, after []firewall.IfaceResult) []ifacePair {
	find := func(list []firewall.IfaceResult, name string) (firewall.Result, bool) {
		var other *firewall.Result
		for i := range list {
			if list[i].Iface == name {
				return list[i].Result, true
			}
			if list[i].Iface == "" {
				other = &list[i].Result
			}
		}
		if other != nil {
			return *other, true
		}
		return firewall.Result{}, false
	}
	var names []string
	for _, l := range [][]firewall.IfaceResult{before, after} {
		for _, r := range l {
			if !slices.Contains(names, r.Iface) {
				names = append(names, r.Iface)
			}
		}
	}
	var out []ifacePair
	for _, n := range names {
		b, ok1 := find(before, n)
		a, ok2 := find(after, n)
		if ok1 && ok2 {
			name := n
			if name == "" {
				name = "any other interface"
			}
			out = append(out, ifacePair{name, b, a})
		}
	}
	return out
}

// admitted is the set of sources a result lets in, and the interfaces it
// is limited to (nil: any).
func admitted(r firewall.Result, fam firewall.Family) (addrs, []string) {
	switch r.Verdict {
	case firewall.Open:
		return allAddrs(fam).subtract(addrsOf(r.Except)), nil
	case firewall.Restricted:
		if r.Sources == nil {
			// open on a bound device keeps its exceptions (judge)
			return allAddrs(fam).subtract(addrsOf(r.Except)), r.Interfaces
		}
		return addrsOf(r.Sources), r.Interfaces
	case firewall.Conditional:
		return addrsOf(r.Sources), r.Interfaces
	case firewall.Blocked, firewall.NotApplicable:
		return nil, nil
	}
	return allAddrs(fam), nil
}

// wider says what after admits beyond before ("" when nothing): sources,
// or interfaces. Loopback sources do not count: every rendering drops them
// when they arrive from outside.
func wider(after, before firewall.Result, fam firewall.Family) string {
	a, ai := admitted(after, fam)
	outside := allAddrs(fam).subtract(addrsOf(loopbackNets[:1])).subtract(addrsOf(loopbackNets[1:]))
	a = a.subtract(addrsOf(loopbackNets[:1])).subtract(addrsOf(loopbackNets[1:]))
	if len(a) == 0 {
		return ""
	}
	bs, bi := admitted(before, fam)
	if extra := a.subtract(bs); len(extra) > 0 {
		if extra.equal(outside) {
			return "every source"
		}
		return "sources " + shortList(extra.prefixes())
	}
	if bd := before.Destinations; len(bd) > 0 {
		ad := after.Destinations
		if len(ad) == 0 {
			return "connections to every address of the host (today only to " + shortList(bd) + ")"
		}
		if extra := addrsOf(ad).subtract(addrsOf(bd)); len(extra) > 0 {
			return "connections to " + shortList(extra.prefixes())
		}
	}
	if bp := before.SourcePorts; len(bp) > 0 && !portsWithin(after.SourcePorts, bp) {
		if len(after.SourcePorts) == 0 {
			return "connections from every source port (today only from " + portList(bp, ":") + ")"
		}
		return "connections from source ports " + portList(after.SourcePorts, ":") + " (today only from " + portList(bp, ":") + ")"
	}
	if len(bi) > 0 {
		if len(ai) == 0 {
			return "connections on every interface (today only on " + strings.Join(bi, ", ") + ")"
		}
		for _, i := range ai {
			if !slices.Contains(bi, i) {
				return "connections on " + i
			}
		}
	}
	return ""
}

// portsWithin: every port of a (nil: every port) is in one of b's ranges.
func portsWithin(a, b []firewall.PortRange) bool {
	if a == nil {
		a = []firewall.PortRange{{Lo: 0, Hi: 65535}}
	}
	for _, r := range a {
		for p := uint32(r.Lo); p <= uint32(r.Hi); {
			i := slices.IndexFunc(b, func(x firewall.PortRange) bool { return uint32(x.Lo) <= p && p <= uint32(x.Hi) })
			if i < 0 {
				return false
			}
			p = uint32(b[i].Hi) + 1
		}
	}
	return true
}

// where names a listener's port and, for a specific or device bind, where.
func where(l scan.Listener) string {
	s := fmt.Sprintf("%s/%d", l.Proto, l.Port)
	if l.Exposure == scan.ExposureSpecific {
		s += " on " + l.Address.Unmap().String()
	}
	if l.Device != "" && l.Device != "lo" {
		s += " on " + l.Device
	}
	return s
}

// verdictText is a result in words: "open", "open except 198.51.100.7/32",
// "restricted 192.0.2.0/24 on eth1", "blocked", "conditional (...)".
// Loopback ranges are left out: every suggestion drops them from outside,
// and the kernel does too (martian sources).
func verdictText(r firewall.Result) string {
	if len(r.ByInterface) > 0 {
		// each interface's own: "restricted (eth0 open; eth1 restricted
		// 10.0.0.0/8)"
		each := make([]string, len(r.ByInterface))
		for i, x := range r.ByInterface {
			each[i] = ifaceName(x.Iface) + " " + verdictText(x.Result)
		}
		return string(r.Verdict) + " (" + strings.Join(each, "; ") + ")"
	}
	switch r.Verdict {
	case firewall.Open:
		if ex := withoutLoopback(r.Except); len(ex) > 0 {
			return "open except " + shortList(ex) + doubtText(r)
		}
		return "open" + doubtText(r)
	case firewall.Restricted:
		s := "restricted"
		if r.Sources != nil {
			s += " " + shortList(withoutLoopback(r.Sources))
		}
		if len(r.Interfaces) > 0 {
			s += " on " + strings.Join(r.Interfaces, ", ")
		}
		if len(r.Destinations) > 0 {
			s += " to " + shortList(r.Destinations)
		}
		return s + doubtText(r)
	case firewall.Conditional:
		s := "conditional"
		if len(r.Reasons) > 0 {
			s += " (" + strings.Join(r.Reasons, "; ") + ")"
		}
		return s
	}
	return string(r.Verdict)
}

// doubtText is what a result admits only maybe, after its verdictText:
// "; conditional for 10.49.0.0/16 (-m limit)", or "".
func doubtText(r firewall.Result) string {
	d := withoutLoopback(r.Doubtful)
	if len(d) == 0 {
		return ""
	}
	s := "; conditional for " + shortList(d)
	if len(r.Reasons) > 0 {
		s += " (" + strings.Join(r.Reasons, "; ") + ")"
	}
	return s
}

// sameVerdict compares two results in full (verdictText shortens lists).
func sameVerdict(a, b firewall.Result) bool {
	// nil Sources (restricted by interface alone) is not an empty list
	return a.Verdict == b.Verdict && (a.Sources == nil) == (b.Sources == nil) &&
		addrsOf(withoutLoopback(a.Sources)).equal(addrsOf(withoutLoopback(b.Sources))) &&
		addrsOf(withoutLoopback(a.Except)).equal(addrsOf(withoutLoopback(b.Except))) &&
		slices.Equal(a.Interfaces, b.Interfaces) && slices.Equal(a.Reasons, b.Reasons) &&
		slices.Equal(a.Destinations, b.Destinations) &&
		addrsOf(withoutLoopback(a.Doubtful)).equal(addrsOf(withoutLoopback(b.Doubtful))) &&
		slices.EqualFunc(a.ByInterface, b.ByInterface, func(x, y firewall.IfaceResult) bool {
			return x.Iface == y.Iface && sameVerdict(x.Result, y.Result)
		})
}
