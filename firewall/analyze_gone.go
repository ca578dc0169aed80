package firewall

// goneSet is the sources a region has lost to rules that match on the
// source alone: sorted sets in layers, each at most half the size of the
// one before, so that adding a blocklist's worth of them in many small
// runs costs about n log n, not n per run.
//
// A chain walked from a jump sees what its caller has lost too (up), but
// adds only to its own layers, so that what it returns can be put back
// into the caller's region as the caller holds it.
type goneSet struct {
	layers []addrSet
	up     *goneSet
}

// add puts s among the sources gone.
func (g *goneSet) add(s addrSet) {
	if s.isEmpty() {
		return
	}
	g.layers = append(g.layers, s)
	for n := len(g.layers); n >= 2 && 2*len(g.layers[n-1].r) >= len(g.layers[n-2].r); n = len(g.layers) {
		g.layers[n-2] = g.layers[n-2].union(g.layers[n-1])
		g.layers = g.layers[:n-1]
	}
}

// fromOwn is s less the sources gone in this chain's walk (not up).
func (g *goneSet) fromOwn(s addrSet) addrSet {
	for _, l := range g.layers {
		if s.isEmpty() {
			break
		}
		if len(s.r)*8 < len(l.r) {
			s = addrSet{fam: s.fam, r: cutOut(s.r, l)}
		} else {
			s = s.subtract(l)
		}
	}
	return s
}

// cutOut is rs less l, found by searching l for each range of rs (rs
// is much the smaller); touching pieces stay apart only where they were.
func cutOut(rs []rng, l addrSet) []rng {
	var out []rng
	for _, x := range rs {
		lo, hi := l.span(x.lo, x.hi)
		cur := x
		done := false
		for k := lo; k < hi; k++ {
			y := l.r[k]
			if y.hi.less(cur.lo) || cur.hi.less(y.lo) {
				continue // touches only
			}
			if cur.lo.less(y.lo) {
				out = append(out, rng{cur.lo, y.lo.dec()})
			}
			if !y.hi.less(cur.hi) {
				done = true
				break
			}
			cur.lo = y.hi.inc()
		}
		if !done {
			out = append(out, cur)
		}
	}
	return out
}

// covers: every address of r is gone.
func (g *goneSet) covers(r rng) bool {
	left := []rng{r}
	for ; g != nil; g = g.up {
		for _, l := range g.layers {
			if left = cutOut(left, l); len(left) == 0 {
				return true
			}
		}
	}
	return false
}
