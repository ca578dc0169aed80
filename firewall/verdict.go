package firewall

import "net/netip"

// Verdict is the answer for one port and family, as DESIGN.md defines it.
type Verdict string

const (
	Open          Verdict = "open"
	Restricted    Verdict = "restricted"
	Blocked       Verdict = "blocked"
	Conditional   Verdict = "conditional"
	NotApplicable Verdict = "not-applicable"
	Unknown       Verdict = "unknown"
)

// Query asks who can open a NEW connection to one listening socket.
type Query struct {
	Proto string     // "tcp" or "udp"
	Addr  netip.Addr // bind address; the unspecified address for a wildcard bind
	Port  uint16
	// SocketOnly asks who reaches the socket itself: a connection a nat
	// rule sends on to another host (a port forward) never gets to it,
	// so what FORWARD lets through does not count. Otherwise it counts,
	// the socket standing for the port published there (Docker's).
	SocketOnly bool
	// UID is the listener's owner uid (the scan's), where UIDKnown: it
	// decides an owner match (-m owner --uid-owner, meta skuid) on the
	// reply the listener sends
	UID      uint32
	UIDKnown bool
	// Packed asks for long IPv4 lists packed (Result.Packed) instead of
	// as []netip.Prefix: a list behind a ban set of 100,000 addresses
	// holds a million prefixes, 32 bytes each as netip.Prefix, but only
	// 100,000 ranges, 8 bytes each packed
	Packed bool
}

// Result is the answer to a Query for one family.
type Result struct {
	Verdict    Verdict
	Sources    []netip.Prefix // restricted: the accepted sources; conditional: those that may be
	Except     []netip.Prefix // open: the excluded ranges
	Interfaces []string       // restricted: accepted only on these input interfaces
	// Destinations: a wildcard bind reached only at these of the host's
	// addresses (a destination match); nil when at every one
	Destinations []netip.Prefix `json:",omitempty"`
	// Doubtful: open or restricted, the sources a runtime match may also
	// admit (disjoint from what the verdict admits); nil when none is in
	// doubt. The verdict word is what is certain; conditional is the
	// verdict only where nothing is.
	Doubtful []netip.Prefix `json:",omitempty"`
	// SourcePorts: admitted (Sources, Except) only from these source
	// ports, others getting fewer; nil when the source port makes no
	// difference
	SourcePorts []PortRange `json:",omitempty"`
	Reasons     []string    // conditional, or with Doubtful: the matches that depend on runtime state
	Rule        RuleRef     // the deciding rule (its text as in the save file) or policy ("-P INPUT DROP")
	Origin      string      `json:",omitempty"` // the deciding rule as its manager names it (Rule.Origin), or ""
	// ByInterface: each outside interface's own answer, when they differ
	// in a way the fields above cannot say (one admits everyone, another
	// a few); nil when those fields hold on every outside interface. See
	// byInterface.
	ByInterface []IfaceResult `json:",omitempty"`
	// Packed: where the query asked for it (Query.Packed), the IPv4
	// lists of sets of packedMin ranges or more, which then leave
	// Sources, Except or Doubtful nil; nil when there is none
	Packed *PackedLists `json:"-"`
}

// PackedLists are a Result's long IPv4 lists: the lists of prefixes
// Sources, Except and Doubtful would hold, each given as the ranges of
// addresses they cover, in address order, each range its first
// address<<32 | its last. A range stands for the minimal list of prefixes
// covering it (EachPackedPrefix); ranges neither overlap nor touch. Behind
// a ban set of 100,000 single addresses the complement of the set is
// 100,000 ranges but some 1.2 million prefixes. Several answers may share
// one list: nothing may change it.
type PackedLists struct {
	Sources, Except, Doubtful []uint64
}

// packedMin is the number of ranges from which a set's list is packed
// (Query.Packed); a variable for tests only.
var packedMin = 4096

// Packet is one concrete packet, for Decide and explain.
type Packet struct {
	Proto        string
	Src, Dst     netip.Addr
	SPort, DPort uint16
	InIface      string
	State        string // conntrack state; "" means NEW
}

// Step is one rule or policy visited while deciding a packet.
type Step struct {
	Table, Chain string // the table ("filter", "inet fw") and chain
	Line         int    // the rule's line (iptables)
	Handle       int    // the rule's handle (nftables)
	Rule         string // the rule text, or "policy DROP"
	Origin       string // the rule as its manager names it (Rule.Origin), or ""
	Matched      string // "yes", "no" or "maybe" (runtime-state match)
	Action       string // what the walk did next: "accept", "drop", "jump X", "return", "continue"
}

// Decision is the fate of one Packet.
type Decision struct {
	InIface string  // the input interface the packet was decided on
	Verdict string  // "accept", "drop" or "conditional"
	Rule    RuleRef // the deciding rule or policy
	Reasons []string
	Trace   []Step
}

// RuleRef names what decided a verdict: a rule, or the policy of a base
// chain. It prints (and encodes in JSON) as the rule's text as in the save
// file ("-A INPUT -p tcp --dport 22 -j ACCEPT", nft: where and what) or the
// policy as its front end writes it ("-P INPUT DROP", "inet filter input
// policy drop"); the zero RuleRef names nothing and prints as "".
type RuleRef struct {
	rule *Rule
	// text is a policy's (policy set), or a note standing for a rule
	// where no rule decided ("(not translated to 127.0.0.1)")
	text   string
	policy bool
}

// ruleRef names r.
func ruleRef(r *Rule) RuleRef { return RuleRef{rule: r} }

// policyRef names base chain c's policy.
func policyRef(c *cchain) RuleRef { return RuleRef{text: c.policyText(), policy: true} }

// Rule is the rule named; nil for a policy or nothing.
func (r RuleRef) Rule() *Rule { return r.rule }

// IsPolicy tells whether a base chain's policy decided.
func (r RuleRef) IsPolicy() bool { return r.policy }

// IsZero tells whether r names nothing.
func (r RuleRef) IsZero() bool { return r.rule == nil && r.text == "" }

// String is the rule's text or the policy's.
func (r RuleRef) String() string {
	if r.rule != nil {
		return r.rule.Text
	}
	return r.text
}

// MarshalText encodes r as its text, so JSON holds the string it always
// held.
func (r RuleRef) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a rule's text back (from JSON written earlier): the
// text alone, with no rule behind it.
func (r *RuleRef) UnmarshalText(b []byte) error {
	*r = RuleRef{text: string(b)}
	return nil
}
