package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// NftRuleset is the output of `nft -j list ruleset` (libnftables JSON,
// schema version 1), read but not yet compiled: its tables, chains, sets
// and rules. Families applies it to one address family at a time.
type NftRuleset struct {
	Source string
	tables []*nftTable
	// positions: name rules by their place in the chain, not by handle
	// (rules read from a file's text)
	positions bool
	// Skipped names the tables of families that never see a packet for a
	// local socket as an IP family would (arp, bridge, netdev).
	Skipped []string
}

type nftTable struct {
	family, name string
	chains       []*nftChain
	byName       map[string]*nftChain
	sets         map[string]*nftSet // sets and maps, by name
}

type nftChain struct {
	name, typ, hook, policy string
	prio                    int
	handle                  int
	base                    bool
	rules                   []*nftRule
	// devs are the devices a netdev (or inet ingress) chain is bound to;
	// devsKnown is false where nft's JSON did not say (nft before 1.0.7)
	devs      []string
	devsKnown bool
}

type nftSet struct {
	name    string
	elems   []any
	isMap   bool
	dynamic bool // the packet path adds or updates elements (add @set, meters)
}

type nftRule struct {
	handle  int
	comment string
	exprs   []any
	index   int    // position in the JSON array, for errors
	text    string // the rule in nft's words (rendered once, for both families)
	stmts   []nftStmt
}

