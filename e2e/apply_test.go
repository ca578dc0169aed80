//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The apply kernel tests: a host namespace with listeners, today's rules
// and a peer holding SSH sessions in both families; `fwaudit apply` runs
// there for real, and what the kernel holds and lets through is checked
// against the suggestion, and against today's rules after a rollback.

// applyHost starts the lab's daemons, loads today's rules (load) and
// holds an SSH session per family from PeerV4[0] / PeerV6[0].
func applyHost(t *testing.T, load func(lab *Lab)) (*Lab, []*Held) {
	lab := NewLab(t)
	lab.Start(lab.Host, "sshd", "tcp:[::]:22")
	lab.Start(lab.Host, "nginx", "tcp:[::]:80")
	lab.Start(lab.Host, "redis-server", "tcp:[::]:6379")
	if load != nil {
		load(lab)
	}
	held := []*Held{lab.Hold(PeerV4[0].String(), HostV4.String(), 22), lab.Hold(PeerV6[0].String(), HostV6.String(), 22)}
	for _, h := range held {
		if !h.OK {
			t.Fatal("could not open the SSH sessions to hold")
		}
	}
	return lab, held
}

// iptablesToday: default DROP with ssh, http open (both families) and
// redis open to everyone over IPv4, which the suggestion closes.
func iptablesToday(lab *Lab) {
	lab.LoadIptables(iptablesRules4)
	lab.LoadIp6tables(iptablesRules6)
}

const (
	iptablesRules4 = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
		"-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n" +
		"-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n" +
		"-A INPUT -p tcp -m tcp --dport 6379 -j ACCEPT\nCOMMIT\n"
	iptablesRules6 = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
		"-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n" +
		"-A INPUT -p ipv6-icmp -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n" +
		"-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n"
)

// legacyToday: iptablesToday loaded with iptables-legacy.
func legacyToday(lab *Lab) {
	lab.LoadIptablesLegacy(iptablesRules4)
	lab.LoadIp6tablesLegacy(iptablesRules6)
}

// nftToday: the same policy as native nftables only.
func nftToday(lab *Lab) {
	lab.LoadNft(`table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		meta l4proto ipv6-icmp accept
		tcp dport { 22, 80 } accept
		meta nfproto ipv4 tcp dport 6379 accept
	}
}
`)
}

// probes are the ports checked from both peer addresses in both families.
var applyProbes = []ProbeReq{
	{"tcp", "192.0.2.3", "192.0.2.1", 22}, {"tcp", "2001:db8::3", "2001:db8::1", 22},
	{"tcp", "192.0.2.3", "192.0.2.1", 80}, {"tcp", "2001:db8::3", "2001:db8::1", 80},
	{"tcp", "192.0.2.3", "192.0.2.1", 6379}, {"tcp", "2001:db8::3", "2001:db8::1", 6379},
}

// suggested is what the suggestion lets in of applyProbes: ssh and http
// (kept), redis (a sensitive service: closed).
var applySuggested = []bool{true, true, true, true, false, false}

func probeMatch(t *testing.T, lab *Lab, want []bool, what string) {
	t.Helper()
	got := lab.ProbeAll(applyProbes)
	for i, r := range got {
		if r.OK != want[i] {
			t.Errorf("%s: %s: got through %v, want %v (%s)", what, applyProbes[i], r.OK, want[i], r.Detail)
		}
	}
}

func sessionsAlive(t *testing.T, held []*Held, what string) {
	t.Helper()
	for i, h := range held {
		if !h.Alive() {
			t.Errorf("%s: the held SSH session %d was cut", what, i)
		}
	}
}

