package nftlang

import (
	"slices"
	"strings"
)

// The statements of an nft rule in nft's text, as libnftables JSON.

// ntSel is a selector (the left side of a match): its JSON and type.
type ntSel struct {
	expr  any
	ty    string
	proto string // payload protocol ("tcp", "ip", ...), or ""
	field string
	tys   []string // the parts of a concatenation
}

func payload(proto, field string) map[string]any {
	return map[string]any{"payload": map[string]any{"protocol": proto, "field": field}}
}

func metaKey(k string) map[string]any {
	return map[string]any{"meta": map[string]any{"key": k}}
}

// payload and metaKey give the parser's one copy of each selector: a
// ruleset names the same few fields in rule after rule, and no step after
// the parser changes a tree it is given.
func (p *ntParser) payload(proto, field string) map[string]any {
	return p.sel([2]string{proto, field}, func() map[string]any { return payload(proto, field) })
}

func (p *ntParser) metaKey(k string) map[string]any {
	// no payload protocol is empty: the keys stay apart from payload's
	return p.sel([2]string{"", k}, func() map[string]any { return metaKey(k) })
}

func (p *ntParser) sel(key [2]string, build func() map[string]any) map[string]any {
	e, ok := p.sels[key]
	if !ok {
		e = build()
		p.sels[key] = e
	}
	return e
}

// selector reads one selector (not a concatenation).
func (p *ntParser) selector(tb *ntTable, single bool) (ntSel, error) {
	w, err := p.word()
	if err != nil {
		return ntSel{}, err
	}
	bad := func() (ntSel, error) { return ntSel{}, p.errAt(w, "%q not handled", w.s) }
	field := func() string {
		if p.peek().kind == tkWord {
			return p.next().s
		}
		return ""
	}
	fam := tb.family
	switch w.s {
	case "ip", "ip6":
		if (w.s == "ip" && fam == "ip6") || (w.s == "ip6" && fam == "ip") || fam == "arp" {
			return bad()
		}
		f := field()
		switch {
		case f == "saddr" || f == "daddr":
			ty := tyAddr4
			if w.s == "ip6" {
				ty = tyAddr6
			}
			return ntSel{expr: p.payload(w.s, f), ty: ty, proto: w.s, field: f}, nil
		case (w.s == "ip" && f == "protocol") || (w.s == "ip6" && f == "nexthdr"):
			return ntSel{expr: p.payload(w.s, f), ty: tyProto, proto: w.s, field: f}, nil
		}
		return ntSel{}, p.errAt(w, "%s %s not handled", w.s, f)
	case "tcp", "udp", "udplite", "sctp", "dccp", "th":
		f := field()
		if f == "dport" || f == "sport" {
			return ntSel{expr: p.payload(w.s, f), ty: tyPort, proto: w.s, field: f}, nil
		}
		if w.s == "tcp" && f == "flags" {
			return ntSel{expr: p.payload(w.s, f), ty: tyFlags, proto: w.s, field: f}, nil
		}
		return ntSel{}, p.errAt(w, "%s %s not handled", w.s, f)
	case "icmp", "icmpv6":
		if (w.s == "icmp" && fam == "ip6") || (w.s == "icmpv6" && fam == "ip") {
			return bad()
		}
		f := field()
		switch f {
		case "type":
			ty := tyICMP
			if w.s == "icmpv6" {
				ty = tyICMP6
			}
			return ntSel{expr: p.payload(w.s, f), ty: ty, proto: w.s, field: f}, nil
		case "code":
			return ntSel{expr: p.payload(w.s, f), ty: tyCode, proto: w.s, field: f}, nil
		}
		return ntSel{}, p.errAt(w, "%s %s not handled", w.s, f)
	case "meta":
		k := p.next()
		switch k.s {
		case "l4proto":
			return ntSel{expr: p.metaKey(k.s), ty: tyProto, field: k.s}, nil
		case "nfproto":
			if fam != "inet" {
				return bad()
			}
			return ntSel{expr: p.metaKey(k.s), ty: tyNfproto, field: k.s}, nil
		case "mark", "iifname", "oifname", "iif", "oif", "pkttype":
			return p.metaSel(k.s), nil
		}
		return ntSel{}, p.errAt(k, "meta %s not handled", k.s)
	case "mark", "iifname", "oifname", "iif", "oif", "pkttype":
		return p.metaSel(w.s), nil
	case "ct":
		k := p.next()
		ty := map[string]string{"state": tyState, "status": tyStatus, "direction": tyDir, "mark": tyMark}[k.s]
		if ty == "" {
			return ntSel{}, p.errAt(k, "ct %s not handled", k.s)
		}
		return ntSel{expr: map[string]any{"ct": map[string]any{"key": k.s}}, ty: ty, field: "ct " + k.s}, nil
	case "fib":
		if single {
			return bad()
		}
		var flags []any
		for {
			f := p.next()
			switch f.s {
			case "saddr", "daddr", "mark", "iif", "oif":
			default:
				return ntSel{}, p.errAt(f, "fib flag %s not handled", f.s)
			}
			flags = append(flags, f.s)
			if !p.isPunct(".") {
				break
			}
			p.next()
		}
		r := p.next()
		var ty string
		switch r.s {
		case "type":
			ty = tyFibType
		case "oif", "oifname":
			ty = tyBool
		default:
			return ntSel{}, p.errAt(r, "fib %s not handled", r.s)
		}
		return ntSel{expr: map[string]any{"fib": map[string]any{"result": r.s, "flags": flags}}, ty: ty, field: "fib"}, nil
	}
	return bad()
}

