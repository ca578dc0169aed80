package cmd

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReportIncomplete: `report --fail-on` never passes an audit whose
// checks were skipped for lack of input (exit 4), unless
// --allow-incomplete; findings at or above --fail-on still exit 3.
func TestReportIncomplete(t *testing.T) {
	const (
		v4Missing   = "IPv4: rules could not be read: ipv4 rules not provided (--offline without --rules)"
		v6Missing   = "IPv6: rules could not be read: ipv6 rules not provided (--offline without --rules6)"
		noBackend   = "single-firewall-backend: no rules could be read"
		hintAllow   = "hint: --allow-incomplete passes it on the findings alone\n"
		warnNoRules = "warning: audit incomplete, 9 checks skipped: " + v4Missing + "; " + v6Missing + "; " + noBackend + "\n"
		warnNoV6    = "warning: audit incomplete, 4 checks skipped: " + v6Missing + "\n"
	)
	both := []string{"--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6"}
	tests := []struct {
		name           string
		args           []string
		code           int
		stderr         string
		incomplete     []string // summary.incomplete in the JSON on stdout
		checksSkipped  int
		findingsAtInfo bool // any finding at all
	}{
		{"offline without rules fails at info", []string{"--sockets", ufwSockets, "--fail-on", "info"}, exitIncomplete,
			warnNoRules + "fwaudit: error: --fail-on info: the audit is incomplete, so it cannot pass\n" + hintAllow,
			[]string{v4Missing, v6Missing, noBackend}, 9, false},
		{"offline without rules fails at critical too", []string{"--sockets", ufwSockets, "--fail-on", "critical"}, exitIncomplete,
			warnNoRules + "fwaudit: error: --fail-on critical: the audit is incomplete, so it cannot pass\n" + hintAllow,
			[]string{v4Missing, v6Missing, noBackend}, 9, false},
		{"allowed: nothing found, so it passes", []string{"--sockets", ufwSockets, "--fail-on", "info", "--allow-incomplete"}, exitOK,
			warnNoRules, []string{v4Missing, v6Missing, noBackend}, 9, false},
		{"without --fail-on it exits 0 but says so", []string{"--sockets", ufwSockets}, exitOK,
			warnNoRules, []string{v4Missing, v6Missing, noBackend}, 9, false},
		{"one family missing, nothing at critical", []string{"--sockets", ufwSockets, "--rules", ufwRules, "--fail-on", "critical"}, exitIncomplete,
			warnNoV6 + "fwaudit: error: --fail-on critical: the audit is incomplete, so it cannot pass\n" + hintAllow,
			[]string{v6Missing}, 4, true},
		{"findings win over incompleteness", []string{"--sockets", ufwSockets, "--rules", ufwRules, "--fail-on", "info"}, exitFindings,
			warnNoV6, []string{v6Missing}, 4, true},
		{"allowed, findings still count", []string{"--sockets", ufwSockets, "--rules", ufwRules, "--fail-on", "info", "--allow-incomplete"}, exitFindings,
			warnNoV6, []string{v6Missing}, 4, true},
		{"complete audit passes", append([]string{"--sockets", pgDir + "ss.txt", "--fail-on", "critical"}, both...), exitOK,
			"", []string{}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"report", "--offline", "--hostname", "h", "--time", "2026-11-21T12:00:00Z"}, tc.args...)
			stdout, stderr, code := run(t, nil, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if stderr != tc.stderr {
				t.Errorf("stderr (-want +got):\n-%s\n+%s", tc.stderr, stderr)
			}
			var doc struct {
				Summary struct {
					ChecksSkipped int            `json:"checks_skipped"`
					Incomplete    []string       `json:"incomplete"`
					Findings      map[string]int `json:"findings"`
				} `json:"summary"`
			}
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
			}
			if strings.Join(doc.Summary.Incomplete, "\n") != strings.Join(tc.incomplete, "\n") || doc.Summary.Incomplete == nil {
				t.Errorf("summary.incomplete (-want +got):\n-%q\n+%q", tc.incomplete, doc.Summary.Incomplete)
			}
			if doc.Summary.ChecksSkipped != tc.checksSkipped {
				t.Errorf("summary.checks_skipped = %d, want %d", doc.Summary.ChecksSkipped, tc.checksSkipped)
			}
			n := 0
			for _, c := range doc.Summary.Findings {
				n += c
			}
			if (n > 0) != tc.findingsAtInfo {
				t.Errorf("%d findings; want some: %v", n, tc.findingsAtInfo)
			}
		})
	}
}

// TestReportIncompleteTable: the table says the audit is incomplete and
// how many checks were skipped, and the help documents exit code 4.
func TestReportIncompleteTable(t *testing.T) {
	stdout, _, code := run(t, nil, "report", "--offline", "--sockets", ufwSockets, "--format", "table", "--fail-on", "info")
	if code != exitIncomplete {
		t.Errorf("exit %d, want %d", code, exitIncomplete)
	}
	for _, want := range []string{"9 skipped)", "AUDIT INCOMPLETE (9 checks skipped)\n- IPv4: rules could not be read"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	help, _, code := run(t, nil, "report", "--help")
	if code != exitOK {
		t.Fatalf("report --help: exit %d", code)
	}
	for _, want := range []string{"--allow-incomplete", "  3  a finding at or above --fail-on exists", "  4  with --fail-on: no such finding, but the audit is incomplete"} {
		if !strings.Contains(help, want) {
			t.Errorf("report --help lacks %q", want)
		}
	}
}
