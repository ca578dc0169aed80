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
	want := "fwaudit report " + path + ": 4 sockets, 3 public, 3 open; 3 findings (3 high); 5 checks failed, 0 skipped\n"
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
		{"dir under a file", reportArgs("report_outdir_test.go/reports", "2026-11-21T12:00:00Z"), exitError,
			"fwaudit: error: creating --output-dir report_outdir_test.go/reports: mkdir: not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, tt.args...)
			if code != tt.code || stdout != "" || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want %q in it)", code, tt.code, stdout, stderr, tt.stderr)
			}
			if strings.Contains(stderr, ".fwaudit-report-") {
				t.Errorf("stderr names the temporary file: %q", stderr)
			}
		})
	}
}

// --output-dir DIR is created when missing, as mkdir -p would, and only
// its owner's group may read it.
func TestReportOutputDirCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "fwaudit", "reports")
	if _, stderr, code := run(t, nil, reportArgs(dir, "2026-11-21T12:00:00Z")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsDir() || st.Mode().Perm()&^0o750 != 0 {
		t.Errorf("%s: mode %v, want a directory of at most 0750", dir, st.Mode())
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"db1-2026-11-21T12:00:00Z.json"}) {
		t.Errorf("directory holds %q", names)
	}
}

// Three runs of report --output-dir D --keep N at three times, as the timer
// makes them, then fleet D: one host, its newest report; --all lists its
// history; a copy of a report with the same time is a duplicate.
func TestFleetReadsOutputDir(t *testing.T) {
	dir := t.TempDir()
	times := []string{"2026-11-01T06:00:00Z", "2026-11-08T06:00:00Z", "2026-11-15T06:00:00Z"}
	for _, at := range times {
		if _, stderr, code := run(t, nil, reportArgs(dir, at, "--keep", "3")...); code != 0 {
			t.Fatalf("report --time %s: exit %d: %s", at, code, stderr)
		}
	}
	var fl struct {
		Hosts []struct {
			Host        string `json:"host"`
			File        string `json:"file"`
			GeneratedAt string `json:"generated_at"`
		} `json:"hosts"`
		Older  int `json:"older"`
		Totals struct {
			Hosts int `json:"hosts"`
		} `json:"totals"`
		Errors []struct {
			File, Error string
		} `json:"errors"`
		Findings []struct {
			Host string `json:"host"`
		} `json:"findings"`
	}
	decode := func(t *testing.T, args ...string) int {
		t.Helper()
		stdout, stderr, code := run(t, nil, append([]string{"fleet", "-o", "json"}, args...)...)
		fl.Hosts, fl.Errors, fl.Findings = nil, nil, nil
		if err := json.Unmarshal([]byte(stdout), &fl); err != nil {
			t.Fatalf("fleet -o json: %v\n%s%s", err, stdout, stderr)
		}
		return code
	}
	if code := decode(t, dir); code != 0 || len(fl.Errors) != 0 {
		t.Fatalf("fleet %s: exit %d, errors %+v", dir, code, fl.Errors)
	}
	if len(fl.Hosts) != 1 || fl.Hosts[0].Host != "db1" || fl.Hosts[0].GeneratedAt != times[2] || fl.Older != 2 || fl.Totals.Hosts != 1 {
		t.Errorf("hosts %+v, older %d: want db1 at %s only, 2 older", fl.Hosts, fl.Older, times[2])
	}
	if len(fl.Findings) != 3 {
		t.Errorf("%d findings, want the newest report's 3", len(fl.Findings))
	}
	if code := decode(t, "--all", dir); code != 0 || len(fl.Hosts) != 3 || fl.Totals.Hosts != 1 || len(fl.Findings) != 3 {
		t.Fatalf("fleet --all: exit %d, %d rows for %d hosts, %d findings; want 3 rows for 1 host, 3 findings", code, len(fl.Hosts), fl.Totals.Hosts, len(fl.Findings))
	}
	for i, h := range fl.Hosts {
		if h.Host != "db1" || h.GeneratedAt != times[i] {
			t.Errorf("row %d: %+v, want db1 at %s (oldest first)", i, h, times[i])
		}
	}
	stdout, _, _ := run(t, nil, "fleet", dir)
	if !strings.Contains(stdout, "HOSTS (1)") || !strings.Contains(stdout, "2 older reports not shown: --all lists them") {
		t.Errorf("fleet table:\n%s", stdout)
	}
	stdout, _, _ = run(t, nil, "fleet", "--all", dir)
	for _, at := range times {
		if !strings.Contains(stdout, "db1 "+at) {
			t.Errorf("fleet --all does not list db1 at %s:\n%s", at, stdout)
		}
	}

	// --keep 2 on a fourth run leaves two; fleet still reads the directory
	if _, stderr, code := run(t, nil, reportArgs(dir, "2026-11-22T06:00:00Z", "--keep", "2")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code := decode(t, dir); code != 0 || len(fl.Hosts) != 1 || fl.Hosts[0].GeneratedAt != "2026-11-22T06:00:00Z" || fl.Older != 1 {
		t.Errorf("after --keep 2: exit %d, hosts %+v, older %d", code, fl.Hosts, fl.Older)
	}

	// a copy under another name has the same time: a duplicate, exit 1
	b, err := os.ReadFile(filepath.Join(dir, "db1-2026-11-22T06:00:00Z.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "copy.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := decode(t, dir); code != exitError || len(fl.Errors) != 1 || !strings.Contains(fl.Errors[0].Error, "at the same time") {
		t.Errorf("duplicate: exit %d, errors %+v; want 1 and a same-time duplicate", code, fl.Errors)
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
