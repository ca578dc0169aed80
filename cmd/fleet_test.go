package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fleetData = "../testdata/fleet/"

// TestFleetGolden pins the complete output of fleet and diff command lines.
// Regenerate with: go test ./cmd -run TestFleetGolden -update
func TestFleetGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"fleet-table", []string{"fleet", fleetData + "week1"}},
		{"fleet-baseline", []string{"fleet", "--baseline", fleetData + "week1", fleetData + "week2"}},
		{"fleet-json-baseline", []string{"fleet", "-o", "json", "--baseline", fleetData + "week1", fleetData + "week2"}},
		{"fleet-markdown", []string{"fleet", "-o", "markdown", "--baseline", fleetData + "week1", fleetData + "week2"}},
		{"fleet-broken", []string{"fleet", fleetData + "week1", fleetData + "broken"}},
		{"fleet-incomplete", []string{"fleet", "--fail-on", "critical", fleetData + "incomplete"}},
		{"fleet-no-args", []string{"fleet"}},
		{"diff-table", []string{"diff", fleetData + "week1/mail.json", fleetData + "week2/mail.json"}},
		{"diff-json", []string{"diff", "-o", "json", fleetData + "week1/mail.json", fleetData + "week2/mail.json"}},
		{"diff-moved-rules", []string{"diff", fleetData + "week1/web.json", fleetData + "week2/web.json"}},
		{"diff-broken", []string{"diff", fleetData + "week1/web.json", fleetData + "broken/truncated.json"}},
		{"help-fleet", []string{"fleet", "--help"}},
		{"help-diff", []string{"diff", "--help"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, tc.args...)
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

// TestFleetExitCodes states the exit codes of fleet and diff apart from
// the golden files.
func TestFleetExitCodes(t *testing.T) {
	empty := t.TempDir()
	notReports := t.TempDir()
	if err := os.WriteFile(filepath.Join(notReports, "notes.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w1, w2 := fleetData+"week1", fleetData+"week2"
	tests := []struct {
		name   string
		args   []string
		want   int
		stdout bool // the fleet is still written
	}{
		{"fleet ok", []string{"fleet", w1}, exitOK, true},
		{"fleet of files", []string{"fleet", w1 + "/web.json", w1 + "/mail.json"}, exitOK, true},
		{"fail-on high met", []string{"fleet", "--fail-on", "high", w1}, exitFindings, true},
		{"fail-on critical not met", []string{"fleet", "--fail-on", "critical", w1}, exitOK, true},
		{"fail-on critical met in week 2", []string{"fleet", "--fail-on", "high", "--baseline", w1, w2}, exitFindings, true},
		{"truncated report", []string{"fleet", w1, fleetData + "broken/truncated.json"}, exitError, true},
		{"another tool's JSON", []string{"fleet", fleetData + "broken/other-tool.json"}, exitError, true},
		{"unreadable wins over fail-on", []string{"fleet", "--fail-on", "info", w1, fleetData + "broken/truncated.json"}, exitError, true},
		{"empty directory", []string{"fleet", empty}, exitError, true},
		{"directory without reports", []string{"fleet", notReports}, exitError, true},
		{"missing path", []string{"fleet", fleetData + "no-such-dir"}, exitError, true},
		{"broken baseline", []string{"fleet", "--baseline", fleetData + "broken", w2}, exitError, true},
		{"empty baseline", []string{"fleet", "--baseline", empty, w2}, exitError, true},
		{"incomplete host with fail-on", []string{"fleet", "--fail-on", "critical", fleetData + "incomplete"}, exitIncomplete, true},
		{"incomplete host allowed", []string{"fleet", "--fail-on", "critical", "--allow-incomplete", fleetData + "incomplete"}, exitOK, true},
		{"incomplete host without fail-on", []string{"fleet", fleetData + "incomplete"}, exitOK, true},
		{"usage: no path", []string{"fleet"}, exitUsage, false},
		{"usage: bad output", []string{"fleet", "-o", "xml", w1}, exitUsage, false},
		{"usage: bad severity", []string{"fleet", "--fail-on", "severe", w1}, exitUsage, false},
		{"html", []string{"fleet", "-o", "html", w1}, exitOK, true},
		{"diff: same report", []string{"diff", w1 + "/mail.json", w1 + "/mail.json"}, exitOK, true},
		{"diff: a drop inserted above narrows ssh, http, https", []string{"diff", w1 + "/web.json", w2 + "/web.json"}, 1, true},
		{"diff: changed", []string{"diff", w1 + "/mail.json", w2 + "/mail.json"}, 1, true},
		{"diff: changed, json", []string{"diff", "-o", "json", w1 + "/mail.json", w2 + "/mail.json"}, 1, true},
		{"diff: one argument", []string{"diff", w1 + "/mail.json"}, exitUsage, false},
		{"diff: missing file", []string{"diff", w1 + "/mail.json", "no-such.json"}, exitUsage, false},
		{"diff: truncated", []string{"diff", w1 + "/mail.json", fleetData + "broken/truncated.json"}, exitUsage, false},
		{"diff: a directory", []string{"diff", w1, w2}, exitUsage, false},
		{"diff: bad output", []string{"diff", "-o", "html", w1 + "/mail.json", w2 + "/mail.json"}, exitUsage, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, tc.args...)
			if code != tc.want {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tc.want, stderr)
			}
			if (stdout != "") != tc.stdout {
				t.Errorf("stdout %.200q; want output: %v", stdout, tc.stdout)
			}
			changed := tc.args[0] == "diff" && code == 1 // diff(1)'s "different", not an error
			if (code == exitError && !changed) || code == exitUsage {
				if !strings.Contains(stderr, "fwaudit: error: ") {
					t.Errorf("stderr %q has no %q", stderr, "fwaudit: error: ")
				}
			}
		})
	}
}

