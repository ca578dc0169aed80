//go:build linux

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
)

// Explain is `fwaudit explain ... -o json`.
type Explain struct {
	Verdict string   `json:"verdict"`
	Rule    string   `json:"rule"`
	Reasons []string `json:"reasons"`
	Trace   []struct {
		Table, Chain string
		Line         int
		Rule         string
		Matched      string
		Action       string
	} `json:"trace"`
}

// explainForms are the two ways explain is run for one probe: as a user
// types it (`explain tcp/22 --from ADDR [-6]`, fwaudit picks the host's
// interface and address) and fully specified (--to, --iface).
var explainForms = []string{"short", "full"}

// explainArgs is the explain command line for one probe.
func explainArgs(c *probeCase, form string) []string {
	args := []string{"explain", fmt.Sprintf("%s/%d", c.req.Proto, c.req.Port), "--from", c.req.Src}
	if form == "full" {
		args = append(args, "--to", c.req.Dst, "--iface", "veth0")
	}
	if c.v6 {
		args = append(args, "-6")
	}
	return append(args, "-o", "json")
}

// checkExplain runs explain for every probe case (both forms) and compares
// it with the kernel's walk, read from per-rule counters around one more
// probe: the verdict must match what got through, and the rule must be the
// one the walk ended on (a rule's text as iptables-save prints it, or the
// INPUT policy; for nft, the rule's family, table, chain and handle, or the
// base chain's policy). A conditional explain must give reasons and is accepted
// only where the scenario pins the listener's verdict to conditional.
func checkExplain(t *testing.T, lab *Lab, sc scenario, cases []*probeCase) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "probe\tkernel\tkernel rule\tform\texplain\texplain rule\tproblem")
	bad := false
	for _, c := range cases {
		why, ok := sc.noExplain[c.l.spec]
		if !ok && c.s.loopback {
			why, ok = "a loopback listener: the packet explained is for the host address", true
		}
		if ok {
			fmt.Fprintf(tw, "%s %s\t\t\t\t\t\tnot checked: %s\n", c.l.daemon, c.req, why)
			continue
		}
		exs := make([]Explain, len(explainForms))
		problems := make([]string, len(explainForms))
		for i, form := range explainForms {
			stdout, stderr, code := lab.Fwaudit(explainArgs(c, form)...)
			if code != 0 {
				problems[i] = fmt.Sprintf("explain exit %d: %s", code, strings.TrimSpace(stderr))
			} else if err := json.Unmarshal([]byte(stdout), &exs[i]); err != nil {
				problems[i] = fmt.Sprintf("explain output: %v", err)
			}
		}
		save := "iptables-save"
		if sc.v4 == "" && sc.v4Legacy != "" {
			save = "iptables-legacy-save"
		}
		if c.v6 {
			save = "ip6tables-save"
			if sc.v6 == "" && sc.v6Legacy != "" {
				save = "ip6tables-legacy-save"
			}
		}
		var d KernelDecision
		var res ProbeResult
		var err error
		switch {
		case sc.noExplainRule:
			res = lab.ProbeOnce([]ProbeReq{c.req}, DecideTimeout)[0]
		case sc.nftCounters:
			d, res, err = lab.DecideNft(c.req)
		default:
			d, res, err = lab.Decide(save, c.req)
		}
		kernel := map[bool]string{true: "accept", false: "drop"}[res.OK]
		kernelRule := d.Rule
		if sc.noExplainRule {
			kernelRule = "(not read: rules in two places)"
		}
		for i, form := range explainForms {
			ex, problem, krule := exs[i], problems[i], kernelRule
			var lost *ReplyLost
			switch {
			case problem != "":
			case errors.As(err, &lost) && ex.Verdict == kernel:
				// Accepted on the way in, lost on the way out: the verdict
				// agrees with the probe; the rule cannot be read.
				krule = "(in: " + lost.Rule + "; lost on the way out)"
			case err != nil:
				problem = "reading the kernel's walk: " + err.Error()
			case ex.Verdict == "conditional" && len(ex.Reasons) == 0:
				problem = "conditional without reasons"
			case ex.Verdict == "conditional" && sc.verdicts[c.l.spec] != "conditional":
				problem = fmt.Sprintf("CONDITIONAL (%s) WHERE THE KERNEL IS DETERMINISTIC", strings.Join(ex.Reasons, ", "))
			case ex.Verdict == "conditional":
				// It may name the runtime-dependent rule rather than
				// where this one walk ended: recorded, not judged.
			case ex.Verdict != kernel:
				problem = "EXPLAIN VERDICT DISAGREES WITH KERNEL"
			case sc.noExplainRule:
			case d.NoRules:
			case !endMatches(ex.Rule, d):
				problem = "EXPLAIN RULE IS NOT WHERE THE KERNEL'S WALK ENDED"
			}
			if problem != "" {
				bad = true
			}
			probe, kcol := c.l.daemon+" "+c.req.String(), kernel
			if i > 0 {
				probe, kcol, krule = "", "", ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", probe, kcol, krule, form, ex.Verdict, ex.Rule, problem)
		}
	}
	tw.Flush()
	if bad {
		t.Errorf("fwaudit explain vs the kernel's walk:\n%s", b.String())
	} else {
		t.Logf("fwaudit explain vs the kernel's walk:\n%s", b.String())
	}
}