// TestApplyConfirmed: loaded, confirmed with --confirm from the host
// after a new connection from the peer got in; both families hold the
// new rules, the sessions survive, the probes match the suggestion, and
// --persist wrote files that give the same probes in a fresh namespace.
func TestApplyConfirmed(t *testing.T) {
	RequireRoot(t)
	for _, tc := range []struct {
		name   string
		today  func(*Lab)
		format string
	}{{"iptables", iptablesToday, "restore"}, {"nft", nftToday, "nft"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lab, held := applyHost(t, tc.today)
			before := lab.RulesNow()

			// --dry-run: the plan on stdout, nothing changed or written
			dry := filepath.Join(lab.Dir, "dry")
			stdout, stderr, code := lab.Fwaudit("apply", "--dry-run", "--backup-dir", dry, "--no-journal")
			if code != 0 || !strings.Contains(stdout, "load ") || !strings.Contains(stdout, "tcp/6379: open → blocked") {
				t.Errorf("--dry-run: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if _, err := os.Stat(dry); err == nil {
				t.Errorf("--dry-run wrote %s", dry)
			}
			if now := lab.RulesNow(); now["iptables-nft-save"] != before["iptables-nft-save"] || now["nft list ruleset"] != before["nft list ruleset"] {
				t.Errorf("--dry-run changed the rules")
			}

			root := filepath.Join(lab.Dir, "root")
			a := lab.StartApply("--timeout", "60s", "--persist", "--root", root)
			if !a.WaitFor("waiting", 30*time.Second) {
				t.Fatalf("apply did not reach the wait: exit %d\n%s", a.Wait(0), a.Stderr())
			}
			if !strings.Contains(a.Stderr(), "load") || !strings.Contains(a.Stderr(), "backup of the current rules written to") {
				t.Errorf("steps not logged on stderr:\n%s", a.Stderr())
			}
			if !lab.Probe("tcp", PeerV4[1].String(), HostV4.String(), 22) {
				t.Fatal("a new SSH connection does not get in while waiting")
			}
			// a second apply while this one waits is refused, writing nothing
			_, stderr, code = lab.Fwaudit("apply", "--backup-dir", a.Backup, "--no-journal")
			if code != 1 || !strings.Contains(stderr, "another applied ruleset is waiting for confirmation") || len(a.Dirs()) != 1 {
				t.Errorf("a second apply while waiting: exit %d, %d backups\n%s", code, len(a.Dirs()), stderr)
			}
			stdout, stderr, code = lab.Fwaudit("apply", "--confirm", "--backup-dir", a.Backup, "--no-journal")
			if code != 0 || stdout != "" {
				t.Fatalf("apply --confirm: exit %d, stdout %q\n%s", code, stdout, stderr)
			}
			if code := a.Wait(30 * time.Second); code != 0 {
				t.Fatalf("apply: exit %d after --confirm\n%s", code, a.Stderr())
			}
			after := lab.RulesNow()
			switch tc.format {
			case "restore":
				for _, c := range []string{"iptables-nft-save", "ip6tables-nft-save"} {
					if after[c] == before[c] || strings.Contains(after[c], "6379") || !strings.Contains(after[c], ":INPUT DROP") {
						t.Errorf("%s: the new rules are not loaded:\n%s", c, after[c])
					}
				}
			case "nft":
				if !strings.Contains(after["nft list ruleset"], "table inet fwaudit") {
					t.Errorf("table inet fwaudit not loaded:\n%s", after["nft list ruleset"])
				}
			}
			sessionsAlive(t, held, "after confirming")
			probeMatch(t, lab, applySuggested, "after confirming")
			// still so once the deadline has passed: the watchdog stood down
			time.Sleep(time.Second)
			for _, d := range a.Dirs() {
				if _, err := os.Stat(filepath.Join(d, "result")); err == nil {
					t.Errorf("a rollback ran after the confirmation (%s)", d)
				}
			}

			// the persisted files, loaded into a fresh host, let in the same
			fresh, _ := applyHost(t, nil)
			switch tc.format {
			case "restore":
				for file, restore := range map[string]string{"rules.v4": "iptables-restore", "rules.v6": "ip6tables-restore"} {
					b, err := os.ReadFile(filepath.Join(root, "etc/iptables", file))
					if err != nil {
						t.Fatalf("--persist: %v", err)
					}
					fresh.Host.RunInput(b, restore)
				}
			case "nft":
				b, err := os.ReadFile(filepath.Join(root, "etc/nftables.conf"))
				if err != nil {
					t.Fatalf("--persist: %v", err)
				}
				fresh.LoadNft(string(b))
			}
			probeMatch(t, fresh, applySuggested, "loaded from the persisted files")
		})
	}
}

