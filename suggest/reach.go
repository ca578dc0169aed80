package suggest

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// reach is whom one listener's rule admits in one family.
type reach struct {
	sources []netip.Prefix       // nil: from anywhere (but except)
	except  []netip.Prefix       // dropped before the accept (sources nil)
	ifaces  []string             // nil: on any interface
	dsts    []netip.Addr         // nil: at any of the host's addresses
	sports  []firewall.PortRange // nil: from any source port
	// each, when set, replaces the above: today's rules admit different
	// sources on different interfaces, and each of these admits one
	// interface's (ifaces holds it; none for any other interface)
	each []*reach
}

// reachFor decides whom the suggestion admits to l over fam: what a flag
// names (explicit, may be wider than today), else at most what today's
// rules admit, narrowed by the default policy (sensitive services are not
// opened to everyone). A nil reach opens nothing; why says why the
// suggestion differs from today ("" when it keeps today's answer).
func (b *builder) reachFor(l scan.Listener, fam firewall.Family, ssh bool, allows []Spec) (rc *reach, why string, explicit bool) {
	if len(allows) > 0 {
		srcs, any := sourcesOf(allows)
		if ssh && len(b.opts.SSHFrom) > 0 && !any {
			srcs = append(slices.Clone(b.opts.SSHFrom), srcs...)
		}
		why = "--allow " + allows[0].Raw
		if any {
			return &reach{}, why, true
		}
		fs := ofFamily(srcs, fam)
		if len(fs) == 0 {
			b.note(fmt.Sprintf("# %s on %s/%d is not opened for %s: no %s source given", nameOf(l), l.Proto, l.Port, fam, fam))
			return nil, fmt.Sprintf("--allow %s names no %s source", allows[0].Raw, fam), true
		}
		return &reach{sources: fs}, why, true
	}
	if ssh && len(b.opts.SSHFrom) > 0 {
		if fs := ofFamily(b.opts.SSHFrom, fam); len(fs) > 0 {
			return &reach{sources: fs}, "--ssh-from", true
		}
		other := firewall.IPv4
		if fam == firewall.IPv4 {
			other = firewall.IPv6
		}
		b.warn(Warning{Msg: fmt.Sprintf("--ssh-from names no %s source: ssh over %s stays reachable as the current rules allow", fam, fam),
			Hint: fmt.Sprintf("to restrict ssh over %s too, add %s CIDRs to --ssh-from (only %s were given)", fam, fam, other)})
	}
	svc, _ := scan.LookupService(l.Service)
	sensitive := svc.Sensitive && !ssh
	closeSensitive := func(detail string) (*reach, string, bool) {
		b.note(fmt.Sprintf("# %s on %d is not opened: fwaudit suggest --allow %s=CIDR", nameOf(l), l.Port, specName(l)))
		b.warn(Warning{Msg: fmt.Sprintf("%s listens on %s port %d and is not opened (sensitive service%s)", nameOf(l), l.Proto, l.Port, detail),
			Hint: fmt.Sprintf("open it to trusted sources with --allow %s=CIDR", specName(l))})
		return nil, fmt.Sprintf("sensitive service: open it to trusted sources with --allow %s=CIDR", specName(l)), false
	}
	if b.opts.Current == nil {
		// nothing to keep: the default policy alone
		if sensitive {
			return closeSensitive("")
		}
		return &reach{}, "", false
	}
	res, known := result(b.opts.Current, l, fam)
	if !known {
		why := fmt.Sprintf("the current %s rules are not known: %s", fam, b.opts.Current.Of(fam).Why)
		if ssh {
			return &reach{}, "ssh is always kept reachable; " + why, false
		}
		b.warn(Warning{Msg: fmt.Sprintf("the current %s rules are not known (%s): listeners other than ssh are not opened over %s",
			fam, b.opts.Current.Of(fam).Why, fam),
			Hint: "give the rules (run as root, or --rules/--rules6 FILE), or pass --ignore-current to open what listens without comparing"})
		return nil, why, false
	}
	port := fmt.Sprintf("%s/%d", l.Proto, l.Port)
	if doubt := withoutLoopback(res.Doubtful); len(doubt) > 0 {
		// what today's rules admit only maybe stays out: a suggestion
		// keeps the certain part
		cond := strings.Join(res.Reasons, "; ")
		if ssh {
			b.refuseRuntime(port, fam, cond)
			return nil, "", false
		}
		b.warn(Warning{Msg: fmt.Sprintf("%s on %s admits %s over %s today only under runtime conditions (%s): the suggestion does not admit them",
			nameOf(l), port, shortList(doubt), fam, cond),
			Hint: fmt.Sprintf("to admit them for sure: --allow %s=CIDR", specName(l))})
	}
	switch res.Verdict {
	case firewall.Open:
		if sensitive {
			return closeSensitive(", open to everyone today")
		}
		return b.perInterface(l, fam, ssh, &reach{except: withoutLoopback(res.Except), sports: res.SourcePorts}), "", false
	case firewall.Restricted:
		if on := openOn(res); sensitive && len(on) > 0 {
			// open to everyone on some interfaces: as open there
			return closeSensitive(", open to everyone on " + strings.Join(on, ", ") + " today")
		}
		rc := &reach{ifaces: slices.Clone(res.Interfaces), sports: res.SourcePorts}
		if len(res.Destinations) > 0 {
			dsts, ok := singleAddrs(res.Destinations)
			if !ok {
				why := fmt.Sprintf("the current rules admit it only at %s, which the suggestion does not write; kept closed: --allow %s opens it", shortList(res.Destinations), specName(l))
				if ssh {
					b.warn(Warning{Msg: fmt.Sprintf("ssh on %s is reachable over %s today only at %s: the suggestion does not open it", port, fam, shortList(res.Destinations)),
						Hint: "open it with --ssh-from CIDR or --allow ssh=CIDR"})
				}
				return nil, why, false
			}
			rc.dsts = dsts
		}
		if res.Sources != nil {
			rc.sources = withoutLoopback(res.Sources)
			if len(rc.sources) == 0 {
				return nil, "the current rules admit only loopback addresses", false
			}
		} else {
			// open on a bound device (judge): today's blocklist still holds
			rc.except = withoutLoopback(res.Except)
		}
		if sensitive {
			b.warn(Warning{Msg: fmt.Sprintf("%s listens on %s port %d and stays reachable over %s %s only, as the current rules allow (sensitive service)",
				nameOf(l), l.Proto, l.Port, fam, describe(rc.sources, rc.ifaces)),
				Hint: fmt.Sprintf("to change who may connect: --allow %s=%s or --deny %s", specName(l), cidrList(rc.sources), specName(l))})
		}
		return b.perInterface(l, fam, ssh, rc), "", false
	case firewall.Blocked:
		if ssh {
			b.warn(Warning{Msg: fmt.Sprintf("ssh on %s is not reachable over %s today and stays closed there", port, fam),
				Hint: "open it with --ssh-from CIDR or --allow ssh=CIDR"})
		}
		return nil, "", false
	case firewall.Conditional:
		cond := strings.Join(res.Reasons, "; ")
		if ssh {
			if len(addrsOf(withoutLoopback(res.Sources))) == 0 {
				return nil, "", false
			}
			b.refuseRuntime(port, fam, cond)
			return nil, "", false
		}
		return nil, fmt.Sprintf("the current rules admit it only under runtime conditions (%s); kept closed: --allow %s opens it", cond, specName(l)), false
	}
	return nil, fmt.Sprintf("the current rules give %s", res.Verdict), false
}

