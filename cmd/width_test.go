package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

const (
	gopherDir = "../testdata/report/gopherproxy-blocklist/"
	ufwDir    = "../testdata/report/ufw-server2/"
	widthDir  = "../testdata/width/"
)

// chain20k writes a generated ruleset whose INPUT chain holds 20,000
// rules: lo, established, 19,996 single-address drops and accepts for
// tcp/22 and tcp/80 at the end. Its sockets file has sshd and nginx.
func chain20k(t *testing.T) (rules, sockets string) {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	b.WriteString("-A INPUT -i lo -j ACCEPT\n-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n")
	for i := range 19996 {
		fmt.Fprintf(&b, "-A INPUT -s 10.%d.%d.%d/32 -j DROP\n", i>>14, (i>>6)&0xff, (i&0x3f)*4+1)
	}
	b.WriteString("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n")
	rules = filepath.Join(dir, "rules.v4")
	sockets = filepath.Join(dir, "ss.txt")
	if err := os.WriteFile(rules, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ss := "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" +
		"tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=610,fd=3))\n" +
		"tcp LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:((\"nginx\",pid=700,fd=6))\n"
	if err := os.WriteFile(sockets, []byte(ss), 0o644); err != nil {
		t.Fatal(err)
	}
	return rules, sockets
}

// widthCase is one command line whose text output must fit.
type widthCase struct {
	name string
	args []string
}

func widthCases(t *testing.T) []widthCase {
	big, bigSS := chain20k(t)
	report := []string{"report", "-o", "table", "--hostname", "h", "--time", "2026-11-21T12:00:00Z", "--tool-version", "1.0.0-test", "--offline"}
	return []widthCase{
		{"scan-gopherproxy", []string{"scan", "--offline", "--sockets", gopherDir + "ss.txt", "--rules", gopherDir + "rules.v4"}},
		{"scan-ufw", []string{"scan", "--offline", "--sockets", ufwDir + "ss.txt", "--rules", ufwDir + "rules.v4"}},
		// no rules at all: every row's verdict is unknown for the same reason
		{"scan-no-rules", []string{"scan", "--offline", "--sockets", ufwDir + "ss.txt"}},
		{"scan-20k", []string{"scan", "--offline", "--sockets", bigSS, "--rules", big}},
		{"report-gopherproxy", append(report, "--sockets", gopherDir+"ss.txt", "--rules", gopherDir+"rules.v4")},
		{"report-ufw", append(report, "--sockets", ufwDir+"ss.txt", "--rules", ufwDir+"rules.v4")},
		{"explain-gopherproxy", []string{"explain", "tcp/22", "--offline", "--rules", gopherDir + "rules.v4", "--iface", "eth0"}},
		{"explain-ufw", []string{"explain", "tcp/3306", "--offline", "--rules", ufwDir + "rules.v4", "--from", "188.95.233.38", "--iface", "eth0"}},
		{"explain-20k", []string{"explain", "tcp/22", "--offline", "--rules", big, "--iface", "eth0"}},
	}
}

// checkLines asserts what every text output promises: no line wider than
// width (0: any), none starting or ending with a space, and only ASCII
// when the locale is not UTF-8.
func checkLines(t *testing.T, out string, width int, ascii bool) {
	t.Helper()
	for i, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if width > 0 && runewidth.StringWidth(l) > width {
			t.Errorf("line %d is %d columns wide, more than %d:\n%s", i+1, runewidth.StringWidth(l), width, l)
		}
		if l != strings.TrimSpace(l) {
			t.Errorf("line %d starts or ends with a space: %q", i+1, l)
		}
		if ascii {
			for _, r := range l {
				if r >= utf8.RuneSelf {
					t.Errorf("line %d holds %q in a locale that is not UTF-8: %s", i+1, r, l)
					break
				}
			}
		}
	}
}

