//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// unit is what the test reads of fwaudit-report.service: how systemd would
// start its command.
type unit struct {
	env      []string // Environment=, in order
	envFiles []string // EnvironmentFile=, without the "-"
	exec     string   // ExecStart=
	bounding []string // CapabilityBoundingSet=
	ambient  []string // AmbientCapabilities=
	user     string
	umask    string
}

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var u unit
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		switch k {
		case "Environment":
			if strings.ContainsAny(v, `"'\`) {
				t.Fatalf("%s: Environment=%s: quoting is not read by this test", path, v)
			}
			u.env = append(u.env, strings.Fields(v)...)
		case "EnvironmentFile":
			u.envFiles = append(u.envFiles, strings.TrimPrefix(v, "-"))
		case "ExecStart":
			u.exec = v
		case "CapabilityBoundingSet":
			u.bounding = append(u.bounding, strings.Fields(v)...)
		case "AmbientCapabilities":
			u.ambient = append(u.ambient, strings.Fields(v)...)
		case "User":
			u.user = v
		case "UMask":
			u.umask = v
		}
	}
	return u
}

// readEnvFile reads KEY=VALUE lines as systemd's EnvironmentFile= does for
// the simple cases /etc/default/fwaudit uses (comments, blank lines,
// double quotes).
func readEnvFile(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: not KEY=VALUE: %q", path, line)
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		env = append(env, k+"="+v)
	}
	return env
}

var unitVar = regexp.MustCompile(`\$\{(\w+)\}`)

// expandExec splits ExecStart= as systemd does for a command line without
// quotes: "${X}" is one argument (even empty), a word "$X" is X split at
// white space (no argument when empty).
func expandExec(t *testing.T, line string, env []string) []string {
	t.Helper()
	if strings.ContainsAny(line, `"'\`) {
		t.Fatalf("ExecStart=%s: quoting is not read by this test", line)
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v // later settings win, as in systemd
	}
	var argv []string
	for _, w := range strings.Fields(line) {
		if name, ok := strings.CutPrefix(w, "$"); ok && regexp.MustCompile(`^\w+$`).MatchString(name) {
			argv = append(argv, strings.Fields(vars[name])...)
			continue
		}
		argv = append(argv, unitVar.ReplaceAllStringFunc(w, func(m string) string {
			return vars[unitVar.FindStringSubmatch(m)[1]]
		}))
	}
	return argv
}

// setprivCaps turns capability names (CAP_NET_ADMIN) into setpriv's list
// (-all,+net_admin).
func setprivCaps(caps []string) string {
	s := "-all"
	for _, c := range caps {
		s += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
	}
	return s
}

type timerRun struct {
	stdout, stderr string
	code           int
}

// runUnit runs the service's command as systemd would start it: as the
// unit's user (root), with only the unit's environment (PATH=/usr/bin:/bin,
// Environment=, then the EnvironmentFile=, here the package's
// /etc/default/fwaudit edited by settings), the unit's umask, no new
// privileges, and its capabilities (bounding set, inheritable and ambient
// sets) given to setpriv, inside the lab's host namespace. The unpacked
// /usr/bin/fwaudit and a reports directory stand in for the real paths.
func runUnit(t *testing.T, lab *Lab, root, reports string, u unit, bounding []string, settings map[string]string) timerRun {
	t.Helper()
	env := slices.Clone(u.env)
	for _, f := range u.envFiles {
		if f != "/etc/default/fwaudit" {
			t.Fatalf("EnvironmentFile=%s: the test knows only /etc/default/fwaudit", f)
		}
		for _, kv := range readEnvFile(t, filepath.Join(root, "etc/default/fwaudit")) {
			k, _, _ := strings.Cut(kv, "=")
			if v, ok := settings[k]; ok {
				kv = k + "=" + v
			}
			env = append(env, kv)
		}
	}
	argv := expandExec(t, u.exec, env)
	bin, reportDir := filepath.Join(root, "usr/bin/fwaudit"), "/var/lib/fwaudit/reports"
	if argv[0] != "/usr/bin/fwaudit" {
		t.Fatalf("ExecStart runs %s, not /usr/bin/fwaudit", argv[0])
	}
	argv[0] = bin
	moved := false
	for i, a := range argv {
		if after, ok := strings.CutPrefix(a, "--output-dir="); ok && after == reportDir {
			argv[i], moved = "--output-dir="+reports, true
		}
	}
	if !moved {
		t.Fatalf("ExecStart=%s does not write to --output-dir=%s", u.exec, reportDir)
	}
	if u.user != "" && u.user != "root" {
		t.Fatalf("User=%s: the test runs the unit as root", u.user)
	}
	cmdline := []string{"ip", "netns", "exec", lab.Host.Name, "env", "-i", "PATH=/usr/bin:/bin"}
	cmdline = append(cmdline, env...)
	cmdline = append(cmdline, "setpriv", "--no-new-privs",
		"--bounding-set="+setprivCaps(bounding), "--inh-caps="+setprivCaps(u.ambient),
		"--ambient-caps="+setprivCaps(u.ambient), "--")
	cmdline = append(cmdline, "/bin/sh", "-c", `umask "$0" && exec "$@"`, u.umask)
	cmdline = append(cmdline, argv...)
	cmd := exec.Command(cmdline[0], cmdline[1:]...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := timerRun{stdout: o.String(), stderr: e.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(cmdline, " "), err)
	}
	return r
}

