package firewall

import (
	"fmt"
	"slices"
	"strings"
)

// Rulesets that keep today's chains: what a restore file leaves loaded
// beside the rules already there (iptables-restore with and without
// --noflush, a manager's reload of its own chains), and a table of
// iptables chains re-homed as a native nft table. suggest renders the
// text; which table and chain it lands in, on which hook and at which
// priority, is said here, beside iptables_ir.go.

// IptablesChain is the name iptables gives the filter table's built-in
// chain on hook ("input" → "INPUT"), as a rendering prints it.
func IptablesChain(hook string) string { return strings.ToUpper(hook) }

// iptablesFilter: t is iptables' filter table.
func (t *Table) iptablesFilter() bool { return t.NftFamily == "" && t.Name == "filter" }

// IptablesFilterChain is the chain called name of t when t is iptables'
// filter table (where ufw, firewalld's iptables backend and Docker keep
// their chains); nil otherwise.
func (t *Table) IptablesFilterChain(name string) *Chain {
	if t == nil || !t.iptablesFilter() {
		return nil
	}
	return t.Chain(name)
}

// IptablesFilter is rs's iptables filter table, or nil.
func (rs *Ruleset) IptablesFilter() *Table {
	if t := rs.Table("filter"); t != nil && t.NftFamily == "" {
		return t
	}
	return nil
}

// IptablesFilterChain is the chain called name of rs's iptables filter
// table, or nil.
func (rs *Ruleset) IptablesFilterChain(name string) *Chain {
	return rs.IptablesFilter().IptablesFilterChain(name)
}

// IsIptables reports whether rs is an iptables dump (no native nftables
// table in it).
func (rs *Ruleset) IsIptables() bool {
	for _, t := range rs.Tables {
		if t.NftFamily != "" {
			return false
		}
	}
	return true
}

// IsLegacy reports whether rs was read from iptables' legacy backend.
func (rs *Ruleset) IsLegacy() bool { return strings.Contains(rs.Source, "legacy") }

// RestoreTarget is the iptables ruleset of today's that a restore goes
// to: with both backends loaded the nft one (legacy tables stay); -1 when
// there is none.
func RestoreTarget(today []*Ruleset) int {
	target := -1
	for i, rs := range today {
		if rs.IsIptables() && (target < 0 || today[target].IsLegacy() && !rs.IsLegacy()) {
			target = i
		}
	}
	return target
}

// NoflushChains are the chains of iptables' filter table that a
// --noflush rendering for a Docker host owns: it declares and flushes
// them and writes their rules, and the input chain's declaration sets its
// policy; every other chain (FORWARD, Docker's) and table stays. With
// dockerUser (FORWARD reaches DOCKER-USER) DOCKER-USER is one of them.
func NoflushChains(dockerUser bool) []string {
	out := []string{IptablesChain("input")}
	if dockerUser {
		out = append(out, DockerUserChain)
	}
	return out
}

// NoflushHead starts such a rendering: the filter table, the declaration
// of each of its chains (the input chain with inputPolicy) and their
// flushes, which make loading it twice give the same rules.
func NoflushHead(inputPolicy string, dockerUser bool) string {
	var b strings.Builder
	b.WriteString("*filter\n")
	chains := NoflushChains(dockerUser)
	for _, c := range chains {
		policy := "-"
		if c == IptablesChain("input") {
			policy = inputPolicy
		}
		b.WriteString(":" + c + " " + policy + " [0:0]\n")
	}
	for _, c := range chains {
		b.WriteString("-F " + c + "\n")
	}
	return b.String()
}