// TestWidthGolden pins scan, report and explain at 80 and 200 columns on
// corpus hosts and a 20,000-rule chain, and checks each output's
// properties independently of the golden files: it fits, has no leading
// or trailing spaces, and holds the content checked by TestWidthContent.
// Regenerate with: go test ./cmd -run TestWidthGolden -update
func TestWidthGolden(t *testing.T) {
	for _, tc := range widthCases(t) {
		for _, cols := range []int{80, 200} {
			name := fmt.Sprintf("%s-%d", tc.name, cols)
			t.Run(name, func(t *testing.T) {
				env := map[string]string{"COLUMNS": strconv.Itoa(cols), "LANG": "C.UTF-8"}
				stdout, stderr, code := run(t, env, tc.args...)
				if code != exitOK {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				checkLines(t, stdout, cols, false)
				path := filepath.Join(widthDir, name+".txt")
				if *update {
					if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./cmd -run TestWidthGolden -update)", err)
				}
				if string(want) != stdout {
					t.Errorf("%s differs (-want +got):\n%s", path, lineDiff(string(want), stdout))
				}
			})
		}
	}
}

// TestWidthLocaleAndWide: with LANG=C nothing but ASCII is printed (the
// gutter is "|"); with --wide every line is whole, however long; the
// terminal width comes from COLUMNS.
func TestWidthLocaleAndWide(t *testing.T) {
	for _, tc := range widthCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			for _, env := range []map[string]string{
				{"COLUMNS": "80", "LANG": "C"},
				{"COLUMNS": "80", "LC_ALL": "POSIX", "LANG": "en_US.UTF-8"},
				{"COLUMNS": "60", "LC_CTYPE": "de_DE.ISO-8859-1"},
			} {
				stdout, stderr, code := run(t, env, tc.args...)
				if code != exitOK {
					t.Fatalf("%v: exit %d: %s", env, code, stderr)
				}
				cols, _ := strconv.Atoi(env["COLUMNS"])
				checkLines(t, stdout, cols, true)
			}
			wide, _, code := run(t, map[string]string{"COLUMNS": "80"}, append(tc.args, "--wide")...)
			if code != exitOK {
				t.Fatalf("--wide: exit %d", code)
			}
			checkLines(t, wide, 0, true)
			// --wide does not depend on the width
			unlimited, _, _ := run(t, map[string]string{"COLUMNS": "1000000"}, append(tc.args, "--wide")...)
			if wide != unlimited {
				t.Errorf("--wide at COLUMNS=80 differs from COLUMNS=1000000 (-80 +1000000):\n%s", lineDiff(wide, unlimited))
			}
			if !strings.HasPrefix(tc.name, "report") {
				// scan and explain use the gutter only to wrap
				for _, l := range strings.Split(wide, "\n") {
					if strings.HasPrefix(l, "|") {
						t.Errorf("--wide wrapped a line: %q", l)
					}
				}
			}
		})
	}
}

// unwrap joins a wrapped output back into one string without whitespace
// or gutters, so that text can be looked for whatever the width.
func unwrap(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimPrefix(strings.TrimPrefix(l, "│"), "|")
		b.WriteString(l)
	}
	return strings.Join(strings.Fields(b.String()), "")
}

func jsonOf(t *testing.T, args []string, v any) {
	t.Helper()
	stdout, stderr, code := run(t, nil, append(args, "-o", "json")...)
	if code != exitOK {
		t.Fatalf("%v -o json: exit %d: %s", args, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), v); err != nil {
		t.Fatalf("%v -o json: %v", args, err)
	}
}

