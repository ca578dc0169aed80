package firewall

import (
	"encoding/json"
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
	r := &Rule{Table: t.name, Chain: c.name, Target: "ACCEPT"}
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
		r.Unknown = []string{why}
		r.Text = fmt.Sprintf("%s %s %s: (bound to a device not known)", t.family, t.name, c.name)
	}
	r.m.finish()
	return r
}

type nftCompiler struct {
	pos       int  // the rule's place in its chain, from 1
	positions bool // name the rule by pos rather than handle
	fam       Family
	t         *nftTable
	c         *nftChain
	r         *nftRule
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
	base := &Rule{Table: nc.t.name, Chain: nc.c.name, Handle: nc.r.handle, Text: text}
	base.m.proto = -1
	base.m.x = &matchExtra{}
	bs := []*branch{{r: base}}
	for _, raw := range nc.r.exprs {
		var next []*branch
		for _, b := range bs {
			if b.done || b.r.m.never {
				next = append(next, b)
				continue
			}
			next = append(next, nc.statement(b, raw)...)
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
			r.Part = i + 1
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
	c.DPorts = slices.Clone(c.DPorts)
	c.m.x = &x
	return &c
}

// statement applies one statement to b and returns what it becomes.
func (nc *nftCompiler) statement(b *branch, raw json.RawMessage) []*branch {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		// nft 1.0.6 prints an anonymous chain ("jump { ... }") as text
		first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
		b.r.m.x.actWhy = "anonymous chain not evaluated: " + strings.TrimSpace(first) + " …"
		b.r.Target, b.done = "?", true
		return []*branch{b}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || len(obj) != 1 {
		nc.runtime(b.r, "nft statement not understood: "+clip(string(raw)))
		return []*branch{b}
	}
	for k, v := range obj {
		switch k {
		case "match":
			var m struct {
				Op    string
				Left  json.RawMessage
				Right json.RawMessage
			}
			if json.Unmarshal(v, &m) != nil {
				nc.runtime(b.r, "nft match not understood: "+clip(string(v)))
				return []*branch{b}
			}
			return nc.match(b, m.Left, m.Op, m.Right)
		case "accept", "drop", "reject", "return", "continue":
			b.r.Target = map[string]string{"accept": "ACCEPT", "drop": "DROP", "reject": "REJECT", "return": "RETURN", "continue": ""}[k]
			b.done = true
		case "jump", "goto":
			var j struct{ Target string }
			json.Unmarshal(v, &j)
			nc.jump(b.r, k, j.Target)
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
			var x struct{ Type, Name string }
			json.Unmarshal(v, &x)
			if x.Type == "target" {
				b.r.Target, b.r.m.x.actWhy, b.done = x.Name, "iptables extension target "+x.Name+" in nft (read this table with iptables-nft-save)", true
			} else {
				nc.runtime(b.r, "iptables extension match "+x.Name+" in nft")
			}
		case "set":
			var st struct {
				Stmt json.RawMessage `json:"stmt"`
			}
			if json.Unmarshal(v, &st) == nil && len(st.Stmt) > 0 && string(st.Stmt) != "null" {
				nc.runtime(b.r, "nft per-element "+clip(string(st.Stmt)))
			}
		case "mangle":
			var mg struct {
				Key   json.RawMessage
				Value json.RawMessage
			}
			if json.Unmarshal(v, &mg) == nil && isMetaMark(mg.Key) {
				b.r.m.x.markSet = nftMarkOp(mg.Value)
			}
		case "counter", "log", "comment", "last", "flow", "ct helper", "ct timeout", "ct expectation", "secmark":
			// no effect on the verdict
		case "tproxy", "dup", "fwd":
			b.r.Target, b.r.m.x.actWhy, b.done = strings.ToUpper(k), "nft "+k+" not evaluated", true
		default:
			nc.runtime(b.r, "nft "+k+" not evaluated")
		}
	}
	return []*branch{b}
}

func (nc *nftCompiler) runtime(r *Rule, why string) {
	if !slices.Contains(r.m.x.runtime, why) {
		r.m.x.runtime = append(r.m.x.runtime, why)
	}
	r.Unknown = appendNew(r.Unknown, why)
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
func (nc *nftCompiler) nat(r *Rule, kind string, v json.RawMessage) {
	r.Target = map[string]string{"dnat": "DNAT", "snat": "SNAT", "redirect": "REDIRECT", "masquerade": "MASQUERADE"}[kind]
	var n struct {
		Addr json.RawMessage
		Port json.RawMessage
	}
	if len(v) > 0 && string(v) != "null" {
		json.Unmarshal(v, &n)
	}
	addr, aok := scalarString(n.Addr)
	port, pok := portArg(n.Port)
	if (len(n.Addr) > 0 && !aok) || (len(n.Port) > 0 && !pok) {
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

func portArg(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return strconv.Itoa(n), true
	}
	var rg struct{ Range []int }
	if json.Unmarshal(raw, &rg) == nil && len(rg.Range) == 2 {
		return fmt.Sprintf("%d-%d", rg.Range[0], rg.Range[1]), true
	}
	return "", false
}

func scalarString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return "", false
}

// vmap turns a verdict map into one piece per element, each with the
// element's key as a match and its verdict as the action.
func (nc *nftCompiler) vmap(b *branch, v json.RawMessage) []*branch {
	var vm struct {
		Key  json.RawMessage
		Data json.RawMessage
	}
	json.Unmarshal(v, &vm)
	elems, why := nc.elements(vm.Data)
	if why != "" {
		b.r.Target, b.r.m.x.actWhy, b.done = "?", why, true
		return []*branch{b}
	}
	var out []*branch
	for _, e := range elems {
		var pair []json.RawMessage
		if json.Unmarshal(e, &pair) != nil || len(pair) != 2 {
			b.r.Target, b.r.m.x.actWhy, b.done = "?", "verdict map element not understood: "+clip(string(e)), true
			return []*branch{b}
		}
		nb := &branch{r: cloneRule(b.r)}
		for _, got := range nc.match(nb, vm.Key, "==", pair[0]) {
			if got.r.m.never {
				continue
			}
			got.done = true
			var verdict map[string]json.RawMessage
			json.Unmarshal(pair[1], &verdict)
			for k, vv := range verdict {
				switch k {
				case "accept", "drop", "reject", "return", "continue":
					got.r.Target = map[string]string{"accept": "ACCEPT", "drop": "DROP", "reject": "REJECT", "return": "RETURN", "continue": ""}[k]
				case "jump", "goto":
					var j struct{ Target string }
					json.Unmarshal(vv, &j)
					nc.jump(got.r, k, j.Target)
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
func (nc *nftCompiler) elements(raw json.RawMessage) ([]json.RawMessage, string) {
	var name string
	if json.Unmarshal(raw, &name) == nil && strings.HasPrefix(name, "@") {
		s := nc.t.sets[name[1:]]
		if s == nil {
			return nil, "set " + name + " does not exist"
		}
		if s.dynamic {
			return nil, "set " + name + " is filled by the packet path"
		}
		return s.elems, ""
	}
	var set struct {
		Set json.RawMessage `json:"set"`
	}
	if json.Unmarshal(raw, &set) == nil && len(set.Set) > 0 {
		var list []json.RawMessage
		if json.Unmarshal(set.Set, &list) == nil {
			return list, ""
		}
		return []json.RawMessage{set.Set}, ""
	}
	return []json.RawMessage{raw}, ""
}

// unwrapElem removes {"elem": {"val": X, ...}} around a set member.
func unwrapElem(raw json.RawMessage) json.RawMessage {
	var e struct {
		Elem *struct {
			Val json.RawMessage `json:"val"`
		} `json:"elem"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Elem != nil && len(e.Elem.Val) > 0 {
		return e.Elem.Val
	}
	return raw
}

// match applies "left op right" to b.
func (nc *nftCompiler) match(b *branch, left json.RawMessage, op string, right json.RawMessage) []*branch {
	var l map[string]json.RawMessage
	if json.Unmarshal(left, &l) != nil || len(l) != 1 {
		nc.runtime(b.r, "nft match on "+clip(string(left))+" not evaluated")
		return []*branch{b}
	}
	if c, ok := l["concat"]; ok {
		return nc.concat(b, c, op, right)
	}
	elems, why := nc.elements(right)
	if why != "" {
		nc.runtime(b.r, why)
		return []*branch{b}
	}
	for i := range elems {
		elems[i] = unwrapElem(elems[i])
	}
	if err := nc.leaf(b.r, l, op, elems); err != "" {
		nc.runtime(b.r, err)
	}
	return []*branch{b}
}

// concat expands a match of a concatenation against a set into one piece
// per element, each matching every part of the element.
func (nc *nftCompiler) concat(b *branch, parts json.RawMessage, op string, right json.RawMessage) []*branch {
	var keys []json.RawMessage
	json.Unmarshal(parts, &keys)
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
		var c struct{ Concat []json.RawMessage }
		if json.Unmarshal(unwrapElem(e), &c) != nil || len(c.Concat) != len(keys) {
			nc.runtime(b.r, "set element not understood: "+clip(string(e)))
			return []*branch{b}
		}
		nb := &branch{r: cloneRule(b.r)}
		for i, k := range keys {
			var l map[string]json.RawMessage
			json.Unmarshal(k, &l)
			if err := nc.leaf(nb.r, l, "==", []json.RawMessage{unwrapElem(c.Concat[i])}); err != "" {
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

// leaf applies a match of one expression against values; it returns a
// reason when it cannot.
func (nc *nftCompiler) leaf(r *Rule, l map[string]json.RawMessage, op string, vals []json.RawMessage) string {
	neg := op == "!="
	if op != "==" && op != "!=" && op != "in" {
		return nc.ordered(r, l, op, vals)
	}
	for key, v := range l {
		switch key {
		case "payload":
			var p struct{ Protocol, Field string }
			json.Unmarshal(v, &p)
			if p.Protocol == "tcp" && p.Field == "flags" && op == "==" {
				comp, ok := uint8(0), len(vals) == 1
				for _, val := range vals {
					c, okc := flagMask(val)
					comp, ok = comp|c, ok && okc
				}
				if !ok {
					return "tcp flags match not evaluated"
				}
				nc.requireProto(r, 6)
				r.m.x.flags = append(r.m.x.flags, flagMatch{mask: 0xff, comp: comp})
				return ""
			}
			return nc.payload(r, p.Protocol, p.Field, neg, vals)
		case "meta":
			var m struct{ Key string }
			json.Unmarshal(v, &m)
			return nc.meta(r, m.Key, neg, vals)
		case "ct":
			var c struct{ Key, Dir string }
			json.Unmarshal(v, &c)
			return nc.ct(r, c.Key, c.Dir, op, vals)
		case "fib":
			var f struct {
				Result string
				Flags  []string
			}
			json.Unmarshal(v, &f)
			if f.Result == "type" && slices.Contains(f.Flags, "daddr") {
				var mask uint16
				for _, val := range vals {
					for _, s := range atomStrings(val) {
						t, ok := addrtypeNames[strings.ToUpper(s)]
						if !ok {
							return "fib type " + s + " not evaluated"
						}
						mask |= t
					}
				}
				r.m.x.addrtype = append(r.m.x.addrtype, addrtypeMatch{dst: mask, dstNeg: neg})
				return ""
			}
			if (f.Result == "oif" || f.Result == "oifname") && slices.Contains(f.Flags, "saddr") && len(vals) == 1 {
				var present bool
				if json.Unmarshal(vals[0], &present) == nil {
					// "fib saddr . iif oif missing": no route back out of
					// the input interface (strict); without iif, none at all
					r.m.x.rpf = &rpf{loose: !slices.Contains(f.Flags, "iif"), failing: present == neg,
						why: "fib " + strings.Join(f.Flags, " . ") + " " + f.Result + " (the reverse-path check depends on the routing table, which was not read)"}
					return ""
				}
			}
			return "fib " + strings.Join(f.Flags, " . ") + " " + f.Result + " (depends on the routing table)"
		case "&":
			var operands []json.RawMessage
			json.Unmarshal(v, &operands)
			var mask uint32
			if len(operands) == 2 && isMetaMark(operands[0]) && json.Unmarshal(operands[1], &mask) == nil {
				return markMatches(r, mask, neg, vals)
			}
			if len(operands) == 2 && isTCPFlags(operands[0]) {
				mask, ok1 := flagMask(operands[1])
				var comp uint8
				ok2 := true
				for _, val := range vals {
					c, ok := flagMask(val)
					comp |= c
					ok2 = ok2 && ok
				}
				if !ok1 || !ok2 || len(vals) != 1 {
					return "tcp flags match not evaluated"
				}
				nc.requireProto(r, 6)
				r.m.x.flags = append(r.m.x.flags, flagMatch{mask: mask, comp: comp, neg: neg})
				return ""
			}
			return "nft bitwise match " + clip(string(v)) + " not evaluated"
		case "exthdr":
			// a plain SYN or datagram carries no extension header: the
			// lookup fails and the rule does not match
			r.m.never = true
			return ""
		}
		return "nft " + key + " match not evaluated"
	}
	return "empty nft match"
}

// ordered handles "<", ">", "<=", ">=" on ports.
func (nc *nftCompiler) ordered(r *Rule, l map[string]json.RawMessage, op string, vals []json.RawMessage) string {
	var p struct{ Protocol, Field string }
	if raw, ok := l["payload"]; ok && len(vals) == 1 {
		json.Unmarshal(raw, &p)
		var n int
		if json.Unmarshal(vals[0], &n) == nil && (p.Field == "dport" || p.Field == "sport") {
			var pr PortRange
			switch op {
			case "<":
				pr = PortRange{0, uint16(max(n-1, 0))}
			case "<=":
				pr = PortRange{0, uint16(n)}
			case ">":
				pr = PortRange{uint16(min(n+1, 65535)), 65535}
			case ">=":
				pr = PortRange{uint16(n), 65535}
			}
			return nc.ports(r, p.Protocol, p.Field, false, []PortRange{pr})
		}
	}
	return "nft match with " + op + " not evaluated"
}

func isTCPFlags(raw json.RawMessage) bool {
	var l struct {
		Payload struct{ Protocol, Field string }
	}
	return json.Unmarshal(raw, &l) == nil && l.Payload.Protocol == "tcp" && l.Payload.Field == "flags"
}

// flagMask reads tcp flags: "syn", ["fin", "syn"], {"|": [...]}.
func flagMask(raw json.RawMessage) (uint8, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		f, ok := flagNames[strings.ToUpper(s)]
		return f, ok
	}
	var n int
	if json.Unmarshal(raw, &n) == nil && n >= 0 && n < 256 {
		return uint8(n), true
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var m uint8
		for _, e := range list {
			f, ok := flagMask(e)
			if !ok {
				return 0, false
			}
			m |= f
		}
		return m, true
	}
	var or map[string][]json.RawMessage
	if json.Unmarshal(raw, &or) == nil && len(or["|"]) > 0 {
		var m uint8
		for _, e := range or["|"] {
			f, ok := flagMask(e)
			if !ok {
				return 0, false
			}
			m |= f
		}
		return m, true
	}
	return 0, false
}

// atomStrings flattens a value that may be a list or an OR of names.
func atomStrings(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return []string{n.String()}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var out []string
		for _, e := range list {
			out = append(out, atomStrings(e)...)
		}
		return out
	}
	var or map[string][]json.RawMessage
	if json.Unmarshal(raw, &or) == nil && len(or["|"]) > 0 {
		var out []string
		for _, e := range or["|"] {
			out = append(out, atomStrings(e)...)
		}
		return out
	}
	return []string{string(raw)}
}

// headerFamily says which address family a protocol name's header belongs
// to ("" for either).
func headerFamily(proto string) Family {
	switch proto {
	case "ip", "icmp":
		return IPv4
	case "ip6", "icmpv6":
		return IPv6
	}
	return ""
}

func (nc *nftCompiler) payload(r *Rule, proto, field string, neg bool, vals []json.RawMessage) string {
	if f := headerFamily(proto); f != "" && f != nc.fam {
		r.m.never = true // an ip header match never holds for an IPv6 packet, and the reverse
		return ""
	}
	switch {
	case (proto == "ip" || proto == "ip6") && (field == "saddr" || field == "daddr"):
		set, err := nc.addrs(vals)
		if err != "" {
			return err
		}
		if neg {
			set = set.complement()
		}
		if field == "saddr" {
			if r.m.hasSrc {
				set = set.intersect(r.m.src)
			}
			r.m.hasSrc, r.m.src = true, set
		} else {
			if r.m.x.hasDst {
				set = set.intersect(r.m.x.dst)
			}
			r.m.x.hasDst, r.m.x.dst = true, set
		}
		return ""
	case (proto == "ip" && field == "protocol") || (proto == "ip6" && field == "nexthdr"):
		return nc.protoMatch(r, neg, vals)
	case field == "dport" || field == "sport":
		var rs []PortRange
		for _, v := range vals {
			pr, err := portValue(v)
			if err != "" {
				return err
			}
			rs = append(rs, pr)
		}
		return nc.ports(r, proto, field, neg, rs)
	case (proto == "icmp" || proto == "icmpv6") && (field == "type" || field == "code"):
		p := 1
		if proto == "icmpv6" {
			p = 58
		}
		nc.requireProto(r, p)
		var types []int
		for _, v := range vals {
			for _, s := range atomStrings(v) {
				t, ok := icmpTypeValue(s, proto == "icmpv6", field)
				if !ok {
					return proto + " " + field + " " + s + " not evaluated"
				}
				types = append(types, t)
			}
		}
		if len(types) == 0 {
			r.m.never = !neg
			return ""
		}
		if field == "code" {
			if len(types) != 1 {
				return proto + " code set not evaluated"
			}
			r.m.x.icmp = append(r.m.x.icmp, icmpMatch{typ: -1, codeLo: types[0], codeHi: types[0], neg: neg})
			return ""
		}
		if neg {
			for _, t := range types {
				r.m.x.icmp = append(r.m.x.icmp, icmpMatch{typ: t, codeLo: 0, codeHi: 255, neg: true})
			}
			return ""
		}
		if len(types) > 1 {
			// one of several types: a type set the model holds as
			// "not any of the others"
			all := map[int]bool{}
			for _, t := range types {
				all[t] = true
			}
			for t := 0; t < 256; t++ {
				if !all[t] {
					r.m.x.icmp = append(r.m.x.icmp, icmpMatch{typ: t, codeLo: 0, codeHi: 255, neg: true})
				}
			}
			return ""
		}
		r.m.x.icmp = append(r.m.x.icmp, icmpMatch{typ: types[0], codeLo: 0, codeHi: 255})
		return ""
	case proto == "tcp" && field == "flags":
		var m uint8
		for _, v := range vals {
			f, ok := flagMask(v)
			if !ok {
				return "tcp flags " + clip(string(v)) + " not evaluated"
			}
			m |= f
		}
		nc.requireProto(r, 6)
		r.m.x.flags = append(r.m.x.flags, flagMatch{mask: m, any: true, neg: neg})
		return ""
	}
	return "nft " + proto + " " + field + " match not evaluated"
}

func icmpTypeValue(s string, v6 bool, field string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < 256 {
		return n, true
	}
	if field == "code" {
		return 0, false
	}
	names := icmpTypes
	if v6 {
		names = icmp6Types
		// nft's names for neighbour discovery and MLD
		switch s {
		case "nd-router-solicit":
			return 133, true
		case "nd-router-advert":
			return 134, true
		case "nd-neighbor-solicit":
			return 135, true
		case "nd-neighbor-advert":
			return 136, true
		case "nd-redirect":
			return 137, true
		case "mld-listener-query":
			return 130, true
		case "mld-listener-report":
			return 131, true
		case "mld-listener-done", "mld-listener-reduction":
			return 132, true
		case "mld2-listener-report":
			return 143, true
		case "ind-neighbor-solicit":
			return 141, true
		case "ind-neighbor-advert":
			return 142, true
		}
	}
	if t, ok := names[s]; ok && t[1] == 0 && t[2] == 255 {
		return t[0], true
	}
	switch s {
	case "info-request":
		return 15, !v6
	case "info-reply":
		return 16, !v6
	}
	return 0, false
}

func portValue(raw json.RawMessage) (PortRange, string) {
	var n int
	if json.Unmarshal(raw, &n) == nil && n >= 0 && n <= 65535 {
		return PortRange{uint16(n), uint16(n)}, ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		p, err := parsePort(s)
		if err != nil {
			return PortRange{}, "port " + s + " not understood"
		}
		return PortRange{p, p}, ""
	}
	var rg struct{ Range []json.RawMessage }
	if json.Unmarshal(raw, &rg) == nil && len(rg.Range) == 2 {
		lo, e1 := portValue(rg.Range[0])
		hi, e2 := portValue(rg.Range[1])
		if e1 == "" && e2 == "" && lo.Lo <= hi.Lo {
			return PortRange{lo.Lo, hi.Lo}, ""
		}
	}
	return PortRange{}, "port " + clip(string(raw)) + " not understood"
}

func (nc *nftCompiler) ports(r *Rule, proto, field string, neg bool, rs []PortRange) string {
	switch proto {
	case "tcp":
		nc.requireProto(r, 6)
	case "udp":
		nc.requireProto(r, 17)
	case "udplite":
		nc.requireProto(r, 136)
	case "sctp":
		nc.requireProto(r, 132)
	case "dccp":
		nc.requireProto(r, 33)
	case "th":
	default:
		return "nft " + proto + " " + field + " not evaluated"
	}
	kind := portDst
	if field == "sport" {
		kind = portSrc
	}
	r.m.x.ports = append(r.m.x.ports, portMatch{kind: kind, neg: neg, ranges: rs})
	if kind == portDst && !neg && r.DPorts == nil {
		r.DPorts = rs
	}
	return ""
}

// requireProto narrows r to protocol p (a tcp/udp header match implies it).
func (nc *nftCompiler) requireProto(r *Rule, p int) {
	m := &r.m
	switch {
	case m.proto == int16(p) && !m.protoNeg:
	case m.proto == -1:
		m.proto, m.protoNeg = int16(p), false
		if name, ok := protoName[p]; ok {
			r.Proto = name
		} else {
			r.Proto = strconv.Itoa(p)
		}
	default:
		var c protoCond
		c.set[p/64] |= 1 << (p % 64)
		m.x.protos = append(m.x.protos, c)
	}
}

func (nc *nftCompiler) protoMatch(r *Rule, neg bool, vals []json.RawMessage) string {
	var c protoCond
	var ps []int
	for _, v := range vals {
		for _, s := range atomStrings(v) {
			p, err := parseProto(s)
			if err != nil || p < 0 {
				return "protocol " + s + " not understood"
			}
			c.set[p/64] |= 1 << (p % 64)
			ps = append(ps, p)
		}
	}
	if len(ps) == 1 && !neg {
		nc.requireProto(r, ps[0])
		return ""
	}
	c.neg = neg
	r.m.x.protos = append(r.m.x.protos, c)
	return ""
}

// markMatches adds "meta mark [& mask] == value": one value, or a set of
// them (disjoint: the rule is split per value by the set expansion
// elsewhere; here a set is read as "any of").
func markMatches(r *Rule, mask uint32, neg bool, vals []json.RawMessage) string {
	if len(vals) != 1 {
		return "meta mark set match not evaluated"
	}
	var v uint32
	if json.Unmarshal(vals[0], &v) != nil {
		return "meta mark " + clip(string(vals[0])) + " not evaluated"
	}
	r.m.x.marks = append(r.m.x.marks, markMatch{mask: mask, val: v & mask, neg: neg})
	return ""
}

func (nc *nftCompiler) meta(r *Rule, key string, neg bool, vals []json.RawMessage) string {
	switch key {
	case "mark":
		return markMatches(r, 0xffffffff, neg, vals)
	case "iifname", "oifname", "iif", "oif":
		var alts []ifaceMatch
		for _, v := range vals {
			for _, s := range atomStrings(v) {
				im := ifaceMatch{set: true, name: s}
				if strings.HasSuffix(s, "*") && !strings.HasSuffix(s, `\*`) {
					im.wild, im.name = true, strings.TrimSuffix(s, "*")
				}
				alts = append(alts, im)
			}
		}
		out := key[0] == 'o'
		if len(alts) == 1 {
			im := alts[0]
			im.neg = neg
			if !out && !r.m.in.set {
				r.m.in = im
				return ""
			}
			if out && !r.m.x.out.set {
				r.m.x.out = im
				return ""
			}
		}
		r.m.x.ifaces = append(r.m.x.ifaces, ifaceCond{out: out, neg: neg, alts: alts})
		return ""
	case "l4proto":
		return nc.protoMatch(r, neg, vals)
	case "nfproto", "protocol":
		hit := false
		for _, v := range vals {
			for _, s := range atomStrings(v) {
				switch s {
				case "ipv4", "ip":
					hit = hit || nc.fam == IPv4
				case "ipv6", "ip6":
					hit = hit || nc.fam == IPv6
				}
			}
		}
		if hit == neg {
			r.m.never = true
		}
		return ""
	case "pkttype":
		hit := false
		for _, v := range vals {
			for _, s := range atomStrings(v) {
				hit = hit || s == "host" || s == "unicast"
			}
		}
		if hit == neg {
			r.m.never = true
		}
		return ""
	}
	return "meta " + key
}

// ctStatusBits: the conntrack status bits a NEW connection may carry.
var ctStatusBits = map[string]uint8{"dnat": stDNAT, "snat": stSNAT}

func (nc *nftCompiler) ct(r *Rule, key, dir, op string, vals []json.RawMessage) string {
	neg := op == "!="
	switch key {
	case "state", "status":
		var mask uint8
		for _, v := range vals {
			for _, s := range atomStrings(v) {
				if key == "state" {
					b, ok := stateNames[strings.ToUpper(s)]
					if !ok {
						return "ct state " + s + " not understood"
					}
					mask |= b
				} else if b, ok := ctStatusBits[s]; ok {
					mask |= b
				}
				// other status bits (confirmed, assured, seen-reply...)
				// are never set on a connection's first packet
			}
		}
		r.m.x.states = append(r.m.x.states, stateMatch{mask: mask, neg: neg})
		return ""
	case "direction":
		hit := false
		for _, v := range vals {
			for _, s := range atomStrings(v) {
				hit = hit || s == "original"
			}
		}
		if hit == neg {
			r.m.never = true
		}
		return ""
	}
	if dir != "" {
		return "ct " + dir + " " + key
	}
	return "ct " + key
}

// addrs reads address values (single, prefix, range) into one set.
func (nc *nftCompiler) addrs(vals []json.RawMessage) (addrSet, string) {
	var rs []rng
	for _, v := range vals {
		var s string
		if json.Unmarshal(v, &s) == nil {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Is4() != (nc.fam == IPv4) {
				return addrSet{}, "address " + s + " not understood"
			}
			rs = append(rs, prefixRange(nc.fam, netip.PrefixFrom(a, a.BitLen())))
			continue
		}
		var p struct {
			Prefix *struct {
				Addr string
				Len  int
			}
			Range []string
		}
		if json.Unmarshal(v, &p) != nil {
			return addrSet{}, "address " + clip(string(v)) + " not understood"
		}
		switch {
		case p.Prefix != nil:
			a, err := netip.ParseAddr(p.Prefix.Addr)
			if err != nil || a.Is4() != (nc.fam == IPv4) {
				return addrSet{}, "address " + p.Prefix.Addr + " not understood"
			}
			pf, err := a.Prefix(p.Prefix.Len)
			if err != nil {
				return addrSet{}, "prefix " + p.Prefix.Addr + " not understood"
			}
			rs = append(rs, prefixRange(nc.fam, pf))
		case len(p.Range) == 2:
			lo, e1 := netip.ParseAddr(p.Range[0])
			hi, e2 := netip.ParseAddr(p.Range[1])
			if e1 != nil || e2 != nil || lo.Is4() != (nc.fam == IPv4) || hi.Less(lo) {
				return addrSet{}, "address range " + clip(string(v)) + " not understood"
			}
			rs = append(rs, rng{addrToU(lo), addrToU(hi)})
		default:
			return addrSet{}, "address " + clip(string(v)) + " not understood"
		}
	}
	return setOf(nc.fam, rs), ""
}

// setOf makes a set of any ranges, in one sort (a ban set has 100,000).
func setOf(fam Family, rs []rng) addrSet {
	slices.SortFunc(rs, func(a, b rng) int { return a.lo.cmp(b.lo) })
	out := make([]rng, 0, len(rs))
	for _, r := range rs {
		out = appendRange(out, r)
	}
	return addrSet{fam: fam, r: out}
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
