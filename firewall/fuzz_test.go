package firewall

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoadNftText fuzzes the nft text front end through its public entry
// point, LoadNftText: nft itself reads the text in a throwaway network
// namespace, so this needs root, nft and unshare (it skips loudly
// without). Whatever the text, nothing panics; what nft loads, our JSON
// reader reads (a refusal of nft's own listing is our bug); and every
// ruleset read answers an evaluation in both families.
func FuzzLoadNftText(f *testing.F) {
	var seeds []string
	for _, pat := range []string{"*.nft", "*.nft-list-ruleset.txt", "*.nft-script", "debian12-default-nftables.conf"} {
		m, _ := filepath.Glob(filepath.Join("../testdata/rules", pat))
		seeds = append(seeds, m...)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("table inet x {\n chain y {\n  type filter hook input priority 0; policy drop;\n  tcp dport 22 \x1b[31mevil accept\n }\n}\n"))
	f.Add([]byte("table ip t { chain c { type filter hook input priority filter; ip saddr 10.0.0.0/8 tcp dport { 22, 80-90 } accept; } }\n"))
	if os.Geteuid() != 0 {
		f.Skip("SKIPPED: reading nft text needs a network namespace (root); sudo make test runs it")
	}
	for _, bin := range []string{"nft", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			f.Skipf("SKIPPED: %s not installed (scripts/test-deps.sh installs it)", bin)
		}
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		n, err := LoadNftText(ctx, ExecRunner{}, text, "fuzz.nft")
		if err != nil {
			if ctx.Err() != nil {
				t.Skip("nft took longer than 20s")
			}
			msg := err.Error()
			if !strings.Contains(msg, "fuzz.nft") {
				t.Fatalf("error does not name the input: %v", err)
			}
			if !strings.Contains(msg, "as nft text") && !strings.Contains(msg, "empty input") {
				t.Fatalf("nft loaded the text, but our reader refuses its listing: %v", err)
			}
			return
		}
		for _, fam := range []Family{IPv4, IPv6} {
			e := NewEvaluator(fam, []*Ruleset{n.Family(fam)}, Host{})
			if r := e.Evaluate(Query{Proto: "tcp", Port: 22}); r.Verdict == "" {
				t.Fatal("empty verdict")
			}
			if d := e.Decide(Packet{Proto: "udp", DPort: 53}); d.Verdict == "" {
				t.Fatal("empty decision")
			}
		}
	})
}