// openOn lists the interfaces on which res, said per interface, is open.
func openOn(res firewall.Result) []string {
	var out []string
	for _, x := range res.ByInterface {
		if x.Verdict == firewall.Open {
			out = append(out, ifaceName(x.Iface))
		}
	}
	return out
}

// singleAddrs is the addresses of ps, when each is one address.
func singleAddrs(ps []netip.Prefix) ([]netip.Addr, bool) {
	out := make([]netip.Addr, 0, len(ps))
	for _, p := range ps {
		if !p.IsSingleIP() {
			return nil, false
		}
		out = append(out, p.Addr().Unmap())
	}
	return out, true
}

// perInterface keeps rc, today's answer over all interfaces together,
// unless today's rules admit different sources on different interfaces (a
// blocklist on one of two outside interfaces): then it admits on each
// interface what today's rules admit there, so that no source gets in on
// an interface where it is kept out today. An interface the rules do not
// name (offline) gets what every interface admits, since its rule is
// also met on the named ones. An interface where the answer depends on
// runtime state admits no one for sure, so it gets nothing. A port
// Docker publishes keeps the pooled answer (its forward rules are per
// port, not per interface).
func (b *builder) perInterface(l scan.Listener, fam firewall.Family, ssh bool, rc *reach) *reach {
	if b.publishedTo(l, fam) {
		return rc
	}
	each := each(b.opts.Current, l, fam)
	if len(each) < 2 {
		return rc
	}
	// the pooled answer is exact when every interface that admits
	// anyone admits the same, and each is named (it can be written as
	// iifname)
	var first addrs
	exact, seen := true, false
	every := allAddrs(fam)
	sets := make([]addrs, len(each))
	for i, r := range each {
		var a addrs
		switch r.Verdict {
		case firewall.Open, firewall.Restricted, firewall.Blocked:
			if ssh && len(withoutLoopback(r.Doubtful)) > 0 {
				b.refuseRuntime(fmt.Sprintf("%s/%d on %s", l.Proto, l.Port, ifaceName(r.Iface)), fam, strings.Join(r.Reasons, "; "))
				return nil
			}
			a, _ = admitted(r.Result, fam) // the certain part
			a = a.subtract(addrsOf(withoutLoopbackAll(fam)))
		case firewall.Conditional:
			exact = false // who gets in there depends on runtime state
			if ssh && len(addrsOf(withoutLoopback(r.Sources))) > 0 {
				b.refuseRuntime(fmt.Sprintf("%s/%d on %s", l.Proto, l.Port, ifaceName(r.Iface)), fam, strings.Join(r.Reasons, "; "))
				return nil
			}
		default:
			return rc
		}
		sets[i] = a
		every = intersect(every, a, fam)
		if len(a) == 0 {
			continue
		}
		if seen && !a.equal(first) || r.Iface == "" && len(every) == 0 {
			exact = false
		}
		first, seen = a, true
	}
	if exact {
		return rc
	}
	out := &reach{}
	for i, r := range each {
		if len(sets[i]) == 0 {
			continue
		}
		sub := reachOfSet(sets[i], fam)
		if r.Iface == "" {
			sub = reachOfSet(every, fam)
			if sub == nil {
				continue
			}
		} else {
			sub.ifaces = []string{r.Iface}
		}
		sub.dsts = rc.dsts // today's destination limit holds on every interface
		sub.sports = r.SourcePorts
		out.each = append(out.each, sub)
	}
	if len(out.each) == 0 {
		return nil
	}
	return out
}