// TestApplyRollback: nobody confirms, or fwaudit is killed with SIGKILL
// while waiting; at the deadline the watchdog restores today's rules, as
// every save and nft list ruleset prints them, and the sessions survive.
func TestApplyRollback(t *testing.T) {
	RequireRoot(t)
	for _, tc := range []struct {
		name  string
		today func(*Lab)
		kill  bool
		intr  bool // SIGINT: rolled back at once
	}{
		{"iptables", iptablesToday, false, false}, {"iptables-killed", iptablesToday, true, false},
		{"nft", nftToday, false, false}, {"nft-killed", nftToday, true, false},
		{"legacy", legacyToday, false, false}, {"legacy-killed", legacyToday, true, false},
		{"iptables-interrupted", iptablesToday, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lab, held := applyHost(t, tc.today)
			before := lab.RulesNow()
			probeMatch(t, lab, []bool{true, true, true, true, true, false}, "today")
			timeout := "4s"
			if tc.intr {
				timeout = "60s"
			}
			a := lab.StartApply("--timeout", timeout)
			if !a.WaitFor("waiting", 30*time.Second) {
				t.Fatalf("apply did not reach the wait: exit %d\n%s", a.Wait(0), a.Stderr())
			}
			changed := lab.RulesNow()
			same := true
			for src := range before {
				same = same && changed[src] == before[src]
			}
			if same {
				t.Fatal("apply says it loaded, but the rules did not change")
			}
			if strings.HasPrefix(tc.name, "legacy") && !strings.Contains(a.Stderr(), "(ip6tables-legacy-restore rules.v6)") {
				t.Errorf("not loaded with the legacy backend that holds today's rules:\n%s", a.Stderr())
			}
			probeMatch(t, lab, applySuggested, "loaded, waiting")
			if tc.kill {
				if err := a.cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				if code := a.Wait(10 * time.Second); code != -1 {
					t.Fatalf("kill -9: exit %d", code)
				}
			}
			if tc.intr {
				if err := a.cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
				if code := a.Wait(10 * time.Second); code != 4 || !strings.Contains(a.Stderr(), "interrupted: the previous rules were restored") {
					t.Fatalf("SIGINT: exit %d, want 4 at once\n%s", code, a.Stderr())
				}
			}
			if got := a.WaitResult(30 * time.Second); got != "rolled back" {
				t.Fatalf("rollback result %q\n%s", got, a.Stderr())
			}
			if !tc.kill && !tc.intr {
				if code := a.Wait(30 * time.Second); code != 4 {
					t.Errorf("apply: exit %d, want 4 (not confirmed)\n%s", code, a.Stderr())
				}
				if !strings.Contains(a.Stderr(), "not confirmed in time") {
					t.Errorf("stderr does not say it was not confirmed:\n%s", a.Stderr())
				}
			}
			after := lab.RulesNow()
			for src, b := range before {
				if after[src] != b {
					t.Errorf("%s after the rollback differs (-before +after):\n%s", src, diffLines(b, after[src]))
				}
			}
			sessionsAlive(t, held, "after the rollback")
			probeMatch(t, lab, []bool{true, true, true, true, true, false}, "after the rollback")
			stdout, stderr, code := lab.Fwaudit("apply", "--confirm", "--backup-dir", a.Backup, "--no-journal")
			if code != 1 || !strings.Contains(stderr, "no applied ruleset is waiting") {
				t.Errorf("--confirm after the rollback: exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
		})
	}
}

// TestApplyRefused: a ruleset that would cut the peer's session, and a
// host another manager owns, are refused before anything is loaded or
// backed up.
func TestApplyRefused(t *testing.T) {
	RequireRoot(t)
	for _, tc := range []struct {
		name  string
		today func(*Lab)
		args  []string
		want  string
	}{
		{"lockout", iptablesToday, []string{"--ssh-from", "198.51.100.0/24,2001:db8:ffff::/48"},
			"refusing: the ruleset would cut the SSH session from "},
		{"ufw", func(lab *Lab) {
			iptablesToday(lab)
			lab.LoadIptables("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:ufw-user-input - [0:0]\n-A INPUT -j ufw-user-input\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\nCOMMIT\n")
		}, nil, "refusing: ufw manages this firewall (filter/ufw-user-input)"},
		{"real-ufw", func(lab *Lab) {
			lab.Ufw("allow", "22/tcp")
			lab.Ufw("allow", "80/tcp")
			lab.Ufw("--force", "enable")
		}, nil, "refusing: ufw manages this firewall (filter/ufw-"},
		{"fail2ban", func(lab *Lab) {
			lab.LoadIptables("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:f2b-sshd - [0:0]\n-A INPUT -p tcp --dport 22 -j f2b-sshd\n-A f2b-sshd -j RETURN\nCOMMIT\n")
		}, []string{"--format", "restore"}, "refusing: loading the restore files would wipe fail2ban's chains (filter/f2b-sshd)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lab, held := applyHost(t, tc.today)
			before := lab.RulesNow()
			a := lab.StartApply(append([]string{"--timeout", "5s"}, tc.args...)...)
			code := a.Wait(60 * time.Second)
			if code != 3 || !strings.Contains(a.Stderr(), tc.want) {
				t.Errorf("exit %d, want 3 and %q on stderr:\n%s", code, tc.want, a.Stderr())
			}
			if d := a.Dirs(); len(d) > 0 {
				t.Errorf("a refusal wrote backups: %v", d)
			}
			after := lab.RulesNow()
			for src, b := range before {
				if after[src] != b {
					t.Errorf("%s changed (-before +after):\n%s", src, diffLines(b, after[src]))
				}
			}
			sessionsAlive(t, held, "after the refusal")
		})
	}
}

