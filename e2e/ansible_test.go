//go:build linux

package e2e

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAnsibleFleet runs the fwaudit.fleet collection's playbook with
// ansible-playbook over real SSH against three hosts (see sshlab.go), each
// with its own listeners and rules:
//
//	web  no firewall                                  high findings
//	gw   default drop, a stale and a duplicate rule   low findings only
//	db   default drop, PostgreSQL open to the world   high finding
//
// and checks the role's contract (fetch layout, check mode, idempotence,
// the fail_on gate) and `fwaudit fleet` over what it fetched.
func TestAnsibleFleet(t *testing.T) {
	requireFwaudit(t)
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Fatalf("ansible-playbook not found (scripts/test-deps.sh installs ansible-core): %v", err)
	}
	lab := NewSSHLab(t, fleetHosts...)
	web, gw, db := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	lab.Load(gw, Testdata(t, "ansible/gw.rules"), "iptables-restore")
	lab.Load(gw, Testdata(t, "ansible/gw.rules6"), "ip6tables-restore")
	lab.Load(db, Testdata(t, "ansible/db.nft"), "nft", "-f", "-")
	a := newAnsibleEnv(t, lab)
	binHash := fileHash(t, FwauditBin)
	ctlBin := statString("/usr/local/bin/fwaudit")

	if !t.Run("lab", func(t *testing.T) { checkSSHLab(t, lab) }) {
		return
	}

	if !t.Run("check mode on fresh hosts", func(t *testing.T) {
		dest := a.dest("check-fresh")
		r := a.play(t, dest, "--check")
		r.wantCode(t, 0)
		r.wantHosts(t, lab)
		for _, h := range lab.Hosts {
			if st := r.Recap[h.Name]; st.Failed != 0 || st.Unreachable != 0 || st.Changed == 0 {
				t.Errorf("%s: recap %+v, want failed=0 unreachable=0 and changed>0 (the binary would be installed)", h.Name, st)
			}
			for _, p := range []string{"/usr/local/bin/fwaudit", "/var/lib/fwaudit"} {
				if _, err := os.Lstat(h.Root(p)); err == nil {
					t.Errorf("%s: --check created %s on the host", h.Name, p)
				}
			}
		}
		if ents, _ := os.ReadDir(dest); len(ents) != 0 {
			t.Errorf("--check on fresh hosts fetched %d files, want none", len(ents))
		}
	}) {
		return
	}

	week1 := a.dest("week1")
	var reports map[string]fetchedReport
	if !t.Run("first run", func(t *testing.T) {
		r := a.play(t, week1)
		r.wantCode(t, 0)
		r.wantHosts(t, lab)
		for _, h := range lab.Hosts {
			if st := r.Recap[h.Name]; st.Failed != 0 || st.Changed == 0 {
				t.Errorf("%s: recap %+v, want failed=0 and changed>0", h.Name, st)
			}
		}
		reports = checkFetched(t, lab, week1)
	}) {
		return
	}

	t.Run("each host has its own binary", func(t *testing.T) {
		for _, h := range lab.Hosts {
			// In the host's own overlay layer, and what the host sees.
			for _, p := range []string{h.Upper("/usr/local/bin/fwaudit"), h.Root("/usr/local/bin/fwaudit")} {
				if got := fileHash(t, p); got != binHash {
					t.Errorf("%s: %s has sha256 %s, want the pushed binary's %s", h.Name, p, got, binHash)
				}
			}
			st, err := os.Stat(h.Upper("/usr/local/bin/fwaudit"))
			if err == nil && st.Mode().Perm() != 0o755 {
				t.Errorf("%s: installed binary mode %v, want 0755", h.Name, st.Mode().Perm())
			}
			if _, err := os.Stat(h.Upper("/var/lib/fwaudit/report.json")); err != nil {
				t.Errorf("%s: the report is not in the host's own /var: %v", h.Name, err)
			}
		}
		if got := statString("/usr/local/bin/fwaudit"); got != ctlBin {
			t.Errorf("the test machine's own /usr/local/bin/fwaudit changed: %s, was %s", got, ctlBin)
		}
	})

	t.Run("second run changes nothing", func(t *testing.T) {
		dest := a.dest("second")
		r := a.play(t, dest, "-vvv")
		r.wantCode(t, 0)
		r.wantHosts(t, lab)
		// Every ssh Ansible ran used the lab's configuration and no
		// shared connection (no ControlPersist, no control socket).
		execs := 0
		for _, l := range strings.Split(r.Out, "\n") {
			if !strings.Contains(l, "SSH: EXEC ssh ") {
				continue
			}
			execs++
			if !strings.Contains(l, "-F "+lab.SSHConfig) || strings.Contains(l, "ControlPath") || strings.Contains(l, "ControlPersist") {
				t.Errorf("ansible ran ssh without the lab's config or with connection sharing: %s", l)
			}
		}
		if execs == 0 {
			t.Errorf("no SSH: EXEC line in ansible-playbook -vvv output")
		}
		for _, h := range lab.Hosts {
			if st := r.Recap[h.Name]; st.Changed != 0 || st.Failed != 0 || st.OK == 0 {
				t.Errorf("%s: recap %+v, want changed=0 failed=0", h.Name, st)
			}
		}
		checkFetched(t, lab, dest)
	})

	t.Run("check mode on installed hosts", func(t *testing.T) {
		dest := a.dest("check-installed")
		r := a.play(t, dest, "--check")
		r.wantCode(t, 0)
		r.wantHosts(t, lab)
		for _, h := range lab.Hosts {
			if st := r.Recap[h.Name]; st.Changed != 0 || st.Failed != 0 {
				t.Errorf("%s: recap %+v, want changed=0 failed=0", h.Name, st)
			}
			// The audit runs in check mode (check_mode: false); the
			// fetch, which Ansible does not support in check mode, not.
			if !strings.Contains(r.Out, "TASK [fwaudit.fleet.audit : Write the report with fwaudit report]") {
				t.Errorf("no audit task in the --check output")
			}
		}
	})

	// Only the audit and the gate, in check mode: no install task runs,
	// nothing is fetched, and the gate judges the report read on the host.
	t.Run("tags and the gate in check mode", func(t *testing.T) {
		dest := a.dest("tag-check")
		r := a.play(t, dest, "--check", "--tags", "fwaudit_run,fwaudit_fetch", "-e", "fwaudit_fail_on=high")
		r.wantCode(t, 2)
		r.wantHosts(t, lab)
		if strings.Contains(r.Out, "Install the fwaudit binary") || strings.Contains(r.Out, "Look for the binary's directory") {
			t.Errorf("--tags fwaudit_run,fwaudit_fetch ran install tasks:\n%s", r.Out)
		}
		if !strings.Contains(r.Out, "TASK [fwaudit.fleet.audit : Write the report with fwaudit report]") {
			t.Errorf("the audit did not run:\n%s", r.Out)
		}
		var failed []string
		for _, h := range lab.Hosts {
			if st := r.Recap[h.Name]; st.Changed != 0 {
				t.Errorf("%s: recap %+v, want changed=0", h.Name, st)
			}
			if r.Recap[h.Name].Failed > 0 {
				failed = append(failed, h.Name)
			}
		}
		if want := []string{web.Name, db.Name}; !slices.Equal(failed, want) {
			t.Errorf("failed hosts %v, want %v", failed, want)
		}
		if ents, _ := os.ReadDir(dest); len(ents) != 0 {
			t.Errorf("check mode fetched %d files", len(ents))
		}
	})

	t.Run("fail_on high", func(t *testing.T) {
		dest := a.dest("fail-on-high")
		r := a.play(t, dest, "-e", "fwaudit_fail_on=high")
		r.wantCode(t, 2) // ansible-playbook: some hosts failed
		r.wantHosts(t, lab)
		got := checkFetched(t, lab, dest) // every report, the failed hosts' too
		var wantFailed, failed []string
		for _, h := range lab.Hosts {
			if got[h.Name].hasAtLeast("high") {
				wantFailed = append(wantFailed, h.Name)
			}
			if r.Recap[h.Name].Failed > 0 {
				failed = append(failed, h.Name)
			}
		}
		if !slices.Equal(failed, wantFailed) {
			t.Errorf("failed hosts %v, want the hosts with high or critical findings %v", failed, wantFailed)
		}
		// The fixture's intent, so that the check above is not vacuous.
		if want := []string{web.Name, db.Name}; !slices.Equal(wantFailed, want) {
			t.Errorf("hosts with high findings %v, want %v", wantFailed, want)
		}
		if !strings.Contains(r.Out, "finding(s) at or above high") {
			t.Errorf("the gate's message is missing:\n%s", r.Out)
		}
	})

	t.Run("fleet", func(t *testing.T) { checkFleet(t, week1, reports, lab) })

	t.Run("baseline after a rule change", func(t *testing.T) {
		lab.Load(gw, Testdata(t, "ansible/gw-week2.rules"), "iptables-restore")
		week2 := a.dest("week2")
		r := a.play(t, week2)
		r.wantCode(t, 0)
		after := checkFetched(t, lab, week2)
		checkBaseline(t, week1, week2, reports, after, gw.Hostname)
	})
}

