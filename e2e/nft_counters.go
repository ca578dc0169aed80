//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The nftables twin of counters.go: per-rule packet counters read from
// `nft -a -j list ruleset` before and after one probe, walked through the
// base chains the probe's packet traversed to the rule or policy the
// kernel's walk ended on.
//
// nft counts only what a rule's `counter` statement sees, and never counts
// a chain's policy. So a rule is read as matched when the counter right
// before its verdict moved, a rule with a verdict but no such counter makes
// the reading impossible (an error, when the walk reaches it), and a base
// chain whose walk falls off its end ended on its policy. The tests'
// rulesets put `counter` right before every verdict.

// NftCounters is one `nft -j list ruleset` reading.
type NftCounters struct {
	Chains []*NftChain // in listing order
	byName map[string]*NftChain
}

// NftChain is one chain: a base chain when Hook is set.
type NftChain struct {
	Family, Table, Name string
	Hook, Type, Device  string
	Prio                int
	Policy              string // "accept" or "drop" for a base chain
	Iptables            bool   // a chain of a table iptables-nft manages
	Rules               []NftRule
}

// NftRule is one rule as far as the walk needs it.
type NftRule struct {
	Handle uint64
	// Counted: an anonymous counter sits right before the verdict (or,
	// for a rule without a verdict, anywhere); Pkts is its packet count.
	Counted bool
	Pkts    uint64
	// Verdict is "accept", "drop" (also reject), "jump", "goto",
	// "return", "continue", "nat" (dnat, snat, redirect, masquerade: they
	// end a nat chain), "vmap", "unknown" (queue, an iptables target it
	// cannot follow: Target says which) or "" (no verdict: the walk goes
	// on).
	Verdict string
	Target  string // the chain of jump and goto
	NatAddr string // dnat's address; "" for redirect (the host itself)
	VMap    *nftVMap
	// NotNew: a ct state match no NEW connection satisfies (established,
	// related, invalid). Such a rule cannot match a probe's first packet;
	// its counter may move for replies crossing the host (forward).
	NotNew bool
	// Text is the rule as `nft -a list ruleset` prints it (counter values
	// dropped); Ipt is its iptables-save text when the table is
	// iptables-nft's.
	Text, Ipt string
}

// nftVMap is a verdict map statement: a key and its elements.
type nftVMap struct {
	Key      json.RawMessage
	Elements [][2]json.RawMessage
}

func nftChainKey(family, table, chain string) string { return family + " " + table + " " + chain }

// Chain returns the chain, or nil.
func (c *NftCounters) Chain(family, table, name string) *NftChain {
	return c.byName[nftChainKey(family, table, name)]
}

// NftRef names an nft rule (Handle) or a base chain's policy (Policy).
type NftRef struct {
	Family, Table, Chain string
	Handle               uint64
	Policy               string
}

func (r NftRef) String() string {
	if r.Policy != "" {
		return fmt.Sprintf("%s %s %s policy %s", r.Family, r.Table, r.Chain, r.Policy)
	}
	return fmt.Sprintf("%s %s %s handle %d", r.Family, r.Table, r.Chain, r.Handle)
}

// nftRefRe reads fwaudit's names for nft rules and policies:
// "inet filter input handle 7: tcp dport 22 accept" and
// "inet filter input policy drop".
var nftRefRe = regexp.MustCompile(`^(inet|ip|ip6|netdev|bridge|arp) (\S+) (\S+) (?:handle (\d+)(?::|$)|policy (\S+)$)`)

// ParseNftRef reads a rule or policy as fwaudit prints it.
func ParseNftRef(s string) (NftRef, bool) {
	m := nftRefRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return NftRef{}, false
	}
	r := NftRef{Family: m[1], Table: m[2], Chain: m[3], Policy: strings.ToLower(m[5])}
	if m[4] != "" {
		r.Handle, _ = strconv.ParseUint(m[4], 10, 64)
	}
	return r, true
}

// Matches reports whether fwaudit's rule field names r: same family,
// table and chain, and the same handle or policy (rule text not compared).
func (r NftRef) Matches(got string) bool {
	g, ok := ParseNftRef(got)
	return ok && g.Family == r.Family && g.Table == r.Table && g.Chain == r.Chain &&
		g.Handle == r.Handle && g.Policy == r.Policy
}