func (p *ntParser) metaSel(k string) ntSel {
	ty := map[string]string{"mark": tyMark, "iifname": tyIfname, "oifname": tyIfname, "iif": tyIface, "oif": tyIface, "pkttype": tyPkttype}[k]
	return ntSel{expr: p.metaKey(k), ty: ty, field: k}
}

// fibHooks: where the kernel allows a fib lookup.
func fibHooks(e any) []string {
	f := obj(obj(e)["fib"])
	flags, _ := f["flags"].([]any) // the reader's own: a list of names
	if f["result"] != "type" || slices.Contains(flags, any("iif")) {
		return []string{"prerouting", "input", "forward"}
	}
	if slices.Contains(flags, any("oif")) {
		return []string{"output", "postrouting", "forward"}
	}
	return []string{"prerouting", "input", "forward", "output", "postrouting"}
}

// dependency: the protocol a payload match's header needs, as the
// meta l4proto value that nft lists no more when it comes just before.
var payloadDep = map[string]string{"tcp": "tcp", "udp": "udp", "udplite": "udplite", "sctp": "sctp", "dccp": "dccp", "icmp": "icmp", "icmpv6": "ipv6-icmp"}

// rule reads one rule up to its end.
func (p *ntParser) rule(tb *ntTable, c *ntChain) (*ntRule, error) {
	r := &ntRule{}
	ended := false // a verdict was read
	first := p.peek()
	for {
		t := p.peek()
		if t.kind == tkNL || t.kind == tkEOF || (t.kind == tkPunct && (t.s == ";" || t.s == "}")) {
			break
		}
		if t.kind != tkWord {
			return nil, p.errAt(t, "unexpected %s in a rule", tokText(t))
		}
		if t.s == "comment" {
			p.next()
			s := p.next()
			if s.kind != tkString {
				return nil, p.errAt(s, "comment wants a quoted string")
			}
			r.comment = s.s
			n := p.peek()
			if !(n.kind == tkNL || n.kind == tkEOF || (n.kind == tkPunct && (n.s == ";" || n.s == "}"))) {
				return nil, p.errAt(n, "comment must end the rule")
			}
			break
		}
		if ended {
			return nil, p.errAt(t, "statement after a verdict not handled")
		}
		p.pendingRefs = p.pendingRefs[:0]
		stmts, verdict, err := p.statement(tb, c, r)
		if err != nil {
			return nil, err
		}
		for _, ref := range p.pendingRefs {
			c.refs = append(c.refs, ref.s)
			p.chainRefs = append(p.chainRefs, ntRef{tb: tb, tok: ref})
		}
		r.expr = append(r.expr, stmts...)
		ended = verdict
	}
	if len(r.expr) == 0 {
		return nil, p.errAt(first, "empty rule")
	}
	return r, nil
}

