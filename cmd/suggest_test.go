package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keptArgs runs suggest on the kept host: rules of its own (a blocklist,
// PostgreSQL from one subnet, closed listeners).
func keptArgs(extra ...string) []string {
	return append([]string{"suggest", "--offline", "--sockets", keptDir + "ss.txt",
		"--rules", keptDir + "rules.v4", "--rules6", keptDir + "rules.v6"}, extra...)
}

// TestSuggestFlags states, for each --allow/--ssh-from combination that
// is wrong or opens more than asked for, the exit code and what stdout and
// stderr must (and must not) say.
func TestSuggestFlags(t *testing.T) {
	for _, c := range []struct {
		name      string
		args      []string
		code      int
		stdout    []string // substrings; none at all when the code is not 0
		stderr    []string
		notStdout []string
	}{
		{name: "allow without CIDR warns: open to everyone", args: keptArgs("--allow", "postgresql"), code: 0,
			stdout: []string{`-A INPUT -p tcp -m tcp --dport 5432 -m comment --comment "postgresql (postgres)" -j ACCEPT`},
			stderr: []string{"warning: --allow postgresql opens postgresql to everyone (no CIDR given)",
				"hint: to open it to trusted sources only: --allow postgresql=CIDR[,CIDR...]",
				"tcp/5432: restricted 192.0.2.0/24 → open (--allow postgresql)"}},
		{name: "allow a port without CIDR warns too", args: keptArgs("--allow", "8099/tcp"), code: 0,
			stderr: []string{"warning: --allow 8099/tcp opens port 8099/tcp to everyone (no CIDR given)",
				"tcp/8099: blocked → open (--allow 8099/tcp)"}},
		{name: "allow to all of IPv4 warns", args: keptArgs("--allow", "postgresql=0.0.0.0/0"), code: 0,
			stderr: []string{"warning: --allow postgresql=0.0.0.0/0 opens postgresql to every IPv4 address (0.0.0.0/0)"}},
		{name: "allow with CIDR does not warn", args: keptArgs("--allow", "postgresql=192.0.2.0/25"), code: 0,
			stdout: []string{"-A INPUT -s 192.0.2.0/25 -p tcp -m tcp --dport 5432"},
			stderr: []string{"tcp/5432: restricted 192.0.2.0/24 → restricted 192.0.2.0/25 (--allow postgresql=192.0.2.0/25)"}},
		{name: "allow with an empty CIDR list", args: keptArgs("--allow", "postgresql="), code: 2,
			stderr: []string{`fwaudit: error: --allow: parsing "postgresql=": no source after "="`, "hint: run 'fwaudit --help' for usage"}},
		{name: "allow with a bad CIDR", args: keptArgs("--allow", "postgresql=192.0.2.0/33"), code: 2,
			stderr: []string{`bad CIDR "192.0.2.0/33"`}},
		{name: "allow ssh to everyone and ssh-from", args: keptArgs("--allow", "ssh", "--ssh-from", "203.0.113.0/24"), code: 2,
			stderr: []string{"fwaudit: error: --allow ssh opens ssh to everyone and --ssh-from restricts it: give one of them (or --allow ssh=CIDR)"}},
		{name: "allow ssh's port to everyone and ssh-from", args: keptArgs("--allow", "22", "--ssh-from", "203.0.113.0/24"), code: 2,
			stderr: []string{"fwaudit: error: --allow 22 opens ssh on port 22 to everyone and --ssh-from restricts it"}},
		{name: "allow ssh from a CIDR and ssh-from: both", args: keptArgs("--allow", "ssh=198.51.100.0/24", "--ssh-from", "203.0.113.0/24"), code: 0,
			stdout: []string{"-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 22", "-A INPUT -s 203.0.113.0/24 -p tcp -m tcp --dport 22"}},
		{name: "allow and deny the same port", args: keptArgs("--allow", "80", "--deny", "http"), code: 2,
			stderr: []string{"fwaudit: error: --allow 80 and --deny http name the same port"}},
		{name: "deny ssh", args: keptArgs("--deny", "ssh"), code: 2,
			stderr: []string{"fwaudit: error: --deny ssh would close ssh on port 22"}},
		{name: "deny with sources", args: keptArgs("--deny", "http=10.0.0.0/8"), code: 2,
			stderr: []string{`fwaudit: error: --deny "http=10.0.0.0/8": takes no sources`}},
		{name: "ssh-from with a bad CIDR", args: keptArgs("--ssh-from", "2001:db8::/129"), code: 2,
			stderr: []string{`fwaudit: error: --ssh-from: bad CIDR "2001:db8::/129"`}},
		// One family only: ssh in the other keeps today's reachability.
		{name: "ssh-from IPv6 only keeps IPv4 ssh as today", args: keptArgs("--ssh-from", "2001:db8::/32"), code: 0,
			stdout: []string{"-A INPUT -s 198.51.100.7/32 -p tcp -m multiport --dports 22,80",
				`-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh (sshd)" -j ACCEPT`},
			stderr: []string{"warning: --ssh-from names no ipv4 source: ssh over ipv4 stays reachable as the current rules allow",
				"hint: to restrict ssh over ipv4 too, add ipv4 CIDRs to --ssh-from (only ipv6 were given)",
				"tcp/22: open except 198.51.100.7/32 → open except 198.51.100.7/32 (kept)"}},
		{name: "ssh-from IPv6 only restricts IPv6 ssh", args: keptArgs("--ssh-from", "2001:db8::/32", "--format", "ip6tables"), code: 0,
			stdout:    []string{`-A INPUT -s 2001:db8::/32 -p tcp -m tcp --dport 22 -m comment --comment "ssh (sshd)" -j ACCEPT`},
			notStdout: []string{`-A INPUT -p tcp -m tcp --dport 22 -m comment`},
			stderr:    []string{"tcp/22: open → restricted 2001:db8::/32 (--ssh-from)"}},
		{name: "ssh-from IPv4 only keeps IPv6 ssh as today", args: keptArgs("--ssh-from", "192.0.2.0/24", "--format", "ip6tables"), code: 0,
			stdout: []string{`-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh (sshd)" -j ACCEPT`},
			stderr: []string{"warning: --ssh-from names no ipv6 source: ssh over ipv6 stays reachable as the current rules allow"}},
		{name: "ssh-from IPv6 only, IPv4 rules unknown: ssh kept open there", args: []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt",
			"--rules6", keptDir + "rules.v6", "--ssh-from", "2001:db8::/32"}, code: 0,
			stdout: []string{`-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh (sshd)" -j ACCEPT`},
			stderr: []string{"warning: --ssh-from names no ipv4 source", "warning: the current ipv4 rules are not known"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, c.code, stderr)
			}
			if code != 0 && stdout != "" {
				t.Errorf("exit %d with output on stdout:\n%s", code, stdout)
			}
			for _, w := range c.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range c.notStdout {
				if strings.Contains(stdout, w) {
					t.Errorf("stdout has %q:\n%s", w, stdout)
				}
			}
			for _, w := range c.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stdout, "warning:") {
				t.Errorf("a warning on stdout:\n%s", stdout)
			}
		})
	}
}

// TestSuggestDiff: --diff exits 1 when loading the ruleset would change
// something and 0 when it would not, as diff(1); the second case loads the
// suggestion itself (written to files by suggest) as the current rules.
func TestSuggestDiff(t *testing.T) {
	dir := t.TempDir()
	for format, file := range map[string]string{"iptables": "rules.v4", "ip6tables": "rules.v6"} {
		stdout, stderr, code := run(t, nil, keptArgs("--format", format)...)
		if code != 0 {
			t.Fatalf("suggest --format %s: exit %d\n%s", format, code, stderr)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	loaded := []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt",
		"--rules", filepath.Join(dir, "rules.v4"), "--rules6", filepath.Join(dir, "rules.v6"), "--diff"}
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		last   string // the last line of stdout
		stderr string // "" for no error message
	}{
		{name: "changes", args: keptArgs("--diff"), code: 1,
			stdout: []string{"ipv4 policy filter/FORWARD: ACCEPT → DROP\n", "ipv4 tcp/25: open → blocked (nothing listens)\n",
				"ipv4 tcp/8099: blocked → blocked (kept)\n", "ipv4 tcp/5432: restricted 192.0.2.0/24 → restricted 192.0.2.0/24 (kept)\n",
				"ipv6 tcp/80: restricted 2001:db8::/32 → restricted 2001:db8::/32 (kept)\n"},
			last: "2 changes"},
		{name: "changes in nft", args: keptArgs("--diff", "--format", "nft"), code: 1,
			stdout: []string{"ipv4 policy input (table inet fwaudit): no chain → drop (added)\n", "ipv4 policy output (table inet fwaudit): no chain → accept (the same: a hook without a chain accepts)\n"}, last: "5 changes"},
		{name: "no changes in the family a format leaves alone", args: keptArgs("--diff", "--format", "ip6tables"), code: 0,
			stdout: []string{"ipv4: not changed: --format ip6tables loads no ipv4 rules\n"}, last: "no changes"},
		{name: "no changes once loaded", args: loaded, code: 0,
			stdout: []string{"ipv4 policy filter/FORWARD: DROP → DROP (kept)\n", "ipv4 tcp/22: open except 198.51.100.7/32 → open except 198.51.100.7/32 (kept)\n"},
			last:   "no changes"},
		{name: "no changes once loaded, script", args: append(loaded, "--format", "script"), code: 0, last: "no changes"},
		{name: "no rules to compare with", args: []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt", "--diff"}, code: 2,
			stderr: "fwaudit: error: --diff needs the current rules: ipv4 rules not provided (--offline without --rules); ipv6 rules not provided (--offline without --rules6)\n"},
		{name: "a refusal is trouble", args: keptArgs("--diff", "--ssh-from", "203.0.113.0/24"), code: 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			if c.name == "a refusal is trouble" {
				env["SSH_CONNECTION"] = "198.51.100.9 50000 192.0.2.1 22"
			}
			stdout, stderr, code := run(t, env, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, stdout, stderr)
			}
			for _, w := range c.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			if c.last != "" && lines[len(lines)-1] != c.last {
				t.Errorf("last line %q, want %q:\n%s", lines[len(lines)-1], c.last, stdout)
			}
			if c.code == 2 {
				if stdout != "" {
					t.Errorf("stdout on trouble:\n%s", stdout)
				}
				if !strings.Contains(stderr, "fwaudit: error: ") || strings.Contains(stderr, "hint: run 'fwaudit --help'") {
					t.Errorf("stderr %q: want an error, without the usage hint", stderr)
				}
				if c.stderr != "" && stderr != c.stderr {
					t.Errorf("stderr %q, want %q", stderr, c.stderr)
				}
				return
			}
			if strings.Contains(stderr, "fwaudit: error") || strings.Contains(stderr, "changes against the current rules") {
				t.Errorf("stderr %q: no error and no per-port list (it is on stdout) expected", stderr)
			}
		})
	}
}

