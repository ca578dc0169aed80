// Package firewall owns the model of netfilter rules and their meaning.
// A reader finds it in the order a ruleset travels through it:
//
//   - front ends read each source into the one model. iptables-save and
//     ip6tables-save text: iptables_save.go splits and checks the lines,
//     iptables_match.go compiles a rule's matches and target, iptables_ir.go
//     gives the built-in chains their hooks and priorities. nftables JSON
//     (`nft -j list ruleset`): nft_json.go reads the document, nft_ir.go
//     compiles chains and statements, nft_match.go the matches, and
//     nft_render.go names a rule in nft's own words. nft's own language is
//     read by package nftlang into that same JSON tree (nft_load.go; nft
//     itself reads what nftlang declines). ufw_rules.go and managers.go name
//     the ufw and firewalld rules a rule came from. The live host is read
//     through one exec seam (live.go, exec.go, nft_netlink.go).
//   - the model (this file): base chains with a family, hook, priority,
//     type and policy; regular chains; rules with typed matches (match.go,
//     marks.go, nat.go, over the address sets of addrset.go) and their
//     origin in the user's own terms; the host's interfaces and routes
//     (routes.go reads them).
//   - the walker: each ruleset compiled into chains (compiled_chains.go),
//     every source's base chains put in the kernel's order per hook
//     (path.go), and the one loop over hooks (hooks.go) walking each
//     chain with sources as sets (walk.go; batch.go walks runs of rules
//     at once). The Evaluator (evaluator.go) holds the compiled chains and
//     what the host tells; Evaluate (evaluate.go) and Decide (decide.go,
//     with trace.go) are uses of the walker, answering with a verdict and
//     the deciding rule (verdict.go).
//   - questions callers ask (questions*.go, posture.go, analyze.go,
//     port_classes.go, positions.go; render_chains.go writes a ruleset
//     that keeps today's chains), so that callers never walk tables by
//     name. Loaded (load.go, loaded.go) is what was read from a host.
//
// It lists no sockets and names no services: a caller brings the
// listener it asks about.
//
// Choices the evaluator makes, each pinned by tests:
//   - Source addresses are sets. The other free variables are
//     enumerated: the input interface (the host's, or offline the ones
//     the rules name plus one generic outside interface), the
//     destination address of a wildcard bind (the host's, or offline
//     the addresses the rules name plus one generic address) and the
//     source port (one per class the source-port matches cut). A source
//     is accepted if some combination lets it in; an interface
//     restriction is reported when only named interfaces do.
//   - Runtime-state matches (-m recent, limit, set, string, unknown
//     modules and options; nft limit, quota, ct count, meters, sets the
//     packet path fills, unknown expressions) are explored both ways ("may"
//     sets per outcome); the verdict is conditional only for sources whose
//     outcomes differ. IPv6 extension-header matches never hold: a plain
//     SYN or datagram carries no such header.
//   - Base chains run per hook in priority order across every source
//     (iptables-legacy, iptables-nft, native nft): an accept ends that
//     chain only, a drop anywhere is final, a NAT in any chain moves the
//     packet for all. Chains of equal priority whose order could matter
//     are walked both ways. NOTRACK before conntrack makes packets
//     UNTRACKED (and skips nat); a mark a rule sets is followed; a DNAT
//     or REDIRECT elsewhere takes the packet away from the socket (to
//     FORWARD when it goes to another host); a DNAT to a loopback-bound
//     socket makes it reachable. For TCP the SYN-ACK must also pass the
//     output chains (an OUTPUT policy DROP closes ports).
//   - Reverse-path checks are judged from the host's routes; offline they
//     are runtime-dependent.
//   - Options the parser does not know are kept on the rule as opaque
//     (Rule.Unknown) rather than rejected: the Diekmann parser-torture file,
//     which iptables-restore rejects at line 12 for "--something-else",
//     parses, and verdicts that depend on that rule are conditional.
//   - nftables tables that cannot be read live (nft missing while the
//     kernel lists tables) are named in Host.Unseen: anything they could
//     drop makes accepting verdicts conditional.
package firewall

import (
	"fmt"
	"net/netip"
	"strings"
)

// Family is an address family: iptables rules are IPv4, ip6tables IPv6.
type Family string

const (
	IPv4 Family = "ipv4"
	IPv6 Family = "ipv6"
)

// Ruleset is one source of rules seen in one address family: an
// iptables-save or ip6tables-save dump (iptables-legacy or iptables-nft),
// or the native nftables tables that apply to the family (ip or ip6, and
// inet). Every front end compiles into this one model; the evaluator walks
// the base chains of all rulesets together, by hook and priority.
type Ruleset struct {
	Family Family
	Source string // "iptables-nft", "iptables-legacy", "nft", or the file it was read from
	Tables []*Table
	// unshown names the tables iptables-nft-save said it could not show
	// (nft's view of them is read instead)
	unshown []string
}

// Table is one "*filter" (or nat, mangle, raw, security) section of an
// iptables dump, or one nftables table.
type Table struct {
	Name string
	// NftFamily is the nftables family of a native table (ip, ip6, inet);
	// "" for an iptables table, whose built-in chains take their hooks and
	// priorities from the table name (see iptables_ir.go).
	NftFamily string
	Chains    []*Chain // in declaration order
}