type ntRef struct {
	tb  *ntTable
	tok ntok
}

func (p *ntParser) restrict(c *ntChain, t ntok, what string, nat bool, hooks ...string) {
	c.restrict = append(c.restrict, ntRestrict{tok: t, what: what, hooks: hooks, nat: nat})
}

func isSingleMatch(e any, key string) (string, bool) {
	m := obj(obj(e)["match"])
	if m == nil || m["op"] != "==" {
		return "", false
	}
	l := obj(m["left"])
	var k string
	if x := obj(l["meta"]); x != nil {
		k = "meta " + str(x, "key")
	} else if x := obj(l["payload"]); x != nil {
		k = str(x, "protocol") + " " + str(x, "field")
	}
	if k != key {
		return "", false
	}
	s, ok := m["right"].(string)
	return s, ok
}

// statement reads one statement; verdict says it ends the rule.
func (p *ntParser) statement(tb *ntTable, c *ntChain, r *ntRule) ([]any, bool, error) {
	t := p.next()
	switch t.s {
	case "accept", "drop", "return", "continue":
		return []any{map[string]any{t.s: nil}}, true, nil
	case "jump", "goto":
		n, err := p.name()
		if err != nil {
			return nil, false, err
		}
		p.pendingRefs = append(p.pendingRefs, n)
		return []any{map[string]any{t.s: map[string]any{"target": n.s}}}, true, nil
	case "reject":
		p.restrict(c, t, "reject", false, "input", "forward", "output")
		if !p.isWord("with") {
			return []any{map[string]any{"reject": nil}}, true, nil
		}
		p.next()
		k := p.next()
		switch k.s {
		case "tcp":
			if w := p.next(); w.s != "reset" {
				return nil, false, p.errAt(w, "reject with tcp %s not handled", w.s)
			}
			hasTCP := false
			for _, e := range r.expr {
				if v, ok := isSingleMatch(e, "meta l4proto"); ok && v == "tcp" {
					hasTCP = true
				}
				if m := obj(obj(e)["match"]); m != nil {
					if pl := obj(obj(m["left"])["payload"]); pl != nil && pl["protocol"] == "tcp" && m["op"] != "!=" {
						hasTCP = true
					}
				}
			}
			out := []any{map[string]any{"reject": map[string]any{"type": "tcp reset"}}}
			if !hasTCP {
				switch tb.family {
				case "ip":
				case "inet":
					out = append([]any{map[string]any{"match": map[string]any{"op": "==", "left": metaKey("l4proto"), "right": "tcp"}}}, out...)
				default:
					return nil, false, p.errAt(k, "reject with tcp reset without a tcp match not handled in family %s", tb.family)
				}
			}
			return out, true, nil
		case "icmp", "icmpv6", "icmpx":
			if p.isWord("type") {
				p.next()
			}
			v := p.next()
			if v.kind != tkWord || !isIdent(v.s) {
				return nil, false, p.errAt(v, "reject type wanted")
			}
			if (k.s == "icmp" && tb.family == "ip6") || (k.s == "icmpv6" && tb.family == "ip") || (k.s == "icmpx" && tb.family != "inet") {
				return nil, false, p.errAt(k, "reject with %s not handled in family %s", k.s, tb.family)
			}
			return []any{map[string]any{"reject": map[string]any{"type": k.s, "expr": v.s}}}, true, nil
		}
		return nil, false, p.errAt(k, "reject with %s not handled", k.s)
	case "counter":
		pk, by := 0, 0
		if p.isWord("packets") {
			p.next()
			n, ok := numberWord(p.next().s, 1<<53)
			if !ok || !p.isWord("bytes") {
				return nil, false, p.errAt(t, "counter not understood")
			}
			p.next()
			b, ok := numberWord(p.next().s, 1<<53)
			if !ok {
				return nil, false, p.errAt(t, "counter not understood")
			}
			pk, by = int(n), int(b)
		}
		return []any{map[string]any{"counter": map[string]any{"packets": jnum(pk), "bytes": jnum(by)}}}, false, nil
	case "log":
		args := map[string]any{}
		for p.peek().kind == tkWord {
			switch p.peek().s {
			case "prefix":
				p.next()
				s := p.next()
				if s.kind != tkString {
					return nil, false, p.errAt(s, "log prefix wants a quoted string")
				}
				args["prefix"] = s.s
				continue
			case "level":
				p.next()
				l := p.next()
				switch l.s {
				case "emerg", "alert", "crit", "err", "info", "notice", "debug":
					args["level"] = l.s
				case "warn":
				default:
					return nil, false, p.errAt(l, "log level %s not handled", l.s)
				}
				continue
			}
			break
		}
		if len(args) == 0 {
			return []any{map[string]any{"log": nil}}, false, nil
		}
		return []any{map[string]any{"log": args}}, false, nil
	case "limit":
		return p.limit(t)
	case "notrack":
		p.restrict(c, t, "notrack", false, "prerouting", "output")
		return []any{map[string]any{"notrack": nil}}, false, nil
	case "masquerade":
		p.restrict(c, t, "masquerade", true, "postrouting")
		return []any{map[string]any{"masquerade": nil}}, true, nil
	case "redirect":
		p.restrict(c, t, "redirect", true, "prerouting", "output")
		if !p.isWord("to") {
			return []any{map[string]any{"redirect": nil}}, true, nil
		}
		p.next()
		pt := p.next()
		if pt.kind != tkWord || !strings.HasPrefix(pt.s, ":") {
			return nil, false, p.errAt(pt, "redirect to :PORT wanted")
		}
		port, err := p.natPort(pt, pt.s[1:])
		if err != nil {
			return nil, false, err
		}
		return []any{map[string]any{"redirect": map[string]any{"port": port}}}, true, nil
	case "dnat", "snat":
		return p.nat(tb, c, t)
	case "add", "update":
		return p.setStmt(tb, t)
	case "ct":
		if p.isWord("count") {
			p.next()
			args := map[string]any{}
			if p.isWord("over") {
				p.next()
				args["inv"] = true
			}
			n := p.next()
			v, ok := numberWord(n.s, 1<<31)
			if !ok {
				return nil, false, p.errAt(n, "ct count wants a number")
			}
			args["val"] = jnum(int(v))
			return []any{map[string]any{"ct count": args}}, false, nil
		}
	}
	p.pos-- // a selector: match, vmap or mangle
	return p.selectorStmt(tb, c, r)
}

