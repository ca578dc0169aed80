package firewall

import (
	"net/netip"
	"sort"
	"strings"
)

// Decision verdicts.
const (
	DecideAccept      = "accept"
	DecideDrop        = "drop"
	DecideConditional = "conditional"
)

// DefaultSource is the source Decide uses when the packet names none.
func DefaultSource(fam Family) netip.Addr {
	if fam == IPv6 {
		return netip.MustParseAddr("2001:db8:ffff::7")
	}
	return netip.MustParseAddr("203.0.113.7")
}

// Decide walks one packet through the rules of every ruleset, recording
// every rule visited. A packet with no source, destination or interface
// gets DefaultSource, the first destination the evaluator would try and
// the outside interface (the generic one offline, else the host's last). For ICMP, DPort carries the ICMP type. A
// runtime-state match is explored both ways; the decision is conditional
// when the two ways end differently.
func (e *Evaluator) Decide(p Packet) Decision { return e.decide(p, true) }

// DecideVerdict is Decide without the trace: the verdict, the deciding
// rule and the reasons, for callers that read nothing else (a trace of a
// 100,000-rule chain holds a step per rule).
func (e *Evaluator) DecideVerdict(p Packet) Decision { return e.decide(p, false) }

// decide is Decide; without steps the decision has no trace (the
// posture probes, which walk a packet per outside interface, read only
// the verdict and the deciding rule).
func (e *Evaluator) decide(p Packet, steps bool) Decision {
	proto, err := parseProto(p.Proto)
	if err != nil {
		return Decision{Verdict: DecideConditional, Reasons: []string{err.Error()}}
	}
	ctx := &pktCtx{proto: proto, sport: p.SPort, dport: p.DPort, in: p.InIface, dst: p.Dst}
	if e.fam == IPv4 {
		ctx.dst = ctx.dst.Unmap()
	}
	src := p.Src
	if e.fam == IPv4 {
		src = src.Unmap()
	}
	if !src.IsValid() {
		src = DefaultSource(e.fam)
	}
	if ctx.in == "" {
		ctx.in = e.outsideIfaceFor(src)
	}
	if ref, ok := e.martianDrop(src, ctx.in); ok {
		return Decision{InIface: ctx.in, Verdict: DecideDrop, Rule: ref}
	}
	if !ctx.dst.IsValid() && len(e.dsts) > 0 {
		ctx.dst = e.dsts[0]
	}
	ctx.dstType = e.dstType(ctx.dst)
	if ctx.sport == 0 && proto != 1 && proto != 58 {
		ctx.sport = defaultSPort
	}
	ctx.state, ctx.flags = stNew, tcpSYN
	if st := strings.ToUpper(p.State); st != "" && st != "NEW" {
		ctx.state = 0
		for _, s := range strings.Split(st, ",") {
			ctx.state |= stateNames[s]
		}
		ctx.flags = tcpACK
	}
	if proto == 1 || proto == 58 {
		ctx.icmpType = int(p.DPort)
	}
	var tr *tracer
	var w *walker
	var final uint8
	var condRule RuleRef
	for i, pth := range e.paths {
		t := newTracer(e, steps && i == 0)
		f, wi := e.follow(pth, *ctx, src, t)
		if i == 0 {
			tr, w, final = t, wi, f
			if t.cond != nil {
				condRule = ruleRef(t.cond)
			}
			continue
		}
		if f != final {
			// chains of equal priority the other way round end otherwise
			final |= f
			w.reasons = append(w.reasons, runtimeReason{why: e.orderWhy})
			if condRule.IsZero() {
				condRule = tr.decisive
			}
		}
	}
	dec := Decision{InIface: ctx.in}
	switch final {
	case oDrop:
		dec.Verdict, dec.Rule = DecideDrop, tr.dropRule
	case oAcc:
		dec.Verdict, dec.Rule = DecideAccept, tr.acceptRule
	default:
		dec.Verdict, dec.Rule = DecideConditional, condRule
		if dec.Rule.IsZero() {
			dec.Rule = tr.dropRule
		}
	}
	dec.Trace = tr.trace
	var reasons []string
	for _, r := range w.reasons {
		reasons = append(reasons, r.why)
	}
	if dec.Verdict == DecideAccept && len(e.host.Unseen) > 0 {
		dec.Verdict = DecideConditional
		reasons = append(reasons, e.host.Unseen...)
	}
	if dec.Verdict == DecideConditional {
		seen := map[string]bool{}
		for _, r := range reasons {
			if !seen[r] {
				seen[r] = true
				dec.Reasons = append(dec.Reasons, r)
			}
		}
		sort.Strings(dec.Reasons)
	}
	return dec
}

