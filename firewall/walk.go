package firewall

import (
	"net/netip"
)

// walkRes is the fate of a set of sources entering a chain, as "may" sets:
// a source in more than one set has several possible fates (a runtime
// match went both ways) and its verdict is conditional.
type walkRes struct {
	acc, drop, ret addrSet
}

// attrib remembers which rule accepted or dropped which sources.
type attrib struct {
	rule  RuleRef
	final bool // decided in a chain whose accept is worth naming (cchain.isFinal)
	set   addrSet
	maybe bool   // the rule has a runtime match: it may not have decided
	iface string // the input interface of the packet it decided
	// pass: the ACCEPT policy of a chain with no rules (passThrough),
	// named only when nothing else in as final a chain decided
	pass bool
	// minus, when set, is taken from set: the rule decided for set
	// without it (a ban set walkPastBan walked past). It is not taken
	// out in a new list: behind a ban set of 100,000 ranges each rule
	// after it would hold one of its own.
	minus *addrSet
}

// walker walks sets of sources through chains for one packet context.
type walker struct {
	fam     Family
	p       *pktCtx
	nat     natCtx
	reasons []runtimeReason
	accBy   []attrib
	dropBy  []attrib
	depth   int
	hook    *cchain // the base chain being walked
	// forked is set once a source set went both ways (a runtime match or
	// a target of unknown effect). Before that every source has one path,
	// so a drop cannot meet an accept and drop sets need not be kept.
	forked bool
	// untracked collects sources a raw-table NOTRACK (or CT --notrack)
	// rule matched: from then on their state is UNTRACKED, not NEW
	untracked addrSet
	// rp answers reverse-path checks (nil: routes not known)
	rp *routeTable
	// markHits collects, per hook, the sources rules set a mark on, in
	// order: a later match on the same hook, and every later hook, sees
	// each source with its own mark (see classes)
	markHits []markHit
	inClass  bool
	// scratch for batches
	active []int32
	// shadow analysis: called for every rule reached with a non-empty
	// matching set
	onMatch func(cr *crule)
	// tr traces the walk of one packet (Decide): every rule it meets,
	// the rule or policy that decided each base chain, and each runtime
	// match's two ways walked apart. Batches are off while it traces.
	tr *tracer
	// minus, while the rules after a ban set are walked (see
	// walkPastBan), is the ban set: the sources walked still hold it,
	// and everything the walk finds is taken without it
	minus *addrSet
	// lists: the lists of prefixes made for the answer to one query
	// (prefixesOf)
	lists []listMemo
	// packed: the query takes long IPv4 lists packed (Query.Packed)
	packed bool
	// sizes: the sizes of attributions past a ban set within the sets
	// the query's answer asks of (sizeWithout)
	sizes map[minusSizeKey]float64
}

// listMemo is the list of prefixes of a set, or of what it lacks: as
// prefixes, or packed.
type listMemo struct {
	set        addrSet
	complement bool
	ps         []netip.Prefix
	packed     []uint64
}

// prefixesOf is the list of prefixes of s, or with complement of what s
// lacks, made once for each set a query's answer meets: the answer over
// every interface and each interface's own (byInterface) most often
// list one set, of 100,000 prefixes behind a ban set. Those answers
// share the list; nothing may change it. Where the query takes long
// IPv4 lists packed (w.packed), a set of packedMin ranges or more (as
// many prefixes at least) comes as its packed ranges instead, ps nil.
func (w *walker) prefixesOf(s addrSet, complement bool) (ps []netip.Prefix, packed []uint64) {
	if len(s.r) < 64 {
		if complement {
			s = s.complement()
		}
		return s.prefixes(), nil
	}
	for _, m := range w.lists {
		if m.complement == complement && (m.set.same(s) || m.set.equal(s)) {
			return m.ps, m.packed
		}
	}
	if w.packed && s.fam == IPv4 && len(s.r)+1 >= packedMin {
		// what s lacks has as many ranges as s, one more or one fewer
		packed = s.packedRanges(complement)
	}
	if len(packed) < packedMin {
		packed = nil
		x := s
		if complement {
			x = s.complement()
		}
		ps = x.prefixes()
	}
	w.lists = append(w.lists, listMemo{s, complement, ps, packed})
	return ps, packed
}