func (p *ntParser) limit(t ntok) ([]any, bool, error) {
	if w := p.next(); w.s != "rate" {
		return nil, false, p.errAt(w, "limit rate wanted")
	}
	args := map[string]any{}
	if p.isWord("over") {
		p.next()
		args["inv"] = true
	}
	rt := p.next()
	n, per, ok := strings.Cut(rt.s, "/")
	v, okn := numberWord(n, 1<<31)
	switch per {
	case "second", "minute", "hour", "day", "week":
	default:
		ok = false
	}
	if rt.kind != tkWord || !ok || !okn {
		return nil, false, p.errAt(rt, "limit rate %s not handled", tokText(rt))
	}
	args["rate"], args["per"], args["burst"] = jnum(int(v)), per, jnum(5)
	if p.isWord("burst") {
		p.next()
		b, ok := numberWord(p.next().s, 1<<31)
		if !ok || !p.isWord("packets") {
			return nil, false, p.errAt(t, "limit burst not handled")
		}
		p.next()
		args["burst"] = jnum(int(b))
	}
	return []any{map[string]any{"limit": args}}, false, nil
}

func (p *ntParser) natPort(t ntok, s string) (any, error) {
	v, err := p.value(tyPort, ntok{kind: tkWord, s: s, file: t.file, line: t.line})
	if err != nil {
		return nil, err
	}
	if _, isNum := v.v.(string); isNum {
		return nil, p.errAt(t, "port %s not handled", s)
	}
	return v.v, nil
}

