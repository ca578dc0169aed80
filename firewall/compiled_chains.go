package firewall

import (
	"net/netip"
	"strings"
)

// tri is a match result: runtime-state matches give maybe.
type tri uint8

const (
	triNo tri = iota
	triYes
	triMaybe
)

func (t tri) String() string {
	switch t {
	case triYes:
		return "yes"
	case triMaybe:
		return "maybe"
	}
	return "no"
}

// pktCtx is everything about a packet but its source address.
type pktCtx struct {
	proto        int
	sport, dport uint16
	in, out      string // input / output interface ("" where the hook has none)
	// reply: the packet goes from the local socket (local) back to the
	// source, which is then the destination and the free variable
	reply    bool
	local    netip.Addr
	dst      netip.Addr
	dstType  uint16
	state    uint8
	flags    uint8
	icmpType int
	icmpCode int
	// mark is the packet mark rules have set (0 on arrival); markUnsure:
	// it cannot be followed here (see marks.go)
	mark       uint32
	markUnsure bool
	// origDport is the destination port the client used, where a DNAT
	// changed dport (0: unchanged)
	origDport uint16
	// origDst is the destination address the client used, where a DNAT
	// changed dst (invalid: unchanged)
	origDst netip.Addr
	// uid: on a reply, the owner of the socket that sends it, where the
	// scan saw it (uidKnown)
	uid      uint32
	uidKnown bool
}

// origAddr is the destination address before any DNAT.
func (p *pktCtx) origAddr() netip.Addr {
	if p.origDst.IsValid() {
		return p.origDst
	}
	return p.dst
}

// origPort is the destination port before any DNAT.
func (p *pktCtx) origPort() uint16 {
	if p.origDport != 0 {
		return p.origDport
	}
	return p.dport
}

var portProtos = map[int]bool{6: true, 17: true, 132: true, 136: true, 33: true}

// test evaluates every match but the source address.
func (m *matchSet) test(p *pktCtx) tri {
	if m.never || m.frag == 1 {
		return triNo
	}
	if m.proto != -1 && (p.proto == int(m.proto)) == m.protoNeg {
		return triNo
	}
	if !m.in.test(p.in) || !m.x.out.test(p.out) {
		return triNo // INPUT and PREROUTING have no output interface, OUTPUT no input
	}
	if p.reply {
		if m.hasSrc && !m.src.contains(p.local) {
			return triNo
		}
	} else if m.x.hasDst && !m.x.dst.contains(p.dst) {
		return triNo
	}
	if m.x.hasOrigDst {
		// the original tuple's destination: on a reply, the local address
		// the client first used
		a := p.origAddr()
		if p.reply {
			a = p.local
			if p.origDst.IsValid() {
				a = p.origDst
			}
		}
		if !m.x.origDst.contains(a) {
			return triNo
		}
	}
	for i := range m.x.ports {
		pm := &m.x.ports[i]
		if !portProtos[p.proto] {
			return triNo
		}
		var in bool
		switch pm.kind {
		case portDst:
			in = inRanges(pm.ranges, p.dport)
		case portOrigDst:
			in = inRanges(pm.ranges, p.origPort())
		case portSrc:
			in = inRanges(pm.ranges, p.sport)
		default:
			in = inRanges(pm.ranges, p.dport) || inRanges(pm.ranges, p.sport)
		}
		if in == pm.neg {
			return triNo
		}
	}
	for _, s := range m.x.states {
		if (p.state&s.mask != 0) == s.neg {
			return triNo
		}
	}
	for _, f := range m.x.flags {
		if p.proto != 6 {
			return triNo
		}
		hit := p.flags&f.mask == f.comp
		if f.any {
			hit = p.flags&f.mask != 0
		}
		if hit == f.neg {
			return triNo
		}
	}
	for _, o := range m.x.tcpOpts {
		if p.proto != 6 || !o.test(p.flags) {
			return triNo
		}
	}
	for _, pc := range m.x.protos {
		if pc.has(p.proto) == pc.neg {
			return triNo
		}
	}
	for _, ic := range m.x.ifaces {
		if !ic.test(p.in, p.out) {
			return triNo
		}
	}
	for _, ic := range m.x.icmp {
		if p.proto != 1 && p.proto != 58 {
			return triNo
		}
		ok := (ic.typ == -1 || ic.typ == p.icmpType) && p.icmpCode >= ic.codeLo && p.icmpCode <= ic.codeHi
		if ic.set != nil {
			t := p.icmpType
			ok = t >= 0 && t < 256 && ic.set[t/64]&(1<<(t%64)) != 0
		}
		if ok == ic.neg {
			return triNo
		}
	}
	for _, a := range m.x.addrtype {
		if a.dst != 0 && (p.dstType&a.dst != 0) == a.dstNeg {
			return triNo
		}
	}
	if len(m.x.marks) > 0 {
		if p.markUnsure {
			return triMaybe
		}
		for _, mm := range m.x.marks {
			if !mm.test(p.mark) {
				return triNo
			}
		}
	}
	if o := m.x.owner; o.decided(p) && !o.holds(p) {
		return triNo
	}
	if m.x.runtimeLeft(p) {
		return triMaybe
	}
	return triYes
}

