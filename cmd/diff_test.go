package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiffExposureExitCodes changes who can reach one socket of a real
// report, one kind of change at a time, and holds diff and fleet
// --baseline to it: each change is named with its family and sources, and
// exits 1 (diff) or 5 (fleet --baseline --fail-on-change).
func TestDiffExposureExitCodes(t *testing.T) {
	orig, err := os.ReadFile(fleetData + "week1/web.json")
	if err != nil {
		t.Fatal(err)
	}
	// edit sets the verdict of the socket proto/port/address in one family
	edit := func(t *testing.T, port float64, addr, family string, fv map[string]any) []byte {
		var doc map[string]any
		if err := json.Unmarshal(orig, &doc); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range doc["sockets"].([]any) {
			so := s.(map[string]any)
			if so["port"].(float64) != port || so["address"] != addr {
				continue
			}
			fw := so["firewall"].(map[string]any)
			for _, k := range []string{"sources", "except", "interfaces", "reasons"} {
				if fv[k] == nil {
					fv[k] = []string{}
				}
			}
			fv["rule"] = ""
			fw[family] = fv
			found = true
		}
		if !found {
			t.Fatalf("no socket %v %s in web.json", port, addr)
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name        string
		port        float64
		addr, fam   string
		fv          map[string]any
		want        []string // in diff's table
		wantChanged bool
	}{
		{"unchanged", 5432, "0.0.0.0", "ipv4", map[string]any{"verdict": "restricted", "sources": []string{"192.0.2.0/25", "192.0.2.128/25"}}, nil, false},
		{"widened", 5432, "0.0.0.0", "ipv4", map[string]any{"verdict": "restricted", "sources": []string{"0.0.0.0/1"}},
			[]string{"tcp/5432 ipv4 0.0.0.0 postgresql: restricted -> restricted, widened", "was: 192.0.2.0/24", "now: 0.0.0.0/1"}, true},
		{"narrowed", 5432, "0.0.0.0", "ipv4", map[string]any{"verdict": "restricted", "sources": []string{"192.0.2.0/26"}},
			[]string{"restricted -> restricted, narrowed", "- 192.0.2.64/26, 192.0.2.128/25"}, true},
		{"family only", 443, "::", "ipv4", map[string]any{"verdict": "blocked"},
			[]string{"tcp/443 ipv4 :: https: open -> blocked, narrowed", "was: everyone except 127.0.0.0/8", "now: no one"}, true},
		{"blocked to open", 3306, "0.0.0.0", "ipv4", map[string]any{"verdict": "open"},
			[]string{"tcp/3306 ipv4 0.0.0.0 mysql: blocked -> open, widened", "was: no one", "now: everyone"}, true},
		{"except list", 22, "::", "ipv6", map[string]any{"verdict": "open", "except": []string{"::1/128", "2001:db8::/32"}},
			[]string{"tcp/22 ipv6 :: ssh: open -> open, narrowed", "- 2001:db8::/32"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			oldDir, newDir := filepath.Join(dir, "old"), filepath.Join(dir, "new")
			for _, d := range []string{oldDir, newDir} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			oldFile, newFile := filepath.Join(oldDir, "web.json"), filepath.Join(newDir, "web.json")
			if err := os.WriteFile(oldFile, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(newFile, edit(t, tc.port, tc.addr, tc.fam, tc.fv), 0o644); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := run(t, nil, "diff", oldFile, newFile)
			wantCode := 0
			if tc.wantChanged {
				wantCode = 1
			}
			if code != wantCode {
				t.Errorf("diff: exit %d, want %d\n%s%s", code, wantCode, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("diff does not say %q:\n%s", w, stdout)
				}
			}
			stdout, stderr, code = run(t, nil, "fleet", "--baseline", oldDir, "--fail-on-change", newDir)
			if wantCode == 1 {
				wantCode = exitChanged
			}
			if code != wantCode {
				t.Errorf("fleet --baseline --fail-on-change: exit %d, want %d\n%s%s", code, wantCode, stdout, stderr)
			}
			for _, w := range tc.want {
				if strings.HasPrefix(w, "tcp/") {
					w = "web " + w
				}
				if !strings.Contains(stdout, w) {
					t.Errorf("fleet does not say %q:\n%s", w, stdout)
				}
			}
			// without --fail-on-change the change is shown and exits 0
			if _, _, code := run(t, nil, "fleet", "--baseline", oldDir, newDir); code != 0 {
				t.Errorf("fleet --baseline: exit %d, want 0", code)
			}
		})
	}
	if _, _, code := run(t, nil, "fleet", "--fail-on-change", fleetData+"week1"); code != exitUsage {
		t.Errorf("--fail-on-change without --baseline: exit %d, want %d", code, exitUsage)
	}
}