// ParseNftJSON reads `nft -j list ruleset` output. name is used in errors
// and as the source of the rules.
func ParseNftJSON(r io.Reader, name string) (*NftRuleset, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ParseError{Source: name, Line: 1, Msg: "empty input: not nft -j output"}
	}
	var doc struct {
		Nftables []map[string]any `json:"nftables"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, &ParseError{Source: name, Line: lineAt(data, dec.InputOffset()), Msg: "not nft -j output: " + shortErr(err)}
	}
	if doc.Nftables == nil {
		return nil, &ParseError{Source: name, Line: 1, Msg: `not nft -j output: no "nftables" array`}
	}
	// nft -j list ruleset always writes its metainfo first, even for an
	// empty ruleset: an array with neither metainfo nor a table is some
	// other JSON, not a ruleset with nothing in it
	known := false
	for _, o := range doc.Nftables {
		if o["metainfo"] != nil || o["table"] != nil {
			known = true
			break
		}
	}
	if !known {
		return nil, &ParseError{Source: name, Line: 1, Msg: `not nft -j output: the "nftables" array holds no metainfo and no table`}
	}
	return nftFromDoc(doc.Nftables, name)
}

// nftFromDoc builds the ruleset from the decoded "nftables" array (numbers
// as json.Number), from ParseNftJSON or from the nft text reader.
func nftFromDoc(objs []map[string]any, name string) (*NftRuleset, error) {
	rs := &NftRuleset{Source: name}
	tables := map[[2]string]*nftTable{}
	table := func(fam, tname string) *nftTable {
		k := [2]string{fam, tname}
		if t := tables[k]; t != nil {
			return t
		}
		t := &nftTable{family: fam, name: tname, byName: map[string]*nftChain{}, sets: map[string]*nftSet{}}
		tables[k] = t
		rs.tables = append(rs.tables, t)
		return t
	}
	chain := func(t *nftTable, cname string) *nftChain {
		ch := t.byName[cname]
		if ch == nil {
			ch = &nftChain{name: cname}
			t.byName[cname] = ch
			t.chains = append(t.chains, ch)
		}
		return ch
	}
	bad := func(i int, kind string, err error) error {
		return &ParseError{Source: name, Line: 1, Msg: fmt.Sprintf("object %d (%s): %s", i, kind, shortErr(err))}
	}
	for i, obj := range objs {
		for kind, raw := range obj {
			o := jObj(raw)
			if o == nil && kind != "metainfo" {
				if kind == "table" || kind == "chain" || kind == "rule" || kind == "set" || kind == "map" {
					return nil, bad(i, kind, fmt.Errorf("not an object"))
				}
				continue
			}
			fam, tname := jField(o, "family"), jField(o, "table")
			switch kind {
			case "table":
				table(fam, jField(o, "name"))
			case "chain":
				ch := chain(table(fam, tname), jField(o, "name"))
				if h, ok := jInt(o["handle"]); ok {
					ch.handle = int(h)
				}
				if d, ok := o["dev"]; ok && d != nil {
					ch.devs, ch.devsKnown = atomStrings(d), true
				}
				if hook := jField(o, "hook"); hook != "" {
					ch.base, ch.hook, ch.typ, ch.policy = true, hook, jField(o, "type"), jField(o, "policy")
					if p, ok := o["prio"]; ok {
						n, ok := jInt(p)
						if !ok {
							return nil, bad(i, kind, fmt.Errorf("chain %s: priority %s", ch.name, jText(p)))
						}
						ch.prio = int(n)
					}
				}
			case "set", "map":
				sname := jField(o, "name")
				if err := validateSetStmts(o["stmt"]); err != nil {
					return nil, bad(i, kind+" "+sname, err)
				}
				t := table(fam, tname)
				t.sets[sname] = &nftSet{name: sname, elems: jList(o["elem"]), isMap: kind == "map"}
			case "rule":
				exprs := jList(o["expr"])
				for _, e := range exprs {
					if err := validateExpr(e, 0); err != nil {
						return nil, bad(i, fmt.Sprintf("rule in %s %s %s", fam, tname, jField(o, "chain")), err)
					}
				}
				ch := chain(table(fam, tname), jField(o, "chain"))
				h, _ := jInt(o["handle"])
				ch.rules = append(ch.rules, &nftRule{handle: int(h), comment: jField(o, "comment"), exprs: exprs, index: i})
			}
		}
	}
	for _, t := range rs.tables {
		switch t.family {
		case "ip", "ip6", "inet", "netdev":
		default:
			rs.Skipped = append(rs.Skipped, t.family+" "+t.name)
		}
		markDynamicSets(t)
	}
	sort.Strings(rs.Skipped)
	return rs, nil
}

// validateExpr rejects what libnftables itself refuses to read:
// operators with the wrong number of operands, or an empty one.
func validateExpr(v any, depth int) error {
	if depth > 64 {
		return fmt.Errorf("expression nested too deep")
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch k {
			case "&", "|", "^", "<<", ">>":
				ops := jList(e)
				if len(ops) < 2 || (len(ops) != 2 && k != "|") {
					return fmt.Errorf("operator %q takes two operands", k)
				}
				for _, o := range ops {
					if m, ok := o.(map[string]any); ok && len(m) == 0 {
						return fmt.Errorf("operator %q has an empty operand", k)
					}
				}
			}
			if err := validateExpr(e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := validateExpr(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// statefulStmts are the statements a set or map may attach to each element.
var statefulStmts = map[string]bool{"counter": true, "quota": true, "limit": true, "ct count": true, "last": true}

func validateSetStmts(v any) error {
	for _, st := range jList(v) {
		for k := range jObj(st) {
			if !statefulStmts[k] {
				return fmt.Errorf("statement %q is not a stateful statement", k)
			}
		}
	}
	return nil
}

// markDynamicSets flags the sets the packet path writes to ("add @set",
// "update @set", meters): their elements now say nothing of the next
// packet.
func markDynamicSets(t *nftTable) {
	for _, c := range t.chains {
		for _, r := range c.rules {
			for _, e := range r.exprs {
				k, v, ok := jOne(e)
				if !ok {
					continue
				}
				var n string
				switch k {
				case "set":
					n = strings.TrimPrefix(jField(v, "set"), "@")
				case "meter":
					n = jField(v, "name")
				}
				if s := t.sets[n]; s != nil {
					s.dynamic = true
				}
			}
		}
	}
}

// unboundIngress lists the ingress chains whose devices the JSON did not
// name, as "family table chain".
func (n *NftRuleset) unboundIngress() [][3]string {
	var out [][3]string
	for _, t := range n.tables {
		for _, c := range t.chains {
			if c.base && c.hook == "ingress" && !c.devsKnown {
				out = append(out, [3]string{t.family, t.name, c.name})
			}
		}
	}
	return out
}

// setDevices records the devices of an ingress chain.
func (n *NftRuleset) setDevices(family, table, chain string, devs []string) {
	for _, t := range n.tables {
		if t.family == family && t.name == table {
			if c := t.byName[chain]; c != nil {
				c.devs, c.devsKnown = devs, true
			}
		}
	}
}

// parseChainDevices reads the devices from `nft list chain` text: the
// chain's type line says `device "eth0"` or `devices = { eth0, eth1 }`.
func parseChainDevices(text string) ([]string, bool) {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "type ") {
			continue
		}
		if _, rest, ok := strings.Cut(line, "devices = {"); ok {
			list, _, _ := strings.Cut(rest, "}")
			var devs []string
			for _, d := range strings.Split(list, ",") {
				if d = strings.Trim(strings.TrimSpace(d), `"`); d != "" {
					devs = append(devs, d)
				}
			}
			return devs, len(devs) > 0
		}
		if _, rest, ok := strings.Cut(line, "device "); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return []string{strings.Trim(strings.TrimSuffix(f[0], ";"), `"`)}, true
			}
		}
	}
	return nil, false
}