type actKind uint8

const (
	actSkip actKind = iota // no target, or a target that does not end the chain (LOG, MARK...)
	actAccept
	actDrop // DROP and REJECT
	actReturn
	actJump
	actGoto
	actNAT     // DNAT, REDIRECT, NETMAP: decided per query
	actUnknown // a target whose effect is not known (NFQUEUE, an undeclared chain)
)

// nonTerminating targets continue with the next rule (iptables-extensions).
var nonTerminating = map[string]bool{
	"LOG": true, "NFLOG": true, "ULOG": true, "MARK": true, "CONNMARK": true, "CT": true, "NOTRACK": true,
	"TRACE": true, "CLASSIFY": true, "TCPMSS": true, "CHECKSUM": true, "TOS": true, "DSCP": true, "TTL": true,
	"HL": true, "SET": true, "AUDIT": true, "SECMARK": true, "CONNSECMARK": true, "IDLETIMER": true,
	"LED": true, "TEE": true, "ECN": true, "RATEEST": true, "HMARK": true, "CONNLABEL": true, "TCPOPTSTRIP": true,
	"NFACCT": true, "SNAT": false,
}

type crule struct {
	r *Rule
	// src is the rule's source set (full when it has none), dst its
	// destination set, the free variable of reply packets. Both point at
	// the rule's own sets (or one full set per family): a chain of
	// 100,000 rules holds its sets once.
	src, dst *addrSet
	to       *cchain
	why      string // actUnknown: the reason
	act      actKind
}

// fullSets are the full sets compiled rules without an address match
// point at; sets are never changed in place.
var fullSets = map[Family]*addrSet{IPv4: {fam: IPv4, r: full4}, IPv6: {fam: IPv6, r: full6}}

type cchain struct {
	table, name string
	// nftFamily is the nftables family of a native table ("" for iptables)
	nftFamily string
	builtin   bool // a base chain: its policy ends the walk
	base      base
	setsMark  bool // a base chain that (or whose chains) sets packet marks
	policy    string
	rules     []crule
	segs      []segment
	// memoRanges counts the ranges its batches' remembered splits hold
	memoRanges int
}

// label names the chain's table for traces: "filter", or "inet fw".
func (c *cchain) label() string {
	if c.nftFamily != "" {
		return c.nftFamily + " " + c.table
	}
	return c.table
}

// policyText names the chain's policy as its front end prints it.
func (c *cchain) policyText() string {
	if c.nftFamily != "" {
		return c.nftFamily + " " + c.table + " " + c.name + " policy " + strings.ToLower(c.policy)
	}
	if c.table != "" && c.table != "filter" {
		// the table said, as iptables takes it: a mangle or security
		// chain's policy is not the filter's
		return "-t " + c.table + " -P " + c.name + " " + c.policy
	}
	return "-P " + c.name + " " + c.policy
}

// passThrough: a base chain with no rules whose policy accepts (an empty
// security or mangle table) decides nothing; the packet goes on as if it
// were not there, so its policy is named as the rule that accepted only
// when no other chain on the hook decided more.
func (c *cchain) passThrough() bool { return c.builtin && len(c.rules) == 0 && c.policy != "DROP" }

// isNAT: a nat-type base chain, consulted only for a connection's first
// packet (and never for an untracked one).
func (c *cchain) isNAT() bool { return c.base.typ == "nat" }

// cruleset is one ruleset compiled: its base chains, and every chain by
// table for lookups.
type cruleset struct {
	rs    *Ruleset
	bases []*cchain
	all   []*cchain
}

func compileRuleset(rs *Ruleset, srcLocal addrSet) *cruleset {
	out := &cruleset{rs: rs}
	for _, t := range rs.Tables {
		chains := map[string]*cchain{}
		for _, c := range t.Chains {
			cc := &cchain{table: t.Name, nftFamily: t.NftFamily, name: c.Name, policy: c.Policy}
			if b, ok := chainBase(t, c); ok {
				cc.builtin, cc.base = true, b
				if cc.policy == "" {
					cc.policy = "ACCEPT"
				}
				out.bases = append(out.bases, cc)
			}
			chains[c.Name] = cc
			out.all = append(out.all, cc)
		}
		for _, c := range t.Chains {
			cc := chains[c.Name]
			cc.rules = make([]crule, len(c.Rules))
			for i, r := range c.Rules {
				cc.rules[i] = compileAction(r, chains, srcLocal, rs.Family)
			}
			cc.segs = segmentChain(cc.rules)
		}
	}
	for _, c := range out.bases {
		c.setsMark = marksSet(c)
	}
	return out
}

