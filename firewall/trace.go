package firewall

import "strings"

// outcome bits of one packet's walk; several bits mean a runtime match
// could go either way.
const (
	oAcc uint8 = 1 << iota
	oDrop
	oRet
)

// tracer rides along the set walker when it walks one packet (Decide):
// it records every rule the packet meets as a Step, the rule or policy
// that decided each base chain, and from those the rule a verdict names.
type tracer struct {
	origins map[string]string
	steps   bool // record the steps (Decide), not only the deciding rules (DecideVerdict)
	trace   []Step
	// off > 0 while the walk follows a runtime match's untraced way
	off    int
	budget int // rules left to visit: runtime matches double the walk
	// decisive is the rule or policy that ended the base chain at hand
	// (decisivePolicy: a policy, which says less than an accepting rule
	// of an earlier chain)
	decisive       RuleRef
	decisivePolicy bool
	// the verdict's rules: the first chain that dropped, and the chain
	// whose accept is worth naming (see hook)
	dropRule, acceptRule RuleRef
	acceptPolicy         bool
	cond                 *Rule     // the first runtime match whose two ways end differently
	fork                 *addrSet  // set by walkRule: a traced runtime match to walk both ways
	mode                 traceMode // what hook records
	last                 pktCtx    // the packet as it left the last chain of the way in
}

type traceMode uint8

const (
	traceIn    traceMode = iota // the way in: drops and the accept worth naming
	traceDrops                  // only the first chain that drops (the reply, a probe)
	traceLast                   // only the last chain walked (FORWARD after a DNAT)
)

func newTracer(e *Evaluator, steps bool) *tracer {
	return &tracer{origins: e.origins, steps: steps, budget: 1 << 20}
}

// step records that the packet met rule cr of c (nil: c's end).
func (t *tracer) step(c *cchain, cr *crule, matched tri, action string) {
	if t == nil || !t.steps || t.off > 0 {
		return
	}
	t.record(c, cr, matched, action)
}

func (t *tracer) record(c *cchain, cr *crule, matched tri, action string) {
	s := Step{Table: c.label(), Chain: c.name, Matched: matched.String(), Action: action}
	if cr != nil {
		s.Line, s.Handle, s.Rule, s.Origin = cr.r.Line, cr.r.Handle, cr.r.Text, t.origins[cr.r.Text]
	} else {
		s.Rule = "policy " + c.policy
		if c.policy == "" { // a user chain has no policy: the walk returns
			s.Rule = "end of chain"
		}
		s.Matched = "yes"
	}
	t.trace = append(t.trace, s)
}

// decide records that rule r decided the packet in the chain at hand.
func (t *tracer) decide(r *Rule) {
	if t != nil && t.off == 0 {
		t.decisive, t.decisivePolicy = ruleRef(r), false
	}
}

// policy records that base chain c's policy took the packet.
func (t *tracer) policyStep(c *cchain) {
	t.step(c, nil, triYes, strings.ToLower(c.policy))
	if t.off == 0 {
		t.decisive, t.decisivePolicy = policyRef(c), true
	}
}

// hook records what base chain h did to the packet (o): the verdict
// names the first chain that dropped it and, of those that accepted, the
// latest whose accept is worth naming (a final chain's rule before an
// earlier chain's, a policy only after nothing better).
func (t *tracer) hookStep(h *cchain, o uint8) {
	if t.off > 0 {
		return
	}
	switch t.mode {
	case traceLast:
		return // read after the walk
	case traceIn:
		if o&oAcc != 0 && (t.acceptRule.IsZero() || (h.isFinal() && !h.passThrough() && (!t.decisivePolicy || t.acceptPolicy))) {
			t.acceptRule, t.acceptPolicy = t.decisive, t.decisivePolicy
		}
	}
	if o&oDrop != 0 && t.dropRule.IsZero() {
		t.dropRule = t.decisive
	}
}

// actionName is what the walk does after rule cr matched, as a Step says.
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