// startAs starts the helper as name under user nobody, listening on spec.
func startAs(t *testing.T, lab *Lab, name, spec string) *Proc {
	t.Helper()
	// nobody must be able to run it: a copy outside the 0700 temporary
	// directories
	dir, err := os.MkdirTemp("", "fwaudit-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, name)
	src, err := os.Open(SvcBin)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := lab.spawn(lab.Host, name, []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", path, "listen", spec})
	if err != nil {
		t.Fatal(err)
	}
	if line, err := p.next(readyTimeout); err != nil || line != "ready" {
		t.Fatalf("starting %s as nobody: %q %v", name, line, err)
	}
	return p
}

// timerReport is the part of a saved report the test reads.
type timerReport struct {
	Sockets  []timerSocket  `json:"sockets"`
	Findings []timerFinding `json:"findings"`
}

type timerSocket struct {
	Port     uint16 `json:"port"`
	Process  string `json:"process"`
	Firewall struct {
		Verdict string `json:"verdict"`
	} `json:"firewall"`
}

type timerFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Port     int    `json:"port"`
}

// TestTimerService runs fwaudit-report.service's command from the package
// as the unit would, in a lab with rules in all three places (legacy, nft,
// native nftables) and listeners of root and of another user.
func TestTimerService(t *testing.T) {
	_, root := debPackage(t)
	u := readUnit(t, filepath.Join(root, "usr/lib/systemd/system/fwaudit-report.service"))
	if u.umask == "" {
		t.Fatal("fwaudit-report.service sets no UMask=")
	}
	lab := NewLab(t)
	// each verdict below depends on one source of rules being read
	lab.LoadIptables("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -s 192.0.2.0/24 -j ACCEPT\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n")
	lab.LoadIptablesLegacy("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 5432 -j DROP\nCOMMIT\n")
	lab.LoadNft("table inet native {\n chain input {\n  type filter hook input priority 10;\n  tcp dport 8080 drop\n }\n}\n")
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "nginx", "tcp:0.0.0.0:8080")
	lab.Start(lab.Host, "redis-server", "tcp:0.0.0.0:6379")
	startAs(t, lab, "postgres", "tcp:0.0.0.0:5432")
	// port -> process, verdict: what the full capability set must see
	want := map[uint16][2]string{
		22:   {"sshd", "restricted"},   // iptables-nft
		5432: {"postgres", "blocked"},  // iptables-legacy; user nobody
		8080: {"nginx", "blocked"},     // native nftables
		6379: {"redis-server", "open"}, // high finding: exposed-sensitive-service
	}
	check := func(r timerReport) []string {
		var bad []string
		for port, pv := range want {
			i := slices.IndexFunc(r.Sockets, func(s timerSocket) bool { return s.Port == port })
			if i < 0 {
				bad = append(bad, fmt.Sprintf("port %d not listed", port))
				continue
			}
			if s := r.Sockets[i]; s.Process != pv[0] || s.Firewall.Verdict != pv[1] {
				bad = append(bad, fmt.Sprintf("port %d: %q %s, want %q %s", port, s.Process, s.Firewall.Verdict, pv[0], pv[1]))
			}
		}
		return bad
	}
	readReport := func(t *testing.T, dir string, stdout string) (timerReport, string) {
		t.Helper()
		m := regexp.MustCompile(`^fwaudit report (\S+): .*\n$`).FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("stdout is not one summary line: %q", stdout)
		}
		b, err := os.ReadFile(m[1])
		if err != nil {
			t.Fatal(err)
		}
		var r timerReport
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", m[1], err)
		}
		return r, m[1]
	}
	newDir := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "reports")
		if err := os.Mkdir(dir, 0o750); err != nil { // as StateDirectoryMode=
			t.Fatal(err)
		}
		return dir
	}

	t.Run("report, mode and pruning", func(t *testing.T) {
		dir := newDir(t)
		old := []string{"labhost-2020-01-01T00:00:00Z.json", "labhost-2020-01-02T00:00:00Z.json",
			"labhost-2020-01-03T00:00:00Z.json", "labhost-2020-01-04T00:00:00Z.json"}
		keepToo := []string{"otherhost-2020-01-01T00:00:00Z.json", "labhost-notes.txt"}
		for _, n := range append(slices.Clone(old), keepToo...) {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("{}"), 0o640); err != nil {
				t.Fatal(err)
			}
		}
		r := runUnit(t, lab, root, dir, u, u.bounding, map[string]string{
			"FWAUDIT_KEEP": "3", "FWAUDIT_ARGS": "--hostname labhost"})
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		// what full root cannot read either (on some machines PID 1's open
		// files) is not the unit's doing
		_, rootErr, _ := lab.Fwaudit("scan", "-o", "json")
		for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
			if (strings.Contains(l, "cannot read") || strings.Contains(l, "permission")) && !strings.Contains(rootErr, l) {
				t.Errorf("the unit's capabilities do not suffice: %s\n(as root: %q)", l, rootErr)
			}
		}
		rep, path := readReport(t, dir, r.stdout)
		if bad := check(rep); len(bad) > 0 {
			t.Errorf("with the unit's capabilities:\n%s", strings.Join(bad, "\n"))
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, want 0640", path, st.Mode().Perm())
		}
		if !regexp.MustCompile(`/labhost-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.json$`).MatchString(path) {
			t.Errorf("report named %s, want labhost-<RFC 3339 time>.json", path)
		}
		entries, _ := os.ReadDir(dir)
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		wantNames := append(append([]string{filepath.Base(path)}, old[2:]...), keepToo...)
		slices.Sort(wantNames)
		if !slices.Equal(got, wantNames) {
			t.Errorf("after FWAUDIT_KEEP=3:\n got %q\nwant %q", got, wantNames)
		}
	})

	t.Run("fail-on", func(t *testing.T) {
		tests := []struct {
			failOn string
			code   int
		}{
			{"", 0},
			{"high", 3}, // redis open to the world
			{"critical", 0},
		}
		for _, tt := range tests {
			t.Run("FWAUDIT_FAIL_ON="+tt.failOn, func(t *testing.T) {
				dir := newDir(t)
				r := runUnit(t, lab, root, dir, u, u.bounding, map[string]string{"FWAUDIT_FAIL_ON": tt.failOn})
				rep, _ := readReport(t, dir, r.stdout) // written whatever the exit code
				high := slices.ContainsFunc(rep.Findings, func(f timerFinding) bool {
					return f.ID == "exposed-sensitive-service" && f.Port == 6379 && f.Severity == "high"
				})
				critical := slices.ContainsFunc(rep.Findings, func(f timerFinding) bool { return f.Severity == "critical" })
				if !high || critical {
					t.Fatalf("findings %+v: want a high one for 6379 and no critical one", rep.Findings)
				}
				if r.code != tt.code {
					t.Errorf("exit %d, want %d (stderr %q)", r.code, tt.code, r.stderr)
				}
			})
		}
	})

	// Each capability of the unit is needed: without it the same run sees
	// less. This is also the test's own check that it would notice.
	t.Run("each capability is needed", func(t *testing.T) {
		for _, c := range u.bounding {
			t.Run(c, func(t *testing.T) {
				less := slices.DeleteFunc(slices.Clone(u.bounding), func(x string) bool { return x == c })
				dir := newDir(t)
				r := runUnit(t, lab, root, dir, u, less, nil)
				rep, _ := readReport(t, dir, r.stdout)
				bad := check(rep)
				if len(bad) == 0 {
					t.Errorf("without %s the report is just as complete: the unit need not grant it", c)
				}
				// what is missing is said, never silently left out
				if len(bad) > 0 && !strings.Contains(r.stderr, "cannot read") {
					t.Errorf("without %s the report misses %q, but stderr gives no warning: %q", c, bad, r.stderr)
				}
			})
		}
	})
}
