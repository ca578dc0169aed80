package firewall

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// nftRuleText names an nft rule the way a reader finds it: family, table,
// chain and handle (as `nft -a list ruleset` shows them), then the rule
// in nft's own words, rendered from its JSON.
func nftRuleText(t *nftTable, c *nftChain, r *nftRule, pos int, positions bool) string {
	var parts []string
	for _, e := range r.exprs {
		parts = append(parts, nftExprText(e))
	}
	body := strings.Join(parts, " ")
	if r.comment != "" {
		body += " comment " + strconv.Quote(r.comment)
	}
	if positions {
		return fmt.Sprintf("%s %s %s rule %d: %s", t.family, t.name, c.name, pos, body)
	}
	return fmt.Sprintf("%s %s %s handle %d: %s", t.family, t.name, c.name, r.handle, body)
}

// nftExprText renders one statement.
func nftExprText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.Join(strings.Fields(s), " ")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return string(raw)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		v := obj[k]
		if k == "match" {
			var m struct {
				Op          string
				Left, Right json.RawMessage
			}
			json.Unmarshal(v, &m)
			op := " " + m.Op + " "
			if m.Op == "==" || m.Op == "in" {
				op = " "
			}
			right := nftValueText(m.Right)
			if isIfaceKey(m.Left) {
				right = quoteNames(m.Right)
			}
			out = append(out, nftValueText(m.Left)+op+right)
			continue
		}
		out = append(out, nftStmtText(k, v))
	}
	return strings.Join(out, " ")
}

// nftStmtText renders a statement other than a match.
func nftStmtText(k string, v json.RawMessage) string {
	var args map[string]json.RawMessage
	json.Unmarshal(v, &args)
	switch k {
	case "accept", "drop", "return", "continue", "notrack", "masquerade":
		return k
	case "reject", "counter", "log", "queue":
		return k
	case "jump", "goto":
		var j struct{ Target string }
		json.Unmarshal(v, &j)
		return k + " " + j.Target
	case "dnat", "snat", "redirect":
		s := k
		if a := args["addr"]; len(a) > 0 {
			s += " to " + nftValueText(a)
			if p := args["port"]; len(p) > 0 {
				s += ":" + nftValueText(p)
			}
		} else if p := args["port"]; len(p) > 0 {
			s += " to :" + nftValueText(p)
		}
		return s
	case "vmap":
		return nftValueText(args["key"]) + " vmap " + nftValueText(args["data"])
	case "limit":
		var l struct {
			Rate      int    `json:"rate"`
			Burst     int    `json:"burst"`
			Per       string `json:"per"`
			RateUnit  string `json:"rate_unit"`
			BurstUnit string `json:"burst_unit"`
			Inv       bool   `json:"inv"`
		}
		json.Unmarshal(v, &l)
		over := ""
		if l.Inv {
			over = "over "
		}
		s := fmt.Sprintf("limit rate %s%d/%s", over, l.Rate, l.Per)
		if l.RateUnit != "" && l.RateUnit != "packets" {
			s = fmt.Sprintf("limit rate %s%d %s/%s", over, l.Rate, l.RateUnit, l.Per)
		}
		if l.Burst > 0 {
			unit := "packets"
			if l.BurstUnit != "" {
				unit = l.BurstUnit
			}
			s += fmt.Sprintf(" burst %d %s", l.Burst, unit)
		}
		return s
	case "ct count":
		var c struct {
			Val int
			Inv bool
		}
		json.Unmarshal(v, &c)
		if c.Inv {
			return fmt.Sprintf("ct count over %d", c.Val)
		}
		return fmt.Sprintf("ct count %d", c.Val)
	case "set":
		var st struct{ Op, Set string }
		json.Unmarshal(v, &st)
		return st.Op + " " + st.Set + " { " + nftValueText(args["elem"]) + " }"
	case "xt":
		var x struct{ Type, Name string }
		json.Unmarshal(v, &x)
		return "xt " + x.Type + " " + strconv.Quote(x.Name)
	}
	return k
}