// fleetHosts are the test's three hosts. Their hostnames differ from their
// inventory names, so a report fetched under the wrong name shows.
var fleetHosts = []SSHHostSpec{
	{Name: "web", Hostname: "web-01", Listeners: []Listener{
		{"nginx", []string{"tcp:0.0.0.0:80", "tcp:0.0.0.0:443"}},
	}},
	{Name: "gw", Hostname: "gw-01", Listeners: []Listener{
		{"nginx", []string{"tcp:0.0.0.0:80"}},
		{"memcached", []string{"tcp:127.0.0.1:11211"}},
	}},
	{Name: "db", Hostname: "db-01", Listeners: []Listener{
		{"postgres", []string{"tcp:0.0.0.0:5432"}},
		{"redis-server", []string{"tcp:127.0.0.1:6379"}},
	}},
}

// checkSSHLab checks the lab itself: key-only login, strict host keys, and
// each host its own hostname and processes.
func checkSSHLab(t *testing.T, lab *SSHLab) {
	for _, h := range lab.Hosts {
		out, stderr, code := lab.SSH(h, nil, "hostname; ls /proc | grep -c '^[0-9]'")
		if code != 0 {
			t.Fatalf("%s: ssh: exit %d: %s\nsshd log:\n%s", h.Name, code, stderr, h.Log())
		}
		f := strings.Fields(out)
		if len(f) != 2 || f[0] != h.Hostname {
			t.Errorf("%s: ssh hostname gave %q, want %s", h.Name, out, h.Hostname)
		}
		// init, the listeners, sshd and its session, the shell, ls, grep:
		// a few, not the machine's hundreds.
		if n, _ := strconv.Atoi(f[len(f)-1]); n == 0 || n > 20 {
			t.Errorf("%s: the host's /proc shows %d processes, want only its own", h.Name, n)
		}
		// The server offers public keys only.
		_, stderr, code = lab.SSH(h, []string{"-o", "BatchMode=no", "-o", "PreferredAuthentications=password,keyboard-interactive",
			"-o", "PasswordAuthentication=yes", "-o", "KbdInteractiveAuthentication=yes", "-o", "NumberOfPasswordPrompts=0"}, "true")
		if code == 0 || !strings.Contains(stderr, "Permission denied (publickey)") {
			t.Errorf("%s: password login: exit %d, %q; want refused with only publickey offered", h.Name, code, stderr)
		}
		// An unknown host key is refused.
		empty := filepath.Join(lab.Dir, "empty_known_hosts")
		os.WriteFile(empty, nil, 0o600)
		_, stderr, code = lab.SSH(h, []string{"-o", "UserKnownHostsFile=" + empty}, "true")
		if code == 0 || !strings.Contains(stderr, "Host key verification failed") {
			t.Errorf("%s: unknown host key: exit %d, %q; want host key verification to fail", h.Name, code, stderr)
		}
	}
}

