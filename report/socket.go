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
	Verdict    string   `json:"verdict"`
	Sources    []string `json:"sources"`
	Except     []string `json:"except"`
	Interfaces []string `json:"interfaces"`
	Reasons    []string `json:"reasons"`
	Rule       string   `json:"rule"`
	// Destinations: reached only at these of the host's addresses
	Destinations []string `json:"destinations,omitempty"`
	// Origin is the deciding rule as the host's firewall manager names it
	// ("ufw rule 4: 22/tcp ALLOW IN Anywhere"); absent when none does.
	Origin string `json:"origin,omitempty"`
}

// Firewall is what is known of the host's rules, per family. A nil
// evaluator means the family's rules could not be read; the matching Err
// says why, and verdicts for that family are "unknown".
type Firewall struct {
	V4, V6       *firewall.Evaluator
	Err4, Err6   string
	Sets4, Sets6 []*firewall.Ruleset
	// Host is what the evaluators were built with; sockets bound to one
	// device are judged by evaluators that see only that interface.
	Host     firewall.Host
	byDevice map[string]*firewall.Evaluator
	// Unseen4 and Unseen6 name filtering that applies to the family but
	// that the evaluators cannot see (native nftables tables on the input
	// hook); the evaluators already make accepting verdicts conditional.
	Unseen4, Unseen6 []string
	// Nft is the nftables ruleset read (live or --nft), whose native
	// tables are already among Sets4 and Sets6; nil when none was read.
	Nft *firewall.NftRuleset
}

// Sockets judges every listener against fw, sorted by port, proto, family
// and address. A nil fw leaves Firewall null (no rules were asked for).
func Sockets(ls []scan.Listener, fw *Firewall) []Socket {
	out := make([]Socket, 0, len(ls))
	// a host's listeners share few addresses: each is formatted once
	addrs := map[netip.Addr]string{}
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
			s.Firewall = judge(*l, fw)
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

// judge computes the per-family verdicts of one listener.
func judge(l scan.Listener, fw *Firewall) *SocketFirewall {
	sf := &SocketFirewall{}
	v4 := l.Family == "ipv4" || l.DualStack
	v6 := l.Family == "ipv6"
	if v4 {
		addr := l.Address
		if l.Family == "ipv6" { // dual stack: the IPv4 side of "::"
			addr = netip.IPv4Unspecified()
		}
		sf.IPv4 = familyVerdict(l, addr, fw.deviceEvaluator(l.Device, firewall.IPv4), fw.Err4)
	}
	if v6 {
		sf.IPv6 = familyVerdict(l, l.Address, fw.deviceEvaluator(l.Device, firewall.IPv6), fw.Err6)
	}
	sf.Verdict = string(Overall(sf.IPv4, sf.IPv6))
	return sf
}

// deviceEvaluator is the family's evaluator for a socket bound to dev
// (SO_BINDTODEVICE): such a socket only receives what arrives on dev, so
// only that interface is walked. No device: the host's evaluator.
func (fw *Firewall) deviceEvaluator(dev string, fam firewall.Family) *firewall.Evaluator {
	ev, sets, unseen := fw.V4, fw.Sets4, fw.Unseen4
	if fam == firewall.IPv6 {
		ev, sets, unseen = fw.V6, fw.Sets6, fw.Unseen6
	}
	if dev == "" || dev == "lo" || ev == nil {
		return ev
	}
	key := string(fam) + " " + dev
	if e, ok := fw.byDevice[key]; ok {
		return e
	}
	h := fw.Host
	h.Interfaces, h.Unseen = []string{dev}, unseen
	e := firewall.NewEvaluator(fam, sets, h)
	if fw.byDevice == nil {
		fw.byDevice = map[string]*firewall.Evaluator{}
	}
	fw.byDevice[key] = e
	return e
}

func familyVerdict(l scan.Listener, addr netip.Addr, ev *firewall.Evaluator, why string) *FamilyVerdict {
	notApplicable := firewall.Result{Verdict: firewall.NotApplicable, Reasons: []string{"bound to loopback"}}
	local := l.Exposure == scan.ExposureLocal
	// A socket bound to device lo only sees packets that came in on lo. One
	// bound to a loopback address is out of reach unless a nat DNAT sends
	// outside traffic to it (with route_localnet): the evaluator knows.
	if local && (l.Device == "lo" || ev == nil) {
		return NewFamilyVerdict(notApplicable)
	}
	if ev == nil {
		return NewFamilyVerdict(firewall.Result{Verdict: firewall.Unknown, Reasons: []string{why}})
	}
	r := ev.Evaluate(firewall.Query{Proto: l.Proto, Addr: addr, Port: l.Port})
	if local && r.Verdict == firewall.NotApplicable {
		r = notApplicable
	}
	if dev := l.Device; dev != "" && dev != "lo" && (r.Verdict == firewall.Open || r.Verdict == firewall.Restricted) {
		// accepted, but only ever on the bound device
		r.Verdict, r.Interfaces = firewall.Restricted, []string{dev}
	}
	return NewFamilyVerdict(r)
}

func NewFamilyVerdict(r firewall.Result) *FamilyVerdict {
	fv := &FamilyVerdict{
		Verdict: string(r.Verdict), Sources: prefixes(r.Sources), Except: prefixes(r.Except),
		Interfaces: nonNil(r.Interfaces), Reasons: nonNil(r.Reasons), Rule: r.Rule.String(), Origin: r.Origin,
	}
	if len(r.Destinations) > 0 {
		fv.Destinations = prefixes(r.Destinations)
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

func prefixes(ps []netip.Prefix) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
