package suggest

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/suggest")

// extensions maps each format to its golden file extension.
var extensions = map[string]string{"iptables": "rules.v4", "ip6tables": "rules.v6", "nft": "nft", "script": "sh", "ufw": "ufw.sh", "firewalld": "firewalld.sh"}

type hostCase struct {
	name      string
	listeners []scan.Listener
	opts      Options
}

func mustSpecs(t testing.TB, ss ...string) []Spec {
	t.Helper()
	var out []Spec
	for _, s := range ss {
		sp, err := ParseSpec(s)
		if err != nil {
			t.Fatalf("ParseSpec(%q): %v", s, err)
		}
		out = append(out, sp)
	}
	return out
}

func mustPrefixes(t testing.TB, s string) []netip.Prefix {
	t.Helper()
	ps, err := ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func hostCases(t testing.TB) []hostCase {
	return []hostCase{
		{name: "fresh", listeners: freshHost},
		{name: "fresh-noping-persist", listeners: freshHost, opts: Options{NoPing: true, Persist: true}},
		{name: "mail", listeners: mailHost},
		{name: "db", listeners: dbHost},
		{name: "db-allow", listeners: dbHost, opts: Options{
			Allow:    mustSpecs(t, "postgresql=192.0.2.0/24,2001:db8:1::/48"),
			SSHFrom:  mustPrefixes(t, "198.51.100.0/24,2001:db8:2::/48"),
			LogDrops: true}},
		{name: "hostile", listeners: hostileHost},
		{name: "device-bound", listeners: deviceHost},
		{name: "carried-over", listeners: carriedHost, opts: Options{Current: currentOf(t, carriedV4, carriedV6)}},
	}
}

func render(t testing.TB, p *Policy, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, p, format); err != nil {
		t.Fatalf("Render(%s): %v", format, err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, hc := range hostCases(t) {
		p, _, err := Build(hc.listeners, hc.opts)
		if err != nil {
			t.Fatalf("%s: Build: %v", hc.name, err)
		}
		for _, format := range Formats {
			t.Run(hc.name+"/"+format, func(t *testing.T) {
				got := render(t, p, format)
				path := filepath.Join("..", "testdata", "suggest", hc.name+"."+extensions[format])
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("reading golden file (run with -update): %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs (-want +got):\n%s", path, lineDiff(string(want), string(got)))
				}
				// Rendering is deterministic.
				if again := render(t, p, format); !bytes.Equal(got, again) {
					t.Errorf("two renderings differ")
				}
			})
		}
	}
}

// lineDiff is a small line diff for test failures.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i, j = i+1, j+1
		case i < len(w) && (j >= len(g) || !contains(g[j:], w[i])):
			b.WriteString("-" + w[i] + "\n")
			i++
		default:
			b.WriteString("+" + g[j] + "\n")
			j++
		}
	}
	return b.String()
}
