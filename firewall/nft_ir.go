package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// This file compiles native nftables rules (libnftables JSON, see
// libnftables-json(5)) into the model the iptables front end also
// compiles into. A rule is a list of statements: matches narrow it, a
// verdict or NAT statement ends it, counters and logs change nothing.
// A match against a set of concatenations or a verdict map becomes one
// rule per element (elements never overlap, so at most one of them
// matches a packet). Anything not understood is kept as a runtime
// reason (or an unknown action) so that verdicts depending on it are
// conditional, never silently open or closed.

// Family compiles the tables that see fam's packets (ip or ip6, and inet)
// into a Ruleset.
func (n *NftRuleset) Family(fam Family) *Ruleset {
	rs := &Ruleset{Family: fam, Source: n.Source}
	for _, t := range n.tables {
		if t.family != "inet" && t.family != "netdev" && !(t.family == "ip" && fam == IPv4) && !(t.family == "ip6" && fam == IPv6) {
			continue
		}
		tb := &Table{Name: t.name, NftFamily: t.family}
		for _, c := range t.chains {
			ch := &Chain{Name: c.name}
			if c.base {
				ch.Hook, ch.Priority, ch.Type = c.hook, c.prio, c.typ
				ch.Policy = "ACCEPT"
				if c.policy == "drop" {
					ch.Policy = "DROP"
				}
				switch c.hook {
				case "ingress":
					// ingress runs on the device, before every
					// prerouting chain, for packets of that device only
					ch.Hook, ch.Priority = "prerouting", c.prio-1<<20
					ch.Rules = append(ch.Rules, ingressGate(t, c, fam))
				case "egress":
					ch.Hook = "" // leaving the host: not on any path judged
				}
			}
			for i, r := range c.rules {
				nc := nftCompiler{fam: fam, t: t, c: c, r: r, pos: i + 1, positions: n.positions}
				ch.Rules = append(ch.Rules, nc.compile()...)
			}
			tb.Chains = append(tb.Chains, ch)
		}
		rs.Tables = append(rs.Tables, tb)
	}
	return rs
}

// ingressGate is the first rule of an ingress chain: packets from other
// devices never meet the chain, so for them it ends at once (an accept
// ends one base chain only).
func ingressGate(t *nftTable, c *nftChain, fam Family) *Rule {
	r := &Rule{Table: t.name, Chain: c.name, Target: "ACCEPT", Native: true}
	r.m.proto = -1
	r.m.x = &matchExtra{}
	if c.devsKnown {
		var alts []ifaceMatch
		for _, d := range c.devs {
			alts = append(alts, ifaceMatch{set: true, name: d})
		}
		r.m.x.ifaces = []ifaceCond{{neg: true, alts: alts}}
		r.Text = fmt.Sprintf("%s %s %s: (bound to %s; packets of other devices pass)", t.family, t.name, c.name, strings.Join(c.devs, ", "))
	} else {
		why := fmt.Sprintf("the device of ingress chain %s %s %s is not known (nft -j before 1.0.7 does not print it)", t.family, t.name, c.name)
		r.m.x.runtime = []string{why}
		r.writeMore().unknown = []string{why}
		r.Text = fmt.Sprintf("%s %s %s: (bound to a device not known)", t.family, t.name, c.name)
	}
	r.m.finish()
	return r
}

// branch is one piece of a rule being compiled; done once its action is set.
type branch struct {
	r    *Rule
	done bool
}

// maxParts bounds how many pieces one rule may become.
const maxParts = 1 << 20