// ParseNftCounters parses `nft -j list ruleset` output.
func ParseNftCounters(js string) (*NftCounters, error) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		return nil, fmt.Errorf("nft -j list ruleset: %v", err)
	}
	c := &NftCounters{byName: map[string]*NftChain{}}
	maps := map[string]json.RawMessage{} // named verdict maps' elements
	for i, obj := range doc.Nftables {
		if raw, ok := obj["map"]; ok {
			var m struct {
				Family, Table, Name, Map string
				Elem                     json.RawMessage
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, fmt.Errorf("nft -j list ruleset: object %d: map: %v", i, err)
			}
			if m.Map == "verdict" {
				maps[nftChainKey(m.Family, m.Table, m.Name)] = m.Elem
			}
		}
		if raw, ok := obj["chain"]; ok {
			var ch struct {
				Family, Table, Name, Hook, Type, Policy, Dev string
				Prio                                         int
			}
			if err := json.Unmarshal(raw, &ch); err != nil {
				return nil, fmt.Errorf("nft -j list ruleset: object %d: chain: %v", i, err)
			}
			x := &NftChain{Family: ch.Family, Table: ch.Table, Name: ch.Name, Hook: ch.Hook,
				Type: ch.Type, Device: ch.Dev, Prio: ch.Prio, Policy: ch.Policy}
			if x.Hook != "" && x.Policy == "" {
				x.Policy = "accept"
			}
			c.Chains = append(c.Chains, x)
			c.byName[nftChainKey(x.Family, x.Table, x.Name)] = x
		}
		if raw, ok := obj["rule"]; ok {
			var r struct {
				Family, Table, Chain string
				Handle               uint64
				Expr                 []map[string]json.RawMessage
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, fmt.Errorf("nft -j list ruleset: object %d: rule: %v", i, err)
			}
			ch := c.Chain(r.Family, r.Table, r.Chain)
			if ch == nil {
				return nil, fmt.Errorf("nft -j list ruleset: rule %d for unlisted chain %s", r.Handle, nftChainKey(r.Family, r.Table, r.Chain))
			}
			rule, err := parseNftRule(r.Handle, r.Expr, func(name string) json.RawMessage {
				return maps[nftChainKey(r.Family, r.Table, name)]
			})
			if err != nil {
				return nil, fmt.Errorf("nft -j list ruleset: %s handle %d: %v", nftChainKey(r.Family, r.Table, r.Chain), r.Handle, err)
			}
			ch.Rules = append(ch.Rules, rule)
		}
	}
	return c, nil
}

// nftVerdicts are the statements that end or redirect a rule's walk.
var nftVerdicts = map[string]string{"accept": "accept", "drop": "drop", "reject": "drop",
	"jump": "jump", "goto": "goto", "return": "return", "continue": "continue",
	"dnat": "nat", "snat": "nat", "redirect": "nat", "masquerade": "nat", "vmap": "vmap", "queue": "queue"}

func parseNftRule(handle uint64, expr []map[string]json.RawMessage, namedMap func(string) json.RawMessage) (NftRule, error) {
	r := NftRule{Handle: handle}
	counter, verdict := -1, -1
	for i, e := range expr {
		for k, v := range e {
			switch {
			case k == "counter":
				var cnt struct{ Packets uint64 }
				if json.Unmarshal(v, &cnt) == nil && counter < 0 { // a named counter is a string
					counter, r.Pkts = i, cnt.Packets
				}
			case k == "xt":
				var xt struct{ Type, Name string }
				json.Unmarshal(v, &xt)
				if xt.Type != "target" {
					continue
				}
				switch {
				case terminal[xt.Name] == "accept" && xt.Name != "ACCEPT":
					r.Verdict, verdict = "nat", i // DNAT, REDIRECT, ...: Ipt has the address
				case terminal[xt.Name] != "":
					r.Verdict, verdict = terminal[xt.Name], i
				case !nonTerminating[xt.Name]:
					r.Verdict, verdict, r.Target = "unknown", i, "iptables target "+xt.Name
				}
			case nftVerdicts[k] != "":
				r.Verdict, verdict = nftVerdicts[k], i
				switch k {
				case "jump", "goto":
					var t struct{ Target string }
					if err := json.Unmarshal(v, &t); err != nil {
						return r, fmt.Errorf("%s: %v", k, err)
					}
					r.Target = t.Target
				case "dnat":
					var d struct {
						Addr json.RawMessage
					}
					json.Unmarshal(v, &d)
					var a string
					if json.Unmarshal(d.Addr, &a) == nil {
						r.NatAddr = a
					} else if len(d.Addr) > 0 {
						return r, fmt.Errorf("dnat to %s: only a literal address is understood", d.Addr)
					}
				case "vmap":
					m, err := parseVMap(v, namedMap)
					if err != nil {
						return r, err
					}
					r.VMap = m
				}
			case k == "match":
				if notNew(v) {
					r.NotNew = true
				}
			}
		}
	}
	switch {
	case r.Verdict == "":
		r.Counted = counter >= 0
	default:
		r.Counted = counter >= 0 && counter == verdict-1
	}
	if r.Verdict == "queue" {
		r.Verdict, r.Target = "unknown", "queue"
	}
	return r, nil
}

