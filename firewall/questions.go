package firewall

import (
	"net/netip"
	"slices"
	"strings"
)

// Questions callers ask of a ruleset, in terms of hooks rather than
// iptables table names, so that report and suggest never walk tables by
// name and native nft tables answer too: here the chains on a hook, the
// evaluator without DNAT, routed access and a rule's verdict;
// questions_policy.go policies per hook and what input accepts;
// questions_default.go a chain's catch-all; questions_forward.go what is
// forwarded and to where; questions_docker.go how Docker filters. What a
// restore leaves beside today's chains is render_chains.go's.

// HookChain is a base chain with its table.
type HookChain struct {
	Table *Table
	Chain *Chain
}

// Name names the chain as its front end does: "INPUT" for iptables,
// "inet filter input" for nft.
func (h HookChain) Name() string {
	if h.Table.NftFamily != "" {
		return h.Table.NftFamily + " " + h.Table.Name + " " + h.Chain.Name
	}
	return h.Chain.Name
}

// FilterChains lists the chains that filter packets on hook (input,
// forward, output) after every earlier stage: iptables' filter table
// chain, and nft chains of type filter at priority 0 or later.
func (rs *Ruleset) FilterChains(hook string) []HookChain {
	var out []HookChain
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			b, ok := chainBase(t, c)
			if !ok || b.hook != hook || b.typ != "filter" {
				continue
			}
			if (t.NftFamily == "" && t.Name == "filter") || (t.NftFamily != "" && b.prio >= 0) {
				out = append(out, HookChain{t, c})
			}
		}
	}
	return out
}

// NATChains lists the nat chains on the prerouting hook (where DNAT
// happens).
func (rs *Ruleset) NATChains() []HookChain {
	var out []HookChain
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			if b, ok := chainBase(t, c); ok && b.hook == "prerouting" && b.typ == "nat" {
				out = append(out, HookChain{t, c})
			}
		}
	}
	return out
}

