package firewall

import (
	"fmt"
	"slices"
	"strings"
)

// path is every source's base chains merged into the kernel's order: per
// hook, by priority. A packet walks every base chain of a hook; an accept
// ends that chain only, a drop anywhere is final, and a NAT in any chain
// moves the packet for all that follow (nf_hook_slow, nf_nat_inet_fn).
type path struct {
	pre     []*cchain // prerouting: every packet from outside
	in      []*cchain // input: packets for a local socket (source NAT left out: it changes no delivery)
	forward []*cchain // forward: packets routed through the host
	reply   []*cchain // output then postrouting, nat left out: a locally generated reply
	// replyOpen: the reply chains have no rules and accept policies
	replyOpen bool
	way       []*cchain // pre then in, built once
}

// input is the way of a packet for a local socket.
func (p *path) input() []*cchain { return p.way }

// preNoNAT is prerouting without its nat chains (a probe that must not be
// translated).
func (p *path) preNoNAT() []*cchain {
	var out []*cchain
	for _, c := range p.pre {
		if !c.isNAT() {
			out = append(out, c)
		}
	}
	return out
}

// buildPaths merges the base chains of sets. Chains of one hook with the
// same priority run in an order the kernel does not promise (the order
// they were registered in). That order can only matter where one of them
// translates addresses or switches tracking off; then a second path with
// those chains in the other order is returned too, with the reason.
func buildPaths(sets []*cruleset) ([]*path, string) {
	byHook := map[string][]*cchain{}
	for _, cs := range sets {
		for _, c := range cs.bases {
			byHook[c.base.hook] = append(byHook[c.base.hook], c)
		}
	}
	for _, cs := range byHook {
		slices.SortStableFunc(cs, func(a, b *cchain) int { return a.base.prio - b.base.prio })
	}
	mk := func(byHook map[string][]*cchain) *path {
		p := &path{pre: byHook["prerouting"], forward: byHook["forward"], replyOpen: true}
		for _, c := range byHook["input"] {
			if !c.isNAT() {
				p.in = append(p.in, c)
			}
		}
		for _, h := range []string{"output", "postrouting"} {
			for _, c := range byHook[h] {
				if c.isNAT() {
					continue // nat sees only a connection's first packet, never a reply
				}
				p.reply = append(p.reply, c)
				if len(c.rules) > 0 || c.policy == "DROP" {
					p.replyOpen = false
				}
			}
		}
		p.way = append(append([]*cchain{}, p.pre...), p.in...)
		return p
	}
	paths := []*path{mk(byHook)}
	var why []string
	swapped := map[string][]*cchain{}
	for h, cs := range byHook {
		swapped[h] = slices.Clone(cs)
		for i := 0; i < len(cs); {
			j := i + 1
			for j < len(cs) && cs[j].base.prio == cs[i].base.prio {
				j++
			}
			if j-i > 1 && (h == "prerouting" || h == "input" || h == "forward") && rewrites(cs[i:j]) {
				slices.Reverse(swapped[h][i:j])
				var names []string
				for _, c := range cs[i:j] {
					names = append(names, c.label()+" "+c.name)
				}
				why = append(why, fmt.Sprintf("order of %s (all priority %d on %s) is not fixed", strings.Join(names, ", "), cs[i].base.prio, h))
			}
			i = j
		}
	}
	if len(why) == 0 {
		return paths, ""
	}
	slices.Sort(why)
	return append(paths, mk(swapped)), strings.Join(why, "; ")
}

// rewrites: some chain of cs translates addresses or switches tracking
// off, so its order against the others can change the outcome.
func rewrites(cs []*cchain) bool {
	for _, c := range cs {
		found := false
		visitRules([]*cchain{c}, func(_ *cchain, cr *crule) {
			found = found || cr.act == actNAT || (cr.act == actSkip && isNotrack(cr.r))
		})
		if found {
			return true
		}
	}
	return false
}

// isFinal: accepts in c are the ones worth naming (the filter chains of
// the input and forward hooks, not the earlier chains whose accept only
// lets the packet go on).
func (c *cchain) isFinal() bool {
	return (c.base.hook == "input" || c.base.hook == "forward") && c.base.typ == "filter" && c.base.prio >= 0
}

// beforeConntrack: a NOTRACK in c takes effect (raw, priority < -200).
func (c *cchain) beforeConntrack() bool { return c.base.prio < priConntrack }
