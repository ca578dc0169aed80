package firewall

import "slices"

// byInterface splits res, the answer over every interface together, by
// outside interface when the interfaces that admit anyone do not all
// admit the same sources: the pooled fields then say who gets in on some
// interface and who is kept out on all of them, and ByInterface says who
// gets in on each. An open verdict stands only when every outside
// interface admits more than half of the address space on its own; where
// one admits a few (a source zone beside an interface zone), the verdict
// is restricted, its exceptions kept (those kept out everywhere).
//
// Live, the outside interfaces are the host's (outsides). Offline, every
// interface the evaluator tells apart is listed, but one the rules name
// that admits nobody does not make the verdict restricted, as in
// resultOf: it may be a bridge for containers, or absent.
//
// A conditional or blocked answer is left as it is, and so is the pooled
// answer when one interface's own answer is conditional.
func (e *Evaluator) byInterface(res *Result, per []ifaceSets, judge func([]ifaceSets) Result) {
	if res.Verdict != Open && res.Verdict != Restricted {
		return
	}
	live := len(e.host.Interfaces) > 0
	var outs []ifaceSets
	for _, p := range per {
		if !live || e.isOut[p.name] {
			outs = append(outs, p)
		}
	}
	if len(outs) < 2 || sameAdmitted(outs) {
		return
	}
	open := true
	each := make([]IfaceResult, 0, len(outs))
	for _, p := range outs {
		r := judge([]ifaceSets{p})
		switch r.Verdict {
		case Open, Restricted, Blocked:
		default:
			// where an interface's answer depends on runtime state, the
			// pooled answer stands (see DESIGN's conditional)
			return
		}
		name := p.name
		if name == genericIface {
			name = ""
		}
		each = append(each, IfaceResult{Iface: name, Result: r})
		if r.Verdict != Open && (live || p.name == genericIface || !p.may.isEmpty()) {
			open = false
		}
	}
	res.ByInterface = each
	// by name, "" (any other interface) last
	slices.SortFunc(res.ByInterface, func(a, b IfaceResult) int {
		switch {
		case a.Iface == b.Iface:
			return 0
		case a.Iface == "":
			return 1
		case b.Iface == "":
			return -1
		case a.Iface < b.Iface:
			return -1
		}
		return 1
	})
	if res.Verdict == Open && !open {
		// open on some interfaces only: restricted, its exceptions kept
		res.Verdict = Restricted
	}
}

// sameAdmitted reports whether every interface of per that admits anyone
// admits the same sources, surely and maybe: then the pooled answer's
// sources, with the interfaces that admit, say it exactly.
func sameAdmitted(per []ifaceSets) bool {
	var first *ifaceSets
	for i := range per {
		p := &per[i]
		if p.may.isEmpty() {
			continue
		}
		if first == nil {
			first = p
			continue
		}
		if !p.must.equal(first.must) || !p.may.equal(first.may) {
			return false
		}
	}
	return true
}
