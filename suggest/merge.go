package suggest

import (
	"bytes"
	"slices"

	"github.com/fwaudit/fwaudit/firewall"
)

// What stays loaded beside a suggestion on a Docker host, for the proofs
// (verify, CheckLockout, Changes): the one place that says how a
// --noflush restore and the nft table combine with today's rules.

// mergeNoflush is what `iptables-restore --noflush` of ours (the Docker
// host rendering) leaves loaded: today's rules with the filter table's
// INPUT (policy and rules) and DOCKER-USER (rules) replaced by ours';
// every other chain and table as it is. The restore goes to the iptables
// ruleset whose FORWARD reaches DOCKER-USER (Docker's backend), else to
// the one replaceFilter would pick; with no iptables ruleset at all
// (Docker's nftables backend alone), ours comes in beside the rest.
func mergeNoflush(today []*firewall.Ruleset, ours *firewall.Ruleset) []*firewall.Ruleset {
	target := slices.IndexFunc(today, reachesDockerUser)
	if target < 0 {
		target = restoreTarget(today)
	}
	var of *firewall.Table
	for _, t := range ours.Tables {
		if t.NftFamily == "" && t.Name == "filter" {
			of = t
		}
	}
	if target < 0 || of == nil {
		return append(slices.Clone(today), ours)
	}
	replaced := func(name string) bool { return name == "INPUT" || name == dockerUserChain }
	out := slices.Clone(today)
	rs := today[target]
	nrs := &firewall.Ruleset{Family: rs.Family, Source: rs.Source}
	found := false
	for _, t := range rs.Tables {
		if t.NftFamily != "" || t.Name != "filter" {
			nrs.Tables = append(nrs.Tables, t)
			continue
		}
		found = true
		nt := &firewall.Table{Name: t.Name}
		for _, c := range t.Chains {
			oc := of.Chain(c.Name)
			if oc == nil || !replaced(c.Name) {
				nt.Chains = append(nt.Chains, c)
				continue
			}
			cc := *c
			cc.Rules = oc.Rules
			if c.Name == "INPUT" {
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

// restoreTarget is the iptables ruleset a restore goes to: with both
// backends loaded the nft one (legacy tables stay); -1 when there is none.
func restoreTarget(today []*firewall.Ruleset) int {
	target := -1
	for i, rs := range today {
		if isIptables(rs) && (target < 0 || isLegacy(today[target]) && !isLegacy(rs)) {
			target = i
		}
	}
	return target
}

// nftStandIn is table inet fwaudit of the nft rendering on a Docker host,
// in the firewall package's model: the same rules as the restore
// rendering, read back by its iptables parser, placed on the hooks and
// priorities the nft file gives its chains (input and output at filter,
// forward at filter - 1 with policy accept, before Docker's chains).
func nftStandIn(p *Policy, fam firewall.Family) (*firewall.Ruleset, error) {
	var buf bytes.Buffer
	buf.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	v6 := fam == firewall.IPv6
	writeSteps(&buf, p.steps(), v6)
	buf.WriteString("-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n")
	for _, f := range p.Forward {
		if f.Family == fam {
			for _, a := range f.args("FORWARD", "ACCEPT") {
				buf.WriteString(saveLine(a) + "\n")
			}
		}
	}
	buf.WriteString("COMMIT\n")
	rs, err := firewall.ParseSave(&buf, "table inet fwaudit", fam)
	if err != nil {
		return nil, err
	}
	hooks := map[string]struct {
		hook string
		prio int
	}{"INPUT": {"input", 0}, "FORWARD": {"forward", -1}, "OUTPUT": {"output", 0}}
	for _, t := range rs.Tables {
		t.NftFamily, t.Name = "inet", "fwaudit"
		for _, c := range t.Chains {
			h := hooks[c.Name]
			c.Hook, c.Priority, c.Type = h.hook, h.prio, "filter"
		}
	}
	rs.Source = "table inet fwaudit"
	return rs, nil
}

// writeSteps writes one family's rules of steps as iptables-save lines.
func writeSteps(buf *bytes.Buffer, steps []step, v6 bool) {
	for _, st := range steps {
		rules := st.v4
		if v6 {
			rules = st.v6
		}
		for _, a := range rules {
			buf.WriteString(saveLine(a) + "\n")
		}
	}
}
