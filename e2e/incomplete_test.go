//go:build linux

package e2e

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An audit that could not read what it audits never passes: `report
// --fail-on` exits 4 unless --allow-incomplete. And the live rules are read
// whatever PATH says (cron runs jobs with PATH=/usr/bin:/bin, iptables-save
// is in /usr/sbin).

// incompleteRules drops by default and accepts ssh, and 25 where nothing
// listens (a stale-rule finding, low): a ruleset with a definite answer,
// so that a report that reads it is complete and fails at info.
const incompleteRules = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 127.0.0.0/8 ! -i lo -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 25 -j ACCEPT
COMMIT
`

const incompleteRules6 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s ::1/128 ! -i lo -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`

// summaryDoc is the part of `report --format json` these tests read.
type summaryDoc struct {
	Firewall struct {
		IPv4 struct {
			Source string `json:"source"`
			Error  string `json:"error"`
		} `json:"ipv4"`
		IPv6 struct {
			Source string `json:"source"`
			Error  string `json:"error"`
		} `json:"ipv6"`
	} `json:"firewall"`
	Summary struct {
		ChecksSkipped int            `json:"checks_skipped"`
		Incomplete    []string       `json:"incomplete"`
		Findings      map[string]int `json:"findings"`
	} `json:"summary"`
}

func decodeSummary(t *testing.T, stdout string) summaryDoc {
	t.Helper()
	var d summaryDoc
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, stdout)
	}
	return d
}

// reportArgs pin the host name and time, so that two runs compare equal.
var reportArgs = []string{"report", "--hostname", "lab", "--time", "2026-11-22T12:00:00Z"}

// TestReportUnprivileged runs `report --fail-on info` as nobody: the rules
// cannot be read, every firewall check is skipped, and it must exit 4 with
// the reasons on stderr and in the JSON; --allow-incomplete exits 0.
func TestReportUnprivileged(t *testing.T) {
	t.Parallel()
	lab := NewLab(t)
	requireFwaudit(t)
	lab.LoadIptables(incompleteRules)
	lab.LoadIp6tables(incompleteRules6)
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	bin := worldExecutable(t, FwauditBin)
	asNobody := func(extra ...string) Result {
		args := append([]string{"ip", "netns", "exec", lab.Host.Name,
			"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", bin}, reportArgs...)
		return runFwaudit(t, lab.Dir, append(args, extra...))
	}

	r := asNobody("--fail-on", "info")
	if r.Code != 4 {
		t.Errorf("exit %d, want 4\nstderr: %s", r.Code, r.Stderr)
	}
	d := decodeSummary(t, r.Stdout)
	if d.Firewall.IPv4.Source != "none" || d.Firewall.IPv6.Source != "none" {
		t.Fatalf("rules were read without privileges (ipv4 %q, ipv6 %q): the test proves nothing",
			d.Firewall.IPv4.Source, d.Firewall.IPv6.Source)
	}
	if d.Summary.ChecksSkipped != 9 {
		t.Errorf("checks_skipped = %d, want 9 (every check)", d.Summary.ChecksSkipped)
	}
	var v4, v6 bool
	for _, why := range d.Summary.Incomplete {
		v4 = v4 || strings.HasPrefix(why, "IPv4: rules could not be read:")
		v6 = v6 || strings.HasPrefix(why, "IPv6: rules could not be read:")
	}
	if !v4 || !v6 {
		t.Errorf("summary.incomplete = %q, want both families' reasons", d.Summary.Incomplete)
	}
	for _, want := range []string{
		"warning: cannot read the firewall rules without root privileges",
		"warning: audit incomplete, 9 checks skipped: IPv4: rules could not be read:",
		"fwaudit: error: --fail-on info: the audit is incomplete, so it cannot pass\n",
		"hint: --allow-incomplete passes it on the findings alone\n",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}

	// The same audit as root is complete and passes at critical.
	stdout, stderr, code := lab.Fwaudit(append(reportArgs, "--fail-on", "critical")...)
	if code != 0 || len(decodeSummary(t, stdout).Summary.Incomplete) != 0 {
		t.Errorf("as root: exit %d, incomplete %q, want 0 and none\nstderr: %s", code, decodeSummary(t, stdout).Summary.Incomplete, stderr)
	}
	// Unprivileged, it passes at critical only when allowed to be incomplete.
	if r := asNobody("--fail-on", "critical"); r.Code != 4 {
		t.Errorf("--fail-on critical as nobody: exit %d, want 4\nstderr: %s", r.Code, r.Stderr)
	}
	if r := asNobody("--fail-on", "critical", "--allow-incomplete"); r.Code != 0 || strings.Contains(r.Stderr, "error") {
		t.Errorf("--allow-incomplete as nobody: exit %d, want 0\nstderr: %s", r.Code, r.Stderr)
	}
}

