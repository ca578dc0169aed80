package cmd

import (
	"strings"
	"testing"
)

// TestCompletionValues runs cobra's hidden __complete command, which the
// shell completion scripts call, and checks the values offered for flags
// that take one of a list. ":4" is ShellCompDirectiveNoFileComp.
func TestCompletionValues(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"scan -o", []string{"scan", "-o", ""}, "table\njson\n:4\n"},
		{"scan --format", []string{"scan", "--format", ""}, "table\njson\n:4\n"},
		{"explain --output", []string{"explain", "tcp/22", "--output", ""}, "text\njson\n:4\n"},
		{"report --format", []string{"report", "--format", ""}, "json\ntable\nmarkdown\nhtml\n:4\n"},
		{"report -o", []string{"report", "-o", ""}, "json\ntable\nmarkdown\nhtml\n:4\n"},
		{"report --format=", []string{"report", "--format="}, "json\ntable\nmarkdown\nhtml\n:4\n"},
		{"report --fail-on", []string{"report", "--fail-on", ""}, "critical\nhigh\nmedium\nlow\ninfo\n:4\n"},
		{"suggest --format", []string{"suggest", "--format", ""}, "iptables\nip6tables\nnft\nscript\nufw\nfirewalld\n:4\n"},
		{"services -o", []string{"services", "-o", ""}, "table\njson\n:4\n"},
		// file flags keep the shell's file name completion (directive 0)
		{"scan --rules", []string{"scan", "--rules", ""}, ":0\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, append([]string{"__complete"}, tc.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if stdout != tc.want {
				t.Errorf("completions (-want +got):\n%s", lineDiff(tc.want, stdout))
			}
			if strings.Contains(stderr, "error") {
				t.Errorf("stderr: %q", stderr)
			}
		})
	}
}