// nat reads "dnat|snat [ip|ip6] to ADDR[:PORT]".
func (p *ntParser) nat(tb *ntTable, c *ntChain, t ntok) ([]any, bool, error) {
	if t.s == "dnat" {
		p.restrict(c, t, "dnat", true, "prerouting", "output")
	} else {
		p.restrict(c, t, "snat", true, "postrouting", "input")
	}
	fam := ""
	if p.isWord("ip") || p.isWord("ip6") {
		fam = p.next().s
	}
	if tb.family == "inet" && fam == "" || tb.family != "inet" && fam != "" || (tb.family != "inet" && tb.family != "ip" && tb.family != "ip6") {
		return nil, false, p.errAt(t, "%s here not handled", t.s)
	}
	afam := fam
	if afam == "" {
		afam = tb.family
	}
	if w := p.next(); w.s != "to" {
		return nil, false, p.errAt(w, "%s to wanted", t.s)
	}
	at := p.next()
	if at.kind != tkWord {
		return nil, false, p.errAt(at, "%s address wanted", t.s)
	}
	s := at.s
	var addr, port string
	if afam == "ip" {
		addr, port, _ = strings.Cut(s, ":")
	} else if strings.HasPrefix(s, "[") {
		a, rest, ok := strings.Cut(s[1:], "]")
		if !ok || (rest != "" && !strings.HasPrefix(rest, ":")) {
			return nil, false, p.errAt(at, "address %s not handled", s)
		}
		addr = a
		port = strings.TrimPrefix(rest, ":")
		if rest == ":" {
			return nil, false, p.errAt(at, "address %s not handled", s)
		}
	} else {
		addr = s
	}
	ty := tyAddr4
	if afam == "ip6" {
		ty = tyAddr6
	}
	av, err := p.value(ty, ntok{kind: tkWord, s: addr, file: at.file, line: at.line})
	if err != nil || !av.single {
		return nil, false, p.errAt(at, "%s address %s not handled", t.s, s)
	}
	args := map[string]any{"addr": av.v}
	if fam != "" {
		args["family"] = fam
	}
	if strings.HasSuffix(s, ":") && afam == "ip" {
		return nil, false, p.errAt(at, "address %s not handled", s)
	}
	if port != "" {
		pv, err := p.natPort(at, port)
		if err != nil {
			return nil, false, err
		}
		args["port"] = pv
	}
	return []any{map[string]any{t.s: args}}, true, nil
}

// setStmt reads "add|update @set { selector [timeout T] }".
func (p *ntParser) setStmt(tb *ntTable, t ntok) ([]any, bool, error) {
	n := p.next()
	if n.kind != tkWord || !strings.HasPrefix(n.s, "@") {
		return nil, false, p.errAt(n, "%s @set wanted", t.s)
	}
	s := tb.setByName[n.s[1:]]
	if s == nil || s.isMap || !slices.Contains(s.flags, "dynamic") {
		return nil, false, p.errAt(n, "%s to %s not handled", t.s, n.s)
	}
	if err := p.expectPunct("{"); err != nil {
		return nil, false, err
	}
	sel, err := p.concatSel(tb)
	if err != nil {
		return nil, false, err
	}
	if !slices.Equal(sel.tys, s.keyTypes) {
		return nil, false, p.errAt(n, "set %s holds another type", n.s)
	}
	var elem any = sel.expr
	if p.isWord("timeout") {
		p.next()
		d, err := p.duration(p.next())
		if err != nil {
			return nil, false, err
		}
		elem = map[string]any{"elem": map[string]any{"val": sel.expr, "timeout": jnum(d)}}
	}
	if err := p.expectPunct("}"); err != nil {
		return nil, false, err
	}
	return []any{map[string]any{"set": map[string]any{"op": t.s, "elem": elem, "set": n.s}}}, false, nil
}

// concatSel reads a selector or a concatenation of them.
func (p *ntParser) concatSel(tb *ntTable) (ntSel, error) {
	first, err := p.selector(tb, false)
	if err != nil {
		return first, err
	}
	first.tys = []string{first.ty}
	if !p.isPunct(".") {
		return first, nil
	}
	parts := []any{first.expr}
	out := ntSel{tys: []string{first.ty}}
	for p.isPunct(".") {
		p.next()
		s, err := p.selector(tb, true)
		if err != nil {
			return s, err
		}
		if s.ty == tyFlags || bitmaskType[s.ty] {
			return s, p.errAt(p.last(), "%s in a concatenation not handled", s.ty)
		}
		parts = append(parts, s.expr)
		out.tys = append(out.tys, s.ty)
	}
	if bitmaskType[first.ty] {
		return out, p.errAt(p.last(), "%s in a concatenation not handled", first.ty)
	}
	out.expr = map[string]any{"concat": parts}
	out.ty = "concat"
	return out, nil
}

