// Package report owns what fwaudit tells its users: the per-socket verdicts
// (scan × firewall), the compliance checks and findings, and the JSON,
// table and markdown renderings of them. It reads no live state itself.
package report

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// Socket is one listener with its firewall verdicts, as in `scan -o json`.
type Socket struct {
	Proto     string    `json:"proto"`
	Family    string    `json:"family"`
	DualStack bool      `json:"dual_stack"`
	Address   string    `json:"address"`
	Port      uint16    `json:"port"`
	Device    string    `json:"device,omitempty"`
	PID       int       `json:"pid"`
	Process   string    `json:"process"`
	Processes []Process `json:"processes,omitempty"`
	Service   string    `json:"service"`
	ServiceBy string    `json:"service_by,omitempty"` // "process" or "port" (a guess)
	Exposure  string    `json:"exposure"`
	// Client: a UDP socket the kernel bound for a client (scan.MarkClients);
	// it is listed and judged, but raises no finding and is not counted as
	// public or open.
	Client bool `json:"client,omitempty"`
	// ForwardsTo: where a nat DNAT sends what arrives on this port (the
	// container side of a published port, "172.17.0.2:80"). Published: no
	// host socket listens; the row stands for the published port itself.
	ForwardsTo []string        `json:"forwards_to,omitempty"`
	Published  bool            `json:"published,omitempty"`
	Firewall   *SocketFirewall `json:"firewall"`
}

// Process is one owner of a socket.
type Process struct {
	PID  int    `json:"pid"`
	Name string `json:"name"`
}

// SocketFirewall holds the verdicts for a socket: overall and per family
// (null for a family the socket does not receive).
type SocketFirewall struct {
	Verdict string         `json:"verdict"`
	IPv4    *FamilyVerdict `json:"ipv4"`
	IPv6    *FamilyVerdict `json:"ipv6"`
}

// FamilyVerdict is a firewall.Result in its JSON form.
type FamilyVerdict struct {
	// ref is the deciding rule itself, when the verdict was judged here
	// (zero for one read back from JSON)
	ref        firewall.RuleRef
	Verdict    string    `json:"verdict"`
	Sources    *Prefixes `json:"sources"`
	Except     *Prefixes `json:"except"`
	Interfaces []string  `json:"interfaces"`
	// Doubtful: open or restricted, the sources a runtime match may also
	// admit, beside those the verdict admits for sure (Reasons says why)
	Doubtful *Prefixes `json:"doubtful,omitempty"`
	Reasons  []string  `json:"reasons"`
	Rule     string    `json:"rule"`
	// Destinations: reached only at these of the host's addresses
	Destinations *Prefixes `json:"destinations,omitempty"`
	// Origin is the deciding rule as the host's firewall manager names it
	// ("ufw rule 4: 22/tcp ALLOW IN Anywhere"); absent when none does.
	Origin string `json:"origin,omitempty"`
	// ByInterface: each outside interface's own answer, when they differ
	// in a way the fields above cannot say (everyone on eth0, one source
	// on eth1). The fields above then say who gets in on some interface
	// and who is kept out on all; absent when they hold on every one.
	ByInterface []IfaceVerdict `json:"by_interface,omitempty"`
}

// IfaceVerdict is the verdict for packets arriving on one interface.
type IfaceVerdict struct {
	// Interface is its name; "" offline for any interface the rules do
	// not name
	Interface string `json:"interface"`
	FamilyVerdict
}

// Sockets judges every listener against fw, sorted by port, proto, family
// and address. A nil fw leaves Firewall null (no rules were asked for).
func Sockets(ls []scan.Listener, fw *firewall.Loaded) []Socket {
	out := make([]Socket, 0, len(ls))
	// a host's listeners share few addresses: each is formatted once
	addrs := map[netip.Addr]string{}
	var verdicts verdictCache
	for i := range ls {
		l := &ls[i]
		addr, ok := addrs[l.Address]
		if !ok {
			addr = l.Address.String()
			addrs[l.Address] = addr
		}
		s := Socket{
			Proto: l.Proto, Family: l.Family, DualStack: l.DualStack,
			Address: addr, Port: l.Port, Device: l.Device,
			PID: l.PID, Process: l.Process, Service: l.Service, ServiceBy: l.ServiceBy,
			Exposure: string(l.Exposure), Client: l.Client,
		}
		if len(l.Processes) > 1 {
			for _, p := range l.Processes {
				s.Processes = append(s.Processes, Process{PID: p.PID, Name: p.Name})
			}
		}
		if fw != nil {
			s.Firewall = verdicts.judge(l, fw)
		}
		out = append(out, s)
	}
	out = withPublished(out, fw)
	sortSockets(out)
	return out
}

