package firewall

import "net/netip"

// walkRes is the fate of a set of sources entering a chain, as "may" sets:
// a source in more than one set has several possible fates (a runtime
// match went both ways) and its verdict is conditional.
type walkRes struct {
	acc, drop, ret addrSet
}

// attrib remembers which rule accepted or dropped which sources.
type attrib struct {
	rule  string
	table string
	set   addrSet
}

// walker walks sets of sources through chains for one packet context.
type walker struct {
	fam     Family
	p       *pktCtx
	nat     natCtx
	reasons []reason
	accBy   []attrib
	dropBy  []attrib
	depth   int
	table   string // the table of the hook being walked
	// scratch for batches
	active   []int32
	isActive []bool
	// shadow analysis: called for every rule reached with a non-empty
	// matching set
	onMatch func(cr *crule, matched addrSet, t tri)
}

type reason struct {
	why string
	set addrSet
}

type natCtx struct {
	local func(a netip.Addr) bool // is this DNAT address one of the host's?
}

const maxDepth = 64

func (w *walker) empty() addrSet { return emptySet(w.fam) }

func (w *walker) walk(c *cchain, x addrSet) walkRes {
	res := walkRes{acc: w.empty(), drop: w.empty(), ret: w.empty()}
	if w.depth >= maxDepth {
		// iptables refuses loops; a file given to us may still hold one
		res.acc, res.drop = x, x
		w.reasons = append(w.reasons, reason{"chain " + c.name + " nested too deep (loop?)", x})
		return res
	}
	w.depth++
	defer func() { w.depth-- }()
	for si := range c.segs {
		if x.isEmpty() {
			break
		}
		s := &c.segs[si]
		if s.hi-s.lo > 1 {
			x = w.walkBatch(c, s, x, &res)
			continue
		}
		for k := s.lo; k < s.hi && !x.isEmpty(); k++ {
			x = w.walkRule(&c.rules[k], x, &res)
		}
	}
	if c.builtin {
		// RETURN from a built-in chain (or from a chain it went to with
		// -g) applies the policy
		x = x.union(res.ret)
		res.ret = w.empty()
		switch c.policy {
		case "DROP":
			if !x.isEmpty() {
				res.drop = res.drop.union(x)
				w.dropBy = append(w.dropBy, attrib{"-P " + c.name + " DROP", w.table, x})
			}
		default:
			res.acc = res.acc.union(x)
			if !x.isEmpty() {
				w.accBy = append(w.accBy, attrib{"-P " + c.name + " ACCEPT", w.table, x})
			}
		}
	} else {
		res.ret = res.ret.union(x)
	}
	return res
}

// walkRule passes x through one rule and returns what continues.
func (w *walker) walkRule(cr *crule, x addrSet, res *walkRes) addrSet {
	t := cr.m.test(w.p)
	if t == triNo {
		return x
	}
	matched := x.intersect(cr.src)
	if matched.isEmpty() {
		return x
	}
	if w.onMatch != nil {
		w.onMatch(cr, matched, t)
	}
	if cr.act == actSkip {
		return x // its match result cannot change the outcome
	}
	if t == triMaybe {
		for _, why := range cr.m.runtime {
			w.reasons = append(w.reasons, reason{why, matched})
		}
	} else {
		x = x.subtract(cr.src)
	}
	if cont := w.act(cr, matched, res); !cont.isEmpty() {
		x = x.union(cont)
	}
	return x
}

// act applies cr's target to matched and returns the sources that
// continue with the next rule of the chain.
func (w *walker) act(cr *crule, matched addrSet, res *walkRes) addrSet {
	switch cr.act {
	case actAccept:
		res.acc = res.acc.union(matched)
		w.accBy = append(w.accBy, attrib{cr.text, w.table, matched})
	case actDrop:
		res.drop = res.drop.union(matched)
		w.dropBy = append(w.dropBy, attrib{cr.text, w.table, matched})
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
		same, why := w.natSame(cr)
		if same {
			res.acc = res.acc.union(matched) // the nat table ends; delivery unchanged
		} else {
			res.drop = res.drop.union(matched) // delivered elsewhere, not to this socket
			w.dropBy = append(w.dropBy, attrib{cr.text, w.table, matched})
			if why != "" {
				w.reasons = append(w.reasons, reason{why, matched})
				res.acc = res.acc.union(matched)
			}
		}
	case actUnknown:
		w.accBy = append(w.accBy, attrib{cr.text, w.table, matched})
		res.acc = res.acc.union(matched)
		res.drop = res.drop.union(matched)
		w.reasons = append(w.reasons, reason{cr.why, matched})
		return matched
	}
	return w.empty()
}

func (w *walker) walkBatch(c *cchain, s *segment, x addrSet, res *walkRes) addrSet {
	n := s.hi - s.lo
	if cap(w.isActive) < n {
		w.isActive = make([]bool, n)
	}
	isActive := w.isActive[:n]
	w.active = w.active[:0]
	for k := 0; k < n; k++ {
		cr := &c.rules[s.lo+k]
		ok := cr.m.srcOnly || cr.m.test(w.p) == triYes
		isActive[k] = ok
		if ok {
			w.active = append(w.active, int32(k))
		}
	}
	if len(w.active) == 0 {
		return x
	}
	br := c.batchResult(s, w.active, isActive)
	if w.onMatch != nil {
		// report each rule that owns some of x (first match wins within
		// the batch)
		j := 0
		for _, pc := range br.pieces {
			for j < len(x.r) && x.r[j].hi.less(pc.r.lo) {
				j++
			}
			if j < len(x.r) && !pc.r.hi.less(x.r[j].lo) {
				cr := &c.rules[s.lo+int(pc.k)]
				w.onMatch(cr, addrSet{fam: w.fam, r: []rng{pc.r}}.intersect(x), triYes)
			}
		}
	}
	for gi := range br.groups {
		g := &br.groups[gi]
		matched := x.intersect(g.owned)
		if matched.isEmpty() {
			continue
		}
		w.act(&c.rules[s.lo+int(g.k)], matched, res)
	}
	return x.subtract(br.union)
}