// TestReportCronPath runs the report with cron's PATH: it must read the
// rules from /usr/sbin all the same, and answer exactly as with a full PATH.
func TestReportCronPath(t *testing.T) {
	t.Parallel()
	lab := NewLab(t)
	requireFwaudit(t)
	for _, d := range strings.Split("/usr/bin:/bin", ":") {
		if _, err := os.Stat(filepath.Join(d, "iptables-save")); err == nil {
			t.Skipf("iptables-save is in %s here: cron's PATH finds it anyway, the test would prove nothing", d)
		}
	}
	lab.LoadIptables(incompleteRules)
	lab.LoadIp6tables(incompleteRules6)
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "unknownd", "tcp:0.0.0.0:8080")

	for _, sev := range []string{"info", "critical"} {
		t.Run("fail-on "+sev, func(t *testing.T) {
			args := append(append([]string{}, reportArgs...), "--fail-on", sev)
			full, fullErr, fullCode := lab.Fwaudit(args...)
			r := runFwaudit(t, lab.Dir, append([]string{"ip", "netns", "exec", lab.Host.Name,
				"env", "PATH=/usr/bin:/bin", FwauditBin}, args...))
			if r.Code != fullCode || r.Stdout != full || r.Stderr != fullErr {
				t.Errorf("with PATH=/usr/bin:/bin: exit %d, with the full PATH: exit %d\nstderr: %s\nfull PATH stderr: %s",
					r.Code, fullCode, r.Stderr, fullErr)
			}
			d := decodeSummary(t, r.Stdout)
			if !strings.HasPrefix(d.Firewall.IPv4.Source, "iptables") || !strings.HasPrefix(d.Firewall.IPv6.Source, "ip6tables") {
				t.Errorf("rules not read: ipv4 %q (%s), ipv6 %q (%s)", d.Firewall.IPv4.Source, d.Firewall.IPv4.Error,
					d.Firewall.IPv6.Source, d.Firewall.IPv6.Error)
			}
			if len(d.Summary.Incomplete) != 0 || strings.Contains(r.Stderr, "not installed") {
				t.Errorf("incomplete %q\nstderr: %s", d.Summary.Incomplete, r.Stderr)
			}
			// a stale rule for 25 (low), nothing worse: a real audit, a definite answer
			want := 0
			if sev == "info" {
				want = 3
			}
			if r.Code != want {
				t.Errorf("exit %d, want %d\nstderr: %s", r.Code, want, r.Stderr)
			}
		})
	}
}

// TestReportOfflineWithoutRules: --offline with sockets but no rules skips
// every firewall check, so --fail-on cannot pass.
func TestReportOfflineWithoutRules(t *testing.T) {
	t.Parallel()
	if FwauditErr != nil {
		t.Fatalf("building fwaudit: %v", FwauditErr)
	}
	sockets := filepath.Join("..", "testdata", "report", "fresh-postgres", "ss.txt")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"fail-on info", []string{"--fail-on", "info"}, 4,
			"warning: audit incomplete, 9 checks skipped: " +
				"IPv4: rules could not be read: ipv4 rules not provided (--offline without --rules); " +
				"IPv6: rules could not be read: ipv6 rules not provided (--offline without --rules6); " +
				"single-firewall-backend: no rules could be read\n" +
				"fwaudit: error: --fail-on info: the audit is incomplete, so it cannot pass\n" +
				"hint: --allow-incomplete passes it on the findings alone\n"},
		{"allowed", []string{"--fail-on", "info", "--allow-incomplete"}, 0,
			"warning: audit incomplete, 9 checks skipped: " +
				"IPv4: rules could not be read: ipv4 rules not provided (--offline without --rules); " +
				"IPv6: rules could not be read: ipv6 rules not provided (--offline without --rules6); " +
				"single-firewall-backend: no rules could be read\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append(append([]string{}, reportArgs...), "--offline", "--sockets", sockets), tc.args...)
			r := RunFwaudit(t, "", args...)
			if r.Code != tc.code {
				t.Errorf("exit %d, want %d", r.Code, tc.code)
			}
			if r.Stderr != tc.stderr {
				t.Errorf("stderr (-want +got):\n-%s\n+%s", tc.stderr, r.Stderr)
			}
			if d := decodeSummary(t, r.Stdout); d.Summary.ChecksSkipped != 9 || len(d.Summary.Incomplete) != 3 {
				t.Errorf("summary: %d checks skipped, incomplete %q; want 9 and 3 reasons", d.Summary.ChecksSkipped, d.Summary.Incomplete)
			}
		})
	}
}

// worldExecutable copies bin into a directory anyone may enter, for a run
// as nobody (the build directory is private to root). The copy is removed
// when t ends.
func worldExecutable(t *testing.T, bin string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fwaudit-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(dir, "fwaudit")
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}
