package suggest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
)

// foreignTool names the tools whose chains a restore of our filter table
// would wipe, by chain-name prefix, with how to keep each.
var foreignTools = []struct {
	tool     string
	prefixes []string
	keep     string
}{
	{"fail2ban", []string{"f2b-", "fail2ban-"}, "restart fail2ban after loading (systemctl restart fail2ban) so it recreates its chains"},
	{"Docker", []string{"DOCKER"}, "restart Docker after loading (systemctl restart docker); FORWARD DROP also blocks published containers unless you allow them in DOCKER-USER"},
	{"ufw", []string{"ufw-", "ufw6-"}, "use ufw or this ruleset, not both (ufw disable first)"},
	{"kube-proxy", []string{"KUBE-"}, "do not load this on a Kubernetes node: kube-proxy owns these chains"},
	{"firewalld", []string{"IN_", "FWDI_", "FWDO_", "FWD_", "OUTPUT_direct", "INPUT_direct", "FORWARD_direct", "INPUT_ZONES", "FORWARD_IN_ZONES"}, "stop and disable firewalld first (systemctl disable --now firewalld)"},
}

// ForeignChains warns, one line per tool, when the loaded rulesets hold
// chains another tool manages (in any table: Docker's DOCKER chain lives in
// nat, its FORWARD rules in filter). Loading the iptables, ip6tables or
// script output replaces the filter table and the tool's rules there; the
// nft output replaces only table inet fwaudit, but then the other tools'
// chains still see every packet.
func ForeignChains(rulesets []*firewall.Ruleset) []string {
	found := foreignChains(rulesets)
	var out []string
	for _, ft := range foreignTools {
		chains := found[ft.tool]
		if len(chains) == 0 {
			continue
		}
		sort.Strings(chains)
		shown := chains
		if len(shown) > 4 {
			shown = append(shown[:4:4], fmt.Sprintf("and %d more", len(chains)-4))
		}
		if ft.tool == "Docker" && dockerIn(rulesets) {
			out = append(out, fmt.Sprintf("Docker chains are loaded (%s); the suggestion keeps them: the iptables, ip6tables and script outputs rewrite only INPUT and DOCKER-USER (load the files with --noflush), the nft output adds a forward chain before Docker's. With --ignore-current it does not know them: loading it then replaces the filter table and what Docker put there: %s",
				strings.Join(shown, ", "), ft.keep))
			continue
		}
		out = append(out, fmt.Sprintf("%s chains are loaded (%s); loading this ruleset replaces the filter table and what %s put there: %s",
			ft.tool, strings.Join(shown, ", "), ft.tool, ft.keep))
	}
	return out
}

// dockerIn reports whether Docker filters forwarded traffic in the
// rulesets (the layouts Build keeps; see docker.go).
func dockerIn(rulesets []*firewall.Ruleset) bool {
	cur := &firewall.Loaded{}
	for _, rs := range rulesets {
		if rs != nil {
			t := cur.Of(rs.Family)
			t.Sets = append(t.Sets, rs)
		}
	}
	return dockerLayout(cur, firewall.IPv4) != noDocker || dockerLayout(cur, firewall.IPv6) != noDocker
}

// foreignChains lists, per tool of foreignTools, the chains of the
// rulesets it manages ("filter/DOCKER-USER").
func foreignChains(rulesets []*firewall.Ruleset) map[string][]string {
	found := map[string][]string{}
	for _, rs := range rulesets {
		if rs == nil {
			continue
		}
		for _, t := range rs.Tables {
			for _, c := range t.Chains {
				for _, ft := range foreignTools {
					for _, pre := range ft.prefixes {
						if strings.HasPrefix(c.Name, pre) {
							name := t.Name + "/" + c.Name
							if !contains(found[ft.tool], name) {
								found[ft.tool] = append(found[ft.tool], name)
							}
						}
					}
				}
			}
		}
	}
	return found
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
