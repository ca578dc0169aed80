package firewall

import "net/netip"

// What a filter chain does with a new packet none of its rules accepts:
// its policy, or a rule near its end that no packet gets past. The
// report's default-deny check asks this of the chains on the input and
// forward hooks.

// CatchAll finds a rule of h's chain that no packet gets past: from the
// end, each rule that names no protocol or port and drops, rejects or
// jumps is tried alone (as the only rule of an input chain with policy
// ACCEPT, beside the user chains of its table), and an evaluator of that
// says whether anything of fam is accepted on port (one no rule names).
// The rule text itself is never inspected.
func (h HookChain) CatchAll(fam Family, port uint16) (*Rule, bool) {
	var users []*Chain
	for _, uc := range h.Table.Chains {
		if uc.Policy == "" || uc.Policy == "-" {
			users = append(users, uc)
		}
	}
	anyAddr := netip.IPv4Unspecified()
	if fam == IPv6 {
		anyAddr = netip.IPv6Unspecified()
	}
	rules := h.Chain.Rules
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		if r.Proto() != "" || len(r.DPorts()) > 0 || len(r.Unknown()) > 0 || r.Goto {
			continue
		}
		if r.Target != "DROP" && r.Target != "REJECT" && h.Table.Chain(r.Target) == nil {
			continue
		}
		chains := append([]*Chain{{Name: "INPUT", Policy: "ACCEPT", Rules: []*Rule{r}}}, users...)
		probe := &Ruleset{Family: fam, Source: "catch-all probe", Tables: []*Table{{Name: "filter", Chains: chains}}}
		ev := NewEvaluator(fam, []*Ruleset{probe}, Host{})
		blocked := true
		for _, proto := range []string{"tcp", "udp"} {
			if ev.Evaluate(Query{Proto: proto, Addr: anyAddr, Port: port}).Verdict != Blocked {
				blocked = false
			}
		}
		if blocked {
			return r, true
		}
	}
	return nil, false
}
