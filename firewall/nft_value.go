package firewall

import (
	"encoding/json"
	"strconv"
)

// libnftables JSON is decoded once, into plain values: map[string]any,
// []any, string, json.Number, bool and nil. These helpers read them.

// jObj is v as an object (nil when it is not one).
func jObj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// jList is v as an array (nil when it is not one).
func jList(v any) []any {
	l, _ := v.([]any)
	return l
}

func jStr(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok
}

// jInt is v as a whole number.
func jInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case float64:
		return int64(n), n == float64(int64(n))
	}
	return 0, false
}

// jOne is an object of one key (a statement, an expression).
func jOne(v any) (string, any, bool) {
	m := jObj(v)
	if len(m) != 1 {
		return "", nil, false
	}
	for k, x := range m {
		return k, x, true
	}
	return "", nil, false
}

// jField is the string field k of object v.
func jField(v any, k string) string {
	s, _ := jObj(v)[k].(string)
	return s
}

// jText is v as compact JSON, for messages.
func jText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// jNumberText renders a number as written.
func jNumberText(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return n.String(), true
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64), true
	}
	return "", false
}

// atomStrings flattens a value that may be a list or an OR of names.
func atomStrings(v any) []string {
	if s, ok := jStr(v); ok {
		return []string{s}
	}
	if n, ok := jNumberText(v); ok {
		return []string{n}
	}
	list := jList(v)
	if list == nil {
		list = jList(jObj(v)["|"])
	}
	if list != nil {
		var out []string
		for _, e := range list {
			out = append(out, atomStrings(e)...)
		}
		return out
	}
	return []string{jText(v)}
}