// sortSockets orders by port, proto, family and address; sockets equal in
// these keep their order. The scanner's order nearly always is this one
// already (it differs only between addresses whose text sorts otherwise,
// "10.0.0.10" before "10.0.0.9"), so a pass that finds them in order is
// all; otherwise positions are sorted and each socket moved once (a
// Socket is big, and sort.SliceStable swapped them by value).
func sortSockets(out []Socket) {
	compare := func(a, b *Socket) int {
		if c := cmp.Compare(a.Port, b.Port); c != 0 {
			return c
		}
		if c := strings.Compare(a.Proto, b.Proto); c != 0 {
			return c
		}
		if c := strings.Compare(a.Family, b.Family); c != 0 {
			return c
		}
		return strings.Compare(a.Address, b.Address)
	}
	i := 1
	for i < len(out) && compare(&out[i-1], &out[i]) <= 0 {
		i++
	}
	if i >= len(out) {
		return
	}
	idx := make([]int, len(out))
	for k := range idx {
		idx[k] = k
	}
	slices.SortStableFunc(idx, func(a, b int) int { return compare(&out[a], &out[b]) })
	sorted := make([]Socket, len(out))
	for k, from := range idx {
		sorted[k] = out[from]
	}
	copy(out, sorted)
}

// verdictCache hands out one FamilyVerdict, and one SocketFirewall, for
// each verdict that many sockets share: on a host with thousands of
// listeners most verdicts are alike ("not-applicable: bound to loopback",
// "open" by the policy), and one copy each was most of the memory the
// judging took. A verdict with a list of sources, exceptions, interfaces
// or destinations is made anew each time, but its long lists of prefixes
// are shared with every equal one (lists). What it hands out is shared:
// nothing may write to it. The zero value is ready; a nil cache shares
// nothing.
type verdictCache struct {
	family map[familyKey]*FamilyVerdict
	socket map[[2]*FamilyVerdict]*SocketFirewall
	// lists: the lists of at least bigList prefixes made so far, by the
	// hash of their content
	lists map[uint64][]*Prefixes
	// bases: the ranges of the lists among them kept whole, the first
	// maxBases, which later lists are made patches of (rebase)
	bases [][]uint64
}

// maxBases is the number of lists later lists are compared with to be
// made patches of them.
const maxBases = 8

// bigList is the length from which equal lists of prefixes are shared.
const bigList = 4096

// prefixes is ps as a list, the one made before when an equal list of
// bigList prefixes or more was.
func (c *verdictCache) prefixes(ps []netip.Prefix) *Prefixes {
	return c.share(newPrefixes(ps))
}

// list is the list the judge gave as ps, or packed (firewall.PackedLists)
// where packed is not nil, the one made before when an equal list of
// bigList prefixes or more was.
func (c *verdictCache) list(ps []netip.Prefix, packed []uint64) *Prefixes {
	if packed != nil {
		return c.share(packedPrefixes(packed))
	}
	return c.prefixes(ps)
}

// share is l, or the list equal to it made before, when it holds bigList
// prefixes or more; a new list is made a patch of one made before where
// it differs from it in a few ranges.
func (c *verdictCache) share(l *Prefixes) *Prefixes {
	if c == nil || l.Len() < bigList {
		return l
	}
	h := l.hash()
	for _, kept := range c.lists[h] {
		if kept.equal(l) {
			return kept
		}
	}
	if c.lists == nil {
		c.lists = map[uint64][]*Prefixes{}
	}
	patched := false
	for _, base := range c.bases {
		if l, patched = rebase(l, base); patched {
			break
		}
	}
	if !patched && l.text == nil && len(c.bases) < maxBases {
		c.bases = append(c.bases, l.v4[0])
	}
	c.lists[h] = append(c.lists[h], l)
	return l
}

// familyKey is a Result without lists, but for at most one reason.
type familyKey struct {
	verdict, reason, origin string
	rule                    firewall.RuleRef
	reasons                 int
}

