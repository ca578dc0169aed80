package cmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// reportArgs is an offline report of the fresh-postgres host (three high
// findings, as its JSON summary says) at time at.
func reportArgs(dir, at string, extra ...string) []string {
	return append([]string{"report", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4",
		"--rules6", pgDir + "rules.v6", "--hostname", "db1", "--time", at, "--tool-version", "1.0.0-test",
		"--output-dir", dir}, extra...)
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestReportOutputDir(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := run(t, nil, reportArgs(dir, "2026-11-21T12:00:00Z")...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	path := filepath.Join(dir, "db1-2026-11-21T12:00:00Z.json")
	want := "fwaudit report " + path + ": 4 sockets, 3 public, 3 open; 3 findings (3 high); 6 checks failed, 0 skipped\n"
	if stdout != want {
		t.Errorf("stdout:\n got %q\nwant %q", stdout, want)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	// the file is what report -o json prints on stdout
	plain, _, _ := run(t, nil, "report", "--offline", "--sockets", pgDir+"ss.txt", "--rules", pgDir+"rules.v4",
		"--rules6", pgDir+"rules.v6", "--hostname", "db1", "--time", "2026-11-21T12:00:00Z", "--tool-version", "1.0.0-test")
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, []byte(plain)) {
		t.Errorf("file differs from report on stdout:\n%s", lineDiff(plain, string(got)))
	}
	var v map[string]any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Errorf("saved report is not JSON: %v", err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{filepath.Base(path)}) {
		t.Errorf("directory holds %q, want only the report (no temporary file left)", names)
	}
}

func TestReportOutputDirKeep(t *testing.T) {
	dir := t.TempDir()
	// files that are not this host's reports are never pruned
	others := []string{
		"db1-1-2026-01-01T00:00:00Z.json", // host db1-1
		"web-2026-01-01T00:00:00Z.json",
		"db1-2026-01-01T00:00:00Z.md", // another format
		"db1-notatime.json",
		"notes.txt",
	}
	for _, n := range others {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	times := []string{
		"2026-11-03T00:00:00Z", "2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z",
		"2026-11-02T00:00:00Z", "2026-11-05T00:00:00+02:00",
	}
	var lastOut string
	for _, at := range times {
		stdout, stderr, code := run(t, nil, reportArgs(dir, at, "--keep", "3")...)
		if code != 0 || stderr != "" {
			t.Fatalf("--time %s: exit %d, stderr %q", at, code, stderr)
		}
		lastOut = stdout
	}
	// 2026-11-05T00:00:00+02:00 is 2026-11-04T22:00:00Z: the newest three
	// by time, and the one just written is always kept
	want := append(slices.Clone(others),
		"db1-2026-11-03T00:00:00Z.json", "db1-2026-11-04T00:00:00Z.json", "db1-2026-11-04T22:00:00Z.json")
	slices.Sort(want)
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("after --keep 3:\n got %q\nwant %q", got, want)
	}
	if !strings.HasSuffix(lastOut, "; removed 1 older report\n") {
		t.Errorf("summary %q does not say one report was removed", lastOut)
	}
	// an older --time than every kept report: it is written and kept, the
	// oldest others go
	if _, stderr, code := run(t, nil, reportArgs(dir, "2025-01-01T00:00:00Z", "--keep", "2")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want = append(slices.Clone(others), "db1-2025-01-01T00:00:00Z.json", "db1-2026-11-04T22:00:00Z.json")
	slices.Sort(want)
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("after --keep 2:\n got %q\nwant %q", got, want)
	}
}

func TestReportOutputDirFailOn(t *testing.T) {
	tests := []struct {
		name   string
		failOn string
		code   int
	}{
		{"none", "", 0},
		{"high", "high", exitFindings},
		{"critical", "critical", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stdout, _, code := run(t, nil, reportArgs(dir, "2026-11-21T12:00:00Z", "--fail-on="+tt.failOn)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			// written and summarised whatever the exit code
			if len(dirNames(t, dir)) != 1 || !strings.HasPrefix(stdout, "fwaudit report ") {
				t.Errorf("files %q, stdout %q", dirNames(t, dir), stdout)
			}
		})
	}
}

func TestReportOutputDirErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"keep without dir", []string{"report", "--offline", "--keep", "3"}, exitUsage, "--keep needs --output-dir"},
		{"negative keep", []string{"report", "--offline", "--output-dir", "x", "--keep", "-1"}, exitUsage, "--keep -1"},
		{"missing dir", reportArgs("testdata/no-such-dir", "2026-11-21T12:00:00Z"), exitError, "no-such-dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, tt.args...)
			if code != tt.code || stdout != "" || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want %q in it)", code, tt.code, stdout, stderr, tt.stderr)
			}
		})
	}
}

func TestReportFileHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"web1.example.org", "web1.example.org"},
		{"a/b", "a_b"},
		{"..", "host.."},
		{"", "host"},
		{"dé", "d_"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := reportFileHost(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
