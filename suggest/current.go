package suggest

import (
	"net/netip"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// Current is the firewall loaded today, which the suggestion must never be
// wider than. Each family has its rulesets, or, when they could not be
// read, the reason why.
type Current struct {
	V4, V6 Today

	evs map[string]*firewall.Evaluator // per family and bound device
}

// Today is one family's loaded rules.
type Today struct {
	Sets []*firewall.Ruleset // nil: the rules are not known (Why says why)
	Host firewall.Host       // what the evaluator sees (with Unseen for native nft tables)
	Why  string
}

func (c *Current) family(fam firewall.Family) *Today {
	if fam == firewall.IPv6 {
		return &c.V6
	}
	return &c.V4
}

// known reports whether the family's rules could be read.
func (c *Current) known(fam firewall.Family) bool {
	return c != nil && c.family(fam).Sets != nil
}

// evaluator is today's evaluator for fam; a socket bound to a device (dev
// not "" or "lo") only hears what arrives there, so its evaluator walks
// that interface alone. Nil when the family's rules are not known.
func (c *Current) evaluator(fam firewall.Family, dev string) *firewall.Evaluator {
	t := c.family(fam)
	if t.Sets == nil {
		return nil
	}
	if dev == "lo" {
		dev = ""
	}
	key := string(fam) + " " + dev
	if ev, ok := c.evs[key]; ok {
		return ev
	}
	h := t.Host
	if dev != "" {
		h.Interfaces = []string{dev}
	}
	ev := firewall.NewEvaluator(fam, t.Sets, h)
	if c.evs == nil {
		c.evs = map[string]*firewall.Evaluator{}
	}
	c.evs[key] = ev
	return ev
}

// result is who today's rules let open a NEW connection to l over fam,
// judged as the scan judges it. ok is false when the family's rules are not
// known.
func (c *Current) result(l scan.Listener, fam firewall.Family) (firewall.Result, bool) {
	ev := c.evaluator(fam, l.Device)
	if ev == nil {
		return firewall.Result{Verdict: firewall.Unknown, Reasons: []string{c.family(fam).Why}}, false
	}
	return judge(ev, l, fam), true
}

// judge evaluates l over fam with ev.
func judge(ev *firewall.Evaluator, l scan.Listener, fam firewall.Family) firewall.Result {
	r := ev.Evaluate(firewall.Query{Proto: l.Proto, Addr: queryAddr(l, fam), Port: l.Port})
	if dev := l.Device; dev != "" && dev != "lo" && (r.Verdict == firewall.Open || r.Verdict == firewall.Restricted) {
		// accepted, but only ever on the bound device; Except stays: those
		// sources are still kept out there
		r.Verdict, r.Interfaces = firewall.Restricted, []string{dev}
	}
	return r
}

// queryAddr is the bind address to ask about in fam: the IPv4 side of a
// dual-stack "::" is the IPv4 wildcard; an IPv4-mapped bind is IPv4.
func queryAddr(l scan.Listener, fam firewall.Family) netip.Addr {
	a := l.Address
	if fam == firewall.IPv4 {
		if a.Is4In6() {
			return a.Unmap()
		}
		if a.Is6() {
			return netip.IPv4Unspecified()
		}
	}
	return a
}

// each is who today's rules let open a NEW connection to l over fam on
// every interface alone (firewall.EvaluateEach); nil for a socket bound to
// a device (it hears one interface) or when the rules are not known.
func (c *Current) each(l scan.Listener, fam firewall.Family) []firewall.IfaceResult {
	if l.Device != "" && l.Device != "lo" {
		return nil
	}
	ev := c.evaluator(fam, "")
	if ev == nil {
		return nil
	}
	_, each := ev.EvaluateEach(firewall.Query{Proto: l.Proto, Addr: queryAddr(l, fam), Port: l.Port})
	return each
}
