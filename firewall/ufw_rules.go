package firewall

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
)

// ufw's own record of the rules an admin added: /etc/ufw/user.rules
// (IPv4) and user6.rules (IPv6), the iptables-restore input ufw loads
// into its chains. Before each rule's lines ufw writes a comment
//
//	### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in
//
// (action, protocol, destination port, destination, source port, source,
// then the direction, "in_eth0" for an interface; application names and
// a hex "comment=" may come between). `ufw status numbered` numbers the
// tuples in file order, IPv4's first, then IPv6's. With them a verdict can
// name "ufw rule 4" where the kernel only shows -A ufw-user-input lines.

// UfwRule is one rule of ufw's user rules, as `ufw status numbered` shows it.
type UfwRule struct {
	Number int    // as `ufw status numbered` numbers it
	Text   string // "22/tcp ALLOW IN Anywhere"
	lines  []string
}

// ParseUfwUserRules reads user.rules (fam IPv4) or user6.rules (IPv6);
// first numbers the rules (1 for user.rules, one past user.rules' last
// for user6.rules). name is for errors.
func ParseUfwUserRules(r io.Reader, name string, fam Family, first int) ([]UfwRule, error) {
	var out []UfwRule
	chain := "-A " + ufwInputChain(fam) + " "
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "### tuple ### "); ok {
			text, err := ufwTupleText(rest, fam)
			if err != nil {
				return nil, fmt.Errorf("reading %s line %d: %v", name, n, err)
			}
			out = append(out, UfwRule{Number: first + len(out), Text: text})
			continue
		}
		if strings.HasPrefix(line, chain) && len(out) > 0 {
			out[len(out)-1].lines = append(out[len(out)-1].lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %v", name, err)
	}
	return out, nil
}

func ufwInputChain(fam Family) string {
	if fam == IPv6 {
		return "ufw6-user-input"
	}
	return "ufw-user-input"
}

// ufwTupleText renders a tuple as `ufw status` prints a rule: where to,
// the action and direction, where from.
func ufwTupleText(tuple string, fam Family) (string, error) {
	f := strings.Fields(tuple)
	if len(f) < 7 {
		return "", fmt.Errorf("ufw rule tuple %q: want at least 7 fields", limitText(tuple))
	}
	action, proto, dport, dst, sport, src := f[0], f[1], f[2], f[3], f[4], f[5]
	rest := f[6:]
	var comment string
	var apps []string
	dir := ""
	for _, w := range rest {
		switch {
		case strings.HasPrefix(w, "comment="):
			if b, err := hex.DecodeString(strings.TrimPrefix(w, "comment=")); err == nil {
				comment = sanitizeText(string(b))
			}
		case w == "in" || w == "out" || strings.HasPrefix(w, "in_") || strings.HasPrefix(w, "out_"):
			dir = w
		case w != "-":
			apps = append(apps, w)
		}
	}
	if dir == "" {
		return "", fmt.Errorf("ufw rule tuple %q: no direction", limitText(tuple))
	}
	any := "0.0.0.0/0"
	v6 := ""
	if fam == IPv6 {
		any = "::/0"
		// ufw marks a rule (v6) only where no address says it: both
		// sides anywhere ("22/tcp (v6) ALLOW IN Anywhere (v6)", but
		// "22/tcp ALLOW IN 2001:db8::/64")
		if dst == any && src == any {
			v6 = " (v6)"
		}
	}
	place := func(addr, port, app string) string {
		var s string
		switch {
		case app != "":
			s = app
		case port != "any" && proto != "any":
			s = port + "/" + proto
		case port != "any":
			s = port
		}
		if addr != any {
			if s == "" {
				s = addr
			} else {
				s = addr + " " + s
			}
		}
		if s == "" {
			return "Anywhere" + v6
		}
		return s + v6
	}
	dapp, sapp := "", ""
	if len(apps) > 0 {
		dapp = apps[0]
	}
	if len(apps) > 1 {
		sapp = apps[1]
	}
	to, from := place(dst, dport, dapp), place(src, sport, sapp)
	d, iface, _ := strings.Cut(dir, "_")
	if iface != "" {
		to += " on " + sanitizeText(iface)
	}
	text := fmt.Sprintf("%s %s %s %s", sanitizeText(to), strings.ToUpper(strings.ReplaceAll(action, "route:", "")), strings.ToUpper(d), sanitizeText(from))
	if strings.HasPrefix(action, "route:") {
		text = strings.Replace(text, " IN ", " FWD ", 1)
	}
	if comment != "" {
		text += " # " + comment
	}
	return text, nil
}

// sanitizeText keeps printable ASCII: the text goes to terminals.
func sanitizeText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