// Tables lists "family name" of every table read.
func (n *NftRuleset) Tables() []string {
	var out []string
	for _, t := range n.tables {
		out = append(out, t.family+" "+t.name)
	}
	return out
}

// Outline is the ruleset without its rules' and sets' contents: the
// tables, chains and number of rules Tables and RuleCount report. Once
// the families are compiled, the outline is all a caller keeps, and the
// decoded document (for a large ban set, most of the memory) can go.
func (n *NftRuleset) Outline() *NftRuleset {
	out := &NftRuleset{Source: n.Source, Skipped: n.Skipped, positions: n.positions}
	for _, t := range n.tables {
		ot := &nftTable{family: t.family, name: t.name, byName: map[string]*nftChain{}, sets: map[string]*nftSet{}}
		for _, c := range t.chains {
			oc := *c
			oc.rules = make([]*nftRule, len(c.rules))
			ot.chains = append(ot.chains, &oc)
			ot.byName[c.name] = &oc
		}
		out.tables = append(out.tables, ot)
	}
	return out
}

// RuleCount is the number of rules in tables of the IP families.
func (n *NftRuleset) RuleCount() int {
	c := 0
	for _, t := range n.tables {
		if t.family == "ip" || t.family == "ip6" || t.family == "inet" || t.family == "netdev" {
			for _, ch := range t.chains {
				c += len(ch.rules)
			}
		}
	}
	return c
}

// Without returns the ruleset without the tables keep rejects ("ip
// filter": tables read through iptables-nft-save instead).
func (n *NftRuleset) Without(drop func(family, table string) bool) *NftRuleset {
	out := &NftRuleset{Source: n.Source, Skipped: n.Skipped, positions: n.positions}
	for _, t := range n.tables {
		if !drop(t.family, t.name) {
			out.tables = append(out.tables, t)
		}
	}
	return out
}

func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// shortErr keeps an error message to one short line.
func shortErr(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// nftStmt is one statement of a rule.
type nftStmt struct {
	raw   any
	text  string // a bare string (nft 1.0.6's anonymous chain)
	isStr bool
	key   string // the statement's one key ("match", "accept", ...)
	val   any
	bad   bool // not one key
	// a match's parts
	op          string
	left        map[string]any
	right       any
	matchBroken bool
}

// statements splits the rule's statements into their parts (once: both
// families read them; the families are compiled one after the other).
func (r *nftRule) statements() []nftStmt {
	if r.stmts != nil {
		return r.stmts
	}
	r.stmts = make([]nftStmt, len(r.exprs))
	for i, raw := range r.exprs {
		st := nftStmt{raw: raw}
		if s, ok := jStr(raw); ok {
			st.text, st.isStr = s, true
			r.stmts[i] = st
			continue
		}
		k, v, ok := jOne(raw)
		st.key, st.val, st.bad = k, v, !ok
		if k == "match" {
			m := jObj(v)
			st.op, _ = jStr(m["op"])
			st.left, st.right = jObj(m["left"]), m["right"]
			st.matchBroken = m == nil || len(st.left) != 1
		}
		r.stmts[i] = st
	}
	return r.stmts
}
