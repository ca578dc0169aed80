package nftlang

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fwaudit/fwaudit/firewall/services"
)

// Values of nft text, typed by what they are compared with, and the
// sets and maps that hold them, as `nft -j list ruleset` prints them.

// nft's data types, by the names nft gives them
const (
	tyAddr4   = "ipv4_addr"
	tyAddr6   = "ipv6_addr"
	tyPort    = "inet_service"
	tyProto   = "inet_proto"
	tyIfname  = "ifname"
	tyMark    = "mark"
	tyState   = "ct_state"
	tyStatus  = "ct_status"
	tyDir     = "ct_dir"
	tyICMP    = "icmp_type"
	tyICMP6   = "icmpv6_type"
	tyCode    = "icmp_code"
	tyFlags   = "tcp_flag"
	tyNfproto = "nf_proto"
	tyPkttype = "pkt_type"
	tyFibType = "fib_addrtype"
	tyBool    = "boolean"
	tyIface   = "iface_index"
	tyVerdict = "verdict"
)

// bitmask types: a bare value means "any of these bits" (op "in")
var bitmaskType = map[string]bool{tyState: true, tyStatus: true, tyFlags: true}

// setKeyTypes are the key types a declared set may have here.
var setKeyTypes = map[string]bool{tyAddr4: true, tyAddr6: true, tyPort: true, tyProto: true, tyIfname: true, tyMark: true, tyState: true, tyICMP: true, tyICMP6: true}

// /etc/protocols names nft prints
var ntProtoNames = map[string]int{"icmp": 1, "igmp": 2, "ipencap": 4, "tcp": 6, "udp": 17, "dccp": 33, "ipv6": 41, "gre": 47, "esp": 50, "ah": 51,
	"ipv6-icmp": 58, "ospf": 89, "ipip": 94, "pim": 103, "vrrp": 112, "sctp": 132, "udplite": 136}

var ntStateBits = map[string]int{"invalid": 1, "established": 2, "related": 4, "new": 8, "untracked": 64}
var ntStatusNames = map[string]bool{"expected": true, "seen-reply": true, "assured": true, "confirmed": true, "snat": true, "dnat": true, "dying": true}
var ntFlagBits = map[string]int{"fin": 1, "syn": 2, "rst": 4, "psh": 8, "ack": 16, "urg": 32, "ecn": 64, "cwr": 128}
var ntFlagOrder = []string{"fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr"}
var ntICMPTypes = map[string]int{"echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5, "echo-request": 8,
	"router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11, "parameter-problem": 12, "timestamp-request": 13,
	"timestamp-reply": 14, "info-request": 15, "info-reply": 16, "address-mask-request": 17, "address-mask-reply": 18}
var ntICMP6Types = map[string]int{"destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3, "parameter-problem": 4,
	"echo-request": 128, "echo-reply": 129, "mld-listener-query": 130, "mld-listener-report": 131, "mld-listener-done": 132,
	"nd-router-solicit": 133, "nd-router-advert": 134, "nd-neighbor-solicit": 135, "nd-neighbor-advert": 136, "nd-redirect": 137,
	"router-renumbering": 138, "ind-neighbor-solicit": 141, "ind-neighbor-advert": 142, "mld2-listener-report": 143}
var ntFibTypes = map[string]bool{"unspec": true, "unicast": true, "local": true, "broadcast": true, "anycast": true, "multicast": true,
	"blackhole": true, "unreachable": true, "prohibit": true}
var ntPkttypes = map[string]bool{"host": true, "unicast": true, "broadcast": true, "multicast": true, "other": true}

func jnum(n int) json.Number { return json.Number(strconv.Itoa(n)) }

// numberWord reads a decimal or 0x hex number up to max.
func numberWord(s string, max uint64) (uint64, bool) {
	base := 10
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		base, s = 16, s[2:]
	}
	if s == "" || (base == 10 && len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(s, base, 64)
	return n, err == nil && n <= max
}

// ntVal is one value read: its JSON form, and for addresses and ports
// the interval it covers.
type ntVal struct {
	v      any
	lo, hi [16]byte
	ival   bool // lo/hi are set
	single bool // one value, not a prefix or range
}

func addrKey(a netip.Addr) [16]byte {
	if a.Is4() {
		var k [16]byte
		b := a.As4()
		copy(k[12:], b[:])
		return k
	}
	return a.As16()
}

func portKey(n uint64) [16]byte {
	var k [16]byte
	k[14], k[15] = byte(n>>8), byte(n)
	return k
}

