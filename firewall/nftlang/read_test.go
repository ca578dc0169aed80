package nftlang

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestNftTextRefuses: what the reader must hand to nft (or refuse), each
// with the file and line.
func TestNftTextRefuses(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"unknown statement", "table inet t {\n chain c {\n  quota 10 mbytes drop\n }\n}\n", "x.nft:3:"},
		{"anonymous chain", "table inet t {\n chain c {\n  jump { accept; }\n }\n}\n", "x.nft:3:"},
		{"jump to nothing", "table inet t {\n chain c {\n  jump nowhere\n }\n}\n", "x.nft:3:"},
		{"undefined variable", "table inet t {\n chain c {\n  tcp dport $p accept\n }\n}\n", "x.nft:3:"},
		{"dnat in a filter chain", "table ip t {\n chain c {\n  type filter hook input priority 0;\n  dnat to 1.2.3.4\n }\n}\n", "x.nft:4:"},
		{"dstnat on output", "table ip t {\n chain c {\n  type nat hook output priority dstnat;\n }\n}\n", "x.nft:3:"},
		{"overlap without auto-merge", "table ip t {\n set s {\n  type ipv4_addr; flags interval\n  elements = { 10.0.0.0/8, 10.1.0.0/16 }\n }\n}\n", "x.nft:4:"},
		{"prefix in a plain set", "table ip t {\n set s {\n  type ipv4_addr\n  elements = { 10.0.0.0/8 }\n }\n}\n", "x.nft:4:"},
		{"rule before closing brace", "table ip t {\n chain c {\n  accept }\n}\n", "x.nft:3:"},
		{"relative include from the cwd", "include \"./other.nft\"\n", "x.nft:1:"},
		{"hostname as address", "table ip t {\n chain c {\n  ip saddr example.org drop\n }\n}\n", "x.nft:3:"},
		{"jump loop", "table ip t {\n chain a {\n  type filter hook input priority 0;\n  jump b\n }\n chain b {\n  jump c\n }\n chain c {\n  jump b\n }\n}\n", "x.nft:"},
		{"port out of range", "table ip t {\n chain c {\n  tcp dport 70000 accept\n }\n}\n", "x.nft:3:"},
		{"set used before it is declared", "table ip t {\n chain c {\n  ip saddr @s drop\n }\n set s { type ipv4_addr; }\n}\n", "x.nft:3:"},
		{"set of another type", "table ip t {\n set s { type inet_service; }\n chain c {\n  ip saddr @s drop\n }\n}\n", "x.nft:4:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Tree([]byte(c.text), "x.nft", nil)
			if err == nil {
				t.Fatalf("read, want a refusal")
			}
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("error %v does not wrap ErrUnsupported", err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %q, want it to start with %q", err, c.want)
			}
		})
	}
}

// TestNftTextForms pins trees for forms whose listing nft itself showed
// (each checked with nft 1.0.6 by TestNftTextMatchesKernel too).
func TestNftTextForms(t *testing.T) {
	cases := []struct{ name, rule, want string }{
		{"ct state list in bit order", "ct state related,established accept",
			`[{"match":{"left":{"ct":{"key":"state"}},"op":"in","right":["established","related"]}},{"accept":null}]`},
		{"protocol match before its header match is not listed", "meta l4proto tcp tcp dport 22 accept",
			`[{"match":{"left":{"payload":{"field":"dport","protocol":"tcp"}},"op":"==","right":22}},{"accept":null}]`},
		{"one-element set is a value", "tcp dport { ssh } accept",
			`[{"match":{"left":{"payload":{"field":"dport","protocol":"tcp"}},"op":"==","right":22}},{"accept":null}]`},
		{"prefix inside a prefix merged", "ip saddr { 10.1.0.0/16, 10.0.0.0/8 } drop",
			`[{"match":{"left":{"payload":{"field":"saddr","protocol":"ip"}},"op":"==","right":{"set":[{"prefix":{"addr":"10.0.0.0","len":8}}]}}},{"drop":null}]`},
		{"host bits masked", "ip saddr 10.0.0.1/24 drop",
			`[{"match":{"left":{"payload":{"field":"saddr","protocol":"ip"}},"op":"==","right":{"prefix":{"addr":"10.0.0.0","len":24}}}},{"drop":null}]`},
		{"tcp reset gets its protocol", "reject with tcp reset",
			`[{"match":{"left":{"meta":{"key":"l4proto"}},"op":"==","right":"tcp"}},{"reject":{"type":"tcp reset"}}]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := "table inet t {\n chain c {\n  type filter hook input priority 0;\n  " + c.rule + "\n }\n}\n"
			tree, err := Tree([]byte(text), "x.nft", nil)
			if err != nil {
				t.Fatal(err)
			}
			got := canonJSON(t, obj(obj(tree[len(tree)-1])["rule"])["expr"])
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// canonJSON: sorted keys, for comparing with a literal.
func canonJSON(t testing.TB, v any) string {
	t.Helper()
	var x any
	d := json.NewDecoder(strings.NewReader(Compact(v)))
	d.UseNumber()
	if err := d.Decode(&x); err != nil {
		return "bad json: " + err.Error()
	}
	b, err := json.Marshal(x)
	if err != nil {
		return "bad json: " + err.Error()
	}
	return string(b)
}