// nftValueText renders an expression or a value.
func nftValueText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		if b {
			return "exists"
		}
		return "missing"
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var parts []string
		for _, e := range list {
			parts = append(parts, nftValueText(e))
		}
		if len(parts) == 2 && strings.HasPrefix(string(raw), "[[") == false && isVerdictPair(list) {
			return parts[0] + " : " + parts[1]
		}
		return strings.Join(parts, ",")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return string(raw)
	}
	for k, v := range obj {
		switch k {
		case "payload":
			var p struct {
				Protocol, Field string
				Base            string
				Offset, Len     int
			}
			json.Unmarshal(v, &p)
			if p.Protocol == "" {
				return fmt.Sprintf("@%s,%d,%d", p.Base, p.Offset, p.Len)
			}
			return p.Protocol + " " + p.Field
		case "meta":
			var m struct{ Key string }
			json.Unmarshal(v, &m)
			switch m.Key {
			case "iifname", "oifname", "iif", "oif":
				return m.Key
			}
			return "meta " + m.Key
		case "ct":
			var c struct{ Key, Dir, Family string }
			json.Unmarshal(v, &c)
			return strings.Join(strings.Fields("ct "+c.Dir+" "+c.Family+" "+c.Key), " ")
		case "fib":
			var f struct {
				Result string
				Flags  []string
			}
			json.Unmarshal(v, &f)
			return "fib " + strings.Join(f.Flags, " . ") + " " + f.Result
		case "concat":
			var parts []json.RawMessage
			json.Unmarshal(v, &parts)
			var ss []string
			for _, p := range parts {
				ss = append(ss, nftValueText(p))
			}
			return strings.Join(ss, " . ")
		case "set":
			var parts []json.RawMessage
			if json.Unmarshal(v, &parts) != nil {
				return "{ " + nftValueText(v) + " }"
			}
			var ss []string
			for _, p := range parts {
				ss = append(ss, nftValueText(p))
			}
			return "{ " + strings.Join(ss, ", ") + " }"
		case "prefix":
			var p struct {
				Addr string
				Len  int
			}
			json.Unmarshal(v, &p)
			return fmt.Sprintf("%s/%d", p.Addr, p.Len)
		case "range":
			var r []json.RawMessage
			json.Unmarshal(v, &r)
			if len(r) == 2 {
				return nftValueText(r[0]) + "-" + nftValueText(r[1])
			}
		case "elem":
			var e struct {
				Val json.RawMessage
			}
			json.Unmarshal(v, &e)
			return nftValueText(e.Val)
		case "&", "|", "^":
			var ops []json.RawMessage
			json.Unmarshal(v, &ops)
			var ss []string
			for _, o := range ops {
				ss = append(ss, nftValueText(o))
			}
			if k == "|" {
				return strings.Join(ss, " | ")
			}
			return "(" + strings.Join(ss, " "+k+" ") + ")"
		case "exthdr":
			var x struct{ Name, Field string }
			json.Unmarshal(v, &x)
			return x.Name + " " + x.Field
		case "accept", "drop", "reject", "return", "continue", "jump", "goto":
			return nftStmtText(k, v)
		}
		return k
	}
	return string(raw)
}

// isIfaceKey: the expression is an interface name (printed quoted).
func isIfaceKey(raw json.RawMessage) bool {
	var l struct{ Meta struct{ Key string } }
	if json.Unmarshal(raw, &l) != nil {
		return false
	}
	switch l.Meta.Key {
	case "iifname", "oifname", "iif", "oif":
		return true
	}
	return false
}

// quoteNames renders interface names as nft does: "eth0", { "a", "b" }.
func quoteNames(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.HasPrefix(s, "@") {
			return s
		}
		return strconv.Quote(s)
	}
	var set struct {
		Set []json.RawMessage `json:"set"`
	}
	if json.Unmarshal(raw, &set) == nil && set.Set != nil {
		var parts []string
		for _, e := range set.Set {
			parts = append(parts, quoteNames(e))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return nftValueText(raw)
}

func isVerdictPair(list []json.RawMessage) bool {
	if len(list) != 2 {
		return false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(list[1], &obj) != nil {
		return false
	}
	for k := range obj {
		switch k {
		case "accept", "drop", "reject", "return", "continue", "jump", "goto":
			return true
		}
	}
	return false
}
