package suggest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
)

// The ufw rendering: a script of ufw commands for a host that ufw
// manages. Raw iptables rules are discarded by ufw's next reload, so on
// such a host the suggestion speaks ufw: its user rules, its defaults.
// ufw's own framework (before.rules: loopback, established, ICMP, DHCP)
// stays as it is loaded today.
//
// What ufw 0.36 does with the commands, as the script relies on it (seen
// in a network namespace, and proved by the kernel tests):
//   - each allow or deny becomes one rule of the chain ufw-user-input
//     (ufw6-user-input for IPv6), in the order of `ufw status numbered`;
//   - `ufw prepend` puts a rule first among the rules of its family;
//   - adding a rule that exists with another comment only updates the
//     comment ("Rule updated"), keeping its place;
//   - `ufw default deny incoming` and `deny routed` set the INPUT and
//     FORWARD policies to DROP.
//
// Every rule the script adds carries the comment "fwaudit TAG: …", TAG a
// digest of the whole suggestion. After adding them, the script deletes,
// highest number first, every rule whose comment lacks this TAG: rules
// made by hand and by an earlier suggestion alike. Existing connections
// (this SSH session) stay up through ufw's ESTABLISHED accept meanwhile,
// and until the last delete the host admits at most what it does today.

// ufwChain is the chain ufw renders its user rules into.
func ufwChain(fam firewall.Family) string {
	if fam == firewall.IPv6 {
		return "ufw6-user-input"
	}
	return "ufw-user-input"
}

// ufwRule is one ufw user rule the suggestion makes.
type ufwRule struct {
	fam     firewall.Family
	deny    bool
	in      string       // in on IFACE; "" for any
	proto   string       // tcp or udp
	src     netip.Prefix // invalid: anywhere in fam
	dst     netip.Addr   // invalid: any address of the host
	port    uint16
	comment string // without the "fwaudit TAG: " prefix
}

// ufwRules lists p's user rules in the order ufw will hold them: the
// blocklist's denies first, then the accepts (ssh first), as p.steps()
// orders the iptables renderings.
func ufwRules(p *Policy) []ufwRule {
	var out []ufwRule
	keys, ports := blocklist(append(slices.Clone(p.SSH), p.Rules...))
	for _, k := range keys {
		for _, port := range ports[k] {
			out = append(out, ufwRule{fam: k.fam, deny: true, in: k.in, proto: k.proto, src: k.src,
				dst: k.dst, port: port, comment: blockComment})
		}
	}
	for _, r := range append(slices.Clone(p.SSH), p.Rules...) {
		if r.SPorts != nil {
			continue // not written (sportNotes)
		}
		base := ufwRule{fam: r.Family, in: r.In, proto: r.Proto, dst: r.Dst, port: r.Port, comment: r.Comment()}
		if r.Sources == nil {
			out = append(out, base)
			continue
		}
		for _, s := range r.Sources {
			u := base
			u.src = s
			out = append(out, u)
		}
	}
	return out
}

// command is the ufw command line that makes u (after "ufw "): the
// source and destination always name u's family, so that ufw does not
// add the rule in the other family too.
func (u ufwRule) command(tag string) string {
	var b strings.Builder
	switch {
	case u.deny:
		b.WriteString("prepend deny")
	default:
		b.WriteString("allow")
	}
	b.WriteString(" in")
	if u.in != "" {
		b.WriteString(" on " + shellQuote(u.in))
	}
	b.WriteString(" proto " + u.proto)
	b.WriteString(" from " + u.source().String())
	b.WriteString(" to ")
	if u.dst.IsValid() {
		b.WriteString(u.dst.String())
	} else {
		b.WriteString("any")
	}
	b.WriteString(" port " + strconv.Itoa(int(u.port)))
	b.WriteString(" comment " + shellQuote(ufwComment(tag, u.comment)))
	return b.String()
}

// source is where u admits from: its prefix, or all of its family.
func (u ufwRule) source() netip.Prefix {
	if u.src.IsValid() {
		return u.src
	}
	if u.fam == firewall.IPv6 {
		return netip.MustParsePrefix("::/0")
	}
	return netip.MustParsePrefix("0.0.0.0/0")
}

// saveArgs is the rule as ufw writes it into its chain (user.rules), as
// iptables-save prints it.
func (u ufwRule) saveArgs() []string {
	a := []string{"-A", ufwChain(u.fam)}
	if u.in != "" {
		a = append(a, "-i", u.in)
	}
	if u.dst.IsValid() {
		a = append(a, "-d", netip.PrefixFrom(u.dst, u.dst.BitLen()).String())
	}
	if s := u.source(); s.Bits() > 0 {
		a = append(a, "-s", s.String())
	}
	a = append(a, "-p", u.proto, "-m", u.proto, "--dport", strconv.Itoa(int(u.port)))
	if u.deny {
		return append(a, "-j", "DROP")
	}
	return append(a, "-j", "ACCEPT")
}