// notNew reports whether a match is on ct state and no NEW connection
// satisfies it.
func notNew(raw json.RawMessage) bool {
	var m struct {
		Op    string
		Left  json.RawMessage
		Right json.RawMessage
	}
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	var left struct {
		Ct *struct{ Key string }
	}
	if json.Unmarshal(m.Left, &left) != nil || left.Ct == nil || left.Ct.Key != "state" {
		return false
	}
	has := false
	for _, s := range jsonStrings(m.Right) {
		has = has || s == "new"
	}
	if m.Op == "!=" {
		return has
	}
	return !has
}

// jsonStrings reads a string, a list of strings or {"set": [...]}.
func jsonStrings(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var set struct{ Set []json.RawMessage }
	var list []json.RawMessage
	if json.Unmarshal(raw, &set) == nil && set.Set != nil {
		list = set.Set
	} else if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var out []string
	for _, e := range list {
		out = append(out, jsonStrings(e)...)
	}
	return out
}

// parseVMap reads a vmap statement: an anonymous map, or a named one
// ("@name") that namedMap finds in the same table.
func parseVMap(raw json.RawMessage, namedMap func(string) json.RawMessage) (*nftVMap, error) {
	var v struct {
		Key  json.RawMessage
		Data json.RawMessage
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("vmap: %v", err)
	}
	var name string
	if json.Unmarshal(v.Data, &name) == nil && strings.HasPrefix(name, "@") {
		elem := namedMap(name[1:])
		if elem == nil {
			return nil, fmt.Errorf("vmap %s: no such verdict map", name)
		}
		var els [][2]json.RawMessage
		if err := json.Unmarshal(elem, &els); err != nil {
			return nil, fmt.Errorf("vmap %s: elements: %v", name, err)
		}
		return &nftVMap{Key: v.Key, Elements: els}, nil
	}
	var data struct{ Set [][2]json.RawMessage }
	if err := json.Unmarshal(v.Data, &data); err != nil || data.Set == nil {
		return nil, fmt.Errorf("vmap %s: cannot read its map", v.Data)
	}
	return &nftVMap{Key: v.Key, Elements: data.Set}, nil
}

// NftPacket is the probe's first packet: a NEW connection from Src to
// Dst:Port arriving on In.
type NftPacket struct {
	Proto    string // tcp or udp
	Src, Dst netip.Addr
	Port     uint16
	In       string
}

// lookup evaluates a verdict map for the packet: the verdict and target
// of the element its key hits, or hit false.
func (m *nftVMap) lookup(p NftPacket) (verdict, target string, hit bool, err error) {
	key, ok, err := vmapKey(m.Key, p)
	if err != nil || !ok {
		return "", "", false, err
	}
	for _, el := range m.Elements {
		in, err := vmapElemHas(el[0], key)
		if err != nil {
			return "", "", false, err
		}
		if !in {
			continue
		}
		var vd map[string]json.RawMessage
		if err := json.Unmarshal(el[1], &vd); err != nil {
			return "", "", false, fmt.Errorf("vmap verdict %s: %v", el[1], err)
		}
		for k, v := range vd {
			var t struct{ Target string }
			json.Unmarshal(v, &t)
			if nftVerdicts[k] == "" || k == "vmap" {
				return "", "", false, fmt.Errorf("vmap verdict %s: cannot follow", k)
			}
			return nftVerdicts[k], t.Target, true, nil
		}
	}
	return "", "", false, nil
}