func match(op string, left, right any) map[string]any {
	return map[string]any{"match": map[string]any{"op": op, "left": left, "right": right}}
}

// selectorStmt reads a statement that starts with a selector: a match,
// a verdict map or "meta|ct mark set".
func (p *ntParser) selectorStmt(tb *ntTable, c *ntChain, r *ntRule) ([]any, bool, error) {
	start := p.peek()
	sel, err := p.concatSel(tb)
	if err != nil {
		return nil, false, err
	}
	if obj(sel.expr)["fib"] != nil {
		p.restrict(c, start, "fib", false, fibHooks(sel.expr)...)
	}
	if p.isWord("vmap") {
		p.next()
		data, err := p.mapRef(tb, sel, true)
		if err != nil {
			return nil, false, err
		}
		return []any{map[string]any{"vmap": map[string]any{"key": sel.expr, "data": data}}}, true, nil
	}
	if p.isWord("set") {
		p.next()
		if sel.ty != tyMark {
			return nil, false, p.errAt(start, "setting %s not handled", sel.field)
		}
		v, err := p.value(tyMark, p.next())
		if err != nil {
			return nil, false, err
		}
		return []any{map[string]any{"mangle": map[string]any{"key": sel.expr, "value": v.v}}}, false, nil
	}
	left := sel.expr
	masked := false
	if p.isPunct("&") {
		p.next()
		var mask any
		switch sel.ty {
		case tyMark:
			v, err := p.value(tyMark, p.next())
			if err != nil {
				return nil, false, err
			}
			mask = v.v
		case tyFlags:
			m, err := p.flagList()
			if err != nil {
				return nil, false, err
			}
			mask = m
		default:
			return nil, false, p.errAt(start, "mask on %s not handled", sel.field)
		}
		left = map[string]any{"&": []any{sel.expr, mask}}
		masked = true
	}
	op := ""
	if p.peek().kind == tkOp {
		op = p.next().s
		if op == "=" {
			return nil, false, p.errAt(p.last(), "operator = not handled")
		}
	}
	if masked && op != "==" && op != "!=" {
		return nil, false, p.errAt(start, "a masked match wants == or !=")
	}
	if op == "<" || op == ">" || op == "<=" || op == ">=" {
		if sel.ty != tyPort && sel.ty != tyMark {
			return nil, false, p.errAt(start, "%s on %s not handled", op, sel.field)
		}
		v, err := p.value(sel.ty, p.next())
		if err != nil || !v.single {
			return nil, false, p.errAt(start, "%s wants one value", op)
		}
		return []any{match(op, left, v.v)}, false, nil
	}
	var right any
	switch {
	case masked && sel.ty == tyFlags:
		m, err := p.flagList()
		if err != nil {
			return nil, false, err
		}
		right = m
	case p.isPunct("{"):
		p.next()
		right, err = p.anonSet(sel)
		if err != nil {
			return nil, false, err
		}
		if op == "" {
			op = "=="
		}
		if _, isSet := obj(right)["set"]; !isSet && bitmaskType[sel.ty] {
			return nil, false, p.errAt(start, "a one-element set of %s not handled", sel.ty)
		}
	case p.peek().kind == tkWord && strings.HasPrefix(p.peek().s, "@"):
		right, err = p.mapRef(tb, sel, false)
		if err != nil {
			return nil, false, err
		}
		if op == "" {
			op = "=="
		}
	default:
		if len(sel.tys) > 1 {
			return nil, false, p.errAt(start, "a concatenation matched against a value not handled")
		}
		v, err := p.value(sel.ty, p.next())
		if err != nil {
			return nil, false, err
		}
		right = v.v
		if bitmaskType[sel.ty] {
			right, op, err = p.bitmaskRest(sel.ty, v.v, op)
			if err != nil {
				return nil, false, err
			}
		}
		if p.isPunct(",") || p.isPunct("|") {
			return nil, false, p.errAt(p.peek(), "a list of %s values not handled", sel.ty)
		}
	}
	if op == "" {
		op = "=="
	}
	out := []any{match(op, left, right)}
	// nft does not list a protocol match that a following header match
	// depends on ("meta l4proto tcp tcp dport 22" is listed as
	// "tcp dport 22")
	if dep := payloadDep[sel.proto]; dep != "" && !masked {
		n := len(r.expr)
		for i := n - 1; i >= 0; i-- {
			v, ok := isSingleMatch(r.expr[i], "meta l4proto")
			v2, ok2 := isSingleMatch(r.expr[i], "ip protocol")
			if (ok && v == dep) || (ok2 && v2 == dep && tb.family == "ip") {
				if i != n-1 {
					return nil, false, p.errAt(start, "a protocol match apart from its header match not handled")
				}
				r.expr = r.expr[:n-1]
				break
			}
		}
	}
	if sel.proto == "ip" || sel.proto == "ip6" {
		want := map[string]string{"ip": "ipv4", "ip6": "ipv6"}[sel.proto]
		n := len(r.expr)
		for i := n - 1; i >= 0; i-- {
			if v, ok := isSingleMatch(r.expr[i], "meta nfproto"); ok && v == want {
				if i != n-1 {
					return nil, false, p.errAt(start, "a family match apart from its header match not handled")
				}
				r.expr = r.expr[:n-1]
				break
			}
		}
	}
	return out, false, nil
}

