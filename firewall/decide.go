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

// outcome bits of a concrete walk; several bits mean a runtime match could
// go either way.
const (
	oAcc uint8 = 1 << iota
	oDrop
	oRet
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
		ctx.in = e.outside(src)
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
	var d *decider
	var final uint8
	var dropRule, acceptRule string
	for i, pth := range e.paths {
		p := *ctx
		di := &decider{e: e, p: &p, src: src, budget: 1 << 20, trace: i == 0, noSteps: !steps}
		di.w = &walker{fam: e.fam, p: &p, rp: e.rp}
		di.w.nat.local = func(a netip.Addr) bool { return e.local.contains(a) && !a.IsLoopback() }
		f, dr, ar := di.run(pth, proto)
		if i == 0 {
			d, final, dropRule, acceptRule = di, f, dr, ar
			continue
		}
		if f != final {
			// chains of equal priority the other way round end otherwise
			final |= f
			d.reasons = append(d.reasons, e.orderWhy)
			if d.condRule == "" {
				d.condRule = d.decisive
			}
		}
	}
	dec := Decision{InIface: ctx.in}
	switch final {
	case oDrop:
		dec.Verdict, dec.Rule = DecideDrop, dropRule
	case oAcc:
		dec.Verdict, dec.Rule = DecideAccept, acceptRule
	default:
		dec.Verdict, dec.Rule = DecideConditional, d.condRule
		if dec.Rule == "" {
			dec.Rule = dropRule
		}
	}
	dec.Trace = d.steps
	if dec.Verdict == DecideAccept && len(e.host.Unseen) > 0 {
		dec.Verdict = DecideConditional
		d.reasons = append(d.reasons, e.host.Unseen...)
	}
	if dec.Verdict == DecideConditional {
		seen := map[string]bool{}
		for _, r := range d.reasons {
			if !seen[r] {
				seen[r] = true
				dec.Reasons = append(dec.Reasons, r)
			}
		}
		sort.Strings(dec.Reasons)
	}
	return dec
}

// run walks d.p along pth: every base chain of the way in, FORWARD when a
// nat rule sends the packet to another host, and the SYN-ACK's way out.
func (d *decider) run(pth *path, proto int) (final uint8, dropRule, acceptRule string) {
	ctx := d.p
	final = oAcc
	forwarded := false
	acceptPolicy := false
	for _, h := range pth.input() {
		if h.isNAT() && ctx.state&stUntracked != 0 {
			continue // untracked packets skip the nat chains
		}
		d.decisive = ""
		d.away = netip.AddrPort{}
		d.hook = h
		o := d.base(h)
		if d.away.IsValid() {
			o = d.forward(pth, h)
			if o&oDrop != 0 && dropRule == "" {
				dropRule = d.decisive
			}
			if o&oAcc != 0 {
				acceptRule = d.decisive
			}
			final |= o &^ oRet
			if o == oDrop {
				final = oDrop
			}
			forwarded = true
			break
		}
		if o&oDrop != 0 && dropRule == "" {
			dropRule = d.decisive
		}
		if o&oAcc != 0 && (acceptRule == "" || (h.isFinal() && !h.passThrough() && (!d.decisivePolicy || acceptPolicy))) {
			acceptRule, acceptPolicy = d.decisive, d.decisivePolicy
		}
		final |= o &^ oRet
		if o == oDrop {
			final = oDrop
			break
		}
	}
	if final&oAcc != 0 && !forwarded && proto == 6 && ctx.state&(stNew|stUntracked) != 0 && ctx.flags == tcpSYN && !pth.replyOpen {
		// the SYN-ACK must get out through the output chains
		reply := func() *pktCtx {
			return &pktCtx{proto: 6, sport: ctx.dport, dport: ctx.sport, out: ctx.in, reply: true, local: ctx.dst,
				dstType: atUnicast, state: stEstablished, flags: tcpSYN | tcpACK}
		}
		d.p = reply()
		// the reply's steps join the trace only when it is dropped
		saved := d.trace
		d.trace = false
		var o uint8
		for _, h := range pth.reply {
			if o = d.chain(h, 0); o&oDrop != 0 {
				break
			}
		}
		d.trace = saved
		if o&oDrop != 0 {
			d.p = reply()
			for _, h := range pth.reply {
				d.decisive = ""
				o := d.chain(h, 0)
				if o&oDrop != 0 && dropRule == "" {
					dropRule = d.decisive
				}
				final |= o & oDrop
				if o == oDrop {
					final = oDrop
					break
				}
			}
		}
		d.p = ctx
	}
	return final, dropRule, acceptRule
}

