package firewall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNftTextIncludes: testdata/nfttext/conf-forms.nft with its include
// pointed at conf.d by absolute path, read by nft and by the built-in
// reader; the included rules must be there.
func TestNftTextIncludes(t *testing.T) {
	needNft(t)
	src, err := os.ReadFile("../testdata/nfttext/conf-forms.nft")
	if err != nil {
		t.Fatal(err)
	}
	confd, _ := filepath.Abs("../testdata/nfttext/conf.d")
	f := filepath.Join(t.TempDir(), "nftables.conf")
	if err := os.WriteFile(f, bytes.ReplaceAll(src, []byte("@CONFD@"), []byte(confd)), 0o644); err != nil {
		t.Fatal(err)
	}
	if !compareNftText(t, f) {
		t.Fatalf("handed to nft")
	}
	tree, _ := nftTextTree(mustRead(t, f), f, nil)
	if s := jTextFast(tree); !strings.Contains(s, `"dns over tcp"`) || !strings.Contains(s, "587") {
		t.Errorf("the included files' rules are missing: %s", s)
	}
}

func mustRead(t testing.TB, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

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
			_, err := nftTextTree([]byte(c.text), "x.nft", nil)
			if err == nil {
				t.Fatalf("read, want a refusal")
			}
			if !errors.Is(err, ErrNftTextUnsupported) {
				t.Errorf("error %v does not wrap ErrNftTextUnsupported", err)
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
			tree, err := nftTextTree([]byte(text), "x.nft", nil)
			if err != nil {
				t.Fatal(err)
			}
			got := canonJSON(t, jObj(jObj(tree[len(tree)-1])["rule"])["expr"])
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// canonJSON: sorted keys, for comparing with a literal.
func canonJSON(t testing.TB, v any) string {
	var b bytes.Buffer
	writeJSONValue(&b, v)
	got := treeRulesetJSONCanon(b.Bytes())
	return got
}

func treeRulesetJSONCanon(b []byte) string {
	var v any
	dec := jsonDecoder(b)
	if err := dec.Decode(&v); err != nil {
		return "bad json: " + err.Error()
	}
	return jText(v)
}

// FuzzNftText: the reader never panics, and what it takes compiles.
// Inputs it took are written to $FWAUDIT_NFT_FUZZ_KEEP (a directory),
// for TestNftTextFuzzAccepted to give to nft.
func FuzzNftText(f *testing.F) {
	for _, dir := range []string{"../testdata/nfttext", "../testdata/rules"} {
		for _, pat := range []string{"*.nft", "*.conf", "*nft-list-ruleset.txt"} {
			m, _ := filepath.Glob(filepath.Join(dir, pat))
			for _, file := range m {
				if b, err := os.ReadFile(file); err == nil && len(b) < 20000 {
					f.Add(b)
				}
			}
		}
	}
	f.Add([]byte("table inet t {\n chain c {\n  type filter hook input priority filter - 5; policy drop;\n  tcp dport { 22, 80-90 } ct state new,established accept\n }\n}\n"))
	keep := os.Getenv("FWAUDIT_NFT_FUZZ_KEEP")
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.Contains(b, []byte("include")) {
			return // reads files
		}
		n, err := ParseNftText(b, "fuzz.nft", nil)
		if err != nil {
			if !errors.Is(err, ErrNftTextUnsupported) {
				t.Fatalf("error not marked unsupported: %v", err)
			}
			return
		}
		n.Family(IPv4)
		n.Family(IPv6)
		if keep != "" {
			os.WriteFile(filepath.Join(keep, fmt.Sprintf("%x.nft", len(b)*7919+int(crc(b)))), b, 0o644)
		}
	})
}

func crc(b []byte) uint32 {
	var h uint32 = 2166136261
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// TestNftTextFuzzAccepted gives nft (`nft -c -f` in a throwaway
// namespace) every input the reader took: in testdata/fuzz (the seed
// corpus and what fuzzing found) and in $FWAUDIT_NFT_FUZZ_KEEP. nft must
// take each too.
func TestNftTextFuzzAccepted(t *testing.T) {
	needNft(t)
	var files []string
	if d := os.Getenv("FWAUDIT_NFT_FUZZ_KEEP"); d != "" {
		m, _ := filepath.Glob(filepath.Join(d, "*.nft"))
		files = append(files, m...)
	}
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzNftText/*")
	dir := t.TempDir()
	for i, s := range seeds {
		b := mustRead(t, s)
		// the go fuzz file format: a header line, then []byte("...")
		lines := strings.SplitN(string(b), "\n", 2)
		if len(lines) < 2 {
			continue
		}
		var v []byte
		if _, err := fmt.Sscanf(strings.TrimPrefix(strings.TrimSpace(lines[1]), "[]byte("), "%q", &v); err != nil {
			continue
		}
		f := filepath.Join(dir, fmt.Sprintf("seed%d.nft", i))
		os.WriteFile(f, v, 0o644)
		files = append(files, f)
	}
	checked := 0
	for _, f := range files {
		b := mustRead(t, f)
		if _, err := nftTextTree(b, f, nil); err != nil {
			continue
		}
		checked++
		cmd := exec.Command("unshare", "--net", "nft", "-c", "-f", f)
		cmd.Env = append(os.Environ(), "PATH=/usr/sbin:/sbin:/usr/bin:/bin")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("the reader took %s, nft refuses it: %s\n%s", f, out, b)
		}
	}
	t.Logf("%d inputs the reader took, checked with nft -c", checked)
}

func jsonDecoder(b []byte) *json.Decoder {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d
}