// TestApplyDocker: on a host with Docker's chains (a captured ruleset of
// Docker 20 on iptables-nft, loaded without a daemon), the confirmed
// apply keeps every Docker chain and its rules.
func TestApplyDocker(t *testing.T) {
	lab, held := applyHost(t, func(lab *Lab) {
		lab.LoadIptables(Testdata(t, "docker/docker20-nft-default.iptables-save"))
	})
	before := lab.Host.Run("iptables-save")
	a := lab.StartApply("--timeout", "60s")
	if !a.WaitFor("waiting", 30*time.Second) {
		t.Fatalf("apply did not reach the wait: exit %d\n%s", a.Wait(0), a.Stderr())
	}
	if !strings.Contains(a.Stderr(), "Docker's chains stay") {
		t.Errorf("stderr does not say Docker's chains stay:\n%s", a.Stderr())
	}
	if _, stderr, code := lab.Fwaudit("apply", "--confirm", "--backup-dir", a.Backup, "--no-journal"); code != 0 {
		t.Fatalf("apply --confirm: exit %d\n%s", code, stderr)
	}
	if code := a.Wait(30 * time.Second); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, a.Stderr())
	}
	after := lab.Host.Run("iptables-save")
	for _, l := range strings.Split(normalizeSave(before), "\n") {
		if strings.Contains(l, "DOCKER") && !strings.Contains(l, "DOCKER-USER") && !strings.Contains(normalizeSave(after), l) {
			t.Errorf("Docker's line %q is gone after apply", l)
		}
	}
	if !strings.Contains(after, ":INPUT DROP") {
		t.Errorf("the new INPUT policy is not loaded:\n%s", after)
	}
	sessionsAlive(t, held, "after apply on a Docker host")
}