// Chain is a base chain (Hook set, or an iptables built-in chain; Policy
// set) or a regular chain (Policy "").
type Chain struct {
	Name   string
	Policy string // "ACCEPT" or "DROP" for a base chain
	Rules  []*Rule
	// Hook, Priority and Type place a native base chain in the packet's
	// path (nft: "type filter hook input priority 0"). iptables built-in
	// chains leave them unset: their table says where they run.
	Hook     string // prerouting, input, forward, output, postrouting
	Priority int
	Type     string // filter, nat, route
}

// PortRange is an inclusive port range; a single port has Lo == Hi.
type PortRange struct{ Lo, Hi uint16 }

// Rule is one "-A" line. The exported fields and the methods below are a
// summary for callers that reason about rules (stale, duplicate rules); the
// evaluator uses its own compiled form. A host may hold 100,000 rules, most
// of them a bare "-s ADDR -j DROP": what such a rule lacks (a protocol,
// ports, options not understood, a manager's name, an nft rule's part) is
// kept behind one pointer, and the booleans sit together so that they
// share a word.
type Rule struct {
	Table, Chain string
	Line         int    // line number in the source (iptables)
	Handle       int    // the rule's handle (nftables)
	Text         string // as in the save file, without a [pkts:bytes] prefix; nft: where and what (see nftRuleText)
	Target       string // ACCEPT, DROP, REJECT, RETURN, LOG, DNAT, a user chain; "" for none (nft rules use the same names)

	// Native: an nft rule (Text is "family table chain handle N: statements")
	Native bool
	Goto   bool // -g rather than -j

	more *ruleMore // nil while none of its fields is set

	m matchSet // compiled matches, filled by the parser
}

// ruleMore is the part of a Rule that a blocklist rule lacks.
type ruleMore struct {
	origin    string
	part      int
	proto     string
	dports    []PortRange
	unknown   []string
	protoNeg  bool
	dportsNeg bool
}

// noMore is what a rule without a ruleMore reads; never written.
var noMore ruleMore

// readMore is the rule's ruleMore to read.
func (r *Rule) readMore() *ruleMore {
	if r.more == nil {
		return &noMore
	}
	return r.more
}

// writeMore is the rule's ruleMore to write, made on first use.
func (r *Rule) writeMore() *ruleMore {
	if r.more == nil {
		r.more = &ruleMore{}
	}
	return r.more
}

// Origin is the rule as its manager names it ("ufw rule 4: 22/tcp ALLOW
// IN Anywhere", see AnnotateUfw); "" when nothing names it.
func (r *Rule) Origin() string { return r.readMore().origin }

// Part numbers the pieces of an nft rule that matches a set of
// concatenations or a verdict map: the evaluator walks one rule per
// element (elements never overlap, so at most one piece matches a
// packet). 0 for a whole rule.
func (r *Rule) Part() int { return r.readMore().part }

// Proto is the protocol matched: "" for any; a lower-case name ("tcp",
// "udp", "icmp") or number. ProtoNeg: the match is negated.
func (r *Rule) Proto() string { return r.readMore().proto }

func (r *Rule) ProtoNeg() bool { return r.readMore().protoNeg }

// DPorts are the destination ports matched (from --dport, --dports,
// --ports); nil: any. DPortsNeg: the match is negated.
func (r *Rule) DPorts() []PortRange { return r.readMore().dports }

func (r *Rule) DPortsNeg() bool { return r.readMore().dportsNeg }

// Unknown are the options not understood; any verdict depending on them
// is conditional.
func (r *Rule) Unknown() []string { return r.readMore().unknown }

// Where names the rule's place: "INPUT line 12" for an iptables rule,
// "inet filter input handle 7" for an nft one.
func (r *Rule) Where() string {
	if r.Native {
		where, _, _ := strings.Cut(r.Text, ": ")
		return where
	}
	return fmt.Sprintf("%s line %d", r.Chain, r.Line)
}

// Statements is an nft rule's text without its place ("" for iptables).
func (r *Rule) Statements() string {
	if !r.Native {
		return ""
	}
	_, body, _ := strings.Cut(r.Text, ": ")
	return body
}

// Host is what the evaluator knows of the machine the rules run on. The zero
// Host is an offline audit: the interfaces the rules name plus one generic
// outside interface, and any destination address the rules allow.
type Host struct {
	Interfaces []string // non-loopback interface names a packet can arrive on
	// Inside names those of Interfaces that lead to the host's own
	// containers or virtual machines (bridges with no physical port, such
	// as docker0): packets from them are judged like any other, but they
	// are not outside, so they neither make a port open nor restricted.
	Inside []string
	Addrs  []netip.Addr // the host's own non-loopback addresses
	// Routes is the main routing table, for reverse-path checks (nil when
	// not read: such checks then make verdicts conditional)
	Routes []Route
	// RouteLocalnet is net.ipv4.conf.NAME.route_localnet by interface
	// name, "all" included (nil when not read). Where neither an
	// interface's value nor all's is set, the kernel drops a packet from
	// 127.0.0.0/8 arriving on it as a martian source, in routing, before
	// the input chains see it.
	RouteLocalnet map[string]bool
	// Unseen names filtering the evaluator cannot see (Live.Unseen: native
	// nftables tables on the input hook). Any verdict that accepts someone
	// becomes conditional with these as reasons; blocked stays blocked,
	// since a drop in one base chain is final.
	Unseen []string
}

// Route is one route of the host's main routing table: packets to Prefix
// leave by Iface ("" for a route that sends nowhere: blackhole,
// unreachable, prohibit).
type Route struct {
	Prefix netip.Prefix
	Iface  string
}
