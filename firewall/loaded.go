package firewall

import (
	"net/netip"
	"sync"
)

// Loaded is the firewall read from one host: each family's rules from
// every source (the iptables legacy and nft backends, native nftables
// tables, with ufw's and firewalld's names for their rules), the host they
// run on (interfaces, addresses, routes) and the nftables ruleset as read.
// It judges listeners; report, suggest and explain all ask it.
type Loaded struct {
	V4, V6 FamilyRules
	// Host is what the evaluators see of the host: interfaces, addresses
	// and routes (each family's Unseen is added by HostOf).
	Host Host
	// Nft is the nftables ruleset read (live or from a file), whose native
	// tables are already among the families' Sets; nil when none was read.
	Nft *NftRuleset

	mu  sync.Mutex
	evs map[string]*Evaluator // per family and bound device
}

// FamilyRules is one family's loaded rules.
type FamilyRules struct {
	Sets []*Ruleset // nil: the rules are not known (Why says why)
	// Unseen names filtering that applies to the family but that its
	// evaluators cannot see (native nftables tables on the input hook, the
	// policies a restore fragment leaves to the host): accepting verdicts
	// are conditional on them.
	Unseen []string
	Why    string
}

// Of is the family's rules.
func (l *Loaded) Of(fam Family) *FamilyRules {
	if fam == IPv6 {
		return &l.V6
	}
	return &l.V4
}

// Known reports whether the family's rules could be read.
func (l *Loaded) Known(fam Family) bool {
	return l != nil && l.Of(fam).Sets != nil
}

// HostOf is the host as the family's evaluators see it: Host with the
// family's unseen filtering.
func (l *Loaded) HostOf(fam Family) Host {
	h := l.Host
	h.Unseen = l.Of(fam).Unseen
	return h
}

// With is the same host with fam's rules replaced by sets (its unseen
// filtering kept) and the other family not loaded: what loading sets
// would leave, for comparing with today.
func (l *Loaded) With(fam Family, sets []*Ruleset) *Loaded {
	n := &Loaded{Host: l.Host}
	*n.Of(fam) = FamilyRules{Sets: sets, Unseen: l.Of(fam).Unseen}
	return n
}

// Evaluator is the family's evaluator for a socket bound to dev
// (SO_BINDTODEVICE): such a socket only hears what arrives on dev, so only
// that interface is walked. No device (or lo): the host's evaluator. Nil
// when the family's rules are not known. Evaluators are built once.
func (l *Loaded) Evaluator(fam Family, dev string) *Evaluator {
	r := l.Of(fam)
	if r.Sets == nil {
		return nil
	}
	if dev == "lo" {
		dev = ""
	}
	key := string(fam) + " " + dev
	l.mu.Lock()
	defer l.mu.Unlock()
	if ev, ok := l.evs[key]; ok {
		return ev
	}
	h := l.HostOf(fam)
	if dev != "" {
		h.Interfaces = []string{dev}
	}
	ev := NewEvaluator(fam, r.Sets, h)
	if l.evs == nil {
		l.evs = map[string]*Evaluator{}
	}
	l.evs[key] = ev
	return ev
}

// Socket is a listening socket as the firewall judges it.
type Socket struct {
	Proto  string     // "tcp" or "udp"
	Addr   netip.Addr // bind address; "::" for a dual-stack wildcard
	Port   uint16
	Device string // the device it is bound to (SO_BINDTODEVICE); "" none
	Local  bool   // bound to loopback (a loopback address or device lo)
	// Only: what reaches this socket alone (Query.SocketOnly), not what
	// a port forward sends on to another host
	Only bool
	// UID is the socket's owner uid, where UIDKnown (see Query)
	UID      uint32
	UIDKnown bool
	// Packed: long IPv4 lists come packed (Query.Packed)
	Packed bool
}

// queryAddr is the bind address to ask about in fam: the IPv4 side of a
// dual-stack "::" is the IPv4 wildcard; an IPv4-mapped bind is IPv4.
func (s Socket) queryAddr(fam Family) netip.Addr {
	a := s.Addr
	if fam == IPv4 {
		if a.Is4In6() {
			return a.Unmap()
		}
		if a.Is6() {
			return netip.IPv4Unspecified()
		}
	}
	return a
}

func (s Socket) query(fam Family) Query {
	return Query{Proto: s.Proto, Addr: s.queryAddr(fam), Port: s.Port, SocketOnly: s.Only, UID: s.UID, UIDKnown: s.UIDKnown, Packed: s.Packed}
}

// deviceBound reports whether s hears one interface only.
func (s Socket) deviceBound() bool { return s.Device != "" && s.Device != "lo" }

// Judge is who the family's rules let open a NEW connection to s. known
// is false when the family's rules could not be read (the verdict is then
// unknown, with the reason). A socket bound to loopback is out of reach
// (not-applicable) unless a nat DNAT sends outside traffic to it or from
// it to another host, or route_localnet lets it in (martianDst), which
// the evaluator knows; one bound to device lo only
// sees packets that came in on lo. A socket bound to a device is reached
// at most on that device.
func (l *Loaded) Judge(fam Family, s Socket) (r Result, known bool) {
	notApplicable := Result{Verdict: NotApplicable, Reasons: []string{"bound to loopback"}}
	ev := l.Evaluator(fam, s.Device)
	if s.Local && (s.Device == "lo" || ev == nil) {
		return notApplicable, ev != nil
	}
	if ev == nil {
		return Result{Verdict: Unknown, Reasons: []string{l.Of(fam).Why}}, false
	}
	r = ev.Evaluate(s.query(fam))
	if s.Local && r.Verdict == NotApplicable {
		r = notApplicable
	}
	if s.deviceBound() && (r.Verdict == Open || r.Verdict == Restricted) {
		// accepted, but only ever on the bound device; Except stays:
		// those sources are still kept out there
		r.Verdict, r.Interfaces = Restricted, []string{s.Device}
	}
	return r, true
}

// Each is who the family's rules let open a NEW connection to s on every
// interface alone (EvaluateEach); nil for a socket bound to a device (it
// hears one interface) or when the rules are not known.
func (l *Loaded) Each(fam Family, s Socket) []IfaceResult {
	if s.deviceBound() {
		return nil
	}
	ev := l.Evaluator(fam, "")
	if ev == nil {
		return nil
	}
	_, each := ev.EvaluateEach(s.query(fam))
	return each
}