func (nc *nftCompiler) compile() []*Rule {
	text := nftRuleText(nc.t, nc.c, nc.r, nc.pos, nc.positions)
	base := &Rule{Table: nc.t.name, Chain: nc.c.name, Handle: nc.r.handle, Text: text, Native: true}
	base.m.proto = -1
	base.m.x = &matchExtra{}
	bs := []*branch{{r: base}}
	for _, st := range nc.r.statements() {
		var next []*branch
		for _, b := range bs {
			if b.done || b.r.m.never {
				next = append(next, b)
				continue
			}
			next = append(next, nc.statement(b, st)...)
		}
		if len(next) > maxParts {
			base.m.x.runtime = append(base.m.x.runtime, "nft rule too large to expand")
			next = []*branch{{r: base}}
		}
		bs = next
	}
	out := make([]*Rule, 0, len(bs))
	for i, b := range bs {
		r := b.r
		if len(bs) > 1 {
			r.writeMore().part = i + 1
		}
		r.m.finish()
		out = append(out, r)
	}
	return out
}

func cloneRule(r *Rule) *Rule {
	c := *r
	x := *r.m.x
	x.ports = slices.Clone(x.ports)
	x.states = slices.Clone(x.states)
	x.flags = slices.Clone(x.flags)
	x.icmp = slices.Clone(x.icmp)
	x.addrtype = slices.Clone(x.addrtype)
	x.runtime = slices.Clone(x.runtime)
	x.protos = slices.Clone(x.protos)
	x.ifaces = slices.Clone(x.ifaces)
	x.marks = slices.Clone(x.marks)
	if c.more != nil {
		more := *c.more
		more.dports = slices.Clone(more.dports)
		c.more = &more
	}
	c.m.x = &x
	return &c
}

// statement applies one statement to b and returns what it becomes.
func (nc *nftCompiler) statement(b *branch, st nftStmt) []*branch {
	if st.isStr {
		// nft 1.0.6 prints an anonymous chain ("jump { ... }") as text
		first, _, _ := strings.Cut(strings.TrimSpace(st.text), "\n")
		b.r.m.x.actWhy = "anonymous chain not evaluated: " + strings.TrimSpace(first) + " …"
		b.r.Target, b.done = "?", true
		return []*branch{b}
	}
	if st.bad {
		nc.runtime(b.r, "nft statement not understood: "+clip(jText(st.raw)))
		return []*branch{b}
	}
	k, v := st.key, st.val
	switch k {
	case "match":
		if st.matchBroken {
			nc.runtime(b.r, "nft match not understood: "+clip(jText(v)))
			return []*branch{b}
		}
		return nc.matchParsed(b, st.left, st.op, st.right)
	case "accept", "drop", "reject", "return", "continue":
		b.r.Target = verdictTarget[k]
		b.done = true
	case "jump", "goto":
		nc.jump(b.r, k, jField(v, "target"))
		b.done = true
	case "queue":
		b.r.Target, b.r.m.x.actWhy, b.done = "QUEUE", "nft queue (a userspace program decides)", true
	case "dnat", "snat", "redirect", "masquerade":
		nc.nat(b.r, k, v)
		b.done = true
	case "notrack":
		b.r.Target = "NOTRACK"
	case "vmap":
		return nc.vmap(b, v)
	case "limit", "quota", "ct count", "meter", "synproxy":
		nc.runtime(b.r, "nft "+k+" "+nftStmtText(k, v))
	case "xt":
		name := jField(v, "name")
		if jField(v, "type") == "target" {
			b.r.Target, b.r.m.x.actWhy, b.done = name, "iptables extension target "+name+" in nft (read this table with iptables-nft-save)", true
		} else {
			nc.runtime(b.r, "iptables extension match "+name+" in nft")
		}
	case "set":
		if stmt := jObj(v)["stmt"]; stmt != nil {
			nc.runtime(b.r, "nft per-element "+clip(jText(stmt)))
		}
	case "mangle":
		if mg := jObj(v); isMetaMark(mg["key"]) {
			b.r.m.x.markSet = nftMarkOp(mg["value"])
		}
	case "counter", "log", "comment", "last", "flow", "ct helper", "ct timeout", "ct expectation", "secmark":
		// no effect on the verdict
	case "tproxy", "dup", "fwd":
		b.r.Target, b.r.m.x.actWhy, b.done = strings.ToUpper(k), "nft "+k+" not evaluated", true
	default:
		nc.runtime(b.r, "nft "+k+" not evaluated")
	}
	return []*branch{b}
}