// bitmaskRest reads the rest of a bitmask value: "a,b,c" (any of them)
// or "a | b" and gives the value and operator nft lists.
func (p *ntParser) bitmaskRest(ty string, first any, op string) (any, string, error) {
	if p.isPunct(",") {
		if op != "" {
			return nil, "", p.errAt(p.peek(), "a list with an operator not handled")
		}
		list := []any{first}
		for p.isPunct(",") {
			p.next()
			v, err := p.value(ty, p.next())
			if err != nil {
				return nil, "", err
			}
			list = append(list, v.v)
		}
		return sortBits(ty, list), "in", nil
	}
	if p.isPunct("|") {
		var acc any = first
		list := []any{first}
		for p.isPunct("|") {
			p.next()
			v, err := p.value(ty, p.next())
			if err != nil {
				return nil, "", err
			}
			acc = map[string]any{"|": []any{acc, v.v}}
			list = append(list, v.v)
		}
		if op == "" {
			return sortBits(ty, list), "in", nil
		}
		if !slices.Equal(sortBits(ty, slices.Clone(list)), list) {
			return nil, "", p.errAt(p.last(), "flags out of order not handled")
		}
		if op != "!=" {
			return nil, "", p.errAt(p.last(), "%s with | not handled", op)
		}
		return acc, op, nil
	}
	if op == "" {
		return first, "in", nil
	}
	if op != "!=" {
		return nil, "", p.errAt(p.last(), "%s on %s not handled", op, ty)
	}
	return first, op, nil
}