// vmapKey is the packet's value for a map key: a port, an address, a
// protocol or ct state name, or an interface name (ok false: the key does
// not apply to the packet, so no element hits).
func vmapKey(raw json.RawMessage, p NftPacket) (key any, ok bool, err error) {
	var k struct {
		Payload *struct{ Protocol, Field string }
		Meta    *struct{ Key string }
		Ct      *struct{ Key string }
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, false, fmt.Errorf("vmap key %s: %v", raw, err)
	}
	switch {
	case k.Ct != nil && k.Ct.Key == "state":
		return "new", true, nil
	case k.Meta != nil && k.Meta.Key == "l4proto":
		return p.Proto, true, nil
	case k.Meta != nil && k.Meta.Key == "nfproto":
		return map[bool]string{true: "ipv4", false: "ipv6"}[p.Src.Is4()], true, nil
	case k.Meta != nil && (k.Meta.Key == "iifname" || k.Meta.Key == "iif"):
		return p.In, true, nil
	case k.Payload != nil && k.Payload.Field == "dport" && (k.Payload.Protocol == p.Proto || k.Payload.Protocol == "th"):
		return float64(p.Port), true, nil
	case k.Payload != nil && k.Payload.Field == "dport" && (k.Payload.Protocol == "tcp" || k.Payload.Protocol == "udp"):
		return nil, false, nil
	case k.Payload != nil && (k.Payload.Field == "saddr" || k.Payload.Field == "daddr"):
		a := p.Src
		if k.Payload.Field == "daddr" {
			a = p.Dst
		}
		if (k.Payload.Protocol == "ip") != a.Is4() {
			return nil, false, nil
		}
		return a, true, nil
	}
	return nil, false, fmt.Errorf("vmap key %s: cannot evaluate", raw)
}

// vmapElemHas reports whether a map element's key (a value, a range or a
// prefix) holds key.
func vmapElemHas(raw json.RawMessage, key any) (bool, error) {
	var el struct {
		Range  []json.RawMessage
		Prefix *struct {
			Addr string
			Len  int
		}
	}
	switch k := key.(type) {
	case float64:
		var n float64
		if json.Unmarshal(raw, &n) == nil {
			return n == k, nil
		}
		if json.Unmarshal(raw, &el) == nil && len(el.Range) == 2 {
			var lo, hi float64
			if json.Unmarshal(el.Range[0], &lo) != nil || json.Unmarshal(el.Range[1], &hi) != nil {
				return false, fmt.Errorf("vmap element %s: cannot read", raw)
			}
			return lo <= k && k <= hi, nil
		}
	case string:
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s == k, nil
		}
	case netip.Addr:
		var s string
		if json.Unmarshal(raw, &s) == nil {
			a, err := netip.ParseAddr(s)
			return err == nil && a == k, nil
		}
		if json.Unmarshal(raw, &el) == nil && el.Prefix != nil {
			a, err := netip.ParseAddr(el.Prefix.Addr)
			if err != nil {
				return false, fmt.Errorf("vmap element %s: %v", raw, err)
			}
			return netip.PrefixFrom(a, el.Prefix.Len).Contains(k), nil
		}
		if json.Unmarshal(raw, &el) == nil && len(el.Range) == 2 {
			var lo, hi string
			json.Unmarshal(el.Range[0], &lo)
			json.Unmarshal(el.Range[1], &hi)
			l, e1 := netip.ParseAddr(lo)
			h, e2 := netip.ParseAddr(hi)
			if e1 != nil || e2 != nil {
				return false, fmt.Errorf("vmap element %s: cannot read", raw)
			}
			return l.Compare(k) <= 0 && k.Compare(h) <= 0, nil
		}
	}
	return false, fmt.Errorf("vmap element %s: cannot compare with %v", raw, key)
}

// nftEnd is where one base chain's walk ended.
type nftEnd struct {
	chain   *NftChain
	rule    *NftRule // nil: the policy
	verdict string   // accept or drop
}

