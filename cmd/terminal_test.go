package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoRawControlCharacters: a rule comment carrying a terminal escape
// sequence reaches the text outputs escaped, never raw.
func TestNoRawControlCharacters(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "evil.rules")
	os.WriteFile(rules, []byte("*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 8080 -m comment --comment \"x\x1b]0;owned\x07\x1b[2J\" -j ACCEPT\nCOMMIT\n"), 0o644)
	sockets := filepath.Join(dir, "ss.txt")
	os.WriteFile(sockets, []byte("Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\ntcp LISTEN 0 128 0.0.0.0:8080 0.0.0.0:* users:((\"app\",pid=7,fd=3))\n"), 0o644)
	for _, args := range [][]string{
		{"explain", "tcp/8080", "--offline", "--rules", rules},
		{"scan", "--offline", "--rules", rules, "--sockets", sockets},
		{"report", "--offline", "--rules", rules, "--sockets", sockets, "--format", "table"},
		{"report", "--offline", "--rules", rules, "--sockets", sockets, "--format", "markdown"},
	} {
		stdout, stderr, _ := run(t, nil, args...)
		if strings.ContainsAny(stdout+stderr, "\x1b\x07") {
			t.Errorf("%v: raw control characters in the output:\n%q", args, stdout+stderr)
		}
	}
}
