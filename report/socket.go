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

// Sockets judges every listener against fw, sorted by port, proto, family
// and address. A nil fw leaves Firewall null (no rules were asked for).
func Sockets(ls []scan.Listener, fw *firewall.Loaded) []Socket {
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

// judge computes the per-family verdicts of one listener: IPv4 for an
// IPv4 or dual-stack socket, IPv6 for an IPv6 one.
func judge(l scan.Listener, fw *firewall.Loaded) *SocketFirewall {
	sf := &SocketFirewall{}
	s := socketOf(l)
	if l.Family == "ipv4" || l.DualStack {
		r, _ := fw.Judge(firewall.IPv4, s)
		sf.IPv4 = NewFamilyVerdict(r)
	}
	if l.Family == "ipv6" {
		r, _ := fw.Judge(firewall.IPv6, s)
		sf.IPv6 = NewFamilyVerdict(r)
	}
	sf.Verdict = string(Overall(sf.IPv4, sf.IPv6))
	return sf
}

// socketOf is l as the firewall judges it.
func socketOf(l scan.Listener) firewall.Socket {
	return firewall.Socket{Proto: l.Proto, Addr: l.Address, Port: l.Port, Device: l.Device, Local: l.Exposure == scan.ExposureLocal}
}

// NewFamilyVerdict is r in its JSON form.
func NewFamilyVerdict(r firewall.Result) *FamilyVerdict {
	fv := &FamilyVerdict{
		Verdict: string(r.Verdict), Sources: prefixes(r.Sources), Except: prefixes(r.Except),
		Interfaces: nonNil(r.Interfaces), Reasons: nonNil(r.Reasons), Rule: r.Rule, Origin: r.Origin,
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
