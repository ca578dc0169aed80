package firewall

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The matches of an nft rule, one expression at a time: payload fields
// (addresses, protocols, ports, ICMP, TCP flags), meta and ct keys, fib
// lookups and packet marks, each compiled into the model's matches for
// the family being compiled.

// nftCompiler compiles one rule of an nft chain into rules of the model:
// its statements and verdicts (nft_ir.go) and its matches (this file).
type nftCompiler struct {
	pos       int  // the rule's place in its chain, from 1
	positions bool // name the rule by pos rather than handle
	fam       Family
	t         *nftTable
	c         *nftChain
	r         *nftRule
}

// transportProtos are the payload protocols that are a transport header,
// by protocol number.
var transportProtos = map[string]int{"tcp": 6, "udp": 17, "udplite": 136, "sctp": 132, "dccp": 33, "icmp": 1, "icmpv6": 58}

// payloadProto is the header a match's left side reads: a payload field,
// or one inside a bitwise operation ("tcp flags & (syn|ack)", "ip frag-off
// & 0x1fff"); "" when it reads none.
func payloadProto(l map[string]any) string {
	if p, ok := l["payload"]; ok {
		return jField(p, "protocol")
	}
	for _, op := range []string{"&", "|", "^", ">>", "<<"} {
		if ops := jList(l[op]); len(ops) > 0 {
			if inner := jObj(ops[0]); inner != nil {
				return payloadProto(inner)
			}
		}
	}
	return ""
}

// The packet judged is a client's first packet: unfragmented (no MF bit,
// offset 0), with the DF bit unknown.
const fragOffsetMF = 0x3fff &^ 0x4000 // the MF bit and the fragment offset

