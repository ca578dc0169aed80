package suggest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
)

// HostManager is what keeps a host's firewall rules, as far as the loaded
// rules tell: a suggestion in another language is undone by its next
// reload (ufw, firewalld) or lands beside the admin's own table (nft).
type HostManager struct {
	Name   string // "ufw", "firewalld", "nft" or "iptables"
	Format string // the format suggest writes for it by default
	Why    string // what in the loaded rules says so
}

// DetectManager names the manager of the rules cur holds. ufw and
// firewalld are known by the chains and tables they create (ufw:
// ufw-user-input; firewalld: table firewalld with the nftables backend,
// INPUT_ZONES with the iptables one); a host whose rules are only native
// nftables tables is managed with nft; anything else with iptables.
func DetectManager(cur *firewall.Loaded) HostManager {
	if cur == nil {
		return HostManager{Name: "iptables", Format: "iptables", Why: "no rules were read"}
	}
	var native []string
	iptables := false
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		for _, rs := range cur.Of(fam).Sets {
			for _, t := range rs.Tables {
				switch {
				case t.IptablesFilterChain(ufwChain(fam)) != nil:
					return HostManager{Name: "ufw", Format: "ufw", Why: "ufw's chains are loaded (" + ufwChain(fam) + ")"}
				case t.NftFamily != "" && t.Name == "firewalld",
					t.NftFamily == "" && t.Chain("INPUT_ZONES") != nil:
					return HostManager{Name: "firewalld", Format: "firewalld", Why: "firewalld's rules are loaded (" + tableName(t) + ")"}
				case t.NftFamily != "" && hasInputHook(t): // table inet fwaudit too: loaded from an nft suggestion
					if !slices.Contains(native, tableName(t)) {
						native = append(native, tableName(t))
					}
				case t.NftFamily == "" && hasRules(t):
					iptables = true
				}
			}
		}
	}
	if len(native) > 0 && !iptables {
		return HostManager{Name: "nft", Format: "nft", Why: fmt.Sprintf("the rules are native nftables (%s)", joinShort(native))}
	}
	return HostManager{Name: "iptables", Format: "iptables", Why: "the rules are iptables rules"}
}

func tableName(t *firewall.Table) string {
	if t.NftFamily == "" {
		return "iptables table " + t.Name
	}
	return "table " + t.NftFamily + " " + t.Name
}

func hasInputHook(t *firewall.Table) bool {
	for _, c := range t.Chains {
		if c.Hook == "input" {
			return true
		}
	}
	return false
}

func hasRules(t *firewall.Table) bool {
	for _, c := range t.Chains {
		if len(c.Rules) > 0 || c.Policy == "DROP" {
			return true
		}
	}
	return false
}

func joinShort(list []string) string {
	if len(list) > 3 {
		return fmt.Sprintf("%s, %s, %s and %d more", list[0], list[1], list[2], len(list)-3)
	}
	return strings.Join(list, ", ")
}

// TableRef names an nftables table.
type TableRef struct{ Family, Name string }

func (t TableRef) String() string { return "table " + t.Family + " " + t.Name }

// replacedTables are the tables the nft suggestion replaces on a host
// managed with native nft: the admin's tables whose base chains are all
// filter chains (an input, forward or output policy, like the filter
// table the iptables formats replace). A table with a nat or route chain
// stays, and so does everything on a host with iptables rules or another
// manager: there the nft suggestion comes in beside the rules.
func replacedTables(cur *firewall.Loaded) []TableRef {
	if DetectManager(cur).Name != "nft" {
		return nil
	}
	var out []TableRef
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		for _, rs := range cur.Of(fam).Sets {
			for _, t := range rs.Tables {
				ref := TableRef{t.NftFamily, t.Name}
				if t.NftFamily == "" || t.Name == "fwaudit" || !t.FiltersOnly() || slices.Contains(out, ref) {
					continue
				}
				out = append(out, ref)
			}
		}
	}
	return out
}

// replaced reports whether t is one of the tables p's nft rendering deletes.
func (p *Policy) replaced(t *firewall.Table) bool {
	return t.NftFamily != "" && slices.Contains(p.replaces, TableRef{t.NftFamily, t.Name})
}

// currentZone is firewalld's default zone in the rules cur holds, and the
// host's interfaces it takes in; "" when firewalld's rules are not loaded.
func currentZone(cur *firewall.Loaded) (string, []string) {
	if cur == nil {
		return "", nil
	}
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		sets := cur.Of(fam).Sets
		if z, _ := firewalldZone(sets); z != "" {
			bound := firewalldBindings(sets)
			var in []string
			for _, i := range cur.HostOf(fam).Interfaces {
				if zb, ok := bound[i]; !ok || zb == z {
					in = append(in, i)
				}
			}
			return z, in
		}
	}
	return "", nil
}