// TestWidthContent checks what the text outputs say against the JSON
// output of the same command line: counted lists give the right count and
// --wide lists every entry, explain's collapsed runs and rule numbers
// match the trace, and the table report carries every check not passed
// and every finding with its remediation, at any width.
func TestWidthContent(t *testing.T) {
	cases := map[string]widthCase{}
	for _, c := range widthCases(t) {
		cases[c.name] = c
	}
	env80 := map[string]string{"COLUMNS": "80"}

	for _, name := range []string{"scan-gopherproxy", "scan-20k"} {
		t.Run(name, func(t *testing.T) {
			args := cases[name].args
			var doc struct {
				Sockets []struct {
					Port     int
					Firewall struct {
						IPv4 struct {
							Verdict string
							Except  []string
						}
					}
				}
			}
			jsonOf(t, args, &doc)
			out, _, _ := run(t, env80, args...)
			wide, _, _ := run(t, env80, append(args, "--wide")...)
			for _, s := range doc.Sockets {
				v := s.Firewall.IPv4
				if v.Verdict != "open" || len(v.Except) <= 3 {
					continue
				}
				want := regexp.MustCompile(fmt.Sprintf(`(?m)^tcp\s+0\.0\.0\.0\s+%d\s.*\sopen except (\S+) ranges$`, s.Port))
				m := want.FindStringSubmatch(out)
				if m == nil {
					t.Errorf("port %d: no row \"open except N ranges\" in:\n%s", s.Port, out)
					continue
				}
				if n := strings.ReplaceAll(m[1], ",", ""); n != strconv.Itoa(len(v.Except)) {
					t.Errorf("port %d: table counts %s ranges, JSON lists %d", s.Port, m[1], len(v.Except))
				}
				row := regexp.MustCompile(fmt.Sprintf(`(?m)^tcp\s+0\.0\.0\.0\s+%d\s.*$`, s.Port)).FindString(wide)
				if row != "" && !strings.HasSuffix(row, "open except "+strings.Join(v.Except, ",")) {
					t.Errorf("port %d: --wide row does not list the %d ranges: %.200s", s.Port, len(v.Except), row)
				}
			}
			if !strings.Contains(out, "-o json or --wide lists them") {
				t.Errorf("no note that lists are counted:\n%s", out)
			}
		})
	}

	t.Run("scan-no-rules", func(t *testing.T) {
		out, _, _ := run(t, env80, cases["scan-no-rules"].args...)
		reason := "ipv4 rules not provided (--offline without --rules)"
		if strings.Count(out, reason) != 1 {
			t.Errorf("the reason every IPv4 row shares is not said exactly once:\n%s", out)
		}
		if !strings.Contains(out, "[1] "+reason) || strings.Count(out, "unknown [1]") != 4 {
			t.Errorf("rows do not name the note:\n%s", out)
		}
	})

	t.Run("explain-20k", func(t *testing.T) {
		args := cases["explain-20k"].args
		var doc struct {
			Verdict string
			Trace   []struct {
				Chain    string
				Position int
				Line     int
				Matched  string
			}
		}
		jsonOf(t, args, &doc)
		// every rule up to the accept for tcp/22, the 19,999th
		if len(doc.Trace) != 19999 || doc.Trace[19998].Matched != "yes" {
			t.Fatalf("JSON trace has %d steps, want 19,999 ending in a match", len(doc.Trace))
		}
		for i, s := range doc.Trace {
			if s.Position != i+1 || s.Line != i+5 {
				t.Fatalf("step %d: position %d line %d, want %d and %d", i, s.Position, s.Line, i+1, i+5)
			}
		}
		out, _, _ := run(t, map[string]string{"COLUMNS": "200"}, args...)
		if n := strings.Count(out, "\n"); n > 20 {
			t.Errorf("explain printed %d lines for a 20,000-rule chain:\n%s", n, out)
		}
		// rules 1-19,998 do not match (lo, established, the drops); 19,999 accepts
		for _, want := range []string{
			"#1-19998  lines 5-20002         ... 19,998 rules that do not match tcp/22 ...",
			"#19999    line 20003     match  -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT -> accept",
			"verdict: accept by -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
			"tcp/22 overall (ipv4): open except 19,996 ranges (-o json lists them)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		full, _, _ := run(t, env80, append(args, "--full")...)
		if n := strings.Count(full, "\n"); n < 20000 {
			t.Errorf("--full printed %d lines, want every rule", n)
		}
	})

	for _, name := range []string{"report-gopherproxy", "report-ufw"} {
		t.Run(name, func(t *testing.T) {
			args := append([]string{}, cases[name].args...)
			// the JSON of the same command line: drop "-o table"
			jargs := append([]string{args[0]}, args[3:]...)
			var rep struct {
				Checks   []struct{ ID, Status, Detail string }
				Findings []struct{ ID, Severity, Title, Detail, Rule, Remediation string }
			}
			jsonOf(t, jargs, &rep)
			md, _, _ := run(t, nil, append(jargs, "-o", "markdown")...)
			for _, cols := range []string{"80", "200"} {
				out, _, _ := run(t, map[string]string{"COLUMNS": cols}, args...)
				flat := unwrap(out)
				passed := 0
				for _, c := range rep.Checks {
					if c.Status == "pass" {
						passed++
						if strings.Contains(out, " "+c.ID+":") {
							t.Errorf("passed check %s listed", c.ID)
						}
						continue
					}
					if !strings.Contains(flat, unwrap(c.Status+" "+c.ID+":")) || !strings.Contains(flat, unwrap(c.Detail)) {
						t.Errorf("%s columns: check %s (%s) missing", cols, c.ID, c.Status)
					}
				}
				if want := fmt.Sprintf("CHECKS (%d of %d passed)", passed, len(rep.Checks)); !strings.Contains(out, want) {
					t.Errorf("%s columns: lacks %q", cols, want)
				}
				if want := fmt.Sprintf("FINDINGS (%d)", len(rep.Findings)); !strings.Contains(out, want) {
					t.Errorf("%s columns: lacks %q", cols, want)
				}
				for _, f := range rep.Findings {
					for _, part := range []string{strings.ToUpper(f.Severity) + " " + f.ID, f.Detail, "fix: " + f.Remediation, "rule: " + f.Rule} {
						if strings.HasSuffix(part, "rule: ") {
							continue
						}
						if !strings.Contains(flat, unwrap(part)) {
							t.Errorf("%s columns: finding %s: lacks %q", cols, f.ID, part)
						}
					}
				}
			}
			for _, c := range rep.Checks {
				if !strings.Contains(md, "`"+c.ID+"`") {
					t.Errorf("markdown lacks check %s", c.ID)
				}
			}
			if got := strings.Count(md, "  - Remediation: "); got != len(rep.Findings) {
				t.Errorf("markdown has %d findings, JSON %d", got, len(rep.Findings))
			}
		})
	}
}

// report -o table says who can reach each socket: long lists are cut and
// counted, and --wide lists every prefix the JSON has.
func TestReportTableWho(t *testing.T) {
	args := []string{"report", "--offline", "-o", "table", "--hostname", "gopher", "--sockets", gopherDir + "ss.txt", "--rules", gopherDir + "rules.v4"}
	env := map[string]string{"COLUMNS": "80", "LANG": "C.UTF-8"}
	js, _, _ := run(t, env, "report", "--offline", "--sockets", gopherDir+"ss.txt", "--rules", gopherDir+"rules.v4")
	var rep struct {
		Sockets []struct {
			Port     int `json:"port"`
			Firewall struct {
				IPv4 struct {
					Verdict string   `json:"verdict"`
					Except  []string `json:"except"`
				} `json:"ipv4"`
			} `json:"firewall"`
		} `json:"sockets"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	var except []string
	for _, s := range rep.Sockets {
		if s.Port == 22 {
			except = s.Firewall.IPv4.Except
		}
	}
	if len(except) < 10 {
		t.Fatalf("ssh's except list has %d prefixes; the test needs a long one", len(except))
	}
	cut, _, _ := run(t, env, args...)
	want := fmt.Sprintf("tcp 0.0.0.0:22 ssh sshd(1400), public; ipv4 open: everyone except\n│ %s, %s, %s, %s,\n│ %s, +%d more",
		except[0], except[1], except[2], except[3], except[4], len(except)-5)
	if !strings.Contains(cut, want) || !strings.Contains(cut, "lists of more than 5 are cut and counted") {
		t.Errorf("the table does not say %q:\n%s", want, cut)
	}
	wide, _, _ := run(t, env, append(args, "--wide")...)
	line := "tcp 0.0.0.0:22 ssh sshd(1400), public; ipv4 open: everyone except " + strings.Join(except, ", ") + "\n"
	if !strings.Contains(wide, line) {
		t.Errorf("--wide does not list every prefix of the JSON on one line")
	}
}
