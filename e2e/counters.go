//go:build linux

package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Counters is one `iptables-save -c` (or ip6tables-save -c) dump: per
// table, per chain, its policy and per-rule packet counts.
type Counters map[string]CountedTable

// CountedTable is one table's chains by name.
type CountedTable map[string]*CountedChain

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

// ParseCounters parses iptables-save -c output.
func ParseCounters(save string) (Counters, error) {
	c := Counters{}
	var tab CountedTable
	for n, line := range strings.Split(save, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "*"):
			tab = CountedTable{}
			c[line[1:]] = tab
		case line == "" || strings.HasPrefix(line, "#") || line == "COMMIT":
		case tab == nil:
			return nil, fmt.Errorf("line %d: %q outside a table", n+1, line)
		case chainLine.MatchString(line):
			m := chainLine.FindStringSubmatch(line)
			pk, _ := strconv.ParseUint(m[3], 10, 64)
			tab[m[1]] = &CountedChain{Policy: m[2], PolicyPkts: pk}
		case ruleLine.MatchString(line):
			m := ruleLine.FindStringSubmatch(line)
			ch := tab[m[3]]
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
	Table   string // the table of Rule
	Rule    string // the rule text, or "-P INPUT DROP" for a policy
	Policy  bool   // decided by a chain policy
	NoRules bool   // accepted, and there is no filter INPUT chain at all
	Path    []string
	// Later holds, for an accepted packet, the accepting ends of the
	// chains after filter INPUT (security, nat INPUT): also the end of
	// the walk, strictly speaking. From nft counters (NftDeciding): the
	// accepting ends of the other base chains on the hook.
	Later []KernelDecision
	// Nft names the rule or policy when it is a native nftables one
	// (NftDeciding); nil for iptables rules.
	Nft *NftRef
}

// terminal targets end a chain's walk (NAT targets end a nat chain and let
// the packet go on); anything else not a chain, RETURN or a known
// non-terminating target makes the reading ambiguous.
var (
	terminal = map[string]string{"ACCEPT": "accept", "DROP": "drop", "REJECT": "drop",
		"DNAT": "accept", "REDIRECT": "accept", "SNAT": "accept", "MASQUERADE": "accept", "NETMAP": "accept"}
	nonTerminating = map[string]bool{"": true, "LOG": true, "NFLOG": true, "ULOG": true,
		"MARK": true, "CONNMARK": true, "NOTRACK": true, "CT": true, "AUDIT": true, "TRACE": true,
		"TCPMSS": true, "DSCP": true, "TOS": true, "CONNSECMARK": true, "SECMARK": true}
)

// inputHooks are the chains a packet for the host itself traverses, in
// the kernel's priority order (raw -300, mangle -150, nat -100 on
// PREROUTING; mangle -150, filter 0, security 50, nat 100 on INPUT).
var inputHooks = [][2]string{
	{"raw", "PREROUTING"}, {"mangle", "PREROUTING"}, {"nat", "PREROUTING"},
	{"mangle", "INPUT"}, {"filter", "INPUT"}, {"security", "INPUT"}, {"nat", "INPUT"},
}

// Deciding walks, over the rules whose packet count grew between before
// and after, every chain on the way in as the kernel walked them for
// exactly one packet, and returns where the walk ended: the first DROP or
// REJECT, or else the filter INPUT chain's accepting rule or policy.
// Chains off the input path (OUTPUT, FORWARD) may count the host's own
// packets and are ignored.
func Deciding(before, after Counters) (KernelDecision, error) {
	var d KernelDecision
	for tn, at := range after {
		for name, a := range at {
			if b := before[tn][name]; b == nil || len(b.Rules) != len(a.Rules) {
				return d, fmt.Errorf("chain %s %s changed between the readings", tn, name)
			}
		}
	}
	var filter *KernelDecision
	for _, hook := range inputHooks {
		tn, chain := hook[0], hook[1]
		if after[tn][chain] == nil {
			continue
		}
		w := walker{before: before[tn], after: after[tn], table: tn,
			used: map[string][]uint64{}, visited: map[string]bool{}}
		done, err := w.walk(chain, 0)
		if err == nil && !done {
			err = fmt.Errorf("walk of %s %s did not end", tn, chain)
		}
		if err == nil {
			err = w.leftover()
		}
		d.Path = append(d.Path, w.d.Path...)
		if err != nil {
			return d, err
		}
		if w.d.Verdict == "drop" {
			w.d.Path = d.Path
			return w.d, nil
		}
		switch {
		case tn == "filter":
			filter = &w.d
		case filter != nil:
			filter.Later = append(filter.Later, w.d)
		}
	}
	if filter == nil {
		return KernelDecision{Verdict: "accept", NoRules: true, Path: d.Path}, nil
	}
	filter.Path = d.Path
	return *filter, nil
}