// leaf applies a match of one expression against values; it returns a
// reason when it cannot.
func (nc *nftCompiler) leaf(r *Rule, l map[string]any, op string, vals []any) string {
	neg := op == "!="
	if op == "!" {
		// "tcp flags ! fin,syn,...": none of these flags is set (nft
		// lists "tcp flags & (fin|syn|...) == 0x0" so)
		if p := jObj(l["payload"]); p != nil && jField(p, "protocol") == "tcp" && jField(p, "field") == "flags" {
			var mask uint8
			for _, val := range vals {
				m, ok := flagMask(val)
				if !ok {
					return "tcp flags match not evaluated"
				}
				mask |= m
			}
			nc.requireProto(r, 6)
			r.m.x.flags = append(r.m.x.flags, flagMatch{mask: mask, comp: 0})
			return ""
		}
	}
	if op != "==" && op != "!=" && op != "in" {
		return nc.ordered(r, l, op, vals)
	}
	for key, v := range l {
		switch key {
		case "payload":
			proto, field := jField(v, "protocol"), jField(v, "field")
			if proto == "tcp" && field == "flags" && op == "==" {
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
			return nc.payload(r, proto, field, neg, vals)
		case "meta":
			return nc.meta(r, jField(v, "key"), neg, vals)
		case "ct":
			return nc.ct(r, jField(v, "key"), jField(v, "dir"), op, vals)
		case "fib":
			result := jField(v, "result")
			flags := atomStrings(jObj(v)["flags"])
			if result == "type" && slices.Contains(flags, "daddr") {
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
			if (result == "oif" || result == "oifname") && slices.Contains(flags, "saddr") && len(vals) == 1 {
				if present, ok := vals[0].(bool); ok {
					// "fib saddr . iif oif missing": no route back out of
					// the input interface (strict); without iif, none at all
					r.m.x.rpf = &rpf{loose: !slices.Contains(flags, "iif"), failing: present == neg,
						why: "fib " + strings.Join(flags, " . ") + " " + result + " (the reverse-path check depends on the routing table, which was not read)"}
					return ""
				}
			}
			return "fib " + strings.Join(flags, " . ") + " " + result + " (depends on the routing table)"
		case "&":
			operands := jList(v)
			if len(operands) == 2 && isMetaMark(operands[0]) {
				if mask, ok := jInt(operands[1]); ok {
					return markMatches(r, uint32(mask), neg, vals)
				}
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
			if len(operands) == 2 && isFragOff(operands[0]) && len(vals) == 1 {
				// "ip frag-off & 0x1fff != 0": a fragment test, decided for
				// the unfragmented packet judged when the mask leaves DF out
				mask, ok1 := jInt(operands[1])
				want, ok2 := jInt(vals[0])
				if ok1 && ok2 && mask&^fragOffsetMF == 0 {
					if (want == 0) == neg {
						r.m.never = true
					}
					return ""
				}
			}
			return "nft bitwise match " + clip(jText(v)) + " not evaluated"
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
func (nc *nftCompiler) ordered(r *Rule, l map[string]any, op string, vals []any) string {
	if p, ok := l["payload"]; ok && len(vals) == 1 {
		field := jField(p, "field")
		if n64, ok := jInt(vals[0]); ok && (field == "dport" || field == "sport") {
			n := int(n64)
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
			return nc.ports(r, jField(p, "protocol"), field, false, []PortRange{pr})
		}
	}
	return "nft match with " + op + " not evaluated"
}

// isFragOff: the IPv4 header's flags and fragment offset field.
func isFragOff(v any) bool {
	p := jObj(jObj(v)["payload"])
	return p != nil && jField(p, "protocol") == "ip" && jField(p, "field") == "frag-off"
}

func isTCPFlags(v any) bool {
	p := jObj(jObj(v)["payload"])
	return p != nil && jField(p, "protocol") == "tcp" && jField(p, "field") == "flags"
}

// flagMask reads tcp flags: "syn", ["fin", "syn"], {"|": [...]}.
func flagMask(v any) (uint8, bool) {
	if s, ok := jStr(v); ok {
		f, ok := flagNames[strings.ToUpper(s)]
		return f, ok
	}
	if n, ok := jInt(v); ok {
		return uint8(n), n >= 0 && n < 256
	}
	list := jList(v)
	if list == nil {
		list = jList(jObj(v)["|"])
	}
	if len(list) == 0 {
		return 0, false
	}
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

func (nc *nftCompiler) payload(r *Rule, proto, field string, neg bool, vals []any) string {
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
		r.m.andAddrs(set, neg, field == "saddr", (*matchSet).andDst)
		return ""
	case (proto == "ip" && field == "protocol") || (proto == "ip6" && field == "nexthdr"):
		return nc.protoMatch(r, neg, vals)
	case field == "dport" || field == "sport":
		rs, err := portValues(vals)
		if err != "" {
			return err
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
			var set [4]uint64
			for _, t := range types {
				set[t/64] |= 1 << (t % 64)
			}
			r.m.x.icmp = append(r.m.x.icmp, icmpMatch{typ: -1, codeLo: 0, codeHi: 255, set: &set})
			return ""
		}
		r.m.x.icmp = append(r.m.x.icmp, icmpMatch{typ: types[0], codeLo: 0, codeHi: 255})
		return ""
	case proto == "tcp" && field == "flags":
		var m uint8
		for _, v := range vals {
			f, ok := flagMask(v)
			if !ok {
				return "tcp flags " + clip(jText(v)) + " not evaluated"
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

// portValues reads every value as a port or range.
func portValues(vals []any) ([]PortRange, string) {
	rs := make([]PortRange, 0, len(vals))
	for _, v := range vals {
		pr, err := portValue(v)
		if err != "" {
			return nil, err
		}
		rs = append(rs, pr)
	}
	return rs, ""
}

func portValue(v any) (PortRange, string) {
	if n, ok := jInt(v); ok && n >= 0 && n <= 65535 {
		return PortRange{uint16(n), uint16(n)}, ""
	}
	if s, ok := jStr(v); ok {
		p, err := parsePort(s)
		if err != nil {
			return PortRange{}, "port " + s + " not understood"
		}
		return PortRange{p, p}, ""
	}
	if rg := jList(jObj(v)["range"]); len(rg) == 2 {
		lo, e1 := portValue(rg[0])
		hi, e2 := portValue(rg[1])
		if e1 == "" && e2 == "" && lo.Lo <= hi.Lo {
			return PortRange{lo.Lo, hi.Lo}, ""
		}
	}
	return PortRange{}, "port " + clip(jText(v)) + " not understood"
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
	if kind == portDst && !neg && r.DPorts() == nil {
		r.writeMore().dports = rs
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
			r.writeMore().proto = name
		} else {
			r.writeMore().proto = strconv.Itoa(p)
		}
	default:
		var c protoCond
		c.set[p/64] |= 1 << (p % 64)
		m.x.protos = append(m.x.protos, c)
	}
}

func (nc *nftCompiler) protoMatch(r *Rule, neg bool, vals []any) string {
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
func markMatches(r *Rule, mask uint32, neg bool, vals []any) string {
	if len(vals) != 1 {
		return "meta mark set match not evaluated"
	}
	v, ok := jInt(vals[0])
	if !ok || v < 0 || v > 0xffffffff {
		return "meta mark " + clip(jText(vals[0])) + " not evaluated"
	}
	r.m.x.marks = append(r.m.x.marks, markMatch{mask: mask, val: uint32(v) & mask, neg: neg})
	return ""
}

func (nc *nftCompiler) meta(r *Rule, key string, neg bool, vals []any) string {
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
	case "skuid":
		// kept to be decided on a reply of a socket of known uid
		// (ownerMatch); its reason stays where it is not
		why := "meta skuid"
		o := &ownerMatch{why: why} // anew: a rule's branches share the old one
		if old := r.m.x.owner; old != nil {
			*o = *old
			o.uids = slices.Clone(old.uids)
		}
		r.m.x.owner = o
		u, ok := uidValues(vals)
		if !ok || o.why != why {
			o.unsure = true
			return why // not understood: said so
		}
		u.neg = neg
		o.uids = append(o.uids, u)
		if !slices.Contains(r.m.x.runtime, why) {
			r.m.x.runtime = append(r.m.x.runtime, why) // understood, decided where the uid is known
		}
		return ""
	}
	return "meta " + key
}

// uidValues reads the values of a meta skuid match: numbers and ranges
// (nft prints a user name only when asked to).
func uidValues(vals []any) (uidMatch, bool) {
	var u uidMatch
	num := func(v any) (uint32, bool) {
		n, ok := jInt(v)
		return uint32(n), ok && n >= 0 && n <= 1<<32-1
	}
	for _, v := range vals {
		if n, ok := num(v); ok {
			u.ranges = append(u.ranges, [2]uint32{n, n})
			continue
		}
		rg := jList(jObj(v)["range"])
		if len(rg) != 2 {
			return u, false
		}
		lo, ok1 := num(rg[0])
		hi, ok2 := num(rg[1])
		if !ok1 || !ok2 || lo > hi {
			return u, false
		}
		u.ranges = append(u.ranges, [2]uint32{lo, hi})
	}
	return u, len(u.ranges) > 0
}

// ctStatusBits: the conntrack status bits a NEW connection may carry.
var ctStatusBits = map[string]uint8{"dnat": stDNAT, "snat": stSNAT}

func (nc *nftCompiler) ct(r *Rule, key, dir, op string, vals []any) string {
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
	if f, field, ok := strings.Cut(key, " "); ok && dir == "original" && (field == "saddr" || field == "daddr") && op != "<" && op != ">" {
		// ct original ip saddr / ip6 daddr: for a NEW connection the
		// source is the packet's, the destination the one the client
		// used, before any DNAT
		if hf := headerFamily(f); hf != "" && hf != nc.fam {
			r.m.never = true
			return ""
		}
		set, err := nc.addrs(vals)
		if err != "" {
			return err
		}
		r.m.andAddrs(set, neg, field == "saddr", (*matchSet).andOrigDst)
		return ""
	}
	if dir == "original" && (key == "proto-dst" || key == "proto-src") && op != "<" && op != ">" {
		rs, err := portValues(vals)
		if err != "" {
			return err
		}
		kind := portOrigDst
		if key == "proto-src" {
			kind = portSrc
		}
		r.m.x.ports = append(r.m.x.ports, portMatch{kind: kind, neg: neg, ranges: rs})
		return ""
	}
	if dir != "" {
		return "ct " + dir + " " + key
	}
	return "ct " + key
}

// addrs reads address values (single, prefix, range) into one set.
func (nc *nftCompiler) addrs(vals []any) (addrSet, string) {
	rs := make([]rng, 0, len(vals))
	for _, v := range vals {
		if s, ok := jStr(v); ok {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Is4() != (nc.fam == IPv4) {
				return addrSet{}, "address " + s + " not understood"
			}
			rs = append(rs, prefixRange(nc.fam, netip.PrefixFrom(a, a.BitLen())))
			continue
		}
		o := jObj(v)
		if p := jObj(o["prefix"]); p != nil {
			addr := jField(p, "addr")
			a, err := netip.ParseAddr(addr)
			n, ok := jInt(p["len"])
			if err != nil || !ok || a.Is4() != (nc.fam == IPv4) {
				return addrSet{}, "address " + clip(jText(v)) + " not understood"
			}
			pf, err := a.Prefix(int(n))
			if err != nil {
				return addrSet{}, "prefix " + clip(jText(v)) + " not understood"
			}
			rs = append(rs, prefixRange(nc.fam, pf))
			continue
		}
		if r := jList(o["range"]); len(r) == 2 {
			l, _ := jStr(r[0])
			h, _ := jStr(r[1])
			lo, e1 := netip.ParseAddr(l)
			hi, e2 := netip.ParseAddr(h)
			if e1 != nil || e2 != nil || lo.Is4() != (nc.fam == IPv4) || hi.Less(lo) {
				return addrSet{}, "address range " + clip(jText(v)) + " not understood"
			}
			rs = append(rs, rng{addrToU(lo), addrToU(hi)})
			continue
		}
		return addrSet{}, "address " + clip(jText(v)) + " not understood"
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
