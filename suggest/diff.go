package suggest

import (
	"fmt"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
)

// Diff compares the INPUT chain of the current filter tables with p, one
// line per rule and family with its reason:
//
//	ipv4: policy INPUT ACCEPT -> DROP
//	ipv4: + -A INPUT -p tcp -m tcp --dport 443 -m comment --comment "https (nginx)" -j ACCEPT  # nginx listens on 0.0.0.0:443
//	ipv4: - -A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT  # not in the suggested ruleset
//	ipv4: = -A INPUT -i lo -j ACCEPT  # allowing loopback traffic
//
// A family with no current ruleset is compared with an empty one.
func Diff(current []*firewall.Ruleset, p *Policy) []string {
	var out []string
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		var have []string
		policy := "ACCEPT"
		for _, rs := range current {
			if rs == nil || rs.Family != fam {
				continue
			}
			for _, t := range rs.Tables {
				if t.Name != "filter" {
					continue
				}
				for _, c := range t.Chains {
					if c.Name != "INPUT" {
						continue
					}
					if c.Policy != "" {
						policy = c.Policy
					}
					for _, r := range c.Rules {
						have = append(have, normalize(r.Text))
					}
				}
			}
		}
		type want struct{ line, reason string }
		var wants []want
		for _, st := range p.steps() {
			rules := st.v4
			if fam == firewall.IPv6 {
				rules = st.v6
			}
			reason := st.echo
			if st.rule != nil && st.rule.Reason != "" {
				reason = st.rule.Reason
			}
			for _, a := range rules {
				wants = append(wants, want{saveLine(a), reason})
			}
		}
		if policy != "DROP" {
			out = append(out, fmt.Sprintf("%s: policy INPUT %s -> DROP", fam, policy))
		}
		used := make([]bool, len(have))
		for _, w := range wants {
			mark := "+"
			for i, h := range have {
				if !used[i] && h == normalize(w.line) {
					used[i], mark = true, "="
					break
				}
			}
			out = append(out, fmt.Sprintf("%s: %s %s  # %s", fam, mark, w.line, w.reason))
		}
		for i, h := range have {
			if !used[i] {
				out = append(out, fmt.Sprintf("%s: - %s  # not in the suggested ruleset", fam, h))
			}
		}
	}
	return out
}

func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }
