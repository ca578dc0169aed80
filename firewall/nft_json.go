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
	typ     json.RawMessage // "ipv4_addr" or ["ipv4_addr", "inet_service"]
	flags   []string
	elems   []json.RawMessage
	isMap   bool
	dynamic bool // the packet path adds or updates elements (add @set, meters)
}

type nftRule struct {
	handle  int
	comment string
	exprs   []json.RawMessage
	index   int // position in the JSON array, for errors
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
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, &ParseError{Source: name, Line: lineAt(data, dec.InputOffset()), Msg: "not nft -j output: " + shortErr(err)}
	}
	if doc.Nftables == nil {
		return nil, &ParseError{Source: name, Line: 1, Msg: `not nft -j output: no "nftables" array`}
	}
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
	bad := func(i int, kind string, err error) error {
		return &ParseError{Source: name, Line: 1, Msg: fmt.Sprintf("object %d (%s): %s", i, kind, shortErr(err))}
	}
	for i, obj := range doc.Nftables {
		for kind, raw := range obj {
			switch kind {
			case "table":
				var t struct{ Family, Name string }
				if err := json.Unmarshal(raw, &t); err != nil {
					return nil, bad(i, kind, err)
				}
				table(t.Family, t.Name)
			case "chain":
				var c struct {
					Family, Table, Name, Type, Hook, Policy string
					Handle                                  int
					Prio                                    *json.Number
					Dev                                     json.RawMessage
				}
				if err := json.Unmarshal(raw, &c); err != nil {
					return nil, bad(i, kind, err)
				}
				t := table(c.Family, c.Table)
				ch := t.byName[c.Name]
				if ch == nil {
					ch = &nftChain{name: c.Name}
					t.byName[c.Name] = ch
					t.chains = append(t.chains, ch)
				}
				ch.handle = c.Handle
				if len(c.Dev) > 0 {
					ch.devs, ch.devsKnown = atomStrings(c.Dev), true
				}
				if c.Hook != "" {
					ch.base, ch.hook, ch.typ, ch.policy = true, c.Hook, c.Type, c.Policy
					if c.Prio != nil {
						p, err := c.Prio.Int64()
						if err != nil {
							return nil, bad(i, kind, fmt.Errorf("chain %s: priority %q", c.Name, c.Prio.String()))
						}
						ch.prio = int(p)
					}
				}
			case "set", "map":
				var s struct {
					Family, Table, Name string
					Type                json.RawMessage
					Flags               []string
					Elem                []json.RawMessage
				}
				if err := json.Unmarshal(raw, &s); err != nil {
					return nil, bad(i, kind, err)
				}
				if err := validateSetStmts(raw); err != nil {
					return nil, bad(i, kind+" "+s.Name, err)
				}
				t := table(s.Family, s.Table)
				t.sets[s.Name] = &nftSet{name: s.Name, typ: s.Type, flags: s.Flags, elems: s.Elem, isMap: kind == "map"}
			case "rule":
				var r struct {
					Family, Table, Chain, Comment string
					Handle                        int
					Expr                          []json.RawMessage
				}
				if err := json.Unmarshal(raw, &r); err != nil {
					return nil, bad(i, kind, err)
				}
				for _, e := range r.Expr {
					if err := validateExpr(e, 0); err != nil {
						return nil, bad(i, fmt.Sprintf("rule in %s %s %s", r.Family, r.Table, r.Chain), err)
					}
				}
				t := table(r.Family, r.Table)
				ch := t.byName[r.Chain]
				if ch == nil {
					ch = &nftChain{name: r.Chain}
					t.byName[r.Chain] = ch
					t.chains = append(t.chains, ch)
				}
				ch.rules = append(ch.rules, &nftRule{handle: r.Handle, comment: r.Comment, exprs: r.Expr, index: i})
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

// validateExpr rejects what libnftables itself refuses to read: empty
// expressions and operators with the wrong number of operands.
func validateExpr(raw json.RawMessage, depth int) error {
	if depth > 64 {
		return fmt.Errorf("expression nested too deep")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		for k, v := range obj {
			switch k {
			case "&", "|", "^", "<<", ">>":
				var ops []json.RawMessage
				if json.Unmarshal(v, &ops) != nil || len(ops) < 2 || (len(ops) != 2 && k != "|") {
					return fmt.Errorf("operator %q takes two operands", k)
				}
				for _, o := range ops {
					if strings.TrimSpace(string(o)) == "{}" {
						return fmt.Errorf("operator %q has an empty operand", k)
					}
				}
			}
			if err := validateExpr(v, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, e := range list {
			if err := validateExpr(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// statefulStmts are the statements a set or map may attach to each element.
var statefulStmts = map[string]bool{"counter": true, "quota": true, "limit": true, "ct count": true, "last": true}

func validateSetStmts(raw json.RawMessage) error {
	var s struct {
		Stmt []map[string]json.RawMessage `json:"stmt"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	for _, st := range s.Stmt {
		for k := range st {
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
				var st map[string]struct {
					Set  string `json:"set"`
					Name string `json:"name"`
				}
				if json.Unmarshal(e, &st) != nil {
					continue
				}
				for k, v := range st {
					var n string
					switch k {
					case "set":
						n = strings.TrimPrefix(v.Set, "@")
					case "meter":
						n = v.Name
					}
					if s := t.sets[n]; s != nil {
						s.dynamic = true
					}
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