// refuseRuntime refuses the suggestion: ssh is admitted today only under
// runtime conditions (a set filled at runtime, a port knock, a rate
// limit), which the suggestion cannot carry over. Without them it would
// admit for sure whom they admit only maybe; closing it could lock the
// admin out. --ssh-from (or --allow ssh=CIDR) says who may connect.
func (b *builder) refuseRuntime(where string, fam firewall.Family, cond string) {
	if b.refusal == nil {
		b.refusal = optionErrorf("ssh on %s is admitted over %s today only under runtime conditions (%s), which a suggestion cannot keep: without them it would let in for sure whom they let in only maybe, and closing it could lock you out; say who may connect with --ssh-from CIDR[,CIDR...] (or --allow ssh=CIDR)", where, fam, cond)
	}
}

// ifaceName names an interface of an answer ("" offline: any other).
func ifaceName(i string) string {
	if i == "" {
		return "any other interface"
	}
	return i
}

// publishedTo: Docker publishes a port to l in fam.
func (b *builder) publishedTo(l scan.Listener, fam firewall.Family) bool {
	return slices.ContainsFunc(b.pubs[fam], func(p publish) bool { return p.receives(l) })
}

// intersect is what a and b both hold.
func intersect(a, b addrs, fam firewall.Family) addrs {
	return a.subtract(allAddrs(fam).subtract(b))
}