func keyAddr(k [16]byte, v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte(k[12:]))
	}
	return netip.AddrFrom16(k)
}

func keyPort(k [16]byte) int { return int(k[14])<<8 | int(k[15]) }

func keyNext(k [16]byte) ([16]byte, bool) {
	for i := 15; i >= 0; i-- {
		k[i]++
		if k[i] != 0 {
			return k, true
		}
	}
	return k, false
}

// prefixLen: [lo, hi] is one prefix of this length (bits counted in a
// width-bit key), or -1.
func prefixLen(lo, hi [16]byte, width int) int {
	ones := 0
	seenOne := false
	for i := 0; i < 16; i++ {
		x := lo[i] ^ hi[i]
		if lo[i]&x != 0 || hi[i]&x != x {
			return -1
		}
		for b := 7; b >= 0; b-- {
			bit := x>>uint(b)&1 == 1
			if bit {
				seenOne = true
				ones++
			} else if seenOne {
				return -1
			}
		}
	}
	return width - ones
}

// value reads one value of type ty from a word or string token.
func (p *ntParser) value(ty string, t ntok) (ntVal, error) {
	bad := func() (ntVal, error) { return ntVal{}, p.errAt(t, "%s value %s not handled", ty, tokText(t)) }
	if t.kind != tkWord && t.kind != tkString {
		return bad()
	}
	s := t.s
	if t.kind == tkString && ty != tyIfname && ty != tyIface {
		return bad()
	}
	switch ty {
	case tyAddr4, tyAddr6:
		v4 := ty == tyAddr4
		parse := func(x string) (netip.Addr, bool) {
			a, err := netip.ParseAddr(x)
			if err != nil || a.Is4() != v4 || a.Zone() != "" || (v4 && strings.Count(x, ".") != 3) || a.Is4In6() {
				return a, false
			}
			return a, true
		}
		if l, h, ok := strings.Cut(s, "-"); ok {
			lo, ok1 := parse(l)
			hi, ok2 := parse(h)
			if !ok1 || !ok2 || hi.Less(lo) || hi == lo {
				return bad()
			}
			return ntVal{v: map[string]any{"range": []any{lo.String(), hi.String()}}, lo: addrKey(lo), hi: addrKey(hi), ival: true}, nil
		}
		if a, l, ok := strings.Cut(s, "/"); ok {
			addr, ok1 := parse(a)
			n, ok2 := smallInt(l, false)
			if !ok1 || !ok2 || n > addr.BitLen() || (len(l) > 1 && l[0] == '0') {
				return bad()
			}
			pf := netip.PrefixFrom(addr, n).Masked()
			lo := addrKey(pf.Addr())
			hi := lo
			for i := n; i < addr.BitLen(); i++ {
				bit := 128 - addr.BitLen() + i
				hi[bit/8] |= 0x80 >> uint(bit%8)
			}
			if n == addr.BitLen() {
				return ntVal{v: pf.Addr().String(), lo: lo, hi: hi, ival: true, single: true}, nil
			}
			return ntVal{v: map[string]any{"prefix": map[string]any{"addr": pf.Addr().String(), "len": jnum(n)}}, lo: lo, hi: hi, ival: true}, nil
		}
		a, ok := parse(s)
		if !ok {
			return bad()
		}
		k := addrKey(a)
		return ntVal{v: a.String(), lo: k, hi: k, ival: true, single: true}, nil
	case tyPort:
		one := func(x string) (uint64, bool) {
			if n, ok := numberWord(x, 65535); ok {
				return n, true
			}
			if n, ok := services.Port(x); ok && x == strings.ToLower(x) {
				return uint64(n), true
			}
			return 0, false
		}
		if n, ok := one(s); ok {
			return ntVal{v: jnum(int(n)), lo: portKey(n), hi: portKey(n), ival: true, single: true}, nil
		}
		if l, h, ok := strings.Cut(s, "-"); ok {
			lo, ok1 := numberWord(l, 65535)
			hi, ok2 := numberWord(h, 65535)
			if ok1 && ok2 && lo <= hi {
				return ntVal{v: map[string]any{"range": []any{jnum(int(lo)), jnum(int(hi))}}, lo: portKey(lo), hi: portKey(hi), ival: true}, nil
			}
		}
		return bad()
	case tyProto:
		if _, ok := ntProtoNames[s]; ok {
			return ntVal{v: s, single: true}, nil
		}
		if n, ok := numberWord(s, 255); ok {
			for name, v := range ntProtoNames {
				if uint64(v) == n {
					return ntVal{v: name, single: true}, nil
				}
			}
		}
		return bad()
	case tyIfname:
		if s == "" || len(s) > 15 || strings.ContainsAny(s, "\\") {
			return bad()
		}
		if t.kind == tkWord && !isIdent(strings.TrimSuffix(s, "*")) {
			return bad()
		}
		return ntVal{v: s, single: true}, nil
	case tyIface:
		// an interface index is looked up when the rule is loaded: only
		// lo exists everywhere
		if s != "lo" {
			return bad()
		}
		return ntVal{v: s, single: true}, nil
	case tyMark:
		n, ok := numberWord(s, 0xffffffff)
		if !ok {
			return bad()
		}
		return ntVal{v: jnum(int(n)), single: true}, nil
	case tyState:
		if _, ok := ntStateBits[s]; ok {
			return ntVal{v: s, single: true}, nil
		}
	case tyStatus:
		if ntStatusNames[s] {
			return ntVal{v: s, single: true}, nil
		}
	case tyDir:
		if s == "original" || s == "reply" {
			return ntVal{v: s, single: true}, nil
		}
	case tyFlags:
		if _, ok := ntFlagBits[s]; ok {
			return ntVal{v: s, single: true}, nil
		}
	case tyICMP, tyICMP6:
		names := ntICMPTypes
		if ty == tyICMP6 {
			names = ntICMP6Types
		}
		if _, ok := names[s]; ok {
			return ntVal{v: s, single: true}, nil
		}
		if n, ok := numberWord(s, 255); ok {
			for name, v := range names {
				if uint64(v) == n {
					return ntVal{v: name, single: true}, nil
				}
			}
			return ntVal{v: jnum(int(n)), single: true}, nil
		}
	case tyCode:
		if n, ok := numberWord(s, 255); ok {
			return ntVal{v: jnum(int(n)), single: true}, nil
		}
	case tyNfproto:
		if s == "ipv4" || s == "ipv6" {
			return ntVal{v: s, single: true}, nil
		}
	case tyPkttype:
		if ntPkttypes[s] {
			return ntVal{v: s, single: true}, nil
		}
	case tyFibType:
		if ntFibTypes[s] {
			return ntVal{v: s, single: true}, nil
		}
	case tyBool:
		if s == "exists" || s == "missing" {
			return ntVal{v: s == "exists", single: true}, nil
		}
	}
	return bad()
}

