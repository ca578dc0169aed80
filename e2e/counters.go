//go:build linux

package e2e

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Counters is the filter table of one `iptables-save -c` (or
// ip6tables-save -c) dump: per chain, its policy and per-rule packet
// counts.
type Counters map[string]*CountedChain

// CountedChain is one chain with its counters.
type CountedChain struct {
	Policy     string // "-" for a user chain
	PolicyPkts uint64
	Rules      []CountedRule
}

// CountedRule is one rule: its text as iptables-save prints it (without
// the counter prefix), its jump or goto target, and its packet count.
type CountedRule struct {
	Text   string
	Target string
	Goto   bool
	Pkts   uint64
}

var (
	chainLine = regexp.MustCompile(`^:(\S+) (\S+) \[(\d+):\d+\]`)
	ruleLine  = regexp.MustCompile(`^\[(\d+):\d+\] (-A (\S+) .*)$`)
)

// errNoFilter: the dump has no filter table at all.
var errNoFilter = errors.New("no filter INPUT chain in the dump")

// ParseCounters parses the *filter section of iptables-save -c output.
func ParseCounters(save string) (Counters, error) {
	c := Counters{}
	in := false
	for n, line := range strings.Split(save, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "*"):
			in = line == "*filter"
		case !in || line == "" || strings.HasPrefix(line, "#") || line == "COMMIT":
		case chainLine.MatchString(line):
			m := chainLine.FindStringSubmatch(line)
			pk, _ := strconv.ParseUint(m[3], 10, 64)
			c[m[1]] = &CountedChain{Policy: m[2], PolicyPkts: pk}
		case ruleLine.MatchString(line):
			m := ruleLine.FindStringSubmatch(line)
			ch := c[m[3]]
			if ch == nil {
				return nil, fmt.Errorf("line %d: rule for undeclared chain %q", n+1, m[3])
			}
			pk, _ := strconv.ParseUint(m[1], 10, 64)
			target, gotoTarget := ruleTarget(m[2])
			ch.Rules = append(ch.Rules, CountedRule{Text: m[2], Target: target, Goto: gotoTarget, Pkts: pk})
		default:
			return nil, fmt.Errorf("line %d: unexpected %q (not saved with -c?)", n+1, line)
		}
	}
	if c["INPUT"] == nil {
		return nil, errNoFilter
	}
	return c, nil
}

// ruleTarget finds the -j or -g target, outside quoted strings.
func ruleTarget(rule string) (target string, gotoTarget bool) {
	f := fieldsQuoted(rule)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "-j" || f[i] == "--jump" {
			target, gotoTarget = f[i+1], false
		}
		if f[i] == "-g" || f[i] == "--goto" {
			target, gotoTarget = f[i+1], true
		}
	}
	return target, gotoTarget
}

// fieldsQuoted splits on blanks, keeping "double quoted" strings (with \"
// escapes) as one field.
func fieldsQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	inQ, esc, have := false, false, false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && inQ:
			esc = true
		case r == '"':
			inQ, have = !inQ, true
		case (r == ' ' || r == '\t') && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

// KernelDecision is the end of the kernel's walk for one packet.
type KernelDecision struct {
	Verdict string // "accept" or "drop" (REJECT is a drop)
	Rule    string // the rule text, or "-P INPUT DROP" for the policy
	Policy  bool   // decided by the INPUT policy
	NoRules bool   // there is no filter table: nothing filters
	Path    []string
}

// terminal targets end the walk; anything else not a chain, RETURN or a
// known non-terminating target makes the reading ambiguous.
var (
	terminal       = map[string]string{"ACCEPT": "accept", "DROP": "drop", "REJECT": "drop"}
	nonTerminating = map[string]bool{"": true, "LOG": true, "NFLOG": true, "ULOG": true,
		"MARK": true, "CONNMARK": true, "NOTRACK": true, "CT": true, "AUDIT": true, "TRACE": true}
)