// TestApplyFiles: reviewed restore files pass the same proofs; one that
// admits more than today, or that would cut the peer's session, is
// refused before anything is loaded; a narrowing one is loaded, confirmed
// and probed.
func TestApplyFiles(t *testing.T) {
	RequireRoot(t)
	const head = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
		"-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
	// a reviewed nft file on the nft host: it replaces table inet filter
	const narrowerNft = `table inet filter {}
delete table inet filter
table inet hardened {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		meta l4proto ipv6-icmp accept
		tcp dport 22 accept
		ip saddr 192.0.2.2 tcp dport 80 accept
	}
}
`
	for _, tc := range []struct {
		name   string
		today  func(*Lab)
		files  map[string]string
		code   int
		want   string
		probe  []bool
		tables string // nft list tables after a confirmed load ("" not checked)
	}{
		{"wider", nil, map[string]string{"six": head + "-A INPUT -p ipv6-icmp -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp --dport 80 -j ACCEPT\n-A INPUT -p tcp --dport 6379 -j ACCEPT\nCOMMIT\n"},
			3, "refusing: the ruleset would admit every source to tcp/6379 over ipv6, which the current rules do not (blocked today)", nil, ""},
		{"lockout", nil, map[string]string{"four": head + "-A INPUT -p icmp -j ACCEPT\n-A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT\n"},
			3, "refusing: the ruleset would cut the SSH session from 192.0.2.2 to port 22", nil, ""},
		{"narrower", nil, map[string]string{
			"four": head + "-A INPUT -p icmp -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -s 192.0.2.2 -p tcp --dport 80 -j ACCEPT\nCOMMIT\n",
			"six":  head + "-A INPUT -p ipv6-icmp -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"},
			0, "confirmed", []bool{true, true, false, false, false, false}, ""},
		// an nft file, recognised by its content, loaded with one nft -f
		{"nft narrower", nftToday, map[string]string{"rules.nft": narrowerNft},
			0, "confirmed", []bool{true, true, false, false, false, false}, "table inet hardened"},
		{"nft adds to a loaded table", nftToday, map[string]string{"rules.nft": "table inet filter {\n\tchain input {\n\t\ttcp dport 443 accept\n\t}\n}\n"},
			3, "rules.nft adds to table inet filter, which is loaded today, without deleting or flushing it first", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			today := tc.today
			if today == nil {
				today = iptablesToday
			}
			lab, held := applyHost(t, today)
			before := lab.RulesNow()
			args := []string{"--timeout", "60s"}
			for name, data := range tc.files {
				p := filepath.Join(lab.Dir, name)
				if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, p)
			}
			a := lab.StartApply(args...)
			if tc.code == 0 {
				if !a.WaitFor("waiting", 30*time.Second) {
					t.Fatalf("apply did not reach the wait: exit %d\n%s", a.Wait(0), a.Stderr())
				}
				if _, stderr, code := lab.Fwaudit("apply", "--confirm", "--backup-dir", a.Backup, "--no-journal"); code != 0 {
					t.Fatalf("apply --confirm: exit %d\n%s", code, stderr)
				}
			}
			code := a.Wait(60 * time.Second)
			if code != tc.code || !strings.Contains(a.Stderr(), tc.want) {
				t.Fatalf("exit %d, want %d and %q on stderr:\n%s", code, tc.code, tc.want, a.Stderr())
			}
			if tc.code != 0 {
				if d := a.Dirs(); len(d) > 0 {
					t.Errorf("a refusal wrote backups: %v", d)
				}
				after := lab.RulesNow()
				for src, b := range before {
					if after[src] != b {
						t.Errorf("%s changed (-before +after):\n%s", src, diffLines(b, after[src]))
					}
				}
			} else {
				probeMatch(t, lab, tc.probe, "the reviewed files, confirmed")
				if !lab.Probe("tcp", PeerV4[0].String(), HostV4.String(), 80) {
					t.Error("tcp/80 from 192.0.2.2, which the file accepts, does not get in")
				}
				if tc.tables != "" {
					if got := lab.Host.Run("nft", "list", "tables"); strings.TrimSpace(got) != tc.tables {
						t.Errorf("after apply, nft list tables:\n%s\nwant %s alone", got, tc.tables)
					}
				}
			}
			sessionsAlive(t, held, "after apply FILE")
		})
	}
}

// TestApplyTerminal: "yes" typed on the terminal confirms; the rules
// stay after the deadline has passed.
func TestApplyTerminal(t *testing.T) {
	lab, held := applyHost(t, iptablesToday)
	a := lab.StartApplyTerminal("--timeout", "3s")
	if !a.WaitFor("waiting", 30*time.Second) {
		t.Fatalf("apply did not reach the wait: exit %d\n%s", a.Wait(0), a.Stderr())
	}
	if err := a.Type("no\n"); err != nil {
		t.Fatal(err)
	}
	if !a.WaitFor("type yes to keep", 5*time.Second) {
		t.Errorf("an answer other than yes is not answered:\n%s", a.Stderr())
	}
	if err := a.Type("yes\n"); err != nil {
		t.Fatal(err)
	}
	if code := a.Wait(30 * time.Second); code != 0 || !strings.Contains(a.Stderr(), "confirmed on the terminal") {
		t.Fatalf("apply: exit %d\n%s", code, a.Stderr())
	}
	time.Sleep(4 * time.Second) // past the deadline
	if len(a.Dirs()) != 1 {
		t.Fatalf("backup directories %v, want one", a.Dirs())
	}
	for _, d := range a.Dirs() {
		if _, err := os.Stat(filepath.Join(d, "result")); err == nil {
			t.Errorf("a rollback ran after the confirmation (%s)", d)
		}
	}
	probeMatch(t, lab, applySuggested, "confirmed on the terminal")
	sessionsAlive(t, held, "confirmed on the terminal")
}