// AfterNoflush is what `iptables-restore --noflush` of file, a rendering
// that begins with NoflushHead, leaves loaded: today's rules with the
// NoflushChains' rules (and the input chain's policy) replaced by file's; every other chain and table as it is. The restore
// goes to the iptables ruleset whose FORWARD reaches DOCKER-USER
// (Docker's backend), else to RestoreTarget's; with no iptables ruleset
// at all (Docker's nftables backend alone), file comes in beside the
// rest.
func AfterNoflush(today []*Ruleset, file *Ruleset) []*Ruleset {
	target := slices.IndexFunc(today, (*Ruleset).ForwardReachesDockerUser)
	if target < 0 {
		target = RestoreTarget(today)
	}
	var of *Table
	for _, t := range file.Tables {
		if t.iptablesFilter() {
			of = t
		}
	}
	if target < 0 || of == nil {
		return append(slices.Clone(today), file)
	}
	input := IptablesChain("input")
	replaced := func(name string) bool { return slices.Contains(NoflushChains(true), name) }
	out := slices.Clone(today)
	rs := today[target]
	nrs := &Ruleset{Family: rs.Family, Source: rs.Source}
	found := false
	for _, t := range rs.Tables {
		if !t.iptablesFilter() {
			nrs.Tables = append(nrs.Tables, t)
			continue
		}
		found = true
		nt := &Table{Name: t.Name}
		for _, c := range t.Chains {
			oc := of.Chain(c.Name)
			if oc == nil || !replaced(c.Name) {
				nt.Chains = append(nt.Chains, c)
				continue
			}
			cc := *c
			cc.Rules = oc.Rules
			if c.Name == input {
				cc.Policy = oc.Policy
			}
			nt.Chains = append(nt.Chains, &cc)
		}
		// a chain the file declares that is not there yet is created
		for _, oc := range of.Chains {
			if replaced(oc.Name) && t.Chain(oc.Name) == nil {
				nt.Chains = append(nt.Chains, oc)
			}
		}
		nrs.Tables = append(nrs.Tables, nt)
	}
	if !found {
		nrs.Tables = append(nrs.Tables, of)
	}
	out[target] = nrs
	return out
}

// PriorityBeforeFilter is "priority filter - 1": a base chain there runs
// before every chain at priority filter on its hook (Docker's forward
// chains, iptables-nft's FORWARD).
const PriorityBeforeFilter = -1

// NftPriorityText writes a filter chain's priority in nft's named form:
// "filter", "filter - 1", "filter + 10".
func NftPriorityText(prio int) string {
	switch {
	case prio < 0:
		return fmt.Sprintf("filter - %d", -prio)
	case prio > 0:
		return fmt.Sprintf("filter + %d", prio)
	}
	return "filter"
}

// AsNftTable re-homes rs, read from iptables-save text of a filter
// table, as the native nft table family name: each built-in chain a base
// chain of type filter on its hook at priority filter, but the forward
// chain at forwardPriority. rs is changed in place and returned.
func (rs *Ruleset) AsNftTable(family, name string, forwardPriority int) *Ruleset {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			b, ok := chainBase(t, c)
			if !ok {
				continue
			}
			prio := b.prio
			if b.hook == "forward" {
				prio = forwardPriority
			}
			c.Hook, c.Priority, c.Type = b.hook, prio, b.typ
		}
		t.NftFamily, t.Name = family, name
	}
	rs.Source = "table " + family + " " + name
	return rs
}

// WithChains is today's rulesets with the first table pick holds changed
// as a manager's reload changes it: the chains named in rules hold those
// rules (copies, placed in that table and chain), and the table's base
// chains on the hooks named in policies get that policy; every other
// chain and table as it is. ok is false when pick holds for no table.
func WithChains(today []*Ruleset, pick func(*Table) bool, rules map[string][]*Rule, policies map[string]string) ([]*Ruleset, bool) {
	for i, rs := range today {
		at := slices.IndexFunc(rs.Tables, pick)
		if at < 0 {
			continue
		}
		t := rs.Tables[at]
		nt := *t
		nt.Chains = nil
		for _, c := range t.Chains {
			cc := *c
			if rs, ok := rules[c.Name]; ok {
				cc.Rules = nil
				for _, r := range rs {
					nr := *r
					nr.Table, nr.Chain = t.Name, c.Name
					if r.more != nil {
						more := *r.more // a copy to write to, as the rule's own fields
						nr.more = &more
					}
					cc.Rules = append(cc.Rules, &nr)
				}
			}
			if b, ok := chainBase(t, c); ok && b.typ == "filter" {
				if p, ok := policies[b.hook]; ok {
					cc.Policy = p
				}
			}
			nt.Chains = append(nt.Chains, &cc)
		}
		nrs := &Ruleset{Family: rs.Family, Source: rs.Source, Tables: slices.Clone(rs.Tables)}
		nrs.Tables[at] = &nt
		out := slices.Clone(today)
		out[i] = nrs
		return out, true
	}
	return nil, false
}