// A listener of no known service is opened to everyone: stderr says so and
// asks for a review, not only the rule's comment inside the file; limited
// with --allow, it is not said.
func TestSuggestReviewWarning(t *testing.T) {
	ss := filepath.Join(t.TempDir(), "ss.txt")
	text := "Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n" +
		"tcp   LISTEN 0      128          0.0.0.0:22         0.0.0.0:*     users:((\"sshd\",pid=610,fd=3))\n" +
		"tcp   LISTEN 0      128          0.0.0.0:9999       0.0.0.0:*     users:((\"lis\",pid=611,fd=3))\n"
	if err := os.WriteFile(ss, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	want := `warning: tcp/9999 (lis, a program fwaudit does not know) is opened to everyone over IPv4: review it (its rule's comment says "review"); --allow tcp/9999=CIDR limits the sources`
	stdout, stderr, code := run(t, nil, "suggest", "--offline", "--sockets", ss, "--ignore-current")
	if code != 0 || !strings.Contains(stderr, want+"\n") {
		t.Errorf("exit %d, stderr:\n%s\nwant %q", code, stderr, want)
	}
	if !strings.Contains(stdout, `--dport 9999 -m comment --comment "review: unknown service tcp/9999 (lis)" -j ACCEPT`) || strings.Contains(stdout, "warning") {
		t.Errorf("stdout:\n%s", stdout)
	}
	_, stderr, _ = run(t, nil, "suggest", "--offline", "--sockets", ss, "--ignore-current", "--allow", "tcp/9999=10.0.0.0/8")
	if strings.Contains(stderr, "review it") {
		t.Errorf("a review warning for a port --allow limits:\n%s", stderr)
	}
}