// NftDeciding walks, over the rules whose counters grew between before and
// after, every base chain the packet p traversed on its way in, in the
// kernel's order: netdev ingress on p.In, then prerouting, then input, or
// forward when a prerouting dnat sent it to an address that is not local.
// Base chains on one hook run by priority; an accept ends its own base
// chain only, a drop is final. It returns the first drop, or for an
// accepted packet the accepting rule of the last base chain on input (or
// forward) that accepted by a rule, with the other base chains' accepting
// rules in Later; only when no rule accepted, their policies instead.
func NftDeciding(before, after *NftCounters, p NftPacket, local func(netip.Addr) bool) (KernelDecision, error) {
	var d KernelDecision
	for _, a := range after.Chains {
		b := before.Chain(a.Family, a.Table, a.Name)
		if b == nil || len(b.Rules) != len(a.Rules) {
			return d, fmt.Errorf("chain %s changed between the readings", nftChainKey(a.Family, a.Table, a.Name))
		}
		for i := range a.Rules {
			if a.Rules[i].Handle != b.Rules[i].Handle {
				return d, fmt.Errorf("chain %s changed between the readings", nftChainKey(a.Family, a.Table, a.Name))
			}
		}
	}
	w := &nftWalker{before: before, after: after, p: p, used: map[*NftChain][]uint64{}, visited: map[*NftChain]bool{}}
	hooks := []string{"ingress", "prerouting", "input"}
	var ends []nftEnd
	var drop *nftEnd
walk:
	for hi := 0; hi < len(hooks); hi++ {
		ends = nil
		for _, ch := range w.baseChains(hooks[hi]) {
			e, err := w.walkBase(ch)
			if err != nil {
				d.Path = w.path
				return d, err
			}
			if e.verdict == "drop" {
				drop = &e
				break walk
			}
			ends = append(ends, e)
		}
		if hooks[hi] == "prerouting" && w.natAddr.IsValid() && !local(w.natAddr) {
			hooks[hi+1] = "forward"
		}
	}
	if err := w.leftover(); err != nil {
		d.Path = w.path
		return d, err
	}
	// Base chains off the walk (another hook, another family, after a
	// drop) count no packet while the probe is alone on the wire.
	for _, ch := range after.Chains {
		if w.visited[ch] || !(ch.Hook == "ingress" || ch.Hook == "prerouting" || ch.Hook == "input" || ch.Hook == "forward") {
			continue
		}
		for i, r := range ch.Rules {
			if r.Counted && !r.NotNew && r.Pkts != before.Chain(ch.Family, ch.Table, ch.Name).Rules[i].Pkts {
				d.Path = w.path
				return d, fmt.Errorf("%s handle %d (%s) counted a packet, off the walk", nftChainKey(ch.Family, ch.Table, ch.Name), r.Handle, r.Text)
			}
		}
	}
	switch {
	case drop != nil:
		return w.decision(*drop, nil), nil
	case len(ends) == 0:
		return KernelDecision{Verdict: "accept", NoRules: true, Path: w.path}, nil
	}
	// The accepting rules, if any base chain accepted by a rule; else the
	// policies.
	var rules []nftEnd
	for _, e := range ends {
		if e.rule != nil {
			rules = append(rules, e)
		}
	}
	if len(rules) > 0 {
		ends = rules
	}
	return w.decision(ends[len(ends)-1], ends[:len(ends)-1]), nil
}

type nftWalker struct {
	before, after *NftCounters
	p             NftPacket
	used          map[*NftChain][]uint64
	visited       map[*NftChain]bool
	path          []string
	natAddr       netip.Addr
}

// sees reports whether base chain ch on hook sees the packet: ingress
// chains of its interface (netdev or inet), otherwise chains of its
// family or inet.
func (w *nftWalker) sees(ch *NftChain, hook string) bool {
	if ch.Hook != hook {
		return false
	}
	if hook == "ingress" {
		return (ch.Family == "netdev" || ch.Family == "inet") && ch.Device == w.p.In
	}
	switch ch.Family {
	case "inet":
		return true
	case "ip":
		return w.p.Src.Is4()
	case "ip6":
		return w.p.Src.Is6()
	}
	return false
}

// baseChains are the base chains on hook that see the packet, by priority
// (listing order among equals).
func (w *nftWalker) baseChains(hook string) []*NftChain {
	var out []*NftChain
	for _, ch := range w.after.Chains {
		if w.sees(ch, hook) {
			out = append(out, ch)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Prio < out[j].Prio })
	return out
}

func (w *nftWalker) decision(e nftEnd, others []nftEnd) KernelDecision {
	d := w.endDecision(e)
	d.Path = w.path
	for _, o := range others {
		d.Later = append(d.Later, w.endDecision(o))
	}
	return d
}

func (w *nftWalker) endDecision(e nftEnd) KernelDecision {
	ch := e.chain
	d := KernelDecision{Verdict: e.verdict, Table: ch.Family + " " + ch.Table, Policy: e.rule == nil}
	ref := NftRef{Family: ch.Family, Table: ch.Table, Chain: ch.Name}
	switch {
	case e.rule == nil && ch.Iptables:
		d.Table, d.Rule = ch.Table, "-P "+ch.Name+" "+strings.ToUpper(ch.Policy)
	case e.rule == nil:
		ref.Policy = ch.Policy
		d.Rule, d.Nft = ref.String(), &ref
	case e.rule.Ipt != "":
		d.Table, d.Rule = ch.Table, e.rule.Ipt
	default:
		ref.Handle = e.rule.Handle
		d.Rule, d.Nft = ref.String()+": "+e.rule.Text, &ref
	}
	return d
}

// leftover: in every chain visited, no counter moved more than the walk
// used, except on rules no NEW packet matches.
func (w *nftWalker) leftover() error {
	for ch := range w.visited {
		b := w.before.Chain(ch.Family, ch.Table, ch.Name)
		for i, r := range ch.Rules {
			if !r.Counted || r.NotNew {
				continue
			}
			if left := r.Pkts - b.Rules[i].Pkts - w.used[ch][i]; left != 0 {
				return fmt.Errorf("%d more packets matched %s handle %d (%s) than the one probe explains",
					left, nftChainKey(ch.Family, ch.Table, ch.Name), r.Handle, r.Text)
			}
		}
	}
	return nil
}

func (w *nftWalker) walkBase(ch *NftChain) (nftEnd, error) {
	e, done, err := w.walk(ch, 0)
	if err != nil || done {
		return e, err
	}
	return nftEnd{chain: ch, verdict: ch.Policy}, nil
}

// walk walks one chain; done is false when the walk returns to the
// caller (fell off a regular chain, return, or a goto's chain fell off).
func (w *nftWalker) walk(ch *NftChain, depth int) (nftEnd, bool, error) {
	if depth > 32 {
		return nftEnd{}, false, fmt.Errorf("chain nesting deeper than 32 at %s", ch.Name)
	}
	w.visited[ch] = true
	if w.used[ch] == nil {
		w.used[ch] = make([]uint64, len(ch.Rules))
	}
	b := w.before.Chain(ch.Family, ch.Table, ch.Name)
	for i := range ch.Rules {
		r := &ch.Rules[i]
		if r.NotNew {
			continue
		}
		moved := r.Pkts - b.Rules[i].Pkts - w.used[ch][i]
		if r.Verdict == "" {
			if r.Counted && moved > 0 {
				w.used[ch][i]++
			}
			continue
		}
		if !r.Counted {
			return nftEnd{}, false, fmt.Errorf("%s handle %d (%s) has no counter right before its verdict: cannot tell whether it matched",
				nftChainKey(ch.Family, ch.Table, ch.Name), r.Handle, r.Text)
		}
		if moved == 0 {
			continue
		}
		w.used[ch][i]++
		w.path = append(w.path, fmt.Sprintf("%s handle %d: %s", nftChainKey(ch.Family, ch.Table, ch.Name), r.Handle, r.Text))
		verdict, target := r.Verdict, r.Target
		if verdict == "vmap" {
			v, t, hit, err := r.VMap.lookup(w.p)
			if err != nil {
				return nftEnd{}, false, fmt.Errorf("%s handle %d: %v", nftChainKey(ch.Family, ch.Table, ch.Name), r.Handle, err)
			}
			if !hit {
				continue
			}
			verdict, target = v, t
		}
		switch verdict {
		case "accept", "drop":
			return nftEnd{chain: ch, rule: r, verdict: verdict}, true, nil
		case "nat":
			addr := r.NatAddr
			if r.Ipt != "" {
				addr = iptDNATAddr(r.Ipt)
			}
			if addr != "" {
				a, err := netip.ParseAddr(addr)
				if err != nil {
					return nftEnd{}, false, fmt.Errorf("%s handle %d: dnat address %q: %v", nftChainKey(ch.Family, ch.Table, ch.Name), r.Handle, addr, err)
				}
				w.natAddr = a
			}
			return nftEnd{chain: ch, rule: r, verdict: "accept"}, true, nil
		case "unknown":
			return nftEnd{}, false, fmt.Errorf("%s handle %d: %s: cannot follow", nftChainKey(ch.Family, ch.Table, ch.Name), r.Handle, target)
		case "continue":
		case "return":
			return nftEnd{}, false, nil
		case "jump", "goto":
			sub := w.after.Chain(ch.Family, ch.Table, target)
			if sub == nil {
				return nftEnd{}, false, fmt.Errorf("%s handle %d: no chain %s", nftChainKey(ch.Family, ch.Table, ch.Name), r.Handle, target)
			}
			e, done, err := w.walk(sub, depth+1)
			if done || err != nil {
				return e, done, err
			}
			if verdict == "goto" {
				return nftEnd{}, false, nil // back to this chain's caller
			}
		}
	}
	return nftEnd{}, false, nil
}

// iptDNATAddr is the address of an iptables DNAT rule's --to-destination.
func iptDNATAddr(rule string) string {
	f := fieldsQuoted(rule)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "--to-destination" {
			a := f[i+1]
			if strings.HasPrefix(a, "[") {
				return strings.Trim(strings.SplitN(a, "]", 2)[0], "[")
			}
			return strings.SplitN(a, ":", 2)[0]
		}
	}
	return ""
}

// nftRuleText reads `nft -a list ruleset`: per "family table chain", the
// rule texts by handle, counter values dropped, and under handle 0 the
// device of an ingress chain (nft 1.0.6's JSON leaves it out).
func nftRuleText(list string) map[string]map[uint64]string {
	out := map[string]map[uint64]string{}
	var table, chain string
	for _, line := range strings.Split(list, "\n") {
		s := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(s, "table "):
			f := strings.Fields(s)
			if len(f) >= 3 {
				table, chain = f[1]+" "+f[2], ""
			}
		case strings.HasPrefix(s, "chain "):
			f := strings.Fields(s)
			chain = f[1]
		case strings.HasPrefix(s, "set ") || strings.HasPrefix(s, "map ") || s == "}":
			if s != "}" || chain == "" {
				continue
			}
			chain = ""
		case chain != "":
			key := table + " " + chain
			if out[key] == nil {
				out[key] = map[uint64]string{}
			}
			if m := deviceRe.FindStringSubmatch(s); m != nil {
				out[key][0] = m[1]
				continue
			}
			m := handleRe.FindStringSubmatch(s)
			if m == nil {
				continue
			}
			h, _ := strconv.ParseUint(m[2], 10, 64)
			out[key][h] = counterValues.ReplaceAllString(m[1], "counter")
		}
	}
	return out
}

var (
	handleRe      = regexp.MustCompile(`^(.*\S)\s+# handle (\d+)$`)
	deviceRe      = regexp.MustCompile(`^type \S+ hook \S+ device "?([^";\s]+)"?`)
	counterValues = regexp.MustCompile(`counter packets \d+ bytes \d+`)
)

// iptablesRules reads iptables-save output: per table, per chain, the
// rules' texts in order.
func iptablesRules(save string) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	var tab map[string][]string
	for _, line := range strings.Split(save, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "*"):
			tab = map[string][]string{}
			out[line[1:]] = tab
		case strings.HasPrefix(line, "-A ") && tab != nil:
			f := strings.Fields(line)
			tab[f[1]] = append(tab[f[1]], line)
		}
	}
	return out
}

// annotate gives every rule its text, and the rules of iptables-nft's
// tables (those iptables-save and ip6tables-save list) their iptables
// text, matched by position in the chain.
func (c *NftCounters) annotate(text map[string]map[uint64]string, ipt4, ipt6 map[string]map[string][]string) error {
	for _, ch := range c.Chains {
		key := nftChainKey(ch.Family, ch.Table, ch.Name)
		if ch.Device == "" {
			ch.Device = text[key][0]
		}
		for i := range ch.Rules {
			ch.Rules[i].Text = text[key][ch.Rules[i].Handle]
		}
		ipt := map[string]map[string]map[string][]string{"ip": ipt4, "ip6": ipt6}[ch.Family]
		tab, ok := ipt[ch.Table]
		if !ok {
			continue
		}
		ch.Iptables = true
		rules := tab[ch.Name]
		if len(rules) != len(ch.Rules) {
			return fmt.Errorf("iptables-nft chain %s %s: %d rules in iptables-save, %d in nft", ch.Table, ch.Name, len(rules), len(ch.Rules))
		}
		for i := range ch.Rules {
			r := &ch.Rules[i]
			r.Ipt = rules[i]
			if st := iptCtStates(r.Ipt); st != nil && !st["NEW"] {
				r.NotNew = true
			}
		}
	}
	return nil
}