// markHit is a set of sources a rule set the mark of.
type markHit struct {
	op    markOp
	set   addrSet
	maybe bool // the rule's match depended on runtime state
}

type runtimeReason struct {
	why string
	set addrSet
}

type natCtx struct {
	local func(a netip.Addr) bool // is this DNAT address one of the host's?
	// wildcard: the socket is bound to the unspecified address, so it also
	// receives what is DNATed to a loopback address
	wildcard bool
	// target: a loopback-bound socket reached only through a DNAT to this
	// address (route_localnet); hit collects the sources so translated
	target netip.Addr
	port   uint16
	hit    addrSet
	// follow: the walk is of a packet sent to another port, and the
	// socket (on port) sees what a translation to this host sends there
	// (localTo): a REDIRECT or DNAT from the port the client used.
	// hitDst is where that translation sent it.
	follow bool
	hitDst netip.Addr
	// done: a nat hook already translated the packet; later nat chains
	// on the way in do not translate it again
	done bool
	// away collects the sources a DNAT sent to another host, with where
	// to: they leave the input path for FORWARD (Docker's published
	// ports). awayTo is natSame's scratch answer for the rule at hand.
	away   []awayHit
	awayTo netip.AddrPort
	// here, set when one packet is followed (Decide): a translation to
	// this host (localTo, with here telling its addresses) moves the
	// packet to hitDst:hitPort, and it goes on to INPUT
	here    func(a netip.Addr) bool
	hitPort uint16
	// dstHere: the followed packet is sent to this host (one of its
	// addresses, or any offline, where they are not known)
	dstHere bool
}

// awayHit is a set of sources a nat rule forwarded to another host.
type awayHit struct {
	to   netip.AddrPort
	rule *crule
	base *cchain // the base chain it is in
	set  addrSet
	// drops are the sources that may have been dropped before the nat
	// hook (raw, mangle): they are not surely forwarded
	drops addrSet
	// the packet's mark when it was translated
	mark       uint32
	markUnsure bool
}

const maxDepth = 64

func (w *walker) noSources() addrSet { return emptySet(w.fam) }

func (w *walker) walk(c *cchain, x addrSet) walkRes {
	return w.walkFrom(c, 0, x, walkRes{acc: w.noSources(), drop: w.noSources(), ret: w.noSources()})
}

// walkFrom walks x through the rules of c from rule k on, adding to res
// what becomes of it, and ends the chain as the kernel does (a base
// chain's policy, a regular chain's return).
func (w *walker) walkFrom(c *cchain, k int, x addrSet, res walkRes) walkRes {
	if w.depth >= maxDepth || (w.tr != nil && w.tr.budget <= 0) {
		// iptables refuses loops; a file given to us may still hold one
		res.acc, res.drop = res.acc.union(x), res.drop.union(x)
		why := "chain " + c.name + " nested too deep (loop?)"
		if w.tr != nil {
			why = "rules too deep or too many runtime branches to follow"
		}
		w.reasons = append(w.reasons, runtimeReason{why, x})
		return res
	}
	w.depth++
	defer func() { w.depth-- }()
	for si := range c.segs {
		s := &c.segs[si]
		if x.isEmpty() {
			break
		}
		if s.hi <= k {
			continue
		}
		if k <= s.lo && (s.hi-s.lo > 1 || s.swept) && !w.p.reply && w.tr == nil {
			if r, ok := w.walkPastBan(c, s, x, res); ok {
				return r
			}
			x = w.walkBatch(c, s, x, &res)
			continue
		}
		for k = max(k, s.lo); k < s.hi && !x.isEmpty(); k++ {
			x = w.walkRule(c, k, x, &res)
			if w.tr != nil && w.tr.fork != nil {
				// a runtime match: its two ways are walked to the end
				// of the chain one after the other (see fork)
				return w.fork(c, k, x, res)
			}
		}
	}
	return w.endChain(c, x, res)
}

