package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every page, as man -l shows it, has EXIT STATUS, ENVIRONMENT, FILES and
// SEE ALSO; lists indented in the help keep their indentation; no option
// shows an empty default (--hostname=""); fwaudit(1) and fwaudit-report(1)
// name the timer, /etc/default/fwaudit and /var/lib/fwaudit.
func TestManPages(t *testing.T) {
	man, err := exec.LookPath("man")
	if err != nil {
		if os.Geteuid() == 0 {
			t.Fatal("man not found: make deps installs it (package man-db)")
		}
		t.Skip("SKIPPING MAN PAGE TEST: man is not installed; sudo make test installs it")
	}
	dir := t.TempDir()
	if err := run(dir, "1764547200"); err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	if len(pages) < 10 {
		t.Fatalf("%d pages", len(pages))
	}
	shown := map[string]string{}
	for _, p := range pages {
		name := strings.TrimSuffix(filepath.Base(p), ".1")
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), `=""`) {
			t.Errorf("%s: an option shows an empty default", name)
		}
		cmd := exec.Command(man, "-l", p)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "LC_ALL=C.UTF-8", "MANPAGER=cat", "PAGER=cat", "MANROFFSEQ=")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("man -l %s: %v", name, err)
		}
		shown[name] = string(out)
		for _, sec := range []string{"\nEXIT STATUS\n", "\nENVIRONMENT\n", "\nFILES\n", "\nSEE ALSO\n"} {
			if !strings.Contains(string(out), sec) {
				t.Errorf("man -l %s has no %s section", name, strings.TrimSpace(sec))
			}
		}
	}
	for _, tc := range []struct{ page, want string }{
		// the verdict list, one verdict a line, indented as in --help
		{"fwaudit-scan", "\n         open         accepted from more than half of the address space\n"},
		{"fwaudit-scan", "\n         blocked      accepted from nowhere\n"},
		// exit codes one a line, under EXIT STATUS
		{"fwaudit-diff", "EXIT STATUS\n       Exit codes, as diff(1):\n\n       0      nothing changed\n\n       1      something changed\n"},
		{"fwaudit-fleet", "\n       5      with"},
		{"fwaudit-fleet", "--fail-on-change: none of the above, but something changed since the baseline"},
		{"fwaudit-report", "\n       4      with"},
		{"fwaudit-version", "EXIT STATUS\n       0      success\n"},
		{"fwaudit", "nftables"},
		{"fwaudit", "fwaudit-report.timer"},
		{"fwaudit-report", "/etc/default/fwaudit"},
		{"fwaudit-report", "/var/lib/fwaudit/reports/HOST-TIME.json"},
		{"fwaudit-report", "FWAUDIT_KEEP"},
		{"fwaudit-report", "nft(8)"},
	} {
		// man justifies filled lines: runs of spaces count as one there
		flat := strings.Join(strings.Fields(shown[tc.page]), " ")
		if !strings.Contains(shown[tc.page], tc.want) && (strings.Contains(tc.want, "\n") || !strings.Contains(flat, tc.want)) {
			t.Errorf("man -l %s does not show %q:\n%s", tc.page, tc.want, shown[tc.page])
		}
	}
	// the help's exit codes moved to EXIT STATUS, not said twice
	if d := shown["fwaudit-diff"]; strings.Index(d, "nothing changed") < strings.Index(d, "EXIT STATUS") {
		t.Errorf("fwaudit-diff: the exit codes are still in DESCRIPTION")
	}
}