// TestApplyBothOrNeither: the IPv6 file passes the proofs but the kernel
// refuses it (a match no kernel module provides); the IPv4 file, loaded
// first, is rolled back at once: both families or neither.
func TestApplyBothOrNeither(t *testing.T) {
	lab, held := applyHost(t, iptablesToday)
	before := lab.RulesNow()
	four := strings.Replace(iptablesRules4, "-A INPUT -p tcp -m tcp --dport 6379 -j ACCEPT\n", "-A INPUT -p icmp -j ACCEPT\n", 1)
	six := strings.Replace(iptablesRules6, "COMMIT", "-A INPUT -m nosuchmatch --nosuchoption -j DROP\nCOMMIT", 1)
	var files []string
	for name, data := range map[string]string{"four": four, "six": six} {
		p := filepath.Join(lab.Dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	a := lab.StartApply(append([]string{"--timeout", "60s"}, files...)...)
	code := a.Wait(60 * time.Second)
	if code != 1 || !strings.Contains(a.Stderr(), "loaded rules.v4") || !strings.Contains(a.Stderr(), "fwaudit: error: loading rules.v6:") {
		t.Fatalf("exit %d, want 1 after loading rules.v4 and failing rules.v6:\n%s", code, a.Stderr())
	}
	if got := a.WaitResult(5 * time.Second); got != "rolled back" {
		t.Errorf("rollback result %q", got)
	}
	after := lab.RulesNow()
	for src, b := range before {
		if after[src] != b {
			t.Errorf("%s after the failed load differs (-before +after):\n%s", src, diffLines(b, after[src]))
		}
	}
	sessionsAlive(t, held, "after the failed load")
}

// TestApplyDockerd: on a real dockerd (iptables-nft backend) publishing
// a web container, apply loads the suggestion with --noflush; confirmed,
// Docker's chains and NAT are all still there, the published port still
// answers from the peer, and the peer's SSH sessions survive.
func TestApplyDockerd(t *testing.T) {
	lab := NewLab(t)
	lab.Start(lab.Host, "sshd", "tcp:[::]:22")
	dk := StartDocker(lab, "nft")
	dk.RunContainer("web", []string{"-p", "8080:80"}, "tcp:80")
	held := lab.Hold(PeerV4[0].String(), HostV4.String(), 22)
	if !held.OK {
		t.Fatal("could not open the SSH session to hold")
	}
	if !lab.Probe("tcp", PeerV4[1].String(), HostV4.String(), 8080) {
		t.Fatal("the published port does not answer before apply")
	}
	before := normalizeSave(lab.Host.Run("iptables-nft-save"))
	a := lab.StartApply("--timeout", "60s")
	if !a.WaitFor("waiting", 60*time.Second) {
		t.Fatalf("apply did not reach the wait: exit %d\n%s", a.Wait(0), a.Stderr())
	}
	if !strings.Contains(a.Stderr(), "(iptables-nft-restore --noflush rules.v4)") {
		t.Errorf("not loaded with --noflush:\n%s", a.Stderr())
	}
	if _, stderr, code := lab.Fwaudit("apply", "--confirm", "--backup-dir", a.Backup, "--no-journal"); code != 0 {
		t.Fatalf("apply --confirm: exit %d\n%s", code, stderr)
	}
	if code := a.Wait(30 * time.Second); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, a.Stderr())
	}
	after := normalizeSave(lab.Host.Run("iptables-nft-save"))
	for _, l := range strings.Split(before, "\n") {
		if strings.Contains(l, "DOCKER") && !strings.HasPrefix(l, "-A DOCKER-USER") && !strings.Contains(after, l) {
			t.Errorf("Docker's %q is gone after apply", l)
		}
	}
	if !strings.Contains(after, ":INPUT DROP") {
		t.Errorf("the new INPUT policy is not loaded:\n%s", after)
	}
	if !lab.Probe("tcp", PeerV4[1].String(), HostV4.String(), 8080) {
		t.Error("the published web port does not answer after apply")
	}
	if !held.Alive() {
		t.Error("the held SSH session was cut")
	}
}