type decider struct {
	e        *Evaluator
	w        *walker
	p        *pktCtx
	src      netip.Addr
	budget   int
	trace    bool
	noSteps  bool // trace the deciding rule only, not every step
	steps    []Step
	reasons  []string
	decisive string // the rule or policy that ended the current hook
	// decisivePolicy: decisive is a chain's policy, which says less than
	// an accepting rule of an earlier chain
	decisivePolicy bool
	condRule       string // the first runtime match whose two ways differ
	depth          int
	away           netip.AddrPort // set when a nat rule forwarded the packet to another host
	hook           *cchain        // the base chain being walked
}

func (d *decider) step(c *cchain, cr *crule, matched tri, action string) {
	if !d.trace || d.noSteps {
		return
	}
	s := Step{Table: c.label(), Chain: c.name, Matched: matched.String(), Action: action}
	if cr != nil {
		s.Line, s.Handle, s.Rule, s.Origin = cr.r.Line, cr.r.Handle, cr.r.Text, d.e.origins[cr.r.Text]
	} else {
		s.Rule = "policy " + c.policy
		if c.policy == "" { // a user chain has no policy: the walk returns
			s.Rule = "end of chain"
		}
		s.Matched = "yes"
	}
	d.steps = append(d.steps, s)
}

func (d *decider) setDecisive(text string) {
	if d.trace {
		d.decisive, d.decisivePolicy = text, false
	}
}

// setPolicy records that c's policy ended the walk.
func (d *decider) setPolicy(c *cchain) {
	if d.trace {
		d.decisive, d.decisivePolicy = c.policyText(), true
	}
}

// chain walks c from rule i and returns the possible outcomes.
func (d *decider) chain(c *cchain, i int) uint8 {
	if d.depth >= maxDepth || d.budget <= 0 {
		d.reasons = append(d.reasons, "rules too deep or too many runtime branches to follow")
		return oAcc | oDrop
	}
	d.depth++
	defer func() { d.depth-- }()
	for ; i < len(c.rules); i++ {
		d.budget--
		cr := &c.rules[i]
		t := cr.r.m.test(d.p)
		set := cr.src
		if d.p.reply {
			set = cr.dst // the reply goes back to the source
		}
		if t != triNo && !set.contains(d.src) {
			t = triNo
		}
		if c := cr.r.m.x.rpf; c != nil && t != triNo && !d.p.reply {
			switch m, known := rpfMatch(c, d.e.rp, d.p.in, d.e.fam); {
			case !known:
				t = triMaybe
				d.reasons = append(d.reasons, c.why)
			case !m.contains(d.src):
				t = triNo
			}
		}
		if t == triNo {
			d.step(c, cr, t, "continue")
			continue
		}
		if op := cr.r.m.x.markSet; op != nil && !d.p.reply {
			if t == triYes && !op.unknown {
				d.p.mark = op.apply(d.p.mark)
			} else {
				d.p.markUnsure = true
			}
		}
		if cr.act == actSkip {
			if d.hook != nil && d.hook.beforeConntrack() && isNotrack(cr.r) && t == triYes {
				d.p.state = stUntracked // connection tracking is off from here
				d.step(c, cr, t, "notrack")
				continue
			}
			d.step(c, cr, t, "continue")
			continue
		}
		if t == triMaybe {
			d.step(c, cr, t, "maybe "+actionName(cr))
			saved := d.trace
			d.trace = false
			o1 := d.target(c, cr, i)
			d.trace = saved
			o2 := d.chain(c, i+1)
			if o1 != o2 {
				d.reasons = append(d.reasons, cr.r.m.x.runtime...)
				if len(cr.r.m.x.marks) > 0 && d.p.markUnsure {
					d.reasons = append(d.reasons, markWhy)
				}
				if d.condRule == "" {
					d.condRule = cr.r.Text
				}
			}
			return o1 | o2
		}
		d.step(c, cr, t, actionName(cr))
		return d.target(c, cr, i)
	}
	if c.builtin {
		d.step(c, nil, triYes, strings.ToLower(c.policy))
		d.setPolicy(c)
		if c.policy == "DROP" {
			return oDrop
		}
		return oAcc
	}
	d.step(c, nil, triYes, "return")
	return oRet
}