// Deciding walks the filter INPUT chain over the rules whose packet count
// grew between before and after, as the kernel walked them for exactly one
// packet, and returns where the walk ended. Chains off the INPUT path
// (OUTPUT, FORWARD) may count the host's own packets and are ignored.
func Deciding(before, after Counters) (KernelDecision, error) {
	var d KernelDecision
	for name, a := range after {
		if b := before[name]; b == nil || len(b.Rules) != len(a.Rules) {
			return d, fmt.Errorf("chain %s changed between the readings", name)
		}
	}
	var walk func(chain string, depth int) (bool, error)
	walk = func(chain string, depth int) (bool, error) {
		if depth > 32 {
			return false, fmt.Errorf("chain nesting deeper than 32 at %s", chain)
		}
		ch := after[chain]
	rules:
		for i, r := range ch.Rules {
			delta := r.Pkts - before[chain].Rules[i].Pkts
			if delta == 0 {
				continue
			}
			if delta > 1 {
				return false, fmt.Errorf("%d packets matched %q: more than the one probe", delta, r.Text)
			}
			d.Path = append(d.Path, r.Text)
			if v, ok := terminal[r.Target]; ok {
				d.Verdict, d.Rule = v, r.Text
				return true, nil
			}
			switch {
			case r.Target == "RETURN":
				return false, nil
			case after[r.Target] != nil:
				done, err := walk(r.Target, depth+1)
				if done || err != nil {
					return done, err
				}
				if r.Goto {
					// Back to this chain's caller: for a built-in chain,
					// that is its policy.
					break rules
				}
			case nonTerminating[r.Target]:
			default:
				return false, fmt.Errorf("target %q of %q: cannot follow", r.Target, r.Text)
			}
		}
		if ch.Policy == "-" {
			return false, nil
		}
		if moved := ch.PolicyPkts - before[chain].PolicyPkts; moved != 1 {
			return false, fmt.Errorf("walk reached the %s policy but its counter moved by %d", chain, moved)
		}
		d.Verdict, d.Rule, d.Policy = terminal[ch.Policy], "-P "+chain+" "+ch.Policy, true
		return true, nil
	}
	done, err := walk("INPUT", 0)
	if err == nil && !done {
		err = fmt.Errorf("walk did not end")
	}
	return d, err
}

// ReadCounters reads the host's filter counters with save (iptables-save,
// ip6tables-save, iptables-legacy-save, ...); nil when there is no filter
// table.
func (lab *Lab) ReadCounters(save string) Counters {
	lab.T.Helper()
	c, err := ParseCounters(lab.Host.Run(save, "-c"))
	if errors.Is(err, errNoFilter) {
		return nil
	}
	if err != nil {
		lab.T.Fatalf("%s -c: %v", save, err)
	}
	return c
}

// DecideTimeout is the single attempt's timeout in Decide: below TCP's
// one-second SYN retransmission, so one probe is one packet.
var DecideTimeout = 700 * time.Millisecond

// Decide probes once and returns what got through and where the kernel's
// walk through the host's filter INPUT chain (as dumped by save) ended.
//
// A TCP probe's handshake would add its ACK and RST to the counters, so the
// first Decide installs, in the peer namespace's OUTPUT chains, a rule
// dropping every TCP packet without SYN: from then on the peer sends only
// SYNs (connections still complete from its side, the SYN-ACK is what
// counts) and held connections no longer work. The host's ruleset is not
// touched.
func (lab *Lab) Decide(save string, r ProbeReq) (KernelDecision, ProbeResult, error) {
	lab.T.Helper()
	lab.synOnly()
	before := lab.ReadCounters(save)
	res := lab.ProbeOnce([]ProbeReq{r}, DecideTimeout)[0]
	after := lab.ReadCounters(save)
	if before == nil && after == nil {
		return KernelDecision{Verdict: "accept", NoRules: true}, res, nil
	}
	d, err := Deciding(before, after)
	if err == nil && (d.Verdict == "accept") != res.OK {
		err = fmt.Errorf("counters say %s by %q but the probe says %q", d.Verdict, d.Rule, res.Detail)
	}
	return d, res, err
}

func (lab *Lab) synOnly() {
	lab.T.Helper()
	lab.mu.Lock()
	done := lab.synOnlyOn
	lab.synOnlyOn = true
	lab.mu.Unlock()
	if done {
		return
	}
	for _, tool := range []string{"iptables", "ip6tables"} {
		lab.Peer.Run(tool, "-I", "OUTPUT", "-p", "tcp", "!", "--syn", "-j", "DROP")
	}
}