// endMatches reports whether rule names where the kernel's walk ended: the
// deciding rule or policy, or for an accepted packet the accepting end of
// a table walked after filter (security, nat INPUT).
func endMatches(rule string, d KernelDecision) bool {
	for _, e := range append([]KernelDecision{d}, d.Later...) {
		if e.Nft != nil {
			if e.Nft.Matches(rule) {
				return true
			}
			continue
		}
		if (e.Policy && policyMatches(rule, e.Rule)) || (!e.Policy && ruleMatches(rule, e)) {
			return true
		}
	}
	return false
}

// ruleMatches compares explain's rule with the kernel's deciding rule; a
// rule outside the filter table may carry its table ("-t raw -A ..." or
// "raw: -A ...").
func ruleMatches(got string, d KernelDecision) bool {
	g, w := normSpace(got), normSpace(d.Rule)
	if g == w {
		return true
	}
	return d.Table != "filter" && strings.HasSuffix(g, " "+w) && strings.Contains(g, d.Table)
}

func normSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// policyMatches accepts the ways of naming a chain policy ("-P INPUT DROP",
// ":INPUT DROP", "policy DROP") as long as chain and verdict agree.
func policyMatches(got, want string) bool {
	f := strings.Fields(want) // -P CHAIN POLICY
	g := strings.ToLower(normSpace(got))
	chain, pol := strings.ToLower(f[1]), strings.ToLower(f[2])
	if !strings.Contains(g, pol) {
		return false
	}
	return strings.Contains(g, "-p "+chain) || strings.Contains(g, ":"+chain) ||
		(strings.Contains(g, "policy") && (strings.Contains(g, chain) || !strings.Contains(g, "-a ")))
}

// explainFamilies is the part of `explain -o json` that says which family
// was walked and how the port fares, with the other family's walk.
type explainFamilies struct {
	Family  string `json:"family"`
	Verdict string `json:"verdict"`
	Packet  struct {
		Iface string `json:"iface"`
	} `json:"packet"`
	Port struct {
		Verdict string `json:"verdict"`
	} `json:"port"`
	Other *explainFamilies `json:"other_family"`
}

// Live explain as a user types it: a dual-stack port is walked in both
// families and each verdict is the kernel's; a loopback-bound port is
// not-applicable, as scan says; an interface the host lacks is refused.
func TestExplainLiveFamilies(t *testing.T) {
	lab := NewLab(t)
	lab.LoadIptables(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT
COMMIT
`)
	lab.LoadIp6tables(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
COMMIT
`)
	lab.Start(lab.Host, "nginx", "tcp:[::]:443")
	lab.Start(lab.Host, "redis-server", "tcp:127.0.0.1:6379")
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 443, true)
	kernel(t, lab, "tcp", "2001:db8::2", "2001:db8::1", 443, false)

	stdout, stderr, code := lab.Fwaudit("explain", "tcp/443", "-o", "json")
	var ex explainFamilies
	if code != 0 || json.Unmarshal([]byte(stdout), &ex) != nil {
		t.Fatalf("explain tcp/443: exit %d\n%s%s", code, stdout, stderr)
	}
	if ex.Family != "ipv4" || ex.Verdict != "accept" || ex.Packet.Iface != "veth0" || ex.Other == nil ||
		ex.Other.Family != "ipv6" || ex.Other.Verdict != "drop" || ex.Other.Port.Verdict != "blocked" {
		t.Errorf("explain tcp/443 on a dual-stack socket: %s", stdout)
	}
	stdout, stderr, code = lab.Fwaudit("explain", "tcp/443", "--from", "2001:db8::2", "-o", "json")
	ex = explainFamilies{}
	if code != 0 || json.Unmarshal([]byte(stdout), &ex) != nil || ex.Family != "ipv6" || ex.Verdict != "drop" || ex.Other != nil {
		t.Errorf("explain --from 2001:db8::2: exit %d, %s%s", code, stdout, stderr)
	}

	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 6379, false)
	stdout, _, code = lab.Fwaudit("explain", "tcp/6379", "-o", "json")
	ex = explainFamilies{}
	if code != 0 || json.Unmarshal([]byte(stdout), &ex) != nil || ex.Port.Verdict != "not-applicable" {
		t.Errorf("explain tcp/6379 (bound to 127.0.0.1): exit %d, %s", code, stdout)
	}
	scan := lab.Scan()
	for _, s := range scan.Find("tcp", "ipv4", 6379) {
		if s.Firewall == nil || s.Firewall.IPv4 == nil || s.Firewall.IPv4.Verdict != ex.Port.Verdict {
			t.Errorf("scan says %+v for tcp/6379, explain %s", s.Firewall, ex.Port.Verdict)
		}
	}

	_, stderr, code = lab.Fwaudit("explain", "tcp/443", "--iface", "nosuch0")
	if code != 2 || !strings.Contains(stderr, "--iface nosuch0: this host has no such interface") {
		t.Errorf("explain --iface nosuch0: exit %d, stderr %q", code, stderr)
	}
}