// ansibleEnv runs ansible-playbook in the lab's controller namespace with
// a configuration, inventory and state of its own.
type ansibleEnv struct {
	lab *SSHLab
	env []string
	dir string
	inv string
}

func newAnsibleEnv(t *testing.T, lab *SSHLab) *ansibleEnv {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(lab.Dir, "ansible")
	for _, d := range []string{dir, filepath.Join(dir, "home"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`[defaults]
interpreter_python = /usr/bin/python3
host_key_checking = True
forks = 3
timeout = 20
retry_files_enabled = False
nocolor = True
stdout_callback = default
local_tmp = %s

[ssh_connection]
ssh_args = -F %s
pipelining = True
`, filepath.Join(dir, "tmp"), lab.SSHConfig)
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var inv strings.Builder
	inv.WriteString("[fleet]\n")
	for _, h := range lab.Hosts {
		fmt.Fprintf(&inv, "%s ansible_host=%s ansible_user=root\n", h.Name, h.Addr)
	}
	a := &ansibleEnv{lab: lab, dir: dir, inv: write("hosts.ini", inv.String())}
	a.env = []string{
		"ANSIBLE_CONFIG=" + write("ansible.cfg", cfg),
		"ANSIBLE_HOME=" + filepath.Join(dir, "home"),
		"ANSIBLE_COLLECTIONS_PATH=" + filepath.Join(root, "ansible", "collections"),
		"ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False",
		"ANSIBLE_FORCE_COLOR=0",
		"ANSIBLE_NOCOLOR=1",
		"LC_ALL=C.UTF-8",
	}
	return a
}

// dest is a fresh fetch destination (not yet created: the fetch makes it).
func (a *ansibleEnv) dest(name string) string { return filepath.Join(a.dir, "reports-"+name) }

// recap is one host's PLAY RECAP line.
type recap struct {
	OK, Changed, Unreachable, Failed, Skipped int
}

type playResult struct {
	Code  int
	Out   string
	Recap map[string]recap
}

var recapLine = regexp.MustCompile(`(?m)^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)`)

// play runs the collection's playbook on the fleet, fetching to dest.
func (a *ansibleEnv) play(t *testing.T, dest string, extra ...string) playResult {
	t.Helper()
	vars, _ := json.Marshal(map[string]string{
		"fwaudit_binary_src": FwauditBin,
		"fwaudit_fetch_dest": dest,
	})
	args := append([]string{"ansible-playbook", "-i", a.inv, "-e", string(vars)}, extra...)
	args = append(args, "fwaudit.fleet.audit")
	start := time.Now()
	stdout, stderr, code := a.lab.CtlRun(5*time.Minute, a.dir, a.env, args...)
	t.Logf("%s: exit %d in %v", strings.Join(extra, " "), code, time.Since(start).Round(time.Second))
	r := playResult{Code: code, Out: stdout + stderr, Recap: map[string]recap{}}
	for _, m := range recapLine.FindAllStringSubmatch(stdout, -1) {
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		r.Recap[m[1]] = recap{OK: n(2), Changed: n(3), Unreachable: n(4), Failed: n(5), Skipped: n(6)}
	}
	return r
}

func (r playResult) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("ansible-playbook: exit %d, want %d\n%s", r.Code, code, r.Out)
	}
}

