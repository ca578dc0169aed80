package firewall

// Questions callers ask of a ruleset, in terms of hooks rather than
// iptables table names, so that report and suggest never walk tables by
// name and native nft tables answer too.

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