func compileAction(r *Rule, chains map[string]*cchain, srcLocal addrSet, fam Family) crule {
	if r.m.x == nil {
		r.m.x = noExtra // a Rule not made by the parser matches everything
	}
	full := fullSets[fam]
	if full == nil {
		s := fullSet(fam)
		full = &s
	}
	cr := crule{r: r, src: full, dst: full}
	if r.m.hasSrc {
		cr.src = &r.m.src
	}
	if r.m.x.hasDst {
		cr.dst = &r.m.x.dst
	}
	for _, a := range r.m.x.addrtype {
		if a.src != 0 {
			s := cr.src.intersect(srcTypeSet(fam, a.src, a.srcNeg, srcLocal))
			cr.src = &s
		}
	}
	t := r.Target
	switch {
	case r.m.x.actWhy != "":
		cr.act, cr.why = actUnknown, r.m.x.actWhy
	case t == "":
		cr.act = actSkip
	case t == "ACCEPT":
		cr.act = actAccept
	case t == "DROP" || t == "REJECT":
		cr.act = actDrop
	case t == "RETURN":
		cr.act = actReturn
	case chains[t] != nil && !chains[t].builtin:
		cr.act, cr.to = actJump, chains[t]
		if r.m.goTo {
			cr.act = actGoto
		}
	case t == "DNAT" || t == "REDIRECT" || t == "NETMAP":
		cr.act = actNAT
	case t == "SNAT" || t == "MASQUERADE":
		cr.act = actAccept // ends the nat table; no effect on delivery
	case nonTerminating[t]:
		cr.act = actSkip
	case t == "QUEUE" || t == "NFQUEUE" || t == "SYNPROXY":
		cr.act, cr.why = actUnknown, "-j "+t
	default:
		cr.act, cr.why = actUnknown, "-j "+t+" (unknown target)"
	}
	return cr
}

// srcTypeSet is the set of sources whose address type (addrtype
// --src-type) is in mask. Local addresses are the loopback net and the
// host's own; everything else routable is unicast.
func srcTypeSet(fam Family, mask uint16, neg bool, local addrSet) addrSet {
	out := emptySet(fam)
	mc := mustPrefixSet(fam, "224.0.0.0/4", "ff00::/8")
	bc := emptySet(fam)
	if fam == IPv4 {
		bc = prefixSet(fam, netip.MustParsePrefix("255.255.255.255/32"))
	}
	if mask&atLocal != 0 {
		out = out.union(local)
	}
	if mask&atMulticast != 0 {
		out = out.union(mc)
	}
	if mask&atBroadcast != 0 {
		out = out.union(bc)
	}
	if mask&atUnicast != 0 {
		out = out.union(fullSet(fam).subtract(local).subtract(mc).subtract(bc))
	}
	if neg {
		out = out.complement()
	}
	return out
}

func mustPrefixSet(fam Family, v4, v6 string) addrSet {
	if fam == IPv4 {
		return prefixSet(fam, netip.MustParsePrefix(v4))
	}
	return prefixSet(fam, netip.MustParsePrefix(v6))
}

// marksSet: c, or a chain it reaches, sets a mark.
func marksSet(c *cchain) bool {
	found := false
	visitRules([]*cchain{c}, func(_ *cchain, cr *crule) { found = found || cr.r.m.x.markSet != nil })
	return found
}

// visitRules calls f for every rule of the chains in roots and of the
// chains they jump or go to, visiting each chain once.
func visitRules(roots []*cchain, f func(c *cchain, cr *crule)) {
	seen := map[*cchain]bool{}
	var visit func(c *cchain)
	visit = func(c *cchain) {
		if c == nil || seen[c] {
			return
		}
		seen[c] = true
		for i := range c.rules {
			cr := &c.rules[i]
			f(c, cr)
			if cr.to != nil {
				visit(cr.to)
			}
		}
	}
	for _, c := range roots {
		visit(c)
	}
}

// isNotrack: the raw-table targets that switch connection tracking off.
func isNotrack(r *Rule) bool {
	if r.Target == "NOTRACK" {
		return true
	}
	_, ok := r.m.x.targetArgs["--notrack"]
	return r.Target == "CT" && ok
}
