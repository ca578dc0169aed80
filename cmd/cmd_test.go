package cmd

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// run executes one offline command line the way Main does.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runStdin(t, env, "", args...)
}

// runStdin is run with stdin.
func runStdin(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &App{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
	}
	code = app.Run(context.Background(), args)
	return out.String(), errb.String(), code
}

const (
	ufwRules   = "../testdata/report/ufw-server2/rules.v4"
	ufwSockets = "../testdata/report/ufw-server2/ss.txt"
	pgDir      = "../testdata/report/fresh-postgres/"
	keptDir    = "testdata/kept/"
)

// TestGolden pins the complete output (exit code, stdout, stderr) of
// offline command lines. Regenerate with: go test ./cmd -run TestGolden -update
func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"scan-table", nil, []string{"scan", "--offline", "--sockets", ufwSockets, "--rules", ufwRules}},
		{"scan-json", nil, []string{"scan", "--offline", "--sockets", ufwSockets, "--rules", ufwRules, "-o", "json"}},
		{"scan-no-firewall", nil, []string{"scan", "--offline", "--sockets", ufwSockets, "--no-firewall", "-o", "json"}},
		{"scan-v4-and-v6", nil, []string{"scan", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6"}},
		{"scan-broken-sockets", nil, []string{"scan", "--offline", "--sockets", "../testdata/sockets/broken/garbage-line.txt"}},
		{"scan-missing-file", nil, []string{"scan", "--offline", "--sockets", "testdata/does-not-exist.txt"}},
		{"scan-broken-rules", nil, []string{"scan", "--offline", "--sockets", ufwSockets, "--rules", "testdata/broken.rules"}},
		{"scan-offline-without-sockets", nil, []string{"scan", "--offline"}},
		{"scan-bad-output", nil, []string{"scan", "-o", "xml"}},
		{"unknown-flag", nil, []string{"scan", "--bogus"}},
		{"unknown-command", nil, []string{"frobnicate"}},
		{"explain-text", nil, []string{"explain", "tcp/3306", "--offline", "--rules", ufwRules, "--sockets", ufwSockets, "--from", "188.95.233.38", "--iface", "eth0"}},
		{"explain-json", nil, []string{"explain", "mysql", "--offline", "--rules", ufwRules, "--from", "192.0.2.9", "--iface", "eth0", "-o", "json"}},
		{"explain-bad-port", nil, []string{"explain", "tcp/99999", "--offline", "--rules", ufwRules}},
		{"explain-wrong-family", nil, []string{"explain", "tcp/22", "--offline", "--rules", ufwRules, "--from", "2001:db8::1"}},
		{"explain-no-rules", nil, []string{"explain", "tcp/22", "--offline"}},
		// accepted on eth1 only: the packet explained (on eth0) is dropped,
		// and the output says where it fares otherwise
		{"explain-per-interface", nil, []string{"explain", "tcp/8080", "--offline", "--rules", "testdata/iface.rules"}},
		// a native nft ruleset: rules named by table, chain and handle
		// a dual-stack socket: walked in IPv4, then IPv6
		{"explain-dual-stack", nil, []string{"explain", "tcp/8080", "--offline", "--sockets", "../testdata/report/fresh-postgres/ss.txt",
			"--rules", "../testdata/report/ipv6-unfiltered/rules.v4", "--rules6", "../testdata/report/ipv6-unfiltered/rules.v6"}},
		// bound to 127.0.0.1: not-applicable, as scan says
		{"explain-loopback", nil, []string{"explain", "tcp/6379", "--offline", "--sockets", "../testdata/report/fresh-postgres/ss.txt",
			"--rules", "../testdata/report/ipv6-unfiltered/rules.v4"}},
		// the family is the address's
		{"explain-from-ipv6", nil, []string{"explain", "tcp/22", "--offline", "--rules6", "../testdata/report/ipv6-unfiltered/rules.v6", "--from", "2001:db8::5"}},
		{"explain-ipv4-with-6", nil, []string{"explain", "tcp/22", "-6", "--offline", "--rules6", "../testdata/report/ipv6-unfiltered/rules.v6", "--from", "192.0.2.5"}},
		{"explain-iface-unnamed", nil, []string{"explain", "tcp/8080", "--offline", "--rules", "testdata/iface.rules", "--iface", "nosuch0"}},
		{"explain-nft", nil, []string{"explain", "tcp/5432", "--offline", "--nft", "../testdata/report/nft-debian-host/ruleset.json", "--from", "192.0.2.9"}},
		{"report-json", nil, []string{"report", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6",
			"--hostname", "db1", "--time", "2026-11-21T12:00:00Z", "--tool-version", "1.0.0-test"}},
		{"report-fail-on-high", nil, []string{"report", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6",
			"--hostname", "db1", "--time", "2026-11-21T12:00:00Z", "--tool-version", "1.0.0-test", "--format", "markdown", "--fail-on", "high"}},
		{"report-fail-on-critical", nil, []string{"report", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6",
			"--hostname", "db1", "--time", "2026-11-21T12:00:00Z", "--tool-version", "1.0.0-test", "--format", "table", "--fail-on", "critical"}},
		{"report-bad-severity", nil, []string{"report", "--offline", "--fail-on", "severe"}},
		{"report-bad-time", nil, []string{"report", "--offline", "--time", "yesterday"}},
		{"suggest-iptables", nil, []string{"suggest", "--offline", "--sockets", pgDir + "ss.txt"}},
		{"suggest-no-rules", nil, []string{"suggest", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6", "--format", "script"}},
		{"suggest-ignore-current", nil, []string{"suggest", "--offline", "--sockets", pgDir + "ss.txt", "--ignore-current"}},
		{"suggest-nft-allow", nil, []string{"suggest", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6", "--format", "nft", "--allow", "postgresql=192.0.2.0/24"}},
		{"suggest-kept", nil, []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt", "--rules", keptDir + "rules.v4", "--rules6", keptDir + "rules.v6"}},
		{"suggest-kept-ip6tables", nil, []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt", "--rules", keptDir + "rules.v4", "--rules6", keptDir + "rules.v6", "--format", "ip6tables"}},
		{"suggest-kept-nft", nil, []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt", "--rules", keptDir + "rules.v4", "--rules6", keptDir + "rules.v6", "--format", "nft"}},
		{"suggest-kept-diff", nil, []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt", "--rules", keptDir + "rules.v4", "--rules6", keptDir + "rules.v6", "--diff"}},
		{"suggest-kept-diff-nft", nil, []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt", "--rules", keptDir + "rules.v4", "--rules6", keptDir + "rules.v6", "--diff", "--format", "nft"}},
		{"suggest-kept-diff-ip6tables", nil, []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt", "--rules", keptDir + "rules.v4", "--rules6", keptDir + "rules.v6", "--diff", "--format", "ip6tables"}},
		{"suggest-ssh-from-one-family", nil, []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt", "--rules", keptDir + "rules.v4", "--rules6", keptDir + "rules.v6", "--ssh-from", "2001:db8::/32"}},
		{"suggest-allow-everyone", nil, []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt", "--rules", keptDir + "rules.v4", "--rules6", keptDir + "rules.v6", "--allow", "postgresql", "--format", "nft"}},
		{"suggest-lockout", map[string]string{"SSH_CONNECTION": "198.51.100.7 50000 192.0.2.1 22"},
			[]string{"suggest", "--offline", "--sockets", pgDir + "ss.txt", "--ssh-from", "203.0.113.0/24"}},
		{"suggest-lockout-forced", map[string]string{"SSH_CONNECTION": "198.51.100.7 50000 192.0.2.1 22"},
			[]string{"suggest", "--offline", "--sockets", pgDir + "ss.txt", "--ssh-from", "203.0.113.0/24", "--force"}},
		{"suggest-diff", nil, []string{"suggest", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6", "--diff"}},
		{"suggest-diff-without-rules", nil, []string{"suggest", "--offline", "--sockets", pgDir + "ss.txt", "--diff"}},
		{"suggest-foreign-chains", nil, []string{"suggest", "--offline", "--sockets", ufwSockets, "--rules", ufwRules, "--format", "script"}},
		{"suggest-bad-allow", nil, []string{"suggest", "--offline", "--sockets", pgDir + "ss.txt", "--allow", "nosuchservice"}},
		{"suggest-bad-format", nil, []string{"suggest", "--format", "pf"}},
		{"suggest-persist-needs-script", nil, []string{"suggest", "--offline", "--sockets", pgDir + "ss.txt", "--persist"}},
		{"services", nil, []string{"services"}},
		{"scan-two-stdin", nil, []string{"scan", "--offline", "--sockets", "-", "--rules", "-"}},
		{"scan-no-firewall-with-rules", nil, []string{"scan", "--offline", "--sockets", ufwSockets, "--no-firewall", "--rules", ufwRules, "--nft", "x.json"}},
		{"services-json", nil, []string{"services", "-o", "json"}},
		{"report-output-table", nil, []string{"report", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6",
			"--hostname", "db1", "--time", "2026-11-21T12:00:00Z", "--tool-version", "1.0.0-test", "-o", "table"}},
		{"report-bad-output", nil, []string{"report", "--offline", "-o", "xml"}},
		{"services-bad-output", nil, []string{"services", "--format", "xml"}},
		{"version-extra-arg", nil, []string{"version", "now"}},
		// help: every flag's value is named (--rules FILE), see TestFlagValueNames
		{"help-scan", nil, []string{"scan", "--help"}},
		{"help-explain", nil, []string{"explain", "--help"}},
		{"help-report", nil, []string{"report", "--help"}},
		{"help-suggest", nil, []string{"suggest", "--help"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, tc.env, tc.args...)
			got := fmt.Sprintf("$ fwaudit %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(tc.args, " "), code, stdout, stderr)
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(want) != got {
				t.Errorf("output differs from %s (-want +got):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// TestExitCodes states the exit-code contract independently of the golden
// files, so that regenerating goldens cannot silently change it.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"ok", []string{"scan", "--offline", "--sockets", ufwSockets, "--rules", ufwRules}, exitOK},
		{"usage: unknown flag", []string{"scan", "--bogus"}, exitUsage},
		{"usage: bad output", []string{"scan", "-o", "xml"}, exitUsage},
		{"error: broken input", []string{"scan", "--offline", "--sockets", "../testdata/sockets/broken/garbage-line.txt"}, exitError},
		{"findings at or above high", []string{"report", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6", "--fail-on", "high"}, exitFindings},
		{"no finding at critical", []string{"report", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6", "--fail-on", "critical"}, exitOK},
		{"usage: two inputs on stdin", []string{"report", "--offline", "--rules", "-", "--nft", "-"}, exitUsage},
		{"usage: --no-firewall with --rules6", []string{"scan", "--offline", "--sockets", ufwSockets, "--no-firewall", "--rules6", ufwRules}, exitUsage},
		{"incomplete audit", []string{"report", "--offline", "--sockets", pgDir + "ss.txt", "--fail-on", "info"}, exitIncomplete},
		{"incomplete audit allowed", []string{"report", "--offline", "--sockets", pgDir + "ss.txt", "--fail-on", "info", "--allow-incomplete"}, exitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, tc.args...)
			if code != tc.want {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tc.want, stderr)
			}
			if code == exitError || code == exitUsage {
				if stdout != "" {
					t.Errorf("stdout not empty on failure: %q", stdout)
				}
				if !strings.HasPrefix(stderr, "fwaudit: error: ") {
					t.Errorf("stderr %q does not start with %q", stderr, "fwaudit: error: ")
				}
			}
		})
	}
}

func TestParseProtoPort(t *testing.T) {
	tests := []struct {
		in    string
		proto string
		port  uint16
		bad   bool
	}{
		{in: "tcp/22", proto: "tcp", port: 22},
		{in: "22/udp", proto: "udp", port: 22},
		{in: "UDP/53", proto: "udp", port: 53},
		{in: "443", proto: "tcp", port: 443},
		{in: "tcp/ssh", proto: "tcp", port: 22},
		{in: "tcp/0", bad: true},
		{in: "tcp/65536", bad: true},
		{in: "sctp/22", bad: true},
		{in: "tcp/", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			proto, port, err := parseProtoPort(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("parseProtoPort(%q) = %s/%d, want an error", tc.in, proto, port)
				}
				return
			}
			if err != nil || proto != tc.proto || port != tc.port {
				t.Errorf("parseProtoPort(%q) = %s/%d, %v; want %s/%d", tc.in, proto, port, err, tc.proto, tc.port)
			}
		})
	}
}

// lineDiff is a minimal line diff for golden mismatches.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n-%s\n+%s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