// ntElem is one element of a set being read.
type ntElem struct {
	parts []ntVal // one per part of a concatenation
	opts  map[string]any
	data  any // a map's value
	tok   ntok
}

func (e *ntElem) key() any {
	if len(e.parts) == 1 {
		return e.parts[0].v
	}
	vs := make([]any, len(e.parts))
	for i, pv := range e.parts {
		vs[i] = pv.v
	}
	return map[string]any{"concat": vs}
}

// json is the element as nft lists it.
func (e *ntElem) json(isMap bool) any {
	k := e.key()
	if len(e.opts) > 0 {
		o := map[string]any{"val": k}
		for n, v := range e.opts {
			o[n] = v
		}
		k = map[string]any{"elem": o}
	}
	if isMap {
		return []any{k, e.data}
	}
	return k
}

// elemList reads "{ e, e, ... }" (the brace already read) of the key
// types tys; dataTy is the type of a map's values ("" for a set).
func (p *ntParser) elemList(tys []string, dataTy string, withOpts bool) ([]*ntElem, error) {
	var out []*ntElem
	for {
		p.skipNL()
		if p.isPunct("}") {
			p.next()
			return out, nil
		}
		if p.isPunct("{") {
			// a define holding a set, used inside a set: its elements
			p.next()
			inner, err := p.elemList(tys, dataTy, withOpts)
			if err != nil {
				return nil, err
			}
			out = append(out, inner...)
		} else {
			e := &ntElem{tok: p.peek()}
			for i, ty := range tys {
				if i > 0 {
					if err := p.expectPunct("."); err != nil {
						return nil, err
					}
				}
				v, err := p.value(ty, p.next())
				if err != nil {
					return nil, err
				}
				if len(tys) > 1 && !v.single {
					return nil, p.errAt(e.tok, "a range or prefix in a concatenation not handled")
				}
				e.parts = append(e.parts, v)
			}
			if err := p.elemOpts(e, withOpts); err != nil {
				return nil, err
			}
			if dataTy != "" {
				if err := p.expectPunct(":"); err != nil {
					return nil, err
				}
				if dataTy != tyVerdict {
					return nil, p.errAt(e.tok, "map values of type %s not handled", dataTy)
				}
				v, err := p.verdict()
				if err != nil {
					return nil, err
				}
				e.data = v
			}
			out = append(out, e)
		}
		p.skipNL()
		if p.isPunct(",") {
			p.next()
			continue
		}
		if !p.isPunct("}") {
			return nil, p.errAt(p.peek(), "expected ',' or '}' in a set, found %s", tokText(p.peek()))
		}
	}
}