// walker walks one table's chains. A chain may be visited more than once
// by one packet (jumped to from two places), so each rule's counter is a
// budget the visits use up; what is left over in a visited chain means
// the counters moved for more than this one walk.
type walker struct {
	before, after CountedTable
	table         string
	d             KernelDecision
	used          map[string][]uint64 // per chain, per rule: matches taken
	visited       map[string]bool
}

func (w *walker) leftover() error {
	for chain := range w.visited {
		for i, r := range w.after[chain].Rules {
			if left := r.Pkts - w.before[chain].Rules[i].Pkts - w.used[chain][i]; left != 0 {
				return fmt.Errorf("%d more packets matched %q than the one probe explains", left, r.Text)
			}
		}
	}
	return nil
}

func (w *walker) walk(chain string, depth int) (bool, error) {
	if depth > 32 {
		return false, fmt.Errorf("chain nesting deeper than 32 at %s", chain)
	}
	ch := w.after[chain]
	w.visited[chain] = true
	if w.used[chain] == nil {
		w.used[chain] = make([]uint64, len(ch.Rules))
	}
rules:
	for i, r := range ch.Rules {
		if r.Pkts-w.before[chain].Rules[i].Pkts-w.used[chain][i] == 0 {
			continue
		}
		w.used[chain][i]++
		w.d.Path = append(w.d.Path, w.table+": "+r.Text)
		if v, ok := terminal[r.Target]; ok {
			w.d.Verdict, w.d.Rule, w.d.Table = v, r.Text, w.table
			return true, nil
		}
		switch {
		case r.Target == "RETURN" && ch.Policy != "-":
			break rules // RETURN in a built-in chain: its policy decides
		case r.Target == "RETURN":
			return false, nil
		case w.after[r.Target] != nil:
			done, err := w.walk(r.Target, depth+1)
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
	if moved := ch.PolicyPkts - w.before[chain].PolicyPkts; moved != 1 {
		return false, fmt.Errorf("walk reached the %s %s policy but its counter moved by %d", w.table, chain, moved)
	}
	w.d.Verdict, w.d.Rule, w.d.Table, w.d.Policy = terminal[ch.Policy], "-P "+chain+" "+ch.Policy, w.table, true
	return true, nil
}

// ReadCounters reads the host's counters with save (iptables-save,
// ip6tables-save, iptables-legacy-save, ...).
func (lab *Lab) ReadCounters(save string) Counters {
	lab.T.Helper()
	c, err := ParseCounters(lab.Host.Run(save, "-c"))
	if err != nil {
		lab.T.Fatalf("%s -c: %v", save, err)
	}
	return c
}

// DecideTimeout is the single attempt's timeout in Decide: below TCP's
// one-second SYN retransmission, so one probe is one packet.
var DecideTimeout = 700 * time.Millisecond

// Decide probes once and returns what got through and where the kernel's
// walk through the host's chains on the way in (as dumped by save) ended.
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
	d, res, err := lab.decideOnce(save, r, DecideTimeout)
	if err != nil && res.Detail == "fail timeout" {
		// A busy machine may answer late: once more, still below the
		// SYN retransmission.
		d, res, err = lab.decideOnce(save, r, 950*time.Millisecond)
	}
	return d, res, err
}

func (lab *Lab) decideOnce(save string, r ProbeReq, timeout time.Duration) (KernelDecision, ProbeResult, error) {
	lab.T.Helper()
	before := lab.ReadCounters(save)
	res := lab.ProbeOnce([]ProbeReq{r}, timeout)[0]
	after := lab.ReadCounters(save)
	d, err := Deciding(before, after)
	if err == nil && (d.Verdict == "accept") != res.OK {
		err = &ReplyLost{Rule: d.Rule, Probe: res.Detail}
		if d.Verdict != "accept" {
			err = fmt.Errorf("counters say %s by %q but the probe says %q", d.Verdict, d.Rule, res.Detail)
		}
	}
	return d, res, err
}

// ReplyLost is Decide's error when the way in accepted the probe but it
// failed anyway: its reply was dropped on the way out (OUTPUT), or nothing
// listens where the packet was sent (a redirect). The way out is not read
// from counters: the host's own retransmissions would blur them.
type ReplyLost struct {
	Rule  string // where the way in accepted it
	Probe string // what the probe saw
}

func (e *ReplyLost) Error() string {
	return fmt.Sprintf("counters say accept by %q but the probe says %q", e.Rule, e.Probe)
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