// iptCtStates is the set of states an iptables rule's state or conntrack
// match accepts (nil: no such match).
func iptCtStates(rule string) map[string]bool {
	f := fieldsQuoted(rule)
	for i := 0; i+1 < len(f); i++ {
		if f[i] != "--ctstate" && f[i] != "--state" {
			continue
		}
		neg := i > 0 && f[i-1] == "!"
		all := []string{"NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"}
		named := map[string]bool{}
		for _, s := range strings.Split(f[i+1], ",") {
			named[s] = true
		}
		out := map[string]bool{}
		for _, s := range all {
			out[s] = named[s] != neg
		}
		return out
	}
	return nil
}

// nftStatic is what does not change between the readings of one lab:
// rule texts and iptables-nft's rules.
type nftStatic struct {
	text       map[string]map[uint64]string
	ipt4, ipt6 map[string]map[string][]string
}

var (
	nftStaticMu sync.Mutex
	nftStatics  = map[*Lab]*nftStatic{}
)

func (lab *Lab) nftStatic() *nftStatic {
	lab.T.Helper()
	nftStaticMu.Lock()
	defer nftStaticMu.Unlock()
	if s := nftStatics[lab]; s != nil {
		return s
	}
	s := &nftStatic{
		text: nftRuleText(lab.Host.Run("nft", "-a", "list", "ruleset")),
		ipt4: iptablesRules(lab.Host.Run("iptables-save")),
		ipt6: iptablesRules(lab.Host.Run("ip6tables-save")),
	}
	nftStatics[lab] = s
	lab.T.Cleanup(func() {
		nftStaticMu.Lock()
		delete(nftStatics, lab)
		nftStaticMu.Unlock()
	})
	return s
}

// ReadNftCounters reads the host's nft ruleset with its counters, rule
// texts and iptables-nft's rule texts.
func (lab *Lab) ReadNftCounters() *NftCounters {
	lab.T.Helper()
	st := lab.nftStatic()
	c, err := ParseNftCounters(lab.Host.Run("nft", "-a", "-j", "list", "ruleset"))
	if err == nil {
		err = c.annotate(st.text, st.ipt4, st.ipt6)
	}
	if err != nil {
		lab.T.Fatalf("reading nft counters: %v", err)
	}
	return c
}

// labLocal: the addresses a DNAT can send a packet to without it leaving
// the host (the host's own, loopback).
func labLocal(a netip.Addr) bool {
	return a.IsLoopback() || a == HostV4 || a == HostV6 || a == BackendHostV4
}

// DecideNft is Decide for native nftables: it probes once and walks the
// nft counters (all tables, iptables-nft's included) read around it.
func (lab *Lab) DecideNft(r ProbeReq) (KernelDecision, ProbeResult, error) {
	lab.T.Helper()
	lab.synOnly()
	d, res, err := lab.decideNftOnce(r, DecideTimeout)
	if err != nil && res.Detail == "fail timeout" {
		d, res, err = lab.decideNftOnce(r, 950*time.Millisecond)
	}
	return d, res, err
}

func (lab *Lab) decideNftOnce(r ProbeReq, timeout time.Duration) (KernelDecision, ProbeResult, error) {
	lab.T.Helper()
	p := NftPacket{Proto: r.Proto, Port: r.Port, In: lab.HostIf}
	var err error
	if p.Src, err = netip.ParseAddr(r.Src); err != nil {
		return KernelDecision{}, ProbeResult{}, err
	}
	if p.Dst, err = netip.ParseAddr(r.Dst); err != nil {
		return KernelDecision{}, ProbeResult{}, err
	}
	before := lab.ReadNftCounters()
	res := lab.ProbeOnce([]ProbeReq{r}, timeout)[0]
	after := lab.ReadNftCounters()
	d, err := NftDeciding(before, after, p, labLocal)
	if err == nil && (d.Verdict == "accept") != res.OK {
		err = &ReplyLost{Rule: d.Rule, Probe: res.Detail}
		if d.Verdict != "accept" {
			err = fmt.Errorf("counters say %s by %q but the probe says %q", d.Verdict, d.Rule, res.Detail)
		}
	}
	return d, res, err
}
