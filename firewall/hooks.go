package firewall

import "net/netip"

// The pipeline: a set of sources walks every base chain of the path in
// the kernel's order, hook after hook. Where a hook changed some sources'
// packets (NOTRACK, a mark), each class of sources goes on with its own
// packet.

// pipeline walks x through every base chain on the way in: it returns
// the sources possibly accepted (may) and those accepted on every path
// (must).
func (w *walker) pipeline(p *path, x addrSet) (must, may addrSet) {
	w.forked = false
	w.nat.away = nil
	w.nat.done = false
	return w.pipelineFrom(p.input(), 0, x, emptySet(w.fam))
}

func (w *walker) pipelineFrom(hooks []*cchain, i int, x, drops addrSet) (must, may addrSet) {
	for ; i < len(hooks) && !x.isEmpty(); i++ {
		h := hooks[i]
		if h.isNAT() && w.p.state&stUntracked != 0 {
			continue // untracked packets skip the nat chains
		}
		w.hook = h
		w.untracked = emptySet(w.fam)
		w.nat.hit = emptySet(w.fam)
		w.markHits = w.markHits[:0]
		nAway := len(w.nat.away)
		if w.tr != nil {
			w.tr.decisive = RuleRef{}
		}
		res := w.walk(h, x)
		for j := nAway; j < len(w.nat.away); j++ {
			w.nat.away[j].drops = drops
		}
		if w.tr != nil && len(w.nat.away) == nAway {
			// (a packet sent to another host is FORWARD's to decide)
			o := fateOf(res, x)
			if o&oAcc == 0 {
				o |= oDrop
			}
			w.tr.hookStep(h, o)
		}
		if w.nat.hitDst.IsValid() && w.nat.here != nil {
			// the packet followed was translated to this host
			w.p.translate(w.nat.hitDst, w.nat.hitPort)
			w.nat.hitDst = netip.Addr{}
		}
		drops = drops.union(res.drop)
		x = res.acc
		if h.isNAT() && (w.nat.target.IsValid() || w.nat.follow) && !w.nat.done {
			// a loopback-bound socket, or one reached from another port,
			// sees only what was translated to it
			missed := x.subtract(w.nat.hit)
			if !missed.isEmpty() && w.nat.target.IsValid() {
				w.dropBy = append(w.dropBy, attrib{RuleRef{text: "(not translated to " + w.nat.target.String() + ")"}, false, missed, false, w.p.in, false, nil})
			}
			x = x.intersect(w.nat.hit)
			to := w.nat.target
			if w.nat.follow {
				to = w.nat.hitDst
			}
			w.p.translate(to, w.nat.port)
			w.nat.done = true
		}
		if w.p.reply {
			continue
		}
		// Sources whose packet changed on this hook (NOTRACK in raw makes
		// them UNTRACKED, a mark set) go on separately, each with its
		// own packet.
		if len(w.markHits) == 0 && (w.untracked.isEmpty() || w.p.state&stUntracked != 0) {
			continue // nothing on this hook changed any packet
		}
		classes := w.classes(x, true)
		if len(classes) == 1 && classes[0].matches(w.p) {
			continue
		}
		must, may = emptySet(w.fam), emptySet(w.fam)
		done := w.nat.done
		for _, c := range classes {
			saved := *w.p
			c.applyTo(w.p)
			w.nat.done = done
			m, y := w.pipelineFrom(hooks, i+1, c.set, drops)
			*w.p = saved
			must, may = must.union(m), may.union(y)
		}
		return must, may
	}
	if w.tr != nil && !w.p.reply {
		w.tr.last = *w.p
	}
	return x.subtract(drops), x
}