// elemOpts reads an element's timeout, expires, comment and counter.
func (p *ntParser) elemOpts(e *ntElem, allowed bool) error {
	for p.peek().kind == tkWord {
		w := p.peek()
		switch w.s {
		case "timeout", "expires":
			p.next()
			d, err := p.duration(p.next())
			if err != nil {
				return err
			}
			if e.opts == nil {
				e.opts = map[string]any{}
			}
			e.opts[w.s] = jnum(d)
		case "comment":
			p.next()
			c := p.next()
			if c.kind != tkString {
				return p.errAt(c, "comment wants a quoted string")
			}
			if e.opts == nil {
				e.opts = map[string]any{}
			}
			e.opts["comment"] = c.s
		default:
			return nil
		}
		if !allowed {
			return p.errAt(w, "element %s here not handled", w.s)
		}
	}
	return nil
}

// duration reads 1d2h3m4s (whole seconds).
func (p *ntParser) duration(t ntok) (int, error) {
	s := t.s
	if t.kind != tkWord || s == "" {
		return 0, p.errAt(t, "duration wanted")
	}
	total := 0
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 {
			return 0, p.errAt(t, "duration %q not handled", t.s)
		}
		n, _ := strconv.Atoi(s[:i])
		s = s[i:]
		j := 0
		for j < len(s) && (s[j] < '0' || s[j] > '9') {
			j++
		}
		mul := map[string]int{"d": 86400, "h": 3600, "m": 60, "s": 1}[s[:j]]
		if mul == 0 {
			return 0, p.errAt(t, "duration %q not handled", t.s)
		}
		s = s[j:]
		total += n * mul
		if total > 1<<30 {
			return 0, p.errAt(t, "duration %q too long", t.s)
		}
	}
	return total, nil
}

// verdict reads accept, drop, return, continue, jump C or goto C.
func (p *ntParser) verdict() (any, error) {
	w, err := p.word()
	if err != nil {
		return nil, err
	}
	switch w.s {
	case "accept", "drop", "return", "continue":
		return map[string]any{w.s: nil}, nil
	case "jump", "goto":
		c, err := p.name()
		if err != nil {
			return nil, err
		}
		p.pendingRefs = append(p.pendingRefs, c)
		return map[string]any{w.s: map[string]any{"target": c.s}}, nil
	}
	return nil, p.errAt(w, "verdict %q not handled", w.s)
}

// how intervals treats elements that overlap or touch
const (
	mergeNone      = iota // refused
	mergeAll              // merged (auto-merge)
	mergeInside           // one inside another: merged; else refused
	mergeNoOverlap        // overlapping refused, adjacent kept apart
)

// intervals sorts and checks interval elements (one-part keys with
// intervals): merged where merge, else refused where they overlap or
// touch. Elements come sorted from nft's own listing, so this is one
// pass after a check that they are sorted.
func (p *ntParser) intervals(es []*ntElem, mode int, v4 bool, ty string, tok ntok) ([]*ntElem, error) {
	if !slices.IsSortedFunc(es, func(a, b *ntElem) int { return bytes.Compare(a.parts[0].lo[:], b.parts[0].lo[:]) }) {
		slices.SortStableFunc(es, func(a, b *ntElem) int { return bytes.Compare(a.parts[0].lo[:], b.parts[0].lo[:]) })
	}
	out := make([]*ntElem, 0, len(es))
	changed := map[*ntElem]bool{}
	for _, e := range es {
		if len(out) > 0 {
			last := out[len(out)-1]
			lv, ev := &last.parts[0], &e.parts[0]
			next, ok := keyNext(lv.hi)
			touch := !ok || bytes.Compare(ev.lo[:], next[:]) <= 0
			if mode == mergeNoOverlap && bytes.Compare(ev.lo[:], lv.hi[:]) > 0 {
				touch = false // adjacent: kept apart
			}
			inside := bytes.Compare(ev.hi[:], lv.hi[:]) <= 0
			if touch {
				if mode == mergeNone || mode == mergeNoOverlap || (mode == mergeInside && !inside) || last.opts != nil || e.opts != nil || last.data != nil {
					return nil, p.errAt(e.tok, "overlapping or adjacent interval elements not handled")
				}
				if bytes.Compare(ev.hi[:], lv.hi[:]) > 0 {
					lv.hi = ev.hi
					changed[last] = true
				}
				continue
			}
		}
		out = append(out, e)
	}
	for _, e := range out {
		v := &e.parts[0]
		if !changed[e] && v.single {
			continue
		}
		v.v = intervalJSON(v.lo, v.hi, ty, v4)
	}
	return out, nil
}

