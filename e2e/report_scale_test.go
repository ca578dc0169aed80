//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The report of a 100,000-rule ruleset (scripts/benchfw -gen, 50
// listeners) has about 8,000 findings: its table groups them by kind and
// chain and stays under 200 lines of 80 columns, while every finding is
// still counted in it and listed in the JSON.
func TestReportTableScale(t *testing.T) {
	requireFwaudit(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gen := filepath.Join(dir, "benchfw")
	if err := goBuild(root, gen, "./scripts/benchfw"); err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]string{"r100k.v4": {"-gen", "100000"}, "rules.v6": {"-gen6"}, "ss50.txt": {"-sockets", "50"}}
	for name, args := range inputs {
		out, err := exec.Command(gen, args...).Output()
		if err != nil {
			t.Fatalf("benchfw %s: %v", strings.Join(args, " "), err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"report", "--offline", "--sockets", "ss50.txt", "--rules", "r100k.v4", "--rules6", "rules.v6", "--hostname", "big"}
	js := RunFwaudit(t, dir, append(args, "-o", "json")...)
	var rep struct {
		Findings []struct {
			ID string `json:"id"`
		} `json:"findings"`
		Sockets []json.RawMessage `json:"sockets"`
	}
	if err := json.Unmarshal([]byte(js.Stdout), &rep); err != nil {
		t.Fatalf("report -o json: %v\n%s", err, js.Stderr)
	}
	if len(rep.Findings) < 5000 {
		t.Fatalf("the report has %d findings; the test wants thousands", len(rep.Findings))
	}

	cmd := exec.Command(FwauditBin, append(args, "-o", "table")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COLUMNS=80", "LANG=C.UTF-8")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("report -o table: %v", err)
	}
	table := strings.TrimSuffix(string(out), "\n")
	lines := strings.Split(table, "\n")
	if len(lines) >= 200 {
		t.Errorf("the table has %d lines, want under 200", len(lines))
	}
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("line %d is %d columns: %q", i+1, n, l)
		}
	}
	// every finding is counted: the groups' counts and the findings shown
	// one by one add up to the JSON's
	group := regexp.MustCompile(`^[A-Z]+ ([a-z-]+) ×([0-9,]+) in \S+, first 5 shown`)
	single := regexp.MustCompile(`^[A-Z]+ [a-z-]+ \(`)
	total, groups := 0, 0
	for _, l := range lines {
		if m := group.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
			total += n
			groups++
		} else if single.MatchString(l) {
			total++
		}
	}
	if total != len(rep.Findings) || groups == 0 {
		t.Errorf("the table accounts for %d findings in %d groups; the JSON has %d", total, groups, len(rep.Findings))
	}
	if !strings.Contains(table, "SOCKETS (") || !strings.Contains(table, "stale-rule ×") {
		t.Errorf("the table has no socket section or no stale-rule group:\n%s", table)
	}
	if want := "SOCKETS (" + strconv.Itoa(len(rep.Sockets)) + ")"; !strings.Contains(table, want) {
		t.Errorf("the table has no %q", want)
	}
}
