package report

import "strings"

// The human formats group findings of one kind in one chain, so that a
// ruleset of thousands of stale rules reads as one entry with a count and
// a few examples ("stale-rule ×1,005 in INPUT, first 5 shown") instead of
// thousands of pages. The JSON keeps every finding.

// groupShown is how many findings of a group the human formats show.
const groupShown = 5

// groupAbove is the size above which a group is cut to groupShown.
const groupAbove = 10

// FindingGroup is the findings of one severity and kind, on one host, in
// one chain (none for findings about a socket rather than a rule), in
// report order.
type FindingGroup struct {
	Host     string
	Severity Severity
	ID       string
	Chain    string
	Findings []FleetFinding
}

// Cut reports whether the group shows only its first findings.
func (g FindingGroup) Cut() bool { return len(g.Findings) > groupAbove }

// Shown is what the human formats show of the group.
func (g FindingGroup) Shown() []FleetFinding {
	if g.Cut() {
		return g.Findings[:groupShown]
	}
	return g.Findings
}

// Hidden is how many findings of the group are not shown.
func (g FindingGroup) Hidden() int { return len(g.Findings) - len(g.Shown()) }

// Heading names a cut group: "stale-rule ×1,005 in INPUT, first 5 shown".
func (g FindingGroup) Heading() string {
	h := g.ID + " ×" + Thousands(len(g.Findings))
	if g.Chain != "" {
		h += " in " + g.Chain
	}
	return h + ", first " + Thousands(len(g.Shown())) + " shown"
}

// Title is the group's title: its findings' when they share one.
func (g FindingGroup) Title() string { return g.Findings[0].Title }

// Remediation is the fix the group's findings share, "" when they differ.
func (g FindingGroup) Remediation() string {
	fix := g.Findings[0].Remediation
	for _, f := range g.Findings[1:] {
		if f.Remediation != fix {
			return ""
		}
	}
	return fix
}

// GroupFindings groups a report's findings (host "") or a fleet's, each
// group where its first finding is: the order stays severity first.
func GroupFindings(fs []FleetFinding) []FindingGroup {
	type key struct {
		host     string
		severity Severity
		id       string
		chain    string
	}
	at := map[key]int{}
	var out []FindingGroup
	for _, f := range fs {
		k := key{f.Host, f.Severity, f.ID, ruleChain(f.Rule)}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, FindingGroup{Host: k.host, Severity: k.severity, ID: k.id, Chain: k.chain})
		}
		out[i].Findings = append(out[i].Findings, f)
	}
	return out
}

// reportFindings are a report's findings as a fleet's, with no host.
func reportFindings(fs []Finding) []FleetFinding {
	out := make([]FleetFinding, len(fs))
	for i, f := range fs {
		out[i] = FleetFinding{Finding: f}
	}
	return out
}

// ruleChain is the chain a finding's rule is in, as its text names it:
// the first word after "-A " for an iptables rule, "inet filter input"
// for an nft rule, "" for none.
func ruleChain(rule string) string {
	rule = RuleIdentity(rule)
	if rest, ok := strings.CutPrefix(rule, "-A "); ok {
		if f := strings.Fields(rest); len(f) > 0 {
			return f[0]
		}
	}
	// an nft rule's "inet filter input handle 13: ...", which RuleIdentity
	// wrote "inet filter input: ..."
	if i := strings.Index(rule, ": "); i > 0 && strings.Count(rule[:i], " ") == 2 {
		return rule[:i]
	}
	return ""
}