// intervalJSON is [lo, hi] as nft lists an interval set's element: an
// address, a prefix or a range.
func intervalJSON(lo, hi [16]byte, ty string, v4 bool) any {
	if ty == tyPort {
		l, h := keyPort(lo), keyPort(hi)
		if l == h {
			return jnum(l)
		}
		return map[string]any{"range": []any{jnum(l), jnum(h)}}
	}
	a := keyAddr(lo, v4)
	if lo == hi {
		return a.String()
	}
	width := 128
	if v4 {
		width = 32
	}
	if n := prefixLen(lo, hi, 128); n >= 0 && n >= 128-width {
		return map[string]any{"prefix": map[string]any{"addr": a.String(), "len": jnum(n - (128 - width))}}
	}
	return map[string]any{"range": []any{a.String(), keyAddr(hi, v4).String()}}
}

// setDecl reads "set name { ... }" or "map name { ... }" after the name.
func (p *ntParser) setDecl(tb *ntTable, n ntok, isMap, create bool) error {
	s := tb.setByName[n.s]
	if s != nil && (create || s.isMap != isMap) {
		return p.errAt(n, "set %s declared again", n.s)
	}
	fresh := s == nil
	if fresh {
		s = &ntSet{name: n.s, isMap: isMap, decl: n, extra: map[string]any{}}
	}
	if err := p.expectPunct("{"); err != nil {
		return err
	}
	var pendingElems *ntok
	autoMerge, mergeFirst := false, false
	for {
		if !p.inBlock() {
			break
		}
		w, err := p.word()
		if err != nil {
			return err
		}
		switch w.s {
		case "type", "typeof":
			if !fresh {
				return p.errAt(w, "set %s declared again", n.s)
			}
			var keys []string
			for {
				var ty string
				if w.s == "type" {
					t, err := p.word()
					if err != nil {
						return err
					}
					ty = t.s
				} else {
					sel, err := p.selector(tb, true)
					if err != nil {
						return err
					}
					ty = sel.ty
				}
				if !setKeyTypes[ty] {
					return p.errAt(w, "set key type %s not handled", ty)
				}
				keys = append(keys, ty)
				if !p.isPunct(".") {
					break
				}
				p.next()
			}
			s.keyTypes = keys
			if isMap {
				if err := p.expectPunct(":"); err != nil {
					return err
				}
				d, err := p.word()
				if err != nil {
					return err
				}
				if d.s != tyVerdict {
					return p.errAt(d, "map values of type %s not handled", d.s)
				}
				s.dataType = d.s
			}
		case "flags":
			for {
				f, err := p.word()
				if err != nil {
					return err
				}
				switch f.s {
				case "interval", "constant", "timeout", "dynamic":
				default:
					return p.errAt(f, "set flag %s not handled", f.s)
				}
				if !slices.Contains(s.flags, f.s) {
					s.flags = append(s.flags, f.s)
				}
				if !p.isPunct(",") {
					break
				}
				p.next()
			}
		case "auto-merge":
			autoMerge = true
			mergeFirst = pendingElems == nil
		case "comment":
			c := p.next()
			if c.kind != tkString {
				return p.errAt(c, "comment wants a quoted string")
			}
			s.extra["comment"] = c.s
		case "timeout", "gc-interval":
			d, err := p.duration(p.next())
			if err != nil {
				return err
			}
			s.extra[w.s] = jnum(d)
		case "size":
			t := p.next()
			v, ok := numberWord(t.s, 1<<31)
			if !ok {
				return p.errAt(t, "size wanted")
			}
			s.extra["size"] = jnum(int(v))
		case "policy":
			t, err := p.word()
			if err != nil || (t.s != "performance" && t.s != "memory") {
				return p.errAt(t, "set policy not handled")
			}
		case "elements":
			if t := p.next(); t.kind != tkOp || t.s != "=" {
				return p.errAt(t, "expected '=' after elements")
			}
			if err := p.expectPunct("{"); err != nil {
				return err
			}
			wc := w
			pendingElems = &wc
			if err := p.addElems(tb, s, autoMerge); err != nil {
				return err
			}
		default:
			return p.errAt(w, "%q in a set not handled", w.s)
		}
		if err := p.endStmt(true); err != nil {
			return err
		}
	}
	if len(s.keyTypes) == 0 {
		return p.errAt(n, "set %s has no type", n.s)
	}
	if slices.Contains(s.flags, "interval") && len(s.keyTypes) > 1 {
		return p.errAt(n, "interval set of concatenations not handled")
	}
	if autoMerge {
		s.extra["auto-merge"] = true
	}
	if pendingElems != nil && autoMerge && !mergeFirst {
		return p.errAt(*pendingElems, "auto-merge after the elements not handled")
	}
	if fresh {
		tb.sets = append(tb.sets, s)
		tb.setByName[n.s] = s
	}
	return nil
}

