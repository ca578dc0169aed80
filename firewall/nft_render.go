package firewall

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// nftRuleText names an nft rule the way a reader finds it: family, table,
// chain and handle (as `nft -a list ruleset` shows them), then the rule
// in nft's own words, rendered from its JSON.
func nftRuleText(t *nftTable, c *nftChain, r *nftRule, pos int, positions bool) string {
	if r.text == "" {
		parts := make([]string, 0, len(r.exprs))
		for _, e := range r.exprs {
			parts = append(parts, nftExprText(e))
		}
		r.text = strings.Join(parts, " ")
		if r.comment != "" {
			r.text += " comment " + strconv.Quote(r.comment)
		}
	}
	body := r.text
	if positions {
		return fmt.Sprintf("%s %s %s rule %d: %s", t.family, t.name, c.name, pos, body)
	}
	return fmt.Sprintf("%s %s %s handle %d: %s", t.family, t.name, c.name, r.handle, body)
}

// nftExprText renders one statement.
func nftExprText(v any) string {
	if s, ok := jStr(v); ok {
		return strings.Join(strings.Fields(s), " ")
	}
	obj := jObj(v)
	if obj == nil {
		return jText(v)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		x := obj[k]
		if k == "match" {
			m := jObj(x)
			op, _ := jStr(m["op"])
			sep := " " + op + " "
			if op == "==" || op == "in" {
				sep = " "
			}
			right := nftValueText(m["right"])
			if isIfaceKey(m["left"]) {
				right = quoteNames(m["right"])
			}
			out = append(out, nftValueText(m["left"])+sep+right)
			continue
		}
		out = append(out, nftStmtText(k, x))
	}
	return strings.Join(out, " ")
}

// nftStmtText renders a statement other than a match.
func nftStmtText(k string, v any) string {
	args := jObj(v)
	switch k {
	case "accept", "drop", "return", "continue", "notrack", "masquerade":
		return k
	case "reject", "counter", "log", "queue":
		return k
	case "jump", "goto":
		return k + " " + jField(v, "target")
	case "dnat", "snat", "redirect":
		s := k
		if a, ok := args["addr"]; ok {
			s += " to " + nftValueText(a)
			if p, ok := args["port"]; ok {
				s += ":" + nftValueText(p)
			}
		} else if p, ok := args["port"]; ok {
			s += " to :" + nftValueText(p)
		}
		return s
	case "vmap":
		return nftValueText(args["key"]) + " vmap " + nftValueText(args["data"])
	case "limit":
		over := ""
		if inv, _ := args["inv"].(bool); inv {
			over = "over "
		}
		rate, _ := jNumberText(args["rate"])
		per := jField(v, "per")
		s := fmt.Sprintf("limit rate %s%s/%s", over, rate, per)
		if unit := jField(v, "rate_unit"); unit != "" && unit != "packets" {
			s = fmt.Sprintf("limit rate %s%s %s/%s", over, rate, unit, per)
		}
		if burst, ok := jInt(args["burst"]); ok && burst > 0 {
			unit := jField(v, "burst_unit")
			if unit == "" {
				unit = "packets"
			}
			s += fmt.Sprintf(" burst %d %s", burst, unit)
		}
		return s
	case "ct count":
		n, _ := jNumberText(args["val"])
		if inv, _ := args["inv"].(bool); inv {
			return "ct count over " + n
		}
		return "ct count " + n
	case "set":
		return jField(v, "op") + " " + jField(v, "set") + " { " + nftValueText(args["elem"]) + " }"
	case "xt":
		return "xt " + jField(v, "type") + " " + strconv.Quote(jField(v, "name"))
	}
	return k
}

// nftValueText renders an expression or a value.
func nftValueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "exists"
		}
		return "missing"
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, nftValueText(e))
		}
		if len(parts) == 2 && isVerdictPair(x) {
			return parts[0] + " : " + parts[1]
		}
		return strings.Join(parts, ",")
	case map[string]any:
		for k, e := range x {
			switch k {
			case "payload":
				p := jObj(e)
				if proto := jField(p, "protocol"); proto != "" {
					return proto + " " + jField(p, "field")
				}
				off, _ := jNumberText(p["offset"])
				n, _ := jNumberText(p["len"])
				return "@" + jField(p, "base") + "," + off + "," + n
			case "meta":
				key := jField(e, "key")
				switch key {
				case "iifname", "oifname", "iif", "oif":
					return key
				}
				return "meta " + key
			case "ct":
				return strings.Join(strings.Fields("ct "+jField(e, "dir")+" "+jField(e, "family")+" "+jField(e, "key")), " ")
			case "fib":
				return "fib " + strings.Join(atomStrings(jObj(e)["flags"]), " . ") + " " + jField(e, "result")
			case "concat":
				var ss []string
				for _, p := range jList(e) {
					ss = append(ss, nftValueText(p))
				}
				return strings.Join(ss, " . ")
			case "set":
				l, ok := e.([]any)
				if !ok {
					return "{ " + nftValueText(e) + " }"
				}
				ss := make([]string, 0, len(l))
				for _, p := range l {
					ss = append(ss, nftValueText(p))
				}
				return "{ " + strings.Join(ss, ", ") + " }"
			case "prefix":
				n, _ := jNumberText(jObj(e)["len"])
				return jField(e, "addr") + "/" + n
			case "range":
				if r := jList(e); len(r) == 2 {
					return nftValueText(r[0]) + "-" + nftValueText(r[1])
				}
			case "elem":
				return nftValueText(jObj(e)["val"])
			case "&", "|", "^":
				var ss []string
				for _, o := range jList(e) {
					ss = append(ss, nftValueText(o))
				}
				if k == "|" {
					return strings.Join(ss, " | ")
				}
				return "(" + strings.Join(ss, " "+k+" ") + ")"
			case "exthdr":
				return jField(e, "name") + " " + jField(e, "field")
			case "accept", "drop", "reject", "return", "continue", "jump", "goto":
				return nftStmtText(k, e)
			}
			return k
		}
	}
	if n, ok := jNumberText(v); ok {
		return n
	}
	return jText(v)
}

// isIfaceKey: the expression is an interface name (printed quoted).
func isIfaceKey(v any) bool {
	switch jField(jObj(v)["meta"], "key") {
	case "iifname", "oifname", "iif", "oif":
		return true
	}
	return false
}

// quoteNames renders interface names as nft does: "eth0", { "a", "b" }.
func quoteNames(v any) string {
	if s, ok := jStr(v); ok {
		if strings.HasPrefix(s, "@") {
			return s
		}
		return strconv.Quote(s)
	}
	if set, ok := jObj(v)["set"].([]any); ok {
		parts := make([]string, 0, len(set))
		for _, e := range set {
			parts = append(parts, quoteNames(e))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return nftValueText(v)
}

func isVerdictPair(list []any) bool {
	if len(list) != 2 {
		return false
	}
	k, _, ok := jOne(list[1])
	if !ok {
		return false
	}
	switch k {
	case "accept", "drop", "reject", "return", "continue", "jump", "goto":
		return true
	}
	return false
}