// Reach lists the chains of h's table that a packet entering h can
// visit, through jumps and gotos, in the order they are first reached.
func (h HookChain) Reach() []*Chain {
	seen := map[string]bool{h.Chain.Name: true}
	out := []*Chain{h.Chain}
	for i := 0; i < len(out); i++ {
		for _, r := range out[i].Rules {
			if r.Target == "" || seen[r.Target] {
				continue
			}
			if c := h.Table.Chain(r.Target); c != nil && c.Policy == "" {
				seen[r.Target] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// WithoutDNAT is an evaluator of the same rules on the same host in which
// no nat chain on the prerouting hook changes a packet: what the filter
// chains alone decide for a port nothing forwards. A port forward (a
// Docker publish) that is reachable while this evaluator blocks it
// bypasses the host's INPUT rules.
func (e *Evaluator) WithoutDNAT() *Evaluator {
	out := make([]*Ruleset, 0, len(e.src))
	for _, rs := range e.src {
		if rs == nil {
			continue
		}
		cp := *rs
		cp.Tables = make([]*Table, len(rs.Tables))
		for i, t := range rs.Tables {
			ct := *t
			ct.Chains = make([]*Chain, len(t.Chains))
			for j, c := range t.Chains {
				ct.Chains[j] = c
				if b, ok := chainBase(t, c); ok && b.hook == "prerouting" && b.typ == "nat" {
					cc := *c
					cc.Rules = nil
					ct.Chains[j] = &cc
				}
			}
			cp.Tables[i] = &ct
		}
		out = append(out, &cp)
	}
	return NewEvaluator(e.fam, out, e.host)
}

// Routed answers who can open a NEW connection straight to dst:port, an
// address behind this host (a container's), sent by an outsider that
// routes it through the host with no DNAT: the non-nat prerouting chains
// (raw, mangle: Docker 28's and 29's direct-access drops), then the
// forward hook, on each output interface the forward rules route dst to.
// The result reads like Evaluate's: blocked, open, restricted (Sources),
// or conditional (Reasons).
func (e *Evaluator) Routed(proto string, dst netip.Addr, port uint16) Result {
	p, err := parseProto(proto)
	if err != nil {
		return Result{Verdict: Conditional, Reasons: []string{err.Error()}}
	}
	if e.fam == IPv4 {
		dst = dst.Unmap()
	}
	pth := e.paths[0]
	hooks := append(pth.preNoNAT(), pth.forward...)
	must, may := emptySet(e.fam), emptySet(e.fam)
	var reasons []string
	in := e.outsideIfaceFor(DefaultSource(e.fam))
	for _, out := range e.outIfacesTo(dst) {
		ctx := &pktCtx{proto: p, sport: defaultSPort, dport: port, in: in, out: out, dst: dst, dstType: atUnicast, state: stNew, flags: tcpSYN}
		if p != 6 {
			ctx.flags = 0
		}
		w := &walker{fam: e.fam, p: ctx, rp: e.rp}
		w.nat.local = func(a netip.Addr) bool { return e.local.contains(a) && !a.IsLoopback() }
		m, y := w.pipelineFrom(hooks, 0, fullSet(e.fam), emptySet(e.fam))
		must, may = must.union(m), may.union(y)
		if !y.equal(m) {
			for _, r := range w.reasons {
				reasons = append(reasons, r.why)
			}
		}
	}
	switch {
	case len(reasons) > 0:
		slices.Sort(reasons)
		return Result{Verdict: Conditional, Sources: may.prefixes(), Reasons: slices.Compact(reasons)}
	case must.isEmpty():
		return Result{Verdict: Blocked}
	case must.fraction() > 0.5:
		return Result{Verdict: Open, Except: must.complement().prefixes()}
	}
	return Result{Verdict: Restricted, Sources: must.prefixes()}
}

// NATTo is where a DNAT rule sends packets: its address and first port
// (0 when it keeps the port). ok is false for other rules.
func (r *Rule) NATTo() (addr netip.Addr, port uint16, ok bool) {
	if r.Target != "DNAT" || r.m.x == nil || r.m.x.nat == nil || r.m.x.nat.bad || !r.m.x.nat.addr.IsValid() {
		return netip.Addr{}, 0, false
	}
	n := r.m.x.nat
	if n.hasPort {
		port = n.ports.Lo
	}
	return n.addr, port, true
}

// Local reports whether a is one of this host's addresses (or loopback).
func (e *Evaluator) Local(a netip.Addr) bool { return e.local.contains(a.Unmap()) }

// Accepts reports whether r accepts what it matches (its verdict ends the
// chain's hook with the packet let through).
func (r *Rule) Accepts() bool { return r.Target == "ACCEPT" }

// Denies reports whether r drops or rejects what it matches.
func (r *Rule) Denies() bool { return r.Target == "DROP" || r.Target == "REJECT" }

// IsPolicyText tells whether the text an evaluator names as deciding
// (Result.Rule, Decision.Rule) is a chain's policy rather than a rule:
// iptables' "-P INPUT DROP" ("-t mangle -P INPUT DROP" outside the filter
// table), nft's "inet filter input policy drop" (see cchain.policyText).
func IsPolicyText(rule string) bool {
	if t, ok := strings.CutPrefix(rule, "-t "); ok {
		if _, rest, ok := strings.Cut(t, " "); ok && strings.HasPrefix(rest, "-P ") {
			return true
		}
	}
	return strings.HasPrefix(rule, "-P ") || (!strings.Contains(rule, ": ") && strings.Contains(rule, " policy "))
}

// FiltersOnly reports whether t's base chains (at least one) are all
// filter chains on the input, forward or output hook: a table like
// iptables' filter table, with no nat, route or prerouting chain.
func (t *Table) FiltersOnly() bool {
	base := 0
	for _, c := range t.Chains {
		if c.Hook == "" {
			continue
		}
		base++
		if c.Type != "filter" || (c.Hook != "input" && c.Hook != "forward" && c.Hook != "output") {
			return false
		}
	}
	return base > 0
}
