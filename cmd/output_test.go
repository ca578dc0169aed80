package cmd

import (
	"slices"
	"strings"
	"testing"
)

// TestOutputFlagNames checks that -o, --output and --format are one flag on
// every command that has formats: the same output for each spelling, and
// not the default format's output (so a flag that is ignored fails).
func TestOutputFlagNames(t *testing.T) {
	offline := []string{"--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6"}
	report := append([]string{"report", "--hostname", "db1", "--time", "2026-11-21T12:00:00Z", "--tool-version", "1.0.0-test"}, offline...)
	tests := []struct {
		name   string
		args   []string
		format string // not the default
	}{
		{"scan", append([]string{"scan"}, offline...), "json"},
		{"explain", append([]string{"explain", "tcp/5432"}, offline...), "json"},
		{"report table", report, "table"},
		{"report markdown", report, "markdown"},
		{"suggest", append([]string{"suggest"}, offline...), "nft"},
		{"services", []string{"services"}, "json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			def, _, code := run(t, nil, tc.args...)
			if code != exitOK {
				t.Fatalf("%s: exit %d", strings.Join(tc.args, " "), code)
			}
			var first string
			for i, flag := range []string{"-o", "--output", "--format"} {
				args := append(slices.Clone(tc.args), flag, tc.format)
				stdout, stderr, code := run(t, nil, args...)
				if code != exitOK {
					t.Fatalf("%s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
				}
				if stdout == def {
					t.Errorf("%s: printed the default format", strings.Join(args, " "))
				}
				if i == 0 {
					first = stdout
				} else if stdout != first {
					t.Errorf("%s prints other output than with -o (-want +got):\n%s", strings.Join(args, " "), lineDiff(first, stdout))
				}
			}
			for _, flag := range []string{"-o", "--output", "--format"} {
				args := append(slices.Clone(tc.args), flag, "xml")
				stdout, stderr, code := run(t, nil, args...)
				if code != exitUsage || stdout != "" || !strings.HasPrefix(stderr, "fwaudit: error: unknown ") {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2, no stdout, an unknown-format error", strings.Join(args, " "), code, stdout, stderr)
				}
			}
		})
	}
}