func TestFleetCompletion(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"fleet -o", []string{"fleet", "-o", ""}, "table\njson\nmarkdown\nhtml\n:4\n"},
		{"fleet --fail-on", []string{"fleet", "--fail-on", ""}, "critical\nhigh\nmedium\nlow\ninfo\n:4\n"},
		{"diff -o", []string{"diff", "-o", ""}, "table\njson\n:4\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, append([]string{"__complete"}, tc.args...)...)
			if code != exitOK || stdout != tc.want {
				t.Errorf("exit %d, completions %q, want %q (stderr %q)", code, stdout, tc.want, stderr)
			}
		})
	}
}

// TestFleetReadme keeps the output shown in the README's Fleets section
// what the commands print.
func TestFleetReadme(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, args := range [][]string{
		{"fleet", "--baseline", "testdata/fleet/week1", "testdata/fleet/week2"},
		{"diff", "testdata/fleet/week1/mail.json", "testdata/fleet/week2/mail.json"},
	} {
		t.Run(args[0], func(t *testing.T) {
			prompt := "$ fwaudit " + strings.Join(args, " ") + "\n"
			i := strings.Index(readme, prompt)
			if i < 0 {
				t.Fatalf("README.md does not show %q", prompt)
			}
			shown := readme[i+len(prompt):]
			shown = shown[:strings.Index(shown, "\n```")+1]
			shown = strings.SplitN(shown, "\n$ ", 2)[0]
			shown = strings.TrimSuffix(shown, "\n") + "\n"
			var rel []string
			for _, a := range args {
				rel = append(rel, strings.Replace(a, "testdata/", "../testdata/", 1))
			}
			stdout, stderr, _ := run(t, nil, rel...)
			if stdout != shown {
				t.Errorf("README.md shows (-) what %s prints (+):\n%s\nstderr: %s", prompt, lineDiff(shown, stdout), stderr)
			}
		})
	}
}
