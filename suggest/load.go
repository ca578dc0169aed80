package suggest

import (
	"sort"

	"github.com/fwaudit/fwaudit/firewall"
)

// Noflush reports whether p's restore file for fam is for
// iptables-restore --noflush (a Docker host: it rewrites INPUT and
// DOCKER-USER and keeps every other chain).
func (p *Policy) Noflush(fam firewall.Family) bool { return p.noflush(fam) }

// RestoreSource is the Source of the iptables dump among today's rulesets
// that a restore file replaces the filter table of ("iptables-nft",
// "ip6tables-legacy", ...): with both backends loaded the nft one, as
// Changes and CheckLockout judge it; "" when no iptables dump is loaded.
func RestoreSource(today []*firewall.Ruleset) string {
	if i := firewall.RestoreTarget(today); i >= 0 {
		return today[i].Source
	}
	return ""
}

// Manager is another tool whose chains are loaded: a firewall manager
// (ufw, firewalld), a service that keeps its own rules (Docker, fail2ban,
// kube-proxy).
type Manager struct {
	Tool   string   // "ufw", "firewalld", "Docker", "fail2ban", "kube-proxy"
	Chains []string // "filter/ufw-user-input", sorted
	Keep   string   // how to keep its rules when loading a suggestion
}

// Managers lists the tools whose chains the rulesets hold, by the chain
// names ForeignChains knows them by, in a fixed order. A native nftables
// table named firewalld (firewalld's nftables backend) counts as
// firewalld's.
func Managers(rulesets []*firewall.Ruleset) []Manager {
	found := foreignChains(rulesets)
	for _, rs := range rulesets {
		for _, t := range rs.Tables {
			if t.NftFamily != "" && t.Name == "firewalld" {
				name := t.NftFamily + " " + t.Name
				if !contains(found["firewalld"], name) {
					found["firewalld"] = append(found["firewalld"], name)
				}
			}
		}
	}
	var out []Manager
	for _, ft := range foreignTools {
		if chains := found[ft.tool]; len(chains) > 0 {
			sort.Strings(chains)
			out = append(out, Manager{Tool: ft.tool, Chains: chains, Keep: ft.keep})
		}
	}
	return out
}