// withoutLoopbackAll is the loopback range of fam.
func withoutLoopbackAll(fam firewall.Family) []netip.Prefix {
	if fam == firewall.IPv6 {
		return loopbackNets[1:]
	}
	return loopbackNets[:1]
}

// reachOfSet admits the addresses of a: as sources when they are the
// smaller side, else as everyone except the rest.
func reachOfSet(a addrs, fam firewall.Family) *reach {
	switch {
	case len(a) == 0:
		return nil
	case a.fraction(fam) > 0.5:
		ex := withoutLoopback(allAddrs(fam).subtract(a).prefixes())
		if len(ex) == 0 {
			return &reach{}
		}
		return &reach{except: ex}
	}
	return &reach{sources: a.prefixes()}
}

var loopbackNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// withoutLoopback drops the prefixes inside 127.0.0.0/8 and ::1: every
// rendering already drops them when they arrive from outside, and lo is
// accepted first.
func withoutLoopback(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		inside := false
		for _, lb := range loopbackNets {
			if lb.Addr().Is4() == p.Addr().Is4() && lb.Bits() <= p.Bits() && lb.Contains(p.Addr()) {
				inside = true
			}
		}
		if !inside {
			out = append(out, p)
		}
	}
	if ps != nil && out == nil {
		out = []netip.Prefix{}
	}
	return out
}

// describe says whom sources and interfaces admit, for messages.
func describe(sources []netip.Prefix, ifaces []string) string {
	s := "from anywhere"
	if sources != nil {
		s = "from " + shortList(sources)
	}
	if len(ifaces) > 0 {
		s += " on " + strings.Join(ifaces, ", ")
	}
	return s
}

// shortList joins at most a few prefixes, then counts the rest.
func shortList(ps []netip.Prefix) string {
	const most = 4
	var parts []string
	for i, p := range ps {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more", len(ps)-most))
			break
		}
		parts = append(parts, p.String())
	}
	return strings.Join(parts, ", ")
}

func cidrList(ps []netip.Prefix) string {
	if ps == nil {
		return "CIDR"
	}
	var parts []string
	for _, p := range ps {
		parts = append(parts, p.String())
	}
	return strings.Join(parts, ",")
}

// warnEveryone warns about an --allow that opens to the whole of a family.
func (b *builder) warnEveryone(sp Spec) {
	name := sp.Service
	if name == "" {
		name = fmt.Sprintf("port %d", sp.Port)
		if sp.Proto != "" {
			name += "/" + sp.Proto
		}
	}
	what := sp.Raw
	if i := strings.IndexByte(what, '='); i >= 0 {
		what = what[:i]
	}
	if sp.Sources == nil {
		b.warn(Warning{Msg: fmt.Sprintf("--allow %s opens %s to everyone (no CIDR given)", sp.Raw, name),
			Hint: fmt.Sprintf("to open it to trusted sources only: --allow %s=CIDR[,CIDR...]", what)})
		return
	}
	for _, p := range sp.Sources {
		if p.Bits() == 0 {
			fam := "IPv4"
			if p.Addr().Is6() {
				fam = "IPv6"
			}
			b.warn(Warning{Msg: fmt.Sprintf("--allow %s opens %s to every %s address (%s)", sp.Raw, name, fam, p)})
		}
	}
}