// verdictTarget names nft's verdicts as the model's targets.
var verdictTarget = map[string]string{"accept": "ACCEPT", "drop": "DROP", "reject": "REJECT", "return": "RETURN", "continue": ""}

func (nc *nftCompiler) runtime(r *Rule, why string) {
	if !slices.Contains(r.m.x.runtime, why) {
		r.m.x.runtime = append(r.m.x.runtime, why)
	}
	r.writeMore().unknown = appendNew(r.Unknown(), why)
}

func appendNew(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func (nc *nftCompiler) jump(r *Rule, kind, target string) {
	if nc.t.byName[target] == nil {
		r.Target, r.m.x.actWhy = target, kind+" to chain "+target+", which does not exist"
		return
	}
	r.Target, r.Goto, r.m.goTo = target, kind == "goto", kind == "goto"
}

// nat fills a NAT statement's target (natTarget), from "dnat to ADDR:PORT"
// or "redirect to :PORT".
func (nc *nftCompiler) nat(r *Rule, kind string, v any) {
	r.Target = map[string]string{"dnat": "DNAT", "snat": "SNAT", "redirect": "REDIRECT", "masquerade": "MASQUERADE"}[kind]
	o := jObj(v)
	addr, aok := scalarString(o["addr"])
	port, pok := portArg(o["port"])
	if !aok || !pok {
		if kind == "dnat" || kind == "redirect" {
			r.m.x.actWhy = "nft " + kind + " to a computed address not evaluated: " + nftStmtText(kind, v)
		}
		return
	}
	nt := &natTarget{text: nftStmtText(kind, v)}
	if addr != "" {
		a, err := netip.ParseAddr(addr)
		nt.addr, nt.bad = a, err != nil
	}
	if port != "" && !nt.bad {
		nt.setPorts(port)
	}
	if kind == "dnat" || kind == "redirect" {
		r.m.x.nat = nt
	}
}

func portArg(v any) (string, bool) {
	if v == nil {
		return "", true
	}
	if n, ok := jInt(v); ok {
		return strconv.FormatInt(n, 10), true
	}
	if rg := jList(jObj(v)["range"]); len(rg) == 2 {
		lo, ok1 := jInt(rg[0])
		hi, ok2 := jInt(rg[1])
		if ok1 && ok2 {
			return fmt.Sprintf("%d-%d", lo, hi), true
		}
	}
	return "", false
}

func scalarString(v any) (string, bool) {
	if v == nil {
		return "", true
	}
	s, ok := jStr(v)
	return s, ok
}

// vmap turns a verdict map into one piece per element, each with the
// element's key as a match and its verdict as the action.
func (nc *nftCompiler) vmap(b *branch, v any) []*branch {
	vm := jObj(v)
	elems, why := nc.elements(vm["data"])
	if why != "" {
		b.r.Target, b.r.m.x.actWhy, b.done = "?", why, true
		return []*branch{b}
	}
	var out []*branch
	for _, e := range elems {
		pair := jList(e)
		if len(pair) != 2 {
			b.r.Target, b.r.m.x.actWhy, b.done = "?", "verdict map element not understood: "+clip(jText(e)), true
			return []*branch{b}
		}
		nb := &branch{r: cloneRule(b.r)}
		for _, got := range nc.match(nb, vm["key"], "==", pair[0]) {
			if got.r.m.never {
				continue
			}
			got.done = true
			for k, vv := range jObj(pair[1]) {
				switch k {
				case "accept", "drop", "reject", "return", "continue":
					got.r.Target = verdictTarget[k]
				case "jump", "goto":
					nc.jump(got.r, k, jField(vv, "target"))
				default:
					got.r.Target, got.r.m.x.actWhy = "?", "verdict map verdict "+k+" not evaluated"
				}
			}
			out = append(out, got)
		}
	}
	if len(out) == 0 {
		// no element can match in this family: the rule never applies
		b.r.m.never, b.done = true, true
		return []*branch{b}
	}
	return out
}

// elements lists the members of an anonymous set ({"set": [...]}), a
// named set or map ("@name"), or a single value.
func (nc *nftCompiler) elements(v any) ([]any, string) {
	if name, ok := jStr(v); ok && strings.HasPrefix(name, "@") {
		s := nc.t.sets[name[1:]]
		if s == nil {
			return nil, "set " + name + " does not exist"
		}
		if s.dynamic {
			return nil, "set " + name + " is filled by the packet path"
		}
		return s.elems, ""
	}
	if o := jObj(v); o != nil {
		if set, ok := o["set"]; ok && len(o) == 1 {
			if l, ok := set.([]any); ok {
				return l, ""
			}
			return []any{set}, ""
		}
	}
	return []any{v}, ""
}

// unwrapElem removes {"elem": {"val": X, ...}} around a set member.
func unwrapElem(v any) any {
	if e := jObj(jObj(v)["elem"]); e != nil {
		if val, ok := e["val"]; ok {
			return val
		}
	}
	return v
}

// match applies "left op right" to b.
func (nc *nftCompiler) match(b *branch, left any, op string, right any) []*branch {
	l := jObj(left)
	if len(l) != 1 {
		nc.runtime(b.r, "nft match on "+clip(jText(left))+" not evaluated")
		return []*branch{b}
	}
	return nc.matchParsed(b, l, op, right)
}

// matchParsed is match with the left side an expression.
func (nc *nftCompiler) matchParsed(b *branch, l map[string]any, op string, right any) []*branch {
	if c, ok := l["concat"]; ok {
		return nc.concat(b, c, op, right)
	}
	if proto := payloadProto(l); proto != "" {
		// nft matches a header field only in packets that have the header
		// (the dependency nft adds, nft(8), PAYLOAD EXPRESSION): the other
		// family's header never, a transport header only its protocol,
		// whether or not the match itself is understood
		if f := headerFamily(proto); f != "" && f != nc.fam {
			b.r.m.never = true // the other family's header: never, whatever the set holds
			return []*branch{b}
		}
		if n, ok := transportProtos[proto]; ok {
			nc.requireProto(b.r, n)
		}
	}
	elems, why := nc.elements(right)
	if why != "" {
		nc.runtime(b.r, why)
		return []*branch{b}
	}
	vals := make([]any, len(elems)) // the set's own list stays as it is
	for i := range elems {
		vals[i] = unwrapElem(elems[i])
	}
	if err := nc.leaf(b.r, l, op, vals); err != "" {
		nc.runtime(b.r, err)
	}
	return []*branch{b}
}

// concat expands a match of a concatenation against a set into one piece
// per element, each matching every part of the element.
func (nc *nftCompiler) concat(b *branch, parts any, op string, right any) []*branch {
	keys := jList(parts)
	elems, why := nc.elements(right)
	if why == "" && op != "==" && op != "in" {
		why = "negated concatenation match not evaluated"
	}
	if why != "" {
		nc.runtime(b.r, why)
		return []*branch{b}
	}
	var out []*branch
	for _, e := range elems {
		c := jList(jObj(unwrapElem(e))["concat"])
		if len(c) != len(keys) {
			nc.runtime(b.r, "set element not understood: "+clip(jText(e)))
			return []*branch{b}
		}
		nb := &branch{r: cloneRule(b.r)}
		for i, k := range keys {
			if err := nc.leaf(nb.r, jObj(k), "==", []any{unwrapElem(c[i])}); err != "" {
				nc.runtime(nb.r, err)
			}
		}
		if !nb.r.m.never {
			out = append(out, nb)
		}
	}
	if len(out) == 0 {
		b.r.m.never = true
		return []*branch{b}
	}
	return out
}