// target applies cr (rule i of c, matched) and continues as the kernel
// would after it.
func (d *decider) target(c *cchain, cr *crule, i int) uint8 {
	switch cr.act {
	case actAccept:
		d.setDecisive(cr.r.Text)
		return oAcc
	case actDrop:
		d.setDecisive(cr.r.Text)
		return oDrop
	case actReturn:
		return d.endOfChain(c, oRet)
	case actJump:
		sub := d.chain(cr.to, 0)
		out := sub &^ oRet
		if sub&oRet != 0 {
			out |= d.chain(c, i+1)
		}
		return out
	case actGoto:
		sub := d.chain(cr.to, 0)
		if sub&oRet != 0 && c.builtin {
			sub = sub&^oRet | d.endOfChain(c, oRet)
		}
		return sub
	case actNAT:
		d.setDecisive(cr.r.Text)
		if a, port, ok := d.localDNAT(cr); ok {
			// translated to this host: the packet goes on to INPUT with
			// its new destination
			d.p.origDport, d.p.origDst = d.p.origPort(), d.p.origAddr()
			d.p.dst, d.p.dport, d.p.dstType = a, port, atLocal
			d.p.state |= stDNAT
			return oAcc
		}
		d.w.nat.awayTo = netip.AddrPort{}
		same, why := d.w.natSame(cr)
		if same {
			return oAcc
		}
		if why == "" && d.w.nat.awayTo.IsValid() {
			// forwarded to another host: the nat table is done, and
			// FORWARD decides instead of INPUT (see Decide)
			d.away = d.w.nat.awayTo
			return oAcc
		}
		if why != "" {
			d.reasons = append(d.reasons, why)
			return oAcc | oDrop
		}
		d.reasons = append(d.reasons, "translated by "+cr.r.Text+": not delivered to this socket")
		return oDrop
	case actUnknown:
		d.reasons = append(d.reasons, cr.why)
		return oAcc | oDrop | d.chain(c, i+1)
	}
	return d.chain(c, i+1)
}

// localDNAT tells where a translation to this host (REDIRECT, or DNAT to
// one of its addresses or a loopback address) sends the packet (localTo).
func (d *decider) localDNAT(cr *crule) (netip.Addr, uint16, bool) {
	return localTo(cr.r, d.p.dst, d.p.dport, d.e.local.contains)
}

// base walks base chain h (Decide follows marks rule by rule).
func (d *decider) base(h *cchain) uint8 { return d.chain(h, 0) }

// endOfChain is what a RETURN means in c: the policy for a built-in chain.
func (d *decider) endOfChain(c *cchain, o uint8) uint8 {
	if !c.builtin {
		return o
	}
	d.step(c, nil, triYes, strings.ToLower(c.policy))
	d.setPolicy(c)
	if c.policy == "DROP" {
		return oDrop
	}
	return oAcc
}

func actionName(cr *crule) string {
	switch cr.act {
	case actAccept:
		return "accept"
	case actDrop:
		if cr.r.Target == "REJECT" {
			return "reject"
		}
		return "drop"
	case actReturn:
		return "return"
	case actJump:
		return "jump " + cr.to.name
	case actGoto:
		return "goto " + cr.to.name
	case actNAT:
		return strings.ToLower(cr.r.Target)
	case actUnknown:
		return "unknown " + cr.r.Target
	}
	return "continue"
}

// forward walks a packet that a nat rule of hook h sent to d.away (another
// host) through the FORWARD chains, the way Evaluate does: the route to
// that host is not known, so every output interface is tried and the first
// that accepts is the one shown (or the first, when none does).
func (d *decider) forward(pth *path, h *cchain) uint8 {
	hooks := pth.forward
	in := *d.p
	walk := func(out string) uint8 {
		*d.p = pktCtx{proto: in.proto, sport: in.sport, dport: d.away.Port(), in: in.in, out: out,
			dst: d.away.Addr(), dstType: atUnicast, state: stNew | stDNAT, flags: in.flags, icmpType: in.icmpType,
			mark: in.mark, markUnsure: in.markUnsure, origDport: in.origPort(), origDst: in.origAddr()}
		o := oAcc
		for _, c := range hooks {
			d.decisive = ""
			if o = d.base(c); o&oDrop != 0 && o&oAcc == 0 {
				break
			}
		}
		if len(hooks) == 0 {
			d.decisive = "-P FORWARD ACCEPT"
		}
		return o
	}
	outs := d.e.outIfacesTo(d.away.Addr())
	chosen := outs[0]
	tracing := d.trace
	d.trace = false
	for _, out := range outs {
		if walk(out)&oAcc != 0 {
			chosen = out
			break
		}
	}
	d.trace = tracing
	if d.trace && !d.noSteps {
		d.steps = append(d.steps, Step{Table: h.label(), Chain: h.name, Matched: "yes",
			Rule: "forwarded to " + d.away.String() + " (out " + chosen + "): FORWARD decides, not INPUT", Action: "forward"})
	}
	o := walk(chosen)
	*d.p = in
	return o
}
