package report

import (
	"fmt"
	"net/netip"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// Default packet sources when the user names none: documentation
// addresses (RFC 5737, RFC 3849) that stand for "somewhere outside". No
// packet is ever sent; they only feed the rule walk.
var (
	defaultFrom4 = netip.MustParseAddr("203.0.113.77")
	defaultFrom6 = netip.MustParseAddr("2001:db8:ffff::77")
)

// ExplainQuery is the packet `explain` walks: a NEW connection to one
// port.
type ExplainQuery struct {
	Proto string
	Port  uint16
	// Family is the family the user named (-6, or that of From or To); ""
	// walks the families the port's listeners receive, else IPv4.
	Family firewall.Family
	// From and To are the packet's addresses (of Family); invalid: an
	// outside documentation address, and the listener's or the host's
	// address.
	From, To netip.Addr
	// Iface is the input interface; "": where the route back to the
	// source leaves, or offline any interface the rules do not name.
	Iface string
}

// Explanation is `explain`'s document for one family, as `-o json`
// prints it.
type Explanation struct {
	Family    string             `json:"family"`
	Packet    ExplainPacket      `json:"packet"`
	Verdict   string             `json:"verdict"`
	Rule      string             `json:"rule"`
	Reasons   []string           `json:"reasons"`
	Trace     []ExplainStep      `json:"trace"`
	Elsewhere []ExplainElsewhere `json:"elsewhere,omitempty"`
	Port      *FamilyVerdict     `json:"port"`
	Listening []string           `json:"listening"`
	// OtherFamily: the same port walked in the other family, when its
	// listeners receive both (a dual-stack socket)
	OtherFamily *Explanation `json:"other_family,omitempty"`
}

// ExplainElsewhere is the same packet's verdict on another interface,
// where it differs.
type ExplainElsewhere struct {
	Iface   string `json:"iface"`
	Verdict string `json:"verdict"`
	Rule    string `json:"rule"`
}

// ExplainPacket is the packet walked.
type ExplainPacket struct {
	Proto string `json:"proto"`
	Src   string `json:"src"`
	Dst   string `json:"dst"`
	DPort uint16 `json:"dport"`
	Iface string `json:"iface"`
	State string `json:"state"`
}

// ExplainStep is one rule or policy the walk met.
type ExplainStep struct {
	Table string `json:"table"`
	Chain string `json:"chain"`
	// Position is the rule's number in its chain, as iptables -L
	// --line-numbers shows it; 0 for a policy or the end of a chain
	Position int    `json:"position,omitempty"`
	Line     int    `json:"line"`
	Handle   int    `json:"handle,omitempty"`
	Rule     string `json:"rule"`
	Origin   string `json:"origin,omitempty"` // the rule as its manager names it ("ufw rule 4: ...")
	Matched  string `json:"matched"`
	Action   string `json:"action"`
}

// Explain walks q through fw's rules in each family it concerns (the
// first is the answer; a second, for a dual-stack listener, follows).
// A family after the first whose rules are unavailable is left out with a
// warning; the first is an error.
func Explain(fw *firewall.Loaded, ls []scan.Listener, q ExplainQuery) ([]*Explanation, []string, error) {
	var docs []*Explanation
	var warnings []string
	for i, fam := range explainFamilies(q, ls) {
		ev := fw.Evaluator(fam, "")
		if ev == nil {
			why := fw.Of(fam).Why
			if i == 0 {
				return nil, nil, fmt.Errorf("cannot explain %s/%d: %s rules unavailable: %s", q.Proto, q.Port, fam, why)
			}
			warnings = append(warnings, fmt.Sprintf("%s/%d also listens for %s, whose rules are unavailable: %s", q.Proto, q.Port, fam, why))
			continue
		}
		docs = append(docs, explainFamily(fw, ls, q, fam, ev))
	}
	return docs, warnings, nil
}

// explainFamilies is the families to walk: the one named, else those the
// port's listeners receive (both for a dual-stack socket), else IPv4.
func explainFamilies(q ExplainQuery, ls []scan.Listener) []firewall.Family {
	if q.Family != "" {
		return []firewall.Family{q.Family}
	}
	v4, v6 := false, false
	for _, l := range ls {
		if l.Proto != q.Proto || l.Port != q.Port || l.Client {
			continue
		}
		v4 = v4 || l.Family == "ipv4" || l.DualStack
		v6 = v6 || l.Family == "ipv6"
	}
	switch {
	case v4 && v6:
		return []firewall.Family{firewall.IPv4, firewall.IPv6}
	case v6:
		return []firewall.Family{firewall.IPv6}
	}
	return []firewall.Family{firewall.IPv4}
}

// outsideIface is the name the evaluator gives a packet from "any
// outside interface" when the host's interfaces are not known.
func outsideIface(name string) bool { return len(name) > 0 && name[0] == 0 }

// explainFamily walks the packet through one family's rules.
func explainFamily(fw *firewall.Loaded, ls []scan.Listener, q ExplainQuery, fam firewall.Family, ev *firewall.Evaluator) *Explanation {
	from := q.From
	if !from.IsValid() {
		from = defaultFrom4
		if fam == firewall.IPv6 {
			from = defaultFrom6
		}
	}
	// What listens on that port in this family, and where the packet goes.
	listening := []string{}
	var here []scan.Listener
	bind := netip.Addr{}
	for _, l := range ls {
		if l.Proto != q.Proto || l.Port != q.Port || !(string(fam) == l.Family || (fam == firewall.IPv4 && l.DualStack)) {
			continue
		}
		here = append(here, l)
		listening = append(listening, fmt.Sprintf("%s on %s (%s)", dash(l.Process), l.Address, l.Exposure))
		if l.Exposure == scan.ExposureSpecific && l.Address.Is4() == (fam == firewall.IPv4) {
			bind = l.Address
		}
	}
	to := destination(fw, q, fam, bind)

	// without an interface, the packet comes in where the route back to
	// its source leaves (the evaluator picks it), or offline on any
	// outside interface
	pkt := firewall.Packet{Proto: q.Proto, Src: from, Dst: to, SPort: 40000, DPort: q.Port, InIface: q.Iface}
	d := ev.Decide(pkt)
	iface := d.InIface
	if outsideIface(iface) {
		iface = ""
	}
	dst := ""
	if to.IsValid() {
		dst = to.String()
	}
	doc := &Explanation{
		Family:  string(fam),
		Packet:  ExplainPacket{Proto: q.Proto, Src: from.String(), Dst: dst, DPort: q.Port, Iface: iface, State: "NEW"},
		Verdict: d.Verdict, Rule: d.Rule.String(), Reasons: nonNil(d.Reasons), Trace: []ExplainStep{},
		Port:      portVerdict(fw, q, fam, ev, here, bind),
		Listening: listening,
	}
	pos := ev.Positions()
	for _, s := range d.Trace {
		doc.Trace = append(doc.Trace, ExplainStep{
			Table: s.Table, Chain: s.Chain, Position: pos.Of(s),
			Line: s.Line, Handle: s.Handle, Rule: s.Rule, Origin: s.Origin, Matched: s.Matched, Action: s.Action,
		})
	}
	if q.Iface == "" {
		doc.Elsewhere = elsewhere(fw, ev, pkt, d.Verdict, iface)
	}
	return doc
}

// destination is where the packet goes: the address asked for, else the
// address the port's listener is bound to, else the host's first address
// of the family (not link-local); invalid when none is known (the
// evaluator then takes one of the host's).
func destination(fw *firewall.Loaded, q ExplainQuery, fam firewall.Family, bind netip.Addr) netip.Addr {
	switch {
	case q.To.IsValid():
		return q.To
	case bind.IsValid():
		return bind
	}
	for _, a := range fw.Host.Addrs {
		if a.Is4() == (fam == firewall.IPv4) && !a.IsLinkLocalUnicast() {
			return a
		}
	}
	return netip.Addr{}
}

// elsewhere decides the same packet on the other interfaces and lists
// where it fares otherwise, so that this packet's verdict and the overall
// one never seem to contradict each other.
func elsewhere(fw *firewall.Loaded, ev *firewall.Evaluator, pkt firewall.Packet, verdict, iface string) []ExplainElsewhere {
	var out []ExplainElsewhere
	for _, other := range ev.Interfaces() {
		if other == iface || (other == "" && len(fw.Host.Interfaces) > 0) {
			continue
		}
		p := pkt
		p.InIface = other
		od := ev.Decide(p)
		if od.Verdict != verdict {
			name := other
			if name == "" {
				name = "(any other interface)"
			}
			out = append(out, ExplainElsewhere{Iface: name, Verdict: od.Verdict, Rule: od.Rule.String()})
		}
	}
	return out
}

// portVerdict is who can reach the port in this family, as scan and
// report judge it: the listeners' verdict (a loopback-bound one is
// not-applicable), the most permissive when several listen; a port
// nothing listens on is judged as if something listened on every address.
func portVerdict(fw *firewall.Loaded, q ExplainQuery, fam firewall.Family, ev *firewall.Evaluator, here []scan.Listener, bind netip.Addr) *FamilyVerdict {
	var best *FamilyVerdict
	for _, s := range Sockets(here, fw) {
		fv := s.Firewall.IPv4
		if fam == firewall.IPv6 {
			fv = s.Firewall.IPv6
		}
		if fv != nil && (best == nil || Overall(best, fv) != firewall.Verdict(best.Verdict)) {
			best = fv
		}
	}
	if best != nil {
		return best
	}
	fq := firewall.Query{Proto: q.Proto, Addr: bind, Port: q.Port}
	if !fq.Addr.IsValid() {
		fq.Addr = netip.IPv4Unspecified()
		if fam == firewall.IPv6 {
			fq.Addr = netip.IPv6Unspecified()
		}
	}
	return NewFamilyVerdict(ev.Evaluate(fq))
}
