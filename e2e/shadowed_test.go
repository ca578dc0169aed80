//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A rule that counted a packet can match: fwaudit's report must not call
// it shadowed. Every scenario reads all of the host's rule counters before
// its probes and after explain, and checks the report's shadowed-rule
// findings against the rules whose counters moved in between.

// counterSnapshot is every rule counter of the host: iptables-save -c per
// backend and family (keyed by fwaudit's source names), and nft's.
type counterSnapshot struct {
	ipt map[string]Counters
	nft *NftCounters
}

// iptSources are fwaudit's ruleset sources and the save commands that
// read them; the legacy ones only where the namespace has legacy tables.
var iptSources = []struct{ source, save, names string }{
	{"iptables-nft", "iptables-save", ""},
	{"ip6tables-nft", "ip6tables-save", ""},
	{"iptables-legacy", "iptables-legacy-save", "/proc/net/ip_tables_names"},
	{"ip6tables-legacy", "ip6tables-legacy-save", "/proc/net/ip6_tables_names"},
}

func (lab *Lab) snapshotCounters() counterSnapshot {
	lab.T.Helper()
	s := counterSnapshot{ipt: map[string]Counters{}}
	for _, src := range iptSources {
		if src.names != "" {
			if out, _, err := lab.Host.Exec(nil, "cat", src.names); err != nil || strings.TrimSpace(out) == "" {
				continue
			}
		}
		s.ipt[src.source] = lab.ReadCounters(src.save)
	}
	s.nft = lab.ReadNftCounters()
	return s
}

// movedRule is a rule whose counter moved: an iptables rule (source and
// text) or a native nft rule (Nft).
type movedRule struct {
	source, text string
	nft          *NftRef
}

func (m movedRule) String() string {
	if m.nft != nil {
		return m.nft.String() + ": " + m.text
	}
	return m.source + ": " + m.text
}

// movedRules lists the rules that matched packets between a and b. An nft
// rule counts only when its counter sits right before its verdict (so it
// moved when the rule matched); verdict maps and rules without a verdict
// are left out.
func movedRules(a, b counterSnapshot) []movedRule {
	var out []movedRule
	for src, after := range b.ipt {
		for tn, tab := range after {
			for cn, ch := range tab {
				bc := a.ipt[src][tn][cn]
				if bc == nil || len(bc.Rules) != len(ch.Rules) {
					continue
				}
				for i, r := range ch.Rules {
					if r.Pkts > bc.Rules[i].Pkts {
						out = append(out, movedRule{source: src, text: r.Text})
					}
				}
			}
		}
	}
	for _, ch := range b.nft.Chains {
		bc := a.nft.Chain(ch.Family, ch.Table, ch.Name)
		if ch.Iptables || bc == nil || len(bc.Rules) != len(ch.Rules) {
			continue
		}
		for i, r := range ch.Rules {
			if r.Counted && r.Verdict != "" && r.Verdict != "vmap" && r.Pkts > bc.Rules[i].Pkts {
				ref := NftRef{Family: ch.Family, Table: ch.Table, Chain: ch.Name, Handle: r.Handle}
				out = append(out, movedRule{nft: &ref, text: r.Text})
			}
		}
	}
	return out
}

// shadowFinding is a report finding with the fields this check needs.
type shadowFinding struct {
	ID     string `json:"id"`
	Family string `json:"family"`
	Rule   string `json:"rule"`
	Source string `json:"source"`
	Line   int    `json:"line"`
}

// checkShadowed runs the report and fails for every shadowed-rule finding
// that names a rule in moved.
func checkShadowed(t *testing.T, lab *Lab, moved []movedRule) {
	stdout, stderr, code := lab.Fwaudit("report", "--format", "json")
	if code != 0 {
		t.Fatalf("fwaudit report: exit %d\nstderr: %s", code, stderr)
	}
	var r struct {
		Findings []shadowFinding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("decoding fwaudit report: %v", err)
	}
	var shadowed []string
	for _, f := range r.Findings {
		if f.ID != "shadowed-rule" {
			continue
		}
		shadowed = append(shadowed, fmt.Sprintf("%s %s line %d: %s", f.Family, f.Source, f.Line, f.Rule))
		for _, m := range moved {
			if shadowNames(f, m) {
				t.Errorf("report: shadowed-rule %q (%s, %s line %d), but the rule counted packets during the probes: %s",
					f.Rule, f.Family, f.Source, f.Line, m)
			}
		}
	}
	t.Logf("%d rules counted packets; shadowed-rule findings: %d\n%s", len(moved), len(shadowed), strings.Join(shadowed, "\n"))
}

// shadowNames reports whether finding f names rule m: an nft rule by
// family, table, chain and handle; an iptables rule by its text, in the
// finding's source (or family, when it names no source).
func shadowNames(f shadowFinding, m movedRule) bool {
	if m.nft != nil {
		return m.nft.Matches(f.Rule)
	}
	if normSpace(f.Rule) != normSpace(m.text) {
		return false
	}
	if f.Source != "" {
		return f.Source == m.source || strings.TrimSuffix(f.Source, "-nft") == strings.TrimSuffix(m.source, "-nft")
	}
	return (f.Family == "ipv6") == strings.HasPrefix(m.source, "ip6")
}