// familyVerdict is NewFamilyVerdict(r), shared when r has no list; shared
// says whether it is.
func (c *verdictCache) familyVerdict(r firewall.Result) (fv *FamilyVerdict, shared bool) {
	if c == nil || len(r.Sources)+len(r.Except)+len(r.Interfaces)+len(r.Destinations)+len(r.Doubtful)+len(r.ByInterface) > 0 || r.Packed != nil || len(r.Reasons) > 1 {
		return c.newFamilyVerdict(r), false
	}
	k := familyKey{verdict: string(r.Verdict), rule: r.Rule, origin: r.Origin, reasons: len(r.Reasons)}
	if len(r.Reasons) == 1 {
		k.reason = r.Reasons[0]
	}
	if fv, ok := c.family[k]; ok {
		return fv, true
	}
	if c.family == nil {
		c.family = map[familyKey]*FamilyVerdict{}
	}
	fv = c.newFamilyVerdict(r)
	c.family[k] = fv
	return fv, true
}

// judge computes the per-family verdicts of one listener, shared with
// none.
func judge(l *scan.Listener, fw *firewall.Loaded) *SocketFirewall {
	return (*verdictCache)(nil).judge(l, fw)
}

// judge computes the per-family verdicts of one listener.
func (c *verdictCache) judge(l *scan.Listener, fw *firewall.Loaded) *SocketFirewall {
	var v4, v6 *FamilyVerdict
	shared4, shared6 := true, true
	s := socketOf(l)
	s.Packed = true // newFamilyVerdict takes long lists packed
	if l.Family == "ipv4" || l.DualStack {
		r, _ := fw.Judge(firewall.IPv4, s)
		v4, shared4 = c.familyVerdict(r)
	}
	if l.Family == "ipv6" {
		r, _ := fw.Judge(firewall.IPv6, s)
		v6, shared6 = c.familyVerdict(r)
	}
	if c == nil || !shared4 || !shared6 {
		return &SocketFirewall{Verdict: string(Overall(v4, v6)), IPv4: v4, IPv6: v6}
	}
	k := [2]*FamilyVerdict{v4, v6}
	if sf, ok := c.socket[k]; ok {
		return sf
	}
	if c.socket == nil {
		c.socket = map[[2]*FamilyVerdict]*SocketFirewall{}
	}
	sf := &SocketFirewall{Verdict: string(Overall(v4, v6)), IPv4: v4, IPv6: v6}
	c.socket[k] = sf
	return sf
}

// socketOf is l as the firewall judges it.
func socketOf(l *scan.Listener) firewall.Socket {
	return firewall.Socket{Proto: l.Proto, Addr: l.Address, Port: l.Port, Device: l.Device, Local: l.Exposure == scan.ExposureLocal,
		UID: l.UID, UIDKnown: l.UIDKnown}
}

// NewFamilyVerdict is r in its JSON form.
func NewFamilyVerdict(r firewall.Result) *FamilyVerdict {
	return (*verdictCache)(nil).newFamilyVerdict(r)
}

// newFamilyVerdict is r in its JSON form, its long lists shared with
// equal ones made before.
func (c *verdictCache) newFamilyVerdict(r firewall.Result) *FamilyVerdict {
	var packed firewall.PackedLists
	if r.Packed != nil {
		packed = *r.Packed
	}
	fv := &FamilyVerdict{
		Verdict: string(r.Verdict), Sources: c.list(r.Sources, packed.Sources), Except: c.list(r.Except, packed.Except),
		Interfaces: nonNil(r.Interfaces), Reasons: nonNil(r.Reasons), Rule: r.Rule.String(), Origin: r.Origin,
		ref: r.Rule,
	}
	if len(r.Destinations) > 0 {
		fv.Destinations = c.prefixes(r.Destinations)
	}
	if len(r.Doubtful) > 0 || packed.Doubtful != nil {
		fv.Doubtful = c.list(r.Doubtful, packed.Doubtful)
	}
	for _, x := range r.ByInterface {
		fv.ByInterface = append(fv.ByInterface, IfaceVerdict{Interface: x.Iface, FamilyVerdict: *c.newFamilyVerdict(x.Result)})
	}
	return fv
}

// rank orders verdicts from most to least permissive, for Overall.
var rank = map[string]int{
	string(firewall.Open): 6, string(firewall.Conditional): 5, string(firewall.Unknown): 4,
	string(firewall.Restricted): 3, string(firewall.Blocked): 2, string(firewall.NotApplicable): 1,
}

// Overall is a socket's most permissive family verdict (open > conditional >
// unknown > restricted > blocked > not-applicable).
func Overall(fams ...*FamilyVerdict) firewall.Verdict {
	best := ""
	for _, f := range fams {
		if f != nil && rank[f.Verdict] > rank[best] {
			best = f.Verdict
		}
	}
	return firewall.Verdict(best)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
