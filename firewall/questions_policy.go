package firewall

// Policies per hook and what the input hook accepts, for report and
// suggest: they ask by hook, never by table or chain name.

// ChainPolicy is a base chain's policy and the hook it runs on.
type ChainPolicy struct {
	Table  *Table
	Chain  *Chain
	Hook   string // "input", "forward", ...
	Policy string // as the front end writes it: "DROP", "drop", "ACCEPT", ...
}

// Policies lists every base chain of rs that has a policy, in table and
// chain order, with its hook.
func (rs *Ruleset) Policies() []ChainPolicy {
	var out []ChainPolicy
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			if c.Policy == "" || c.Policy == "-" {
				continue
			}
			b, _ := chainBase(t, c)
			out = append(out, ChainPolicy{t, c, b.hook, c.Policy})
		}
	}
	return out
}

// FilterPolicy is the policy of rs's first filter chain on hook (see
// FilterChains); ok is false when there is none.
func (rs *Ruleset) FilterPolicy(hook string) (policy string, ok bool) {
	for _, h := range rs.FilterChains(hook) {
		return h.Chain.Policy, true
	}
	return "", false
}

// FiltersNothing reports whether rs holds no rule and no DROP policy:
// it accepts everything.
func (rs *Ruleset) FiltersNothing() bool {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			if len(c.Rules) > 0 || c.Policy == "DROP" {
				return false
			}
		}
	}
	return true
}

// ChainRule is a rule with the chain it is in.
type ChainRule struct {
	Chain *Chain
	Rule  *Rule
}

// InputAccepts lists the rules that accept, in the filter chains on the
// input hook (iptables' filter INPUT, nft's filter chains at priority 0
// or later) and the chains they reach, in the order they are reached.
func (rs *Ruleset) InputAccepts() []ChainRule {
	var out []ChainRule
	for _, h := range rs.FilterChains("input") {
		for _, c := range h.Reach() {
			for _, r := range c.Rules {
				if r.Accepts() {
					out = append(out, ChainRule{c, r})
				}
			}
		}
	}
	return out
}