// flagList reads "syn" or "(syn | ack)" as nft lists tcp flags: one name,
// or a list in bit order.
func (p *ntParser) flagList() (any, error) {
	var names []string
	if p.isPunct("(") {
		p.next()
		for {
			v, err := p.value(tyFlags, p.next())
			if err != nil {
				return nil, err
			}
			names = append(names, v.v.(string))
			if p.isPunct("|") {
				p.next()
				continue
			}
			if err := p.expectPunct(")"); err != nil {
				return nil, err
			}
			break
		}
	} else {
		v, err := p.value(tyFlags, p.next())
		if err != nil {
			return nil, err
		}
		names = []string{v.v.(string)}
	}
	var out []any
	for _, f := range ntFlagOrder {
		if slices.Contains(names, f) {
			out = append(out, f)
		}
	}
	if len(out) != len(names) {
		return nil, p.errAt(p.last(), "a flag named twice")
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

// mapRef reads "@name" (a set, or with vmap a verdict map) or, with
// vmap, an anonymous verdict map.
func (p *ntParser) mapRef(tb *ntTable, sel ntSel, vmap bool) (any, error) {
	t := p.next()
	if vmap && t.kind == tkPunct && t.s == "{" {
		es, err := p.elemList(sel.tys, tyVerdict, false)
		if err != nil {
			return nil, err
		}
		if len(es) == 0 {
			return nil, p.errAt(t, "empty verdict map")
		}
		if err := p.noOverlap(es, sel, t); err != nil {
			return nil, err
		}
		out := make([]any, len(es))
		for i, e := range es {
			out[i] = e.json(true)
		}
		return map[string]any{"set": out}, nil
	}
	if t.kind != tkWord || !strings.HasPrefix(t.s, "@") {
		return nil, p.errAt(t, "a set wanted")
	}
	s := tb.setByName[t.s[1:]]
	if s == nil {
		return nil, p.errAt(t, "set %s not declared before this rule", t.s)
	}
	if s.isMap != vmap || (vmap && s.dataType != tyVerdict) {
		return nil, p.errAt(t, "%s is not a %s", t.s, map[bool]string{true: "verdict map", false: "set"}[vmap])
	}
	if !slices.Equal(s.keyTypes, sel.tys) {
		return nil, p.errAt(t, "%s holds %s, not %s", t.s, strings.Join(s.keyTypes, " . "), strings.Join(sel.tys, " . "))
	}
	return t.s, nil
}

// noOverlap refuses anonymous map keys that overlap (nft refuses them).
func (p *ntParser) noOverlap(es []*ntElem, sel ntSel, t ntok) error {
	seen := map[string]bool{}
	var ivals []*ntElem
	for _, e := range es {
		k := Compact(e.key())
		if seen[k] {
			return p.errAt(e.tok, "a key named twice")
		}
		seen[k] = true
		if len(e.parts) == 1 && e.parts[0].ival {
			ivals = append(ivals, e)
		}
	}
	ranged := false
	for _, e := range ivals {
		ranged = ranged || !e.parts[0].single
	}
	if len(ivals) < 2 || !ranged {
		return nil
	}
	cp := make([]*ntElem, len(ivals))
	for i, e := range ivals {
		c := *e
		c.parts = slices.Clone(e.parts)
		c.data = nil
		cp[i] = &c
	}
	_, err := p.intervals(cp, mergeNoOverlap, sel.ty == tyAddr4, sel.ty, t)
	return err
}

// anonSet reads "{ ... }" (the brace read) matched against sel.
func (p *ntParser) anonSet(sel ntSel) (any, error) {
	start := p.last()
	es, err := p.elemList(sel.tys, "", false)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, p.errAt(start, "empty set")
	}
	if len(es) == 1 && len(sel.tys) == 1 {
		return es[0].parts[0].v, nil
	}
	if len(sel.tys) == 1 && (sel.ty == tyAddr4 || sel.ty == tyAddr6 || sel.ty == tyPort) {
		ranged := false
		for _, e := range es {
			ranged = ranged || !e.parts[0].single
		}
		if ranged {
			merged, err := p.intervals(es, mergeInside, sel.ty == tyAddr4, sel.ty, start)
			if err != nil {
				return nil, err
			}
			es = merged
		} else if err := p.noOverlap(es, sel, start); err != nil {
			return nil, err
		}
	} else if err := p.noOverlap(es, sel, start); err != nil {
		return nil, err
	}
	out := make([]any, len(es))
	for i, e := range es {
		out[i] = e.json(false)
	}
	return map[string]any{"set": out}, nil
}

var ntStatusBits = map[string]int{"expected": 1, "seen-reply": 2, "assured": 4, "confirmed": 8, "snat": 16, "dnat": 32, "dying": 512}

// sortBits puts a list of flag names in bit order, as nft lists them.
func sortBits(ty string, l []any) []any {
	bits := map[string]map[string]int{tyState: ntStateBits, tyStatus: ntStatusBits, tyFlags: ntFlagBits}[ty]
	slices.SortStableFunc(l, func(a, b any) int { return bits[a.(string)] - bits[b.(string)] })
	return l
}