// follow walks the packet p from src along pth with the set walker, its
// source the one address: every base chain of the way in, FORWARD when a
// nat rule sends it to another host, and the SYN-ACK's way out. It
// returns the packet's possible fates and the walker (its reasons).
func (e *Evaluator) follow(pth *path, p pktCtx, src netip.Addr, tr *tracer) (uint8, *walker) {
	one := prefixSet(e.fam, netip.PrefixFrom(src, src.BitLen()))
	in := p
	w := &walker{fam: e.fam, p: &p, rp: e.rp, tr: tr}
	w.nat.local = func(a netip.Addr) bool { return e.local.contains(a) && !a.IsLoopback() }
	w.nat.here = e.local.contains
	w.nat.dstHere = len(e.host.Addrs) == 0 || e.local.contains(p.dst)
	must, may := w.pipeline(pth, one)
	last := tr.last
	if replyChecked(&last, pth) && !may.isEmpty() {
		// the SYN-ACK must get out through the output chains; its steps
		// join the trace only when it is dropped
		tr.off++
		rm, rmay := e.replyLeg(w, pth, &last, last.dst, Query{Port: last.dport}, last.in, may)
		tr.off--
		if !rm.contains(src) {
			tr.mode = traceDrops
			rm, rmay = e.replyLeg(w, pth, &last, last.dst, Query{Port: last.dport}, last.in, may)
			tr.mode = traceIn
		}
		must, may = must.intersect(rm), may.intersect(rmay)
	}
	if len(w.nat.away) > 0 {
		// a nat rule sent the packet to another host: FORWARD decides
		fm, fmay := e.followForward(w, pth, in, w.nat.away)
		must, may = must.union(fm), may.union(fmay)
	}
	return fates(must, may, src), w
}

// fates are the outcome bits of a packet from src given the sources
// surely (must) and possibly (may) accepted.
func fates(must, may addrSet, src netip.Addr) uint8 {
	var o uint8
	if may.contains(src) {
		o |= oAcc
	}
	if !must.contains(src) {
		o |= oDrop
	}
	return o
}

// followForward walks the packet that nat rules sent to other hosts
// (away) through the FORWARD chains as Evaluate does (forward), then
// traces the first such way: the route to that host is not known, so the
// output interface traced is the first that accepts (or the first, when
// none does).
func (e *Evaluator) followForward(w *walker, pth *path, in pktCtx, away []awayHit) (must, may addrSet) {
	tr := w.tr
	tr.off++
	must, may, chosen := e.forwardLeg(w, pth, &in, away)
	tr.off--
	h := away[0]
	if chosen == "" {
		chosen = e.outIfacesTo(h.to.Addr())[0]
	}
	if tr.steps {
		tr.trace = append(tr.trace, Step{Table: h.base.label(), Chain: h.base.name, Matched: "yes",
			Rule: "forwarded to " + h.to.String() + " (out " + chosen + "): FORWARD decides, not INPUT", Action: "forward"})
	}
	tr.mode = traceLast
	saved := w.p
	m, y := e.forwardVia(w, pth, &in, h, chosen)
	w.p = saved
	if len(pth.forward) == 0 {
		tr.decisive = RuleRef{text: "-P FORWARD ACCEPT", policy: true}
	}
	a, _ := h.set.firstAddr()
	o := fates(m, y, a)
	if o&oDrop != 0 && tr.dropRule.IsZero() {
		tr.dropRule = tr.decisive
	}
	if o&oAcc != 0 {
		tr.acceptRule = tr.decisive
	}
	tr.mode = traceIn
	return must, may
}