// endChain ends c for the sources x that reached its end: a base chain's
// policy takes them and those a RETURN sent back (or a chain it went to
// with -g), a regular chain returns them.
func (w *walker) endChain(c *cchain, x addrSet, res walkRes) walkRes {
	if c.builtin {
		x = x.union(res.ret)
		res.ret = w.noSources()
		if !x.isEmpty() && w.tr != nil {
			w.tr.policyStep(c)
		}
		switch c.policy {
		case "DROP":
			if !x.isEmpty() {
				w.addDrop(&res, x)
				w.dropBy = append(w.dropBy, attrib{policyRef(c), w.final(), x, false, w.p.in, false, nil})
			}
		default:
			res.acc = res.acc.union(x)
			if !x.isEmpty() && !w.p.reply {
				w.accBy = append(w.accBy, attrib{policyRef(c), w.final(), x, false, w.p.in, c.passThrough(), nil})
			}
		}
	} else {
		if !x.isEmpty() && w.tr != nil {
			w.tr.step(c, nil, triYes, "return")
		}
		res.ret = res.ret.union(x)
	}
	return res
}

// walkRule passes x through rule k of c and returns what continues.
func (w *walker) walkRule(c *cchain, k int, x addrSet, res *walkRes) addrSet {
	cr := &c.rules[k]
	if len(cr.r.m.x.marks) > 0 && len(w.markHits) > 0 && !w.inClass {
		// a mark set earlier on this hook: each source is matched with
		// the mark it has now
		rest := w.noSources()
		saved := *w.p
		w.inClass = true
		for _, cl := range w.classes(x, false) {
			w.p.mark, w.p.markUnsure = cl.mark, cl.markUnsure
			rest = rest.union(w.walkRule(c, k, cl.set, res))
		}
		w.inClass = false
		*w.p = saved
		return rest
	}
	if w.tr != nil {
		w.tr.budget--
	}
	t := cr.r.m.test(w.p)
	if t == triNo {
		w.tr.step(c, cr, triNo, "continue")
		return x
	}
	set := *cr.src
	if w.p.reply {
		set = *cr.dst
	}
	rpfWhy := ""
	if rc := cr.r.m.x.rpf; rc != nil && !w.p.reply {
		if m, known := rpfMatch(rc, w.rp, w.p.in, w.fam); !known {
			t, rpfWhy = triMaybe, rc.why
		} else {
			set = set.intersect(m)
		}
	}
	matched := x.intersect(set)
	if matched.isEmpty() {
		w.tr.step(c, cr, triNo, "continue")
		return x
	}
	if w.onMatch != nil && (w.minus == nil || !matched.within(*w.minus)) {
		// reached by a source the walk past a ban set still holds
		w.onMatch(cr)
	}
	if op := cr.r.m.x.markSet; op != nil && !w.p.reply {
		w.markHits = append(w.markHits, markHit{*op, matched, t == triMaybe})
	}
	if cr.act == actSkip {
		if w.hook != nil && w.hook.beforeConntrack() && isNotrack(cr.r) {
			w.untracked = w.untracked.union(matched)
			w.untracked.fam = w.fam
			if t == triYes {
				w.tr.step(c, cr, t, "notrack")
				return x
			}
		}
		w.tr.step(c, cr, t, "continue")
		return x // its match result cannot change the outcome
	}
	if t == triMaybe {
		w.forked = true
		if rpfWhy != "" {
			w.reasons = append(w.reasons, runtimeReason{rpfWhy, matched})
		}
		if w.tr != nil {
			// traced: the rule's two ways are walked apart (fork)
			w.tr.step(c, cr, t, "maybe "+actionName(cr))
			w.tr.fork = &matched
			return x
		}
		w.runtimeReasons(cr, matched)
	} else if cr.act == actJump {
		w.tr.step(c, cr, t, actionName(cr))
		cont := w.act(cr, matched, res)
		if len(cont.r) == len(matched.r) && cont.equal(matched) {
			return x // the chain returned every source: nothing changes
		}
		return x.subtract(set).union(cont)
	} else {
		w.tr.step(c, cr, t, actionName(cr))
		x = x.subtract(set)
	}
	if cont := w.act(cr, matched, res); !cont.isEmpty() {
		x = x.union(cont)
	}
	return x
}

