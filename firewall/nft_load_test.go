package firewall

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall/nftlang"
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
	tree, _ := nftlang.Tree(mustRead(t, f), f, nil)
	if s := nftlang.Compact(tree); !strings.Contains(s, `"dns over tcp"`) || !strings.Contains(s, "587") {
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
		if _, err := nftlang.Tree(b, f, nil); err != nil {
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