func limitText(s string) string {
	s = sanitizeText(s)
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// AnnotateUfw gives the rules of ufw's user chain in rs their ufw rule
// (Rule.Origin: "ufw rule 4: 22/tcp ALLOW IN Anywhere"), when user (the
// parsed user rules of rs's family) is what the chain holds: the same
// number of rules, each the same as the line ufw wrote for it. When they
// differ (the file changed and ufw was not reloaded) nothing is named and
// AnnotateUfw reports false.
func (rs *Ruleset) AnnotateUfw(user []UfwRule) bool {
	t := rs.Table("filter")
	if t == nil || t.NftFamily != "" {
		return false
	}
	c := t.Chain(ufwInputChain(rs.Family))
	if c == nil {
		return false
	}
	type want struct {
		line string
		ur   *UfwRule
	}
	var ws []want
	for i := range user {
		for _, l := range user[i].lines {
			ws = append(ws, want{l, &user[i]})
		}
	}
	if len(ws) != len(c.Rules) {
		return false
	}
	for i, r := range c.Rules {
		if ufwNormal(ws[i].line) != ufwNormal(r.Text) {
			return false
		}
	}
	for i, r := range c.Rules {
		r.writeMore().origin = fmt.Sprintf("ufw rule %d: %s", ws[i].ur.Number, ws[i].ur.Text)
	}
	return true
}

// ufwNormal puts a rule line in a form in which what ufw wrote and what
// iptables-save prints compare equal: options in a fixed order, the
// implicit "-m tcp"/"-m udp" left out, a bare address given its /32 or
// /128.
func ufwNormal(line string) string {
	f := strings.Fields(line)
	var parts []string
	for i := 0; i < len(f); i++ {
		w := f[i]
		if w == "-m" && i+1 < len(f) && (f[i+1] == "tcp" || f[i+1] == "udp") {
			i++
			continue
		}
		if !strings.HasPrefix(w, "-") || w == "!" {
			parts = append(parts, w)
			continue
		}
		opt := w
		var vals []string
		for i+1 < len(f) && (!strings.HasPrefix(f[i+1], "-") || f[i+1] == "!") {
			i++
			v := f[i]
			if (opt == "-s" || opt == "-d") && !strings.Contains(v, "/") {
				if a, err := netip.ParseAddr(v); err == nil {
					v = netip.PrefixFrom(a, a.BitLen()).String()
				}
			}
			vals = append(vals, v)
		}
		parts = append(parts, opt+" "+strings.Join(vals, " "))
	}
	slices.Sort(parts)
	return strings.Join(parts, "\x00")
}

// origins calls f for every rule of rs that its manager names, with the
// name: Rule.Origin (ufw), or the zone of a firewalld allow or deny chain
// (firewalldOrigin). The rules themselves are not changed: evaluators may
// be built side by side over the same rulesets.
func (rs *Ruleset) origins(f func(r *Rule, origin string)) {
	if rs == nil {
		return
	}
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				o := r.Origin()
				if o == "" {
					o = firewalldOrigin(t, c.Name, r)
				}
				if o != "" {
					f(r, o)
				}
			}
		}
	}
}

// firewalldOrigin names a rule of firewalld's zone chains by its zone:
// firewalld writes a zone's services, ports and accepting rich rules into
// filter_IN_ZONE_allow (IN_ZONE_allow with its iptables backend), and its
// dropping and rejecting rich rules into filter_IN_ZONE_deny. "" for any
// other chain.
func firewalldOrigin(t *Table, chain string, r *Rule) string {
	name := chain
	if t.NftFamily != "" {
		if t.Name != "firewalld" {
			return ""
		}
		name = strings.TrimPrefix(chain, "filter_")
	} else if t.Chain("INPUT_ZONES") == nil {
		return ""
	}
	zone, ok := strings.CutPrefix(name, "IN_")
	if !ok {
		return ""
	}
	// a source address is only written by a rich rule
	rich := strings.Contains(r.Text, "saddr") || strings.Contains(r.Text, " -s ")
	what := "a service or port"
	if rich {
		what = "a rich rule"
	}
	if r.Proto() != "" && len(r.DPorts()) == 1 && r.DPorts()[0].Lo == r.DPorts()[0].Hi {
		what += fmt.Sprintf(" (%s/%d)", r.Proto(), r.DPorts()[0].Lo)
	}
	switch {
	case strings.HasSuffix(zone, "_allow"):
		return "firewalld zone " + strings.TrimSuffix(zone, "_allow") + ", " + what
	case strings.HasSuffix(zone, "_deny"):
		return "firewalld zone " + strings.TrimSuffix(zone, "_deny") + ", a rich rule that drops or rejects"
	}
	return ""
}

// fileReader is a Runner that also reads files: the live loader names
// ufw's rules from its user.rules when it can (ExecRunner can).
type fileReader interface {
	ReadFile(path string) ([]byte, error)
}

// The files ufw keeps its user rules in, for IPv4 and IPv6.
const (
	ufwUserRules  = "/etc/ufw/user.rules"
	ufwUserRules6 = "/etc/ufw/user6.rules"
)

// annotateUfw names the rules of ufw's user chains by their `ufw status
// numbered` number and text, where ufw's chains are loaded and its files
// are readable and match them. Nothing is said when they are not: the
// kernel rules are still judged, only not named.
func (l *Live) annotateUfw(r Runner) {
	fr, ok := r.(fileReader)
	if !ok {
		return
	}
	var with []*Ruleset
	for _, rs := range append(append([]*Ruleset{}, l.V4...), l.V6...) {
		if t := rs.Table("filter"); t != nil && t.NftFamily == "" && t.Chain(ufwInputChain(rs.Family)) != nil {
			with = append(with, rs)
		}
	}
	if len(with) == 0 {
		return
	}
	read := func(path string, fam Family, first int) []UfwRule {
		b, err := fr.ReadFile(path)
		if err != nil {
			return nil
		}
		rules, err := ParseUfwUserRules(bytes.NewReader(b), path, fam, first)
		if err != nil {
			return nil
		}
		return rules
	}
	v4 := read(ufwUserRules, IPv4, 1)
	v6 := read(ufwUserRules6, IPv6, len(v4)+1)
	for _, rs := range with {
		if rs.Family == IPv6 {
			rs.AnnotateUfw(v6)
		} else {
			rs.AnnotateUfw(v4)
		}
	}
}