// runtimeReasons records why cr's match depends on runtime state, for the
// sources it matched.
func (w *walker) runtimeReasons(cr *crule, matched addrSet) {
	x := cr.r.m.x
	for _, why := range x.runtime {
		if x.owner.decided(w.p) && why == x.owner.why {
			continue
		}
		w.reasons = append(w.reasons, runtimeReason{why, matched})
	}
	if len(cr.r.m.x.marks) > 0 && w.p.markUnsure {
		w.reasons = append(w.reasons, runtimeReason{markWhy, matched})
	}
}

// fork walks the two ways of rule k of c, a runtime match traced: first
// the rule's target (untraced), then the rest of the chain, each to the
// chain's end. Where they end differently, the match's runtime state
// decides, and the first such rule is the one a conditional answer names.
func (w *walker) fork(c *cchain, k int, x addrSet, res walkRes) walkRes {
	matched := *w.tr.fork
	w.tr.fork = nil
	cr := &c.rules[k]
	w.tr.off++
	taken := walkRes{acc: w.noSources(), drop: w.noSources(), ret: w.noSources()}
	cont := w.act(cr, matched, &taken)
	taken = w.walkFrom(c, k+1, cont, taken)
	w.tr.off--
	passed := w.walkFrom(c, k+1, x, walkRes{acc: w.noSources(), drop: w.noSources(), ret: w.noSources()})
	if fateOf(taken, matched) != fateOf(passed, matched) {
		w.runtimeReasons(cr, matched)
		if w.tr.cond == nil {
			w.tr.cond = cr.r
		}
	}
	res.acc = res.acc.union(taken.acc).union(passed.acc)
	res.drop = res.drop.union(taken.drop).union(passed.drop)
	res.ret = res.ret.union(taken.ret).union(passed.ret)
	return res
}

// fateOf is what became of the sources x in r: accepted, dropped or
// returned (several when a runtime match went both ways).
func fateOf(r walkRes, x addrSet) uint8 {
	var o uint8
	if r.acc.overlaps(x) {
		o |= oAcc
	}
	if r.drop.overlaps(x) {
		o |= oDrop
	}
	if r.ret.overlaps(x) {
		o |= oRet
	}
	return o
}

func (w *walker) final() bool { return w.hook != nil && w.hook.isFinal() }

// uncertain: whether cr matches can depend on runtime state.
func (w *walker) uncertain(cr *crule) bool {
	x := cr.r.m.x
	return x.runtimeLeft(w.p) || (len(x.marks) > 0 && w.p.markUnsure) || (x.rpf != nil && w.rp == nil && w.p.in != "lo")
}

// addDrop records dropped sources where they can still matter.
func (w *walker) addDrop(res *walkRes, set addrSet) {
	if w.forked || w.tr != nil {
		res.drop = res.drop.union(set)
	}
}

