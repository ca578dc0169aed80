package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall/nftlang"
)

// The built-in reader of nft text against nft itself: each file is
// loaded into a throwaway network namespace and listed back with
// `nft -j list ruleset` (what the kernel took), and read by
// nftlang.Tree. The two trees must be equal after the normalization
// below, and compile into the same rules with the same verdicts.

// needNft skips a test that runs nft in a new network namespace.
func needNft(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (unshare -n, nft)")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		if _, err := os.Stat("/usr/sbin/nft"); err != nil {
			t.Skip("nft not installed")
		}
	}
}

// kernelTree loads file into a throwaway namespace and lists it; nft's
// error when it refuses the file.
func kernelTree(t testing.TB, file string) ([]any, error) {
	t.Helper()
	file, _ = filepath.Abs(file)
	cmd := exec.Command("unshare", "--net", "sh", "-c", `nft -f "$1" && exec nft -j list ruleset`, "sh", file)
	cmd.Dir = filepath.Dir(file)
	cmd.Env = append(os.Environ(), "PATH=/usr/sbin:/sbin:/usr/bin:/bin")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, stderr.String())
	}
	return decodeNftTree(t, out), nil
}

func decodeNftTree(t testing.TB, b []byte) []any {
	t.Helper()
	var doc struct {
		Nftables []any `json:"nftables"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decoding nft -j output: %v", err)
	}
	return doc.Nftables
}

// normalizeNftTree removes what differs between two listings of the same
// ruleset without changing what it does: handles, the metainfo, element
// expiry times (they run down), the order of set elements (a hash set
// lists in hash order), the devices of ingress chains (nft 1.0.6 does
// not list them) and the arguments of reject (the compiler reads none).
func normalizeNftTree(tree []any) []any {
	var out []any
	for _, o := range tree {
		k, v, ok := jOne(o)
		if !ok || k == "metainfo" {
			continue
		}
		obj := map[string]any{}
		for f, x := range jObj(v) {
			switch f {
			case "handle", "dev", "size", "gc-interval":
				continue
			}
			obj[f] = normValue(x)
		}
		out = append(out, map[string]any{k: obj})
	}
	return out
}

func normValue(v any) any {
	switch x := v.(type) {
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normValue(e)
		}
		return l
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			switch k {
			case "expires":
				continue
			case "reject":
				m[k] = nil
				continue
			case "set", "elem":
				if l, ok := e.([]any); ok {
					l = normValue(l).([]any)
					sortByJSON(l)
					m[k] = l
					continue
				}
			}
			m[k] = normValue(e)
		}
		return m
	}
	return v
}

func sortByJSON(l []any) {
	keys := make([]string, len(l))
	for i, e := range l {
		keys[i] = nftlang.Compact(e)
	}
	idx := make([]int, len(l))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	cp := slices.Clone(l)
	for i, j := range idx {
		l[i] = cp[j]
	}
}

func treeRuleset(t testing.TB, tree []any, name string) *NftRuleset {
	t.Helper()
	var b bytes.Buffer
	nftlang.WriteJSON(&b, map[string]any{"nftables": tree})
	n, err := ParseNftJSON(bytes.NewReader(b.Bytes()), name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	n.positions = true
	return n
}

// queryGrid: the ports the rules name, their neighbours, and a few
// more, over TCP and UDP and four bind addresses per family.
func queryGrid(tree []any, fam Family) []Query {
	ports := map[uint16]bool{22: true, 53: true, 80: true, 443: true, 1: true, 65535: true, 5432: true}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if m := jObj(x["match"]); m != nil {
				if f := jField(jObj(jObj(m["left"])["payload"]), "field"); f == "dport" {
					var nums func(any)
					nums = func(r any) {
						if n, ok := jInt(r); ok && n >= 0 && n <= 65535 {
							for _, d := range []int64{-1, 0, 1} {
								if n+d >= 0 && n+d <= 65535 && len(ports) < 60 {
									ports[uint16(n+d)] = true
								}
							}
						}
						switch y := r.(type) {
						case []any:
							for _, e := range y {
								nums(e)
							}
						case map[string]any:
							for _, e := range y {
								nums(e)
							}
						}
					}
					nums(m["right"])
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(tree)
	addrs := []string{"0.0.0.0", "127.0.0.1", "192.0.2.10", "10.0.0.1"}
	if fam == IPv6 {
		addrs = []string{"::", "::1", "2001:db8::10", "fe80::1"}
	}
	var ps []int
	for p := range ports {
		ps = append(ps, int(p))
	}
	sort.Ints(ps)
	var qs []Query
	for _, proto := range []string{"tcp", "udp"} {
		for _, a := range addrs {
			for _, p := range ps {
				qs = append(qs, Query{Proto: proto, Addr: netip.MustParseAddr(a), Port: uint16(p)})
			}
		}
	}
	return qs
}

// ruleTexts lists each chain's compiled rules as printed.
func ruleTexts(rs *Ruleset) []string {
	var out []string
	for _, tb := range rs.Tables {
		for _, c := range tb.Chains {
			out = append(out, fmt.Sprintf("%s %s %s hook=%q prio=%d policy=%s type=%s", tb.NftFamily, tb.Name, c.Name, c.Hook, c.Priority, c.Policy, c.Type))
			for _, r := range c.Rules {
				out = append(out, fmt.Sprintf("  %s -> %s goto=%v part=%d unknown=%q", r.Text, r.Target, r.Goto, r.Part(), r.Unknown()))
			}
		}
	}
	return out
}

// compareNftText checks one file; it says whether the built-in reader
// read it (false: it handed it to nft, which is allowed).
func compareNftText(t *testing.T, file string) bool {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ktree, kerr := kernelTree(t, file)
	mine, merr := nftlang.Tree(text, file, nil)
	if kerr != nil {
		if merr == nil {
			t.Errorf("nft refuses the file, the built-in reader takes it: %v", kerr)
		}
		return merr != nil && !errors.Is(merr, ErrNftTextUnsupported)
	}
	if merr != nil {
		if !errors.Is(merr, ErrNftTextUnsupported) {
			t.Errorf("built-in reader: %v (not marked unsupported)", merr)
		}
		t.Logf("handed to nft: %v", merr)
		return false
	}
	kn, mn := normalizeNftTree(ktree), normalizeNftTree(mine)
	if len(kn) != len(mn) {
		t.Errorf("nft lists %d objects, the built-in reader %d", len(kn), len(mn))
	}
	shown := 0
	for i := 0; i < len(kn) && i < len(mn); i++ {
		if !reflect.DeepEqual(kn[i], mn[i]) && shown < 5 {
			shown++
			t.Errorf("object %d differs:\n nft:  %s\n ours: %s", i, nftlang.Compact(kn[i]), nftlang.Compact(mn[i]))
		}
	}
	// compiled: the same rules, the same verdicts
	for _, fam := range []Family{IPv4, IPv6} {
		for i, pair := range [][2][]any{{kn, mn}, {ktree, mine}} {
			kr := treeRuleset(t, pair[0], file).Family(fam)
			mr := treeRuleset(t, pair[1], file).Family(fam)
			normalized := i == 0
			if normalized {
				kt, mt := ruleTexts(kr), ruleTexts(mr)
				if !slices.Equal(kt, mt) {
					for i := 0; i < len(kt) && i < len(mt); i++ {
						if kt[i] != mt[i] {
							t.Errorf("%s: compiled rule %d differs:\n nft:  %s\n ours: %s", fam, i, kt[i], mt[i])
							break
						}
					}
					if len(kt) != len(mt) {
						t.Errorf("%s: %d compiled lines from nft, %d from ours", fam, len(kt), len(mt))
					}
				}
			}
			ke := NewEvaluator(fam, []*Ruleset{kr}, Host{})
			me := NewEvaluator(fam, []*Ruleset{mr}, Host{})
			bad := 0
			for _, q := range queryGrid(ktree, fam) {
				a, b := ke.Evaluate(q), me.Evaluate(q)
				if !normalized {
					a, b = withoutRules(a), withoutRules(b)
				}
				if !reflect.DeepEqual(a, b) && bad < 3 {
					bad++
					t.Errorf("%s %s %s:%d: nft text via the kernel gives %+v, the built-in reader %+v", fam, q.Proto, q.Addr, q.Port, a, b)
				}
			}
		}
	}
	return true
}

// nftTextFiles are the nft text files of the corpus and testdata.
func nftTextFiles(t *testing.T) []string {
	var files []string
	for _, dir := range []string{"../testdata/rules", "../testdata/nfttext", "/work/shared/corpus"} {
		for _, pat := range []string{"*.nft", "*.conf", "*nft-list-ruleset.txt", "*.nft-script"} {
			m, _ := filepath.Glob(filepath.Join(dir, pat))
			files = append(files, m...)
		}
	}
	return files
}

func TestNftTextMatchesKernel(t *testing.T) {
	needNft(t)
	read := 0
	for _, f := range nftTextFiles(t) {
		t.Run(strings.TrimPrefix(f, "../"), func(t *testing.T) {
			if compareNftText(t, f) {
				read++
			}
		})
	}
	t.Logf("%d files read by the built-in reader", read)
}

// TestNftTextGenerated: the benchmark's generated rulesets must be read
// by the built-in reader (never handed to nft) and match the kernel.
func TestNftTextGenerated(t *testing.T) {
	needNft(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "gennft")
	if out, err := exec.Command("go", "build", "-o", bin, "../scripts/gennft").CombinedOutput(); err != nil {
		t.Fatalf("building gennft: %v\n%s", err, out)
	}
	cases := []struct {
		name string
		args []string
	}{
		{"r300-seed1", []string{"-rules", "300"}},
		{"r1000-seed7", []string{"-rules", "1000", "-seed", "7"}},
		{"r2000-seed3", []string{"-rules", "2000", "-seed", "3"}},
		{"ban3000", []string{"-banset", "3000"}},
		{"ban20000-seed5", []string{"-banset", "20000", "-seed", "5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := exec.CommandContext(context.Background(), bin, c.args...).Output()
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, c.name+".nft")
			if err := os.WriteFile(f, out, 0o644); err != nil {
				t.Fatal(err)
			}
			if !compareNftText(t, f) {
				t.Errorf("the generated ruleset was handed to nft")
			}
		})
	}
}

// withoutRules is r with no deciding rule, on every interface too: the
// same rule is named by position in one reading and by handle in another.
func withoutRules(r Result) Result {
	r.Rule = RuleRef{}
	if r.ByInterface != nil {
		each := make([]IfaceResult, len(r.ByInterface))
		for i, x := range r.ByInterface {
			each[i] = IfaceResult{Iface: x.Iface, Result: withoutRules(x.Result)}
		}
		r.ByInterface = each
	}
	return r
}
