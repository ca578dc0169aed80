package cmd

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestFlagVocabulary runs one command line per item of the shared flag
// vocabulary: what it exits with, and that stdout stays clean of
// messages (a usage error says so on stderr only, and exits 2).
func TestFlagVocabulary(t *testing.T) {
	pg := []string{"--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6"}
	rules, _ := readFile(t, pgDir+"rules.v4")
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string // a prefix of stdout, "" for an empty stdout
	}{
		{"--version", []string{"--version"}, "", exitOK, "fwaudit "},
		{"scan -o json", append([]string{"scan", "-o", "json"}, pg...), "", exitOK, "{"},
		{"scan --output json", append([]string{"scan", "--output", "json"}, pg...), "", exitOK, "{"},
		{"report -o json", append([]string{"report", "-o", "json"}, pg...), "", exitOK, "{"},
		{"explain --format json", append([]string{"explain", "tcp/5432", "--format", "json"}, pg...), "", exitOK, "{"},
		{"services -o json", []string{"services", "-o", "json"}, "", exitOK, "{"},
		{"suggest -o nft", append([]string{"suggest", "-o", "nft"}, pg...), "", exitOK, "#"},
		{"--rules - reads stdin", []string{"scan", "--offline", "--sockets", pgDir + "ss.txt", "--rules", "-"}, rules, exitOK, "[1] ipv6 rules not provided"},
		{"--allow 5432", append([]string{"suggest", "--allow", "5432"}, pg...), "", exitOK, "#"},
		{"--allow 5432/tcp", append([]string{"suggest", "--allow", "5432/tcp"}, pg...), "", exitOK, "#"},
		{"--allow tcp/5432", append([]string{"suggest", "--allow", "tcp/5432"}, pg...), "", exitOK, "#"},
		{"--allow postgresql", append([]string{"suggest", "--allow", "postgresql"}, pg...), "", exitOK, "#"},
		{"--wide", append([]string{"scan", "--wide"}, pg...), "", exitOK, "PROTO"},
		{"explain --full", append([]string{"explain", "tcp/5432", "--full"}, pg...), "", exitOK, "tcp/5432 from"},
		// usage errors: exit 2, nothing on stdout
		{"bad -o", []string{"scan", "-o", "xml"}, "", exitUsage, ""},
		{"bad report format", []string{"report", "--format", "yaml"}, "", exitUsage, ""},
		{"bad services format", []string{"services", "-o", "markdown"}, "", exitUsage, ""},
		{"--no-firewall with --rules", []string{"scan", "--offline", "--no-firewall", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4"}, "", exitUsage, ""},
		{"two inputs on stdin", []string{"scan", "--offline", "--sockets", "-", "--rules", "-"}, "", exitUsage, ""},
		{"bad --allow", append([]string{"suggest", "--allow", "tcp/99999"}, pg...), "", exitUsage, ""},
		{"bad --fail-on", []string{"report", "--offline", "--fail-on", "severe"}, "", exitUsage, ""},
		{"unknown flag", []string{"services", "--wider"}, "", exitUsage, ""},
		{"extra argument", []string{"services", "x"}, "", exitUsage, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runStdin(t, nil, tc.stdin, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if tc.stdout == "" && stdout != "" {
				t.Errorf("stdout not empty:\n%s", stdout)
			}
			if !strings.HasPrefix(stdout, tc.stdout) {
				t.Errorf("stdout does not start with %q:\n%.300s", tc.stdout, stdout)
			}
			for _, word := range []string{"warning:", "hint:", "error:"} {
				if strings.Contains(stdout, word) {
					t.Errorf("stdout holds a message (%s):\n%s", word, stdout)
				}
			}
			if tc.code == exitUsage && !strings.Contains(stderr, "fwaudit: error: ") {
				t.Errorf("usage error not on stderr: %q", stderr)
			}
		})
	}
}

// TestServicesJSON: services -o json lists the catalog with its classes.
func TestServicesJSON(t *testing.T) {
	stdout, _, code := run(t, nil, "services", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var doc servicesDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	byName := map[string]serviceEntry{}
	for _, s := range doc.Services {
		if _, ok := byName[s.Name]; !ok {
			byName[s.Name] = s
		}
	}
	for name, want := range map[string]serviceEntry{
		"ssh":        {Name: "ssh", Port: 22, Proto: "tcp"},
		"postgresql": {Name: "postgresql", Port: 5432, Proto: "tcp", Sensitive: true},
		"telnet":     {Name: "telnet", Port: 23, Proto: "tcp", Cleartext: true},
	} {
		got := byName[name]
		got.Description = ""
		if got != want {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
	if doc.SchemaVersion != 1 || len(doc.Services) < 20 {
		t.Errorf("schema_version %d, %d services", doc.SchemaVersion, len(doc.Services))
	}
}

// TestHostSource: the JSON says where the host name came from, and an
// offline run without --hostname names the flag in a hint.
func TestHostSource(t *testing.T) {
	pg := []string{"--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4"}
	tests := []struct {
		name       string
		args       []string
		host, from string
		hint       bool
	}{
		{"report offline", append([]string{"report"}, pg...), "offline", "offline", true},
		{"report --hostname", append([]string{"report", "--hostname", "web1"}, pg...), "web1", "hostname-flag", false},
		{"scan offline", append([]string{"scan", "-o", "json"}, pg...), "offline", "offline", true},
		{"scan --hostname", append([]string{"scan", "-o", "json", "--hostname", "web1"}, pg...), "web1", "hostname-flag", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, tc.args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var doc struct {
				Host struct {
					Hostname   string `json:"hostname"`
					HostSource string `json:"host_source"`
				} `json:"host"`
			}
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Host.Hostname != tc.host || doc.Host.HostSource != tc.from {
				t.Errorf("host %+v, want %q from %q", doc.Host, tc.host, tc.from)
			}
			if hint := strings.Contains(stderr, "hint: ") && strings.Contains(stderr, "--hostname NAME"); hint != tc.hint {
				t.Errorf("hint naming --hostname: %v, want %v; stderr:\n%s", hint, tc.hint, stderr)
			}
		})
	}
	// the live host: the kernel's name
	in := &inputs{hostname: "vps1"}
	if h := hostOf(&App{}, in, &inputOpts{}, "", true); h.Source != "kernel" || h.Hostname != "vps1" {
		t.Errorf("live: %+v", h)
	}
}

func readFile(t *testing.T, path string) (string, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), nil
}

// TestCompleteAllow: --allow and --deny complete to the listening ports of
// the --sockets file and to the catalog's service names; after "=" (a
// CIDR follows) nothing is offered.
func TestCompleteAllow(t *testing.T) {
	for _, flag := range []string{"--allow", "--deny"} {
		stdout, _, code := run(t, nil, "__complete", "suggest", "--offline", "--sockets", pgDir+"ss.txt", flag, "")
		if code != exitOK {
			t.Fatalf("%s: exit %d", flag, code)
		}
		for _, want := range []string{"22/tcp\tlistening: sshd\n", "5432/tcp\tlistening: postgres\n", "\npostgresql\t5432/tcp ", "\nssh\t22/tcp ", "\n:4\n"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: completions lack %q:\n%s", flag, want, stdout)
			}
		}
	}
	stdout, _, _ := run(t, nil, "__complete", "suggest", "--offline", "--allow", "ssh=")
	if stdout != ":4\n" {
		t.Errorf("after =: %q", stdout)
	}
}