// setElements reads "add element ... { ... }" (after the set's name).
func (p *ntParser) setElements(tb *ntTable, s *ntSet, kw ntok) error {
	if err := p.expectPunct("{"); err != nil {
		return err
	}
	am, _ := s.extra["auto-merge"].(bool)
	return p.addElems(tb, s, am)
}

func (p *ntParser) addElems(tb *ntTable, s *ntSet, autoMerge bool) error {
	if len(s.keyTypes) == 0 {
		return p.errAt(s.decl, "elements before the set's type")
	}
	start := p.peek()
	es, err := p.elemList(s.keyTypes, s.dataType, true)
	if err != nil {
		return err
	}
	interval := slices.Contains(s.flags, "interval")
	timeout := slices.Contains(s.flags, "timeout")
	seen := make(map[string]bool, len(s.plain))
	for _, e := range es {
		if e.opts != nil && (e.opts["timeout"] != nil || e.opts["expires"] != nil) && !timeout {
			return p.errAt(e.tok, "element timeout in a set without the timeout flag")
		}
		for _, pv := range e.parts {
			if !pv.single && !interval {
				return p.errAt(e.tok, "a range or prefix in a set without the interval flag")
			}
		}
	}
	if interval {
		// merge the old and new elements as one list
		all := make([]*ntElem, 0, len(s.ivals)+len(es))
		all = append(all, s.ivals...)
		all = append(all, es...)
		v4 := s.keyTypes[0] == tyAddr4
		if s.keyTypes[0] != tyAddr4 && s.keyTypes[0] != tyAddr6 && s.keyTypes[0] != tyPort {
			return p.errAt(start, "interval set of %s not handled", s.keyTypes[0])
		}
		mode := mergeNone
		if autoMerge {
			mode = mergeAll
		}
		merged, err := p.intervals(all, mode, v4, s.keyTypes[0], start)
		if err != nil {
			return err
		}
		s.ivals = merged
		return nil
	}
	for _, old := range s.plain {
		seen[Compact(old.key())] = true
	}
	for _, e := range es {
		k := Compact(e.key())
		if seen[k] {
			return p.errAt(e.tok, "element listed twice")
		}
		seen[k] = true
		s.plain = append(s.plain, e)
	}
	return nil
}

// obj is v as an object (nil when it is not one).
func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// str is the string field k of object m.
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// Compact is a tree's value (maps, lists, strings, json.Number, bool,
// nil) as compact JSON; object keys in any order.
func Compact(v any) string {
	var b bytes.Buffer
	WriteJSON(&b, v)
	return b.String()
}

// WriteJSON writes a tree's value (maps, lists, strings, json.Number,
// bool, nil) as JSON; object keys in any order.
func WriteJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case json.Number:
		b.WriteString(string(x))
	case string:
		writeJSONString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			WriteJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		first := true
		for k, e := range x {
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeJSONString(b, k)
			b.WriteByte(':')
			WriteJSON(b, e)
		}
		b.WriteByte('}')
	default:
		panic("nft text: unexpected value in tree")
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b.WriteByte(c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[c>>4])
				b.WriteByte("0123456789abcdef"[c&15])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString(`\ufffd`)
		} else if r == '\u2028' || r == '\u2029' {
			b.WriteString(`\u202`)
			b.WriteByte("0123456789abcdef"[r&15])
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
}