// act applies cr's target to matched and returns the sources that
// continue with the next rule of the chain.
func (w *walker) act(cr *crule, matched addrSet, res *walkRes) addrSet {
	switch cr.act {
	case actAccept:
		w.tr.decide(cr.r)
		res.acc = res.acc.union(matched)
		if !w.p.reply {
			w.accBy = append(w.accBy, attrib{ruleRef(cr.r), w.final(), matched, w.uncertain(cr), w.p.in, false, nil})
		}
	case actDrop:
		w.tr.decide(cr.r)
		w.addDrop(res, matched)
		w.dropBy = append(w.dropBy, attrib{ruleRef(cr.r), w.final(), matched, false, w.p.in, false, nil})
	case actReturn:
		res.ret = res.ret.union(matched)
	case actJump:
		sub := w.walk(cr.to, matched)
		res.acc = res.acc.union(sub.acc)
		res.drop = res.drop.union(sub.drop)
		return sub.ret
	case actGoto:
		sub := w.walk(cr.to, matched)
		res.acc = res.acc.union(sub.acc)
		res.drop = res.drop.union(sub.drop)
		res.ret = res.ret.union(sub.ret)
	case actNAT:
		w.tr.decide(cr.r)
		if w.nat.here != nil {
			if a, port, ok := localTo(cr.r, w.p.dst, w.p.dport, w.nat.here, w.nat.dstHere); ok {
				// the packet followed (Decide) is translated to this
				// host: it goes on to INPUT with its new destination
				// (see pipelineFrom)
				res.acc = res.acc.union(matched)
				w.nat.hit = w.nat.hit.union(matched)
				w.nat.hit.fam, w.nat.hitDst, w.nat.hitPort = w.fam, a, port
				break
			}
		}
		if w.nat.follow {
			if a, port, ok := localTo(cr.r, w.p.dst, w.p.dport, w.nat.local, true); ok && port == w.nat.port {
				res.acc = res.acc.union(matched) // the nat table ends; delivered to the socket
				w.nat.hit = w.nat.hit.union(matched)
				w.nat.hit.fam, w.nat.hitDst = w.fam, a
			} else {
				w.addDrop(res, matched) // delivered elsewhere, not to this socket
			}
			break
		}
		w.nat.awayTo = netip.AddrPort{}
		same, why := w.natSame(cr)
		if !same && why == "" && w.nat.awayTo.IsValid() {
			w.nat.away = append(w.nat.away, awayHit{to: w.nat.awayTo, rule: cr, base: w.hook, set: matched, mark: w.p.mark, markUnsure: w.p.markUnsure})
		}
		if same {
			res.acc = res.acc.union(matched) // the nat table ends; delivery unchanged
			w.nat.hit = w.nat.hit.union(matched)
			w.nat.hit.fam = w.fam
		} else {
			w.addDrop(res, matched) // delivered elsewhere, not to this socket
			w.dropBy = append(w.dropBy, attrib{ruleRef(cr.r), w.final(), matched, false, w.p.in, false, nil})
			if why != "" {
				w.forked = true
				w.reasons = append(w.reasons, runtimeReason{why, matched})
				res.acc = res.acc.union(matched)
			}
		}
	case actUnknown:
		w.forked = true
		w.accBy = append(w.accBy, attrib{ruleRef(cr.r), w.final(), matched, true, w.p.in, false, nil})
		res.acc = res.acc.union(matched)
		res.drop = res.drop.union(matched)
		w.reasons = append(w.reasons, runtimeReason{cr.why, matched})
		return matched
	}
	return w.noSources()
}

// natSame tells whether a DNAT/REDIRECT/NETMAP rule leaves the packet for
// the queried socket (same local address and port). why is set when it
// cannot tell.
func (w *walker) natSame(cr *crule) (bool, string) {
	n := cr.r.m.x.nat
	if n == nil {
		return false, "-j " + cr.r.Target + " not evaluated"
	}
	if n.bad {
		return false, n.text + " not understood"
	}
	switch cr.r.Target {
	case "REDIRECT":
		if w.nat.target.IsValid() {
			return false, "" // to the interface address, not the loopback one
		}
		if !n.hasPort {
			return true, ""
		}
		if n.ports == (PortRange{w.p.dport, w.p.dport}) {
			return true, ""
		}
		if inRanges([]PortRange{n.ports}, w.p.dport) {
			return false, n.text
		}
		return false, ""
	case "DNAT":
		a := n.addr
		if a.IsValid() && !w.nat.target.IsValid() && !a.IsLoopback() && a != w.p.dst && (w.nat.local == nil || !w.nat.local(a)) {
			// forwarded to another host, whatever the port
			tport := w.p.dport
			if n.hasPort {
				tport = n.ports.Lo
			}
			w.nat.awayTo = netip.AddrPortFrom(a, tport)
			return false, ""
		}
		want := w.p.dport
		if w.nat.target.IsValid() {
			want = w.nat.port
		}
		if n.hasPort {
			if n.ports != (PortRange{want, want}) {
				if inRanges([]PortRange{n.ports}, want) {
					return false, n.text
				}
				return false, ""
			}
		} else if w.p.dport != want {
			return false, ""
		}
		if a.IsValid() {
			switch {
			case w.nat.target.IsValid():
				return a == w.nat.target, ""
			case a.IsLoopback():
				// delivered on this host to whatever listens on the
				// loopback address (route_localnet): a wildcard socket
				return w.nat.wildcard, ""
			case a != w.p.dst && (w.nat.local == nil || !w.nat.local(a)):
				return false, "" // forwarded to another host
			}
		} else if w.nat.target.IsValid() {
			return false, ""
		}
		return true, ""
	}
	return false, "-j " + cr.r.Target + " not evaluated"
}

// pktClass is a set of sources whose packets are alike after a hook.
type pktClass struct {
	set        addrSet
	untracked  bool
	mark       uint32
	markUnsure bool
}