// ufwComment is a rule's comment: the tag that marks this suggestion's
// rules, and what the rule is for. ufw keeps comments as given; the
// characters are limited to those a shell word and `ufw status` print
// plainly.
func ufwComment(tag, what string) string {
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '\'' || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, what)
	return limitBytes("fwaudit "+tag+": "+clean, maxIptComment)
}

// ufwTag is a digest of the rules the script makes, so that running the
// script of another suggestion replaces this one's rules.
func ufwTag(rules []ufwRule, p *Policy) string {
	h := sha256.New()
	for _, u := range rules {
		fmt.Fprintln(h, u.command(""))
	}
	fmt.Fprintln(h, p.LogDrops)
	return hex.EncodeToString(h.Sum(nil))[:8]
}

// renderUfw writes the ufw script. Its order keeps the host reachable
// while it runs: the new rules go in before the defaults turn to deny,
// and today's rules go only after.
func renderUfw(w *bufio.Writer, p *Policy) error {
	if p.onDocker() {
		return fmt.Errorf("the ufw format cannot keep Docker's published ports: Docker's own FORWARD rules come before ufw's; use --format iptables, which keeps Docker's chains")
	}
	rules := ufwRules(p)
	tag := ufwTag(rules, p)
	w.WriteString(`#!/bin/sh
# Hardened rules for ufw, generated by fwaudit suggest. Run as root on the
# host it was made for: it adds the suggestion's rules (marked "fwaudit ` + tag + `"),
# sets incoming and routed traffic to deny, then deletes every other ufw
# rule. ufw's own before.rules (loopback, established connections, ICMP,
# DHCP) stay as they are. Check it first with: sh -n FILE
`)
	if !p.Ping {
		w.WriteString("# ufw answers ping from /etc/ufw/before.rules (and before6.rules); this script\n# does not change them: remove the echo-request lines there to stop it.\n")
	}
	for _, n := range append(slices.Clone(p.Notes), sportNotes(p, "ufw")...) {
		w.WriteString(n + "\n")
	}
	w.WriteString(`set -eu

if ! ufw status | grep -q '^Status: active'; then
	echo 'ufw is not active: these rules are for a host ufw manages' >&2
	exit 1
fi
`)
	w.WriteString("\necho ' * adding the suggested rules'\n")
	// prepend puts each deny first: the last one prepended comes first
	for i := len(rules) - 1; i >= 0; i-- {
		if rules[i].deny {
			w.WriteString("ufw " + rules[i].command(tag) + "\n")
		}
	}
	for _, u := range rules {
		if !u.deny {
			w.WriteString("ufw " + u.command(tag) + "\n")
		}
	}
	if p.LogDrops {
		w.WriteString("ufw logging low\n")
	}
	w.WriteString(`
echo ' * denying everything else (incoming and routed)'
ufw default deny incoming
ufw default deny routed

echo ' * deleting the rules that are not part of this suggestion'
old=$(ufw status numbered | sed -n '/# fwaudit ` + tag + `: /d; s/^\[ *\([0-9][0-9]*\)\].*/\1/p' | sort -rn)
for n in $old; do
	ufw --force delete "$n" >/dev/null
done
ufw status numbered
`)
	return nil
}

// ufwAfter is what ufw holds in fam once the script has run: today's
// rules with ufw's user chain holding exactly the suggestion's rules and
// the INPUT and FORWARD policies DROP. It fails when ufw's chains are not
// loaded in fam: the script is for a host ufw manages.
func ufwAfter(p *Policy, today []*firewall.Ruleset, fam firewall.Family) ([]*firewall.Ruleset, error) {
	chain := ufwChain(fam)
	var buf bytes.Buffer
	buf.WriteString("*filter\n:" + chain + " - [0:0]\n")
	for _, u := range ufwRules(p) {
		if u.fam == fam {
			buf.WriteString(saveLine(u.saveArgs()) + "\n")
		}
	}
	buf.WriteString("COMMIT\n")
	rs, err := firewall.ParseSave(&buf, "ufw rules", fam)
	if err != nil {
		return nil, err
	}
	ours := rs.IptablesFilterChain(chain)
	isUfw := func(t *firewall.Table) bool { return t.IptablesFilterChain(chain) != nil }
	if out, ok := firewall.WithChains(today, isUfw, map[string][]*firewall.Rule{chain: ours.Rules},
		map[string]string{"input": "DROP", "forward": "DROP"}); ok {
		return out, nil
	}
	return nil, fmt.Errorf("ufw is not active in %s (its chain %s is not loaded): the ufw format is for a host ufw manages; use --format iptables or nft", fam, chain)
}

// ufwActive reports whether ufw's chains are loaded in any of sets.
func ufwActive(sets []*firewall.Ruleset, fam firewall.Family) bool {
	for _, rs := range sets {
		if rs.IptablesFilterChain(ufwChain(fam)) != nil {
			return true
		}
	}
	return false
}