// wantHosts checks that the recap has every host and no other.
func (r playResult) wantHosts(t *testing.T, lab *SSHLab) {
	t.Helper()
	if len(r.Recap) != len(lab.Hosts) {
		t.Errorf("PLAY RECAP has %d hosts, want %d:\n%s", len(r.Recap), len(lab.Hosts), r.Out)
	}
	for _, h := range lab.Hosts {
		if _, ok := r.Recap[h.Name]; !ok {
			t.Errorf("PLAY RECAP has no line for %s:\n%s", h.Name, r.Out)
		}
	}
}

// fetchedReport is one fetched report, decoded independently of package
// report.
type fetchedReport struct {
	Raw         []byte
	GeneratedAt string `json:"generated_at"`
	Host        struct {
		Hostname string `json:"hostname"`
	} `json:"host"`
	Summary struct {
		Findings   map[string]int `json:"findings"`
		Incomplete []string       `json:"incomplete"`
	} `json:"summary"`
	Checks   []reportCheck   `json:"checks"`
	Findings []reportFinding `json:"findings"`
	Sockets  []Socket        `json:"sockets"`
}

var severityRank = map[string]int{"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}

func (r fetchedReport) hasAtLeast(sev string) bool {
	for _, f := range r.Findings {
		if severityRank[f.Severity] >= severityRank[sev] {
			return true
		}
	}
	return false
}

func (r fetchedReport) worst() string {
	w := "none"
	for _, f := range r.Findings {
		if severityRank[f.Severity] > severityRank[w] {
			w = f.Severity
		}
	}
	return w
}

// checkFetched checks that dest holds exactly one report per host, named
// after its inventory name, valid against report/schema.json, written by
// that host (its hostname, its listeners with the PIDs its own /proc
// shows), and returns them by inventory name.
func checkFetched(t *testing.T, lab *SSHLab, dest string) map[string]fetchedReport {
	t.Helper()
	ents, err := os.ReadDir(dest)
	if err != nil {
		t.Fatalf("reading the fetch destination: %v", err)
	}
	var names, want []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	for _, h := range lab.Hosts {
		want = append(want, h.Name+".json")
	}
	sort.Strings(want)
	if !slices.Equal(names, want) {
		t.Fatalf("fetched %v, want %v", names, want)
	}
	out := map[string]fetchedReport{}
	for _, h := range lab.Hosts {
		b, err := os.ReadFile(filepath.Join(dest, h.Name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		validateReport(t, string(b))
		var r fetchedReport
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		r.Raw = b
		if r.Host.Hostname != h.Hostname {
			t.Errorf("%s.json: hostname %q, want %q", h.Name, r.Host.Hostname, h.Hostname)
		}
		if len(r.Summary.Incomplete) != 0 {
			t.Errorf("%s.json: audit incomplete: %v", h.Name, r.Summary.Incomplete)
		}
		if got, want := listenerSet(r.Sockets), expectedListeners(h); !slices.Equal(got, want) {
			t.Errorf("%s.json: listeners\n  %s\nwant (the host's own, with the PIDs it sees)\n  %s",
				h.Name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		out[h.Name] = r
	}
	return out
}

// listenerSet renders the listening sockets as "proto family address:port
// process pid", sorted.
func listenerSet(socks []Socket) []string {
	var out []string
	for _, s := range socks {
		if s.Exposure == "client" {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %s:%d %s %d", s.Proto, s.Family, s.Address, s.Port, s.Process, s.PID))
	}
	sort.Strings(out)
	return out
}

func expectedListeners(h *SSHHost) []string {
	sshd := h.LocalPIDs["sshd"]
	var out []string
	if len(sshd) == 1 {
		out = append(out, fmt.Sprintf("tcp ipv4 0.0.0.0:22 sshd %d", sshd[0]), fmt.Sprintf("tcp ipv6 :::22 sshd %d", sshd[0]))
	}
	seen := map[string]int{}
	for _, l := range h.Listeners {
		pids := h.LocalPIDs[l.Daemon]
		pid := -1
		if seen[l.Daemon] < len(pids) {
			pid = pids[seen[l.Daemon]]
		}
		seen[l.Daemon]++
		for _, s := range l.Specs {
			kind, rest, _ := strings.Cut(s, ":")
			i := strings.LastIndex(rest, ":")
			out = append(out, fmt.Sprintf("%s ipv4 %s:%s %s %d", kind, rest[:i], rest[i+1:], l.Daemon, pid))
		}
	}
	sort.Strings(out)
	return out
}

func fileHash(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("reading %s: %v", p, err)
		return ""
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// statString describes a path's state for a before/after comparison.
func statString(p string) string {
	st, err := os.Lstat(p)
	if err != nil {
		return "absent"
	}
	return fmt.Sprintf("%v %d %v", st.Mode(), st.Size(), st.ModTime().UnixNano())
}

// fleetDoc is `fwaudit fleet -o json`, decoded independently of package
// report, after the contract of issue 11.
type fleetDoc struct {
	SchemaVersion int `json:"schema_version"`
	Hosts         []struct {
		Host         string         `json:"host"`
		File         string         `json:"file"`
		GeneratedAt  string         `json:"generated_at"`
		Worst        string         `json:"worst"`
		ChecksFailed []string       `json:"checks_failed"`
		Summary      map[string]any `json:"summary"`
	} `json:"hosts"`
	Exposed []struct {
		Host     string `json:"host"`
		Proto    string `json:"proto"`
		Port     int    `json:"port"`
		Address  string `json:"address"`
		Service  string `json:"service"`
		Severity string `json:"severity"`
	} `json:"exposed"`
	Findings []fleetFinding `json:"findings"`
	Totals   struct {
		Findings map[string]int `json:"findings"`
	} `json:"totals"`
	Errors []json.RawMessage `json:"errors"`
	Diff   *struct {
		New          []fleetFinding `json:"new"`
		Resolved     []fleetFinding `json:"resolved"`
		HostsAdded   []string       `json:"hosts_added"`
		HostsRemoved []string       `json:"hosts_removed"`
	} `json:"diff"`
}

type fleetFinding struct {
	Host string `json:"host"`
	reportFinding
	Service string `json:"service"`
}

// identity is a finding's identity across runs (never its line or file).
func (f fleetFinding) identity() string {
	return fmt.Sprintf("%s|%s|%s|%s|%d|%s|%s|%s", f.Host, f.ID, f.Family, f.Proto, f.Port, f.Address, f.Service, f.Rule)
}

func runFleet(t *testing.T, args ...string) Result {
	t.Helper()
	r := RunFwaudit(t, "", append([]string{"fleet"}, args...)...)
	if r.Code != 0 {
		t.Fatalf("fwaudit fleet %s: exit %d\n%s%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// checkFleet runs fwaudit fleet over the fetched directory and holds its
// JSON and table against the reports themselves.
func checkFleet(t *testing.T, dir string, reports map[string]fetchedReport, lab *SSHLab) {
	js := runFleet(t, "-o", "json", dir)
	var doc fleetDoc
	if err := json.Unmarshal([]byte(js.Stdout), &doc); err != nil {
		t.Fatalf("decoding fwaudit fleet -o json: %v\n%s", err, js.Stdout)
	}
	if doc.SchemaVersion != 1 || len(doc.Errors) != 0 || doc.Diff != nil {
		t.Errorf("fleet: schema_version %d, errors %d, diff %v; want 1, 0, none", doc.SchemaVersion, len(doc.Errors), doc.Diff != nil)
	}
	byHost := map[string]fetchedReport{}
	wantTotals := map[string]int{}
	var wantFindings []string
	for name, r := range reports {
		byHost[r.Host.Hostname] = r
		_ = name
		for sev, n := range r.Summary.Findings {
			wantTotals[sev] += n
		}
		for _, f := range r.Findings {
			wantFindings = append(wantFindings, r.Host.Hostname+" "+f.String())
		}
	}
	if len(doc.Hosts) != len(lab.Hosts) {
		t.Errorf("fleet: %d hosts, want %d", len(doc.Hosts), len(lab.Hosts))
	}
	for _, h := range doc.Hosts {
		r, ok := byHost[h.Host]
		if !ok {
			t.Errorf("fleet: unknown host %q", h.Host)
			continue
		}
		if h.Worst != r.worst() {
			t.Errorf("fleet: %s worst %q, want %q", h.Host, h.Worst, r.worst())
		}
		if h.GeneratedAt != r.GeneratedAt {
			t.Errorf("fleet: %s generated_at %q, want the report's %q", h.Host, h.GeneratedAt, r.GeneratedAt)
		}
		var failed []string
		for _, c := range r.Checks {
			if c.Status == "fail" {
				failed = append(failed, c.ID)
			}
		}
		if !sameSet(h.ChecksFailed, failed) {
			t.Errorf("fleet: %s checks_failed %v, want %v", h.Host, h.ChecksFailed, failed)
		}
		if !strings.HasSuffix(h.File, ".json") {
			t.Errorf("fleet: %s file %q", h.Host, h.File)
		}
	}
	for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
		if doc.Totals.Findings[sev] != wantTotals[sev] {
			t.Errorf("fleet: totals.findings.%s = %d, want %d", sev, doc.Totals.Findings[sev], wantTotals[sev])
		}
	}
	var gotFindings []string
	for _, f := range doc.Findings {
		gotFindings = append(gotFindings, f.Host+" "+f.reportFinding.String())
	}
	if !sameSet(gotFindings, wantFindings) {
		t.Errorf("fleet findings:\n  %s\nwant:\n  %s", strings.Join(sorted(gotFindings), "\n  "), strings.Join(sorted(wantFindings), "\n  "))
	}
	// Exactly one sensitive service is open to the world: db's PostgreSQL.
	db := lab.Hosts[2].Hostname
	var exposed []string
	for _, e := range doc.Exposed {
		exposed = append(exposed, fmt.Sprintf("%s %s/%d %s %s %s", e.Host, e.Proto, e.Port, e.Address, e.Service, e.Severity))
	}
	if want := []string{db + " tcp/5432 0.0.0.0 postgresql high"}; !slices.Equal(exposed, want) {
		t.Errorf("fleet exposed %v, want %v", exposed, want)
	}

	// The table: one row per host with its worst severity and counts, and
	// the exposed section naming db's 5432.
	tab := runFleet(t, dir)
	t.Logf("fwaudit fleet %s:\n%s", dir, tab.Stdout)
	lines := strings.Split(tab.Stdout, "\n")
	for host, r := range byHost {
		row := ""
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 0 && f[0] == host && row == "" {
				row = l
			}
		}
		f := strings.Fields(row)
		want := []string{host, r.worst()}
		for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
			want = append(want, strconv.Itoa(r.Summary.Findings[sev]))
		}
		if len(f) < len(want) || !slices.Equal(f[:len(want)], want) {
			t.Errorf("fleet table: row for %s is %q, want it to start with %v", host, row, want)
		}
	}
	i := strings.Index(tab.Stdout, "EXPOSED SENSITIVE SERVICES")
	if i < 0 {
		t.Fatalf("fleet table: no exposed section:\n%s", tab.Stdout)
	}
	var rows []string
	for _, l := range strings.Split(tab.Stdout[i:], "\n")[2:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	if want := []string{db + " high tcp/5432 postgresql 0.0.0.0"}; !slices.Equal(rows, want) {
		t.Errorf("fleet table: exposed rows %q, want %q", rows, want)
	}
}

// checkBaseline runs fwaudit fleet --baseline and checks that the diff is
// exactly the changed host's new and resolved findings, as the reports
// themselves say by identity.
func checkBaseline(t *testing.T, before, after string, old, cur map[string]fetchedReport, changed string) {
	ids := func(reps map[string]fetchedReport) map[string]fleetFinding {
		m := map[string]fleetFinding{}
		for _, r := range reps {
			var raw struct {
				Findings []struct {
					reportFinding
					Service string `json:"service"`
				} `json:"findings"`
			}
			json.Unmarshal(r.Raw, &raw)
			for _, f := range raw.Findings {
				ff := fleetFinding{Host: r.Host.Hostname, reportFinding: f.reportFinding, Service: f.Service}
				m[ff.identity()] = ff
			}
		}
		return m
	}
	was, is := ids(old), ids(cur)
	var wantNew, wantResolved []string
	for id := range is {
		if _, ok := was[id]; !ok {
			wantNew = append(wantNew, id)
		}
	}
	for id := range was {
		if _, ok := is[id]; !ok {
			wantResolved = append(wantResolved, id)
		}
	}
	// The fixture's intent: on gw only, the stale 9100 appears and the
	// stale 8080 goes; the duplicate tcp/80 stays although its line moved.
	wantIntent := func(list []string, port int) {
		if len(list) != 1 || !strings.HasPrefix(list[0], fmt.Sprintf("%s|stale-rule|ipv4|tcp|%d|", changed, port)) {
			t.Errorf("reports' own diff %v, want exactly %s's stale-rule on tcp/%d", list, changed, port)
		}
	}
	wantIntent(wantNew, 9100)
	wantIntent(wantResolved, 8080)

	r := runFleet(t, "-o", "json", "--baseline", before, after)
	var doc fleetDoc
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("decoding fwaudit fleet --baseline: %v\n%s", err, r.Stdout)
	}
	if doc.Diff == nil {
		t.Fatalf("fleet --baseline: no diff:\n%s", r.Stdout)
	}
	var gotNew, gotResolved []string
	for _, f := range doc.Diff.New {
		gotNew = append(gotNew, f.identity())
	}
	for _, f := range doc.Diff.Resolved {
		gotResolved = append(gotResolved, f.identity())
	}
	if !sameSet(gotNew, wantNew) || !sameSet(gotResolved, wantResolved) {
		t.Errorf("fleet --baseline: new %v resolved %v, want new %v resolved %v", gotNew, gotResolved, wantNew, wantResolved)
	}
	if len(doc.Diff.HostsAdded) != 0 || len(doc.Diff.HostsRemoved) != 0 {
		t.Errorf("fleet --baseline: hosts added %v removed %v, want none", doc.Diff.HostsAdded, doc.Diff.HostsRemoved)
	}
	tab := runFleet(t, "--baseline", before, after)
	t.Logf("fwaudit fleet --baseline:\n%s", tab.Stdout)
	for _, want := range [][]string{{"new", changed, "low", "stale-rule", "tcp/9100"}, {"resolved", changed, "low", "stale-rule", "tcp/8080"}} {
		found := false
		for _, l := range strings.Split(tab.Stdout, "\n") {
			if f := strings.Fields(l); len(f) >= len(want) && slices.Equal(f[:len(want)], want) {
				found = true
			}
		}
		if !found {
			t.Errorf("fleet --baseline table: no row %v:\n%s", want, tab.Stdout)
		}
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(sorted(a), sorted(b))
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}