func (c pktClass) matches(p *pktCtx) bool {
	return c.untracked == (p.state&stUntracked != 0) && c.mark == p.mark && c.markUnsure == p.markUnsure
}

func (c pktClass) applyTo(p *pktCtx) {
	if c.untracked {
		p.state = stUntracked
	}
	p.mark, p.markUnsure = c.mark, c.markUnsure
}

// classes splits x by what the hook did to each source's packet so far:
// the marks rules set (w.markHits, in order) and, once the hook is done
// (untracked), NOTRACK (w.untracked).
func (w *walker) classes(x addrSet, untracked bool) []pktClass {
	cur := []pktClass{{set: x, untracked: w.p.state&stUntracked != 0, mark: w.p.mark, markUnsure: w.p.markUnsure}}
	if untracked && !w.untracked.isEmpty() && !cur[0].untracked {
		if ut := x.intersect(w.untracked); !ut.isEmpty() {
			cur = []pktClass{{set: x.subtract(w.untracked), mark: w.p.mark, markUnsure: w.p.markUnsure},
				{set: ut, untracked: true, mark: w.p.mark, markUnsure: w.p.markUnsure}}
		}
	}
	for _, h := range w.markHits {
		var next []pktClass
		for _, c := range cur {
			in := c.set.intersect(h.set)
			if in.isEmpty() {
				next = append(next, c)
				continue
			}
			hit := c
			hit.set = in
			if h.maybe || h.op.unknown {
				hit.markUnsure = true
			} else {
				hit.mark = h.op.apply(c.mark)
			}
			if rest := c.set.subtract(h.set); !rest.isEmpty() {
				c.set = rest
				next = append(next, c)
			}
			next = append(next, hit)
		}
		cur = next
	}
	// one class per packet
	var out []pktClass
	for _, c := range cur {
		merged := false
		for i := range out {
			if out[i].untracked == c.untracked && out[i].mark == c.mark && out[i].markUnsure == c.markUnsure {
				out[i].set = out[i].set.union(c.set)
				merged = true
				break
			}
		}
		if !merged && !c.set.isEmpty() {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		out = []pktClass{{set: x, untracked: w.p.state&stUntracked != 0, mark: w.p.mark, markUnsure: w.p.markUnsure}}
	}
	return out
}

// translate moves p to a destination on this host (a DNAT or REDIRECT to
// it), remembering where it was sent first.
func (p *pktCtx) translate(to netip.Addr, port uint16) {
	p.origDport, p.origDst = p.origPort(), p.origAddr()
	p.dst, p.dstType, p.dport = to, atLocal, port
	p.state |= stDNAT
}

// walkPastBan walks the rules of c after segment s, a rule that drops the
// sources of a large set B and tests nothing else (a ban set), with the
// sources x as they were before it, and takes B from everything found.
// Each source goes its own way through the rules, so what becomes of
// x - B is what becomes of x, without B. Walking x instead of x - B keeps
// the sets split by every later rule as few ranges as x has, not as many
// as B leaves: one subtraction per result instead of a copy of x - B at
// every rule.
//
// Only what the walk records as sets is taken back: when it notes
// anything else (a runtime reason, a fork, marks, a translation,
// untracked sources), ok is false and the caller walks x - B as before.
// The rule analysis (onMatch) is told of a rule reached only by sources
// outside B, and only once the walk is taken back: on a walk given up, the
// caller's walk of x - B tells it.
// Splits of batches made meanwhile name the rule that decides most of
// what they take without B (see splitBy), as the walk of x - B would.
func (w *walker) walkPastBan(c *cchain, s *segment, x addrSet, res walkRes) (walkRes, bool) {
	cr := &c.rules[s.lo]
	if !banPass || !s.swept || w.minus != nil || cr.act != actDrop || !cr.r.m.srcOnly || cr.r.m.never ||
		!res.ret.isEmpty() || len(cr.src.r) < bigSet || !x.overlaps(*cr.src) {
		return res, false
	}
	ban := cr.src
	nAcc, nDrop, nReasons, nMarks, nAway := len(w.accBy), len(w.dropBy), len(w.reasons), len(w.markHits), len(w.nat.away)
	forked, untracked, hit := w.forked, w.untracked, w.nat.hit
	// the rules reached, in order, told to the analysis once taken back
	onMatch := w.onMatch
	var reached []*crule
	if onMatch != nil {
		w.onMatch = func(cr *crule) { reached = append(reached, cr) }
	}
	// the rule itself drops x ∩ B: walked as a batch of one, as before
	w.walkBatch(c, s, x, &res)
	nAcc1, nDrop1 := len(w.accBy), len(w.dropBy)
	w.minus = ban
	sub := w.walkFrom(c, s.hi, x, walkRes{acc: w.noSources(), drop: w.noSources(), ret: w.noSources()})
	w.minus = nil
	w.onMatch = onMatch
	if len(w.reasons) != nReasons || w.forked != forked || len(w.markHits) != nMarks || len(w.nat.away) != nAway ||
		!w.untracked.same(untracked) || !w.nat.hit.same(hit) {
		w.accBy, w.dropBy, w.reasons, w.markHits, w.nat.away = w.accBy[:nAcc], w.dropBy[:nDrop], w.reasons[:nReasons], w.markHits[:nMarks], w.nat.away[:nAway]
		w.forked, w.untracked, w.nat.hit = forked, untracked, hit
		return res, false
	}
	if banPassed != nil {
		banPassed()
	}
	for _, cr := range reached {
		onMatch(cr)
	}
	b := s.batch
	w.accBy = withoutBan(w.accBy, nAcc1, ban)
	w.dropBy = withoutBan(w.dropBy, nDrop1, ban)
	res.acc = res.acc.union(b.without1(sub.acc, *ban))
	res.drop = res.drop.union(b.without1(sub.drop, *ban))
	res.ret = res.ret.union(b.without1(sub.ret, *ban))
	return res, true
}

// banPass lets walkPastBan walk past a ban set; banPassed, when set, is
// called for each walk it so makes (tests compare the two ways).
var (
	banPass   = true
	banPassed func()
)

// withoutBan takes ban from the sets of the attributions from the from-th
// on (attrib.minus), dropping those left empty (a walk of the sources
// without ban would not have made them).
func withoutBan(as []attrib, from int, ban *addrSet) []attrib {
	out := as[:from]
	for _, a := range as[from:] {
		if a.set.isEmpty() || a.set.within(*ban) {
			continue
		}
		if a.set.overlaps(*ban) {
			a.minus = ban
		}
		out = append(out, a)
	}
	return out
}

// without1 is x without ban, remembered while what b keeps so holds fewer
// than maxWithoutRanges ranges: sets of a few ranges by their ranges, as each
// query makes them anew, larger ones by their first range's address.
func (b *batch) without1(x, ban addrSet) addrSet {
	if x.isEmpty() || !x.overlaps(ban) {
		return x
	}
	var k withoutKey
	if len(x.r) <= 16 {
		k.ranges = [16]rng(append(x.r[:len(x.r):len(x.r)], make([]rng, 16-len(x.r))...))
	} else {
		k.p = &x.r[0]
	}
	k.n = len(x.r)
	if y, ok := b.without[k]; ok {
		return y
	}
	// within what the ban lacks: the ranges of rest within each range
	// of x are taken as they are (intersect), where a subtraction would
	// pass over every range of the ban; x holding everything is rest
	if !b.banned.same(ban) {
		b.banned, b.rest = ban, ban.complement()
	}
	y := x.intersect(b.rest)
	if n := len(x.r) + len(y.r); b.withoutRanges+n <= maxWithoutRanges {
		if b.without == nil {
			b.without = map[withoutKey]addrSet{}
		}
		b.without[k] = y
		b.withoutRanges += n
	}
	return y
}

// maxWithoutRanges bounds the ranges a batch's remembered subtractions
// hold (4 MiB of ranges). Each is a list as long as the ban set: with
// 1,000 rules after a ban of 100,000 addresses, the rule analysis' walks
// kept 34 MB of them under maxMemoRanges, a third of the report's live
// heap at its peak; this bound gives the same time (the walks that share
// a subtraction come one after another) and a peak 35 MB lower.
const maxWithoutRanges = 1 << 17

// withoutKey names a set for batch.without.
type withoutKey struct {
	p      *rng
	n      int
	ranges [16]rng
}
