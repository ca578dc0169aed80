//go:build linux

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUfwHostileHost: the ufw lab starts from ufw as its package installs
// it, whatever the host has done to its own ufw. The test shows the lab
// (a child run of this test binary, in a private mount namespace) a host
// /etc/ufw with ufw enabled, a rule of the host's own in before.rules and
// an INPUT policy of ACCEPT in /etc/default/ufw; the lab must see none of
// it, and the host's real files must not change.
func TestUfwHostileHost(t *testing.T) {
	if os.Getenv("FWAUDIT_UFW_HOSTILE_CHILD") == "1" {
		ufwHostileChild(t)
		return
	}
	RequireRoot(t)
	if _, err := exec.LookPath("ufw"); err != nil {
		t.Skipf("SKIPPED: ufw not installed (scripts/test-deps.sh installs it): %v", err)
	}
	requireFwaudit(t)
	before := hashTree(t, ufwHostPaths...)
	hostile := t.TempDir()
	etc := filepath.Join(hostile, "etc-ufw")
	if out, err := exec.Command("cp", "-a", "/etc/ufw", etc).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	conf, err := os.ReadFile(filepath.Join(etc, "ufw.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(strings.ReplaceAll(string(conf), "ENABLED=no", "ENABLED=yes"))
	if !bytes.Contains(conf, []byte("ENABLED=yes")) {
		conf = append(conf, "ENABLED=yes\n"...)
	}
	br, err := os.ReadFile(filepath.Join(etc, "before.rules"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(br, []byte("COMMIT"))
	if i < 0 {
		t.Fatalf("no COMMIT in /etc/ufw/before.rules")
	}
	br = append(append(append([]byte{}, br[:i]...), "-A ufw-before-input -p tcp --dport 9999 -j ACCEPT\n"...), br[i:]...)
	for name, b := range map[string][]byte{
		filepath.Join(etc, "ufw.conf"):        conf,
		filepath.Join(etc, "before.rules"):    br,
		filepath.Join(hostile, "default-ufw"): []byte("IPV6=yes\nDEFAULT_INPUT_POLICY=\"ACCEPT\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\nDEFAULT_FORWARD_POLICY=\"ACCEPT\"\nDEFAULT_APPLICATION_POLICY=\"SKIP\"\nMANAGE_BUILTINS=no\nIPT_SYSCTL=/etc/ufw/sysctl.conf\nIPT_MODULES=\"\"\n"),
	} {
		if err := os.WriteFile(name, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	script := `set -e
mount --bind "$1" /etc/ufw
mount --bind "$2" /etc/default/ufw
shift 2
exec "$@"`
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
		etc, filepath.Join(hostile, "default-ufw"),
		os.Args[0], "-test.run", "^TestUfwHostileHost$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "FWAUDIT_UFW_HOSTILE_CHILD=1", "FWAUDIT_E2E_BIN="+FwauditBin)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestUfwHostileHost")) {
		t.Errorf("the lab on a host with ufw enabled: %v\n%s", err, out)
	}
	if after := hashTree(t, ufwHostPaths...); after != before {
		t.Errorf("the host's %s changed", strings.Join(ufwHostPaths, ", "))
	}
}

// ufwHostileChild runs in the child: /etc/ufw is the hostile copy.
func ufwHostileChild(t *testing.T) {
	if b, err := os.ReadFile("/etc/ufw/ufw.conf"); err != nil || !bytes.Contains(b, []byte("ENABLED=yes")) {
		t.Fatalf("the child does not see the hostile /etc/ufw: %v %s", err, b)
	}
	lab := NewLab(t)
	before := hashTree(t, ufwHostPaths...)
	lab.Ufw("allow", "4242/tcp")
	if out := lab.Host.Run("iptables-save"); strings.Contains(out, "4242") || strings.Contains(out, "ufw-") {
		t.Errorf("ufw allow in a pristine (disabled) ufw loaded rules:\n%s", out)
	}
	lab.Ufw("--force", "enable")
	out := lab.Host.Run("iptables-save")
	for _, want := range []string{"--dport 4242 -j ACCEPT", ":ufw-before-input", ":INPUT DROP"} {
		if !strings.Contains(out, want) {
			t.Errorf("after ufw enable, iptables-save lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "9999") {
		t.Errorf("the host's own before.rules reached the lab:\n%s", out)
	}
	if after := hashTree(t, ufwHostPaths...); after != before {
		t.Errorf("the lab's ufw changed the (hostile) host files")
	}
}

// rawTerminal returns the first character of s a terminal would act on
// (C0 but newline and tab, DEL, C1), or -1.
func rawTerminal(s string) rune {
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return r
		}
	}
	return -1
}

// TestHostileProcessNames: process names are chosen by whoever starts the
// process. Names with spaces, quotes, $(), a newline and terminal escape
// sequences are reported exactly in JSON (as /proc/PID/comm has them),
// never reach a terminal raw in any text output or warning, and every
// suggested ruleset carrying them in comments loads, and the script runs
// without executing anything from a name.
func TestHostileProcessNames(t *testing.T) {
	t.Parallel()
	lab := NewLab(t)
	requireFwaudit(t)
	dir := t.TempDir()
	names := map[uint16]string{
		7101: "my app",
		7102: `it's "q"`,
		7103: "$(touch pwned)",
		7104: "a\nb",
		7105: "\x1b[31mred\x1b[0m",
		7106: "\x1b]0;pwn\x07",
		7107: "`touch pwned2`",
	}
	pids := map[uint16]int{}
	for port, name := range names {
		path := filepath.Join(dir, name)
		if err := os.Link(SvcBin, path); err != nil {
			t.Fatal(err)
		}
		p, err := lab.spawn(lab.Host, name, []string{path, "listen", fmt.Sprintf("tcp:0.0.0.0:%d", port)})
		if err != nil {
			t.Fatal(err)
		}
		if line, err := p.next(readyTimeout); err != nil || line != "ready" {
			t.Fatalf("starting %q: %q, %v", name, line, err)
		}
		pids[port] = p.PID
	}
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.LoadIptables("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")

	t.Run("json has the names exactly", func(t *testing.T) {
		s := lab.Scan()
		for port, pid := range pids {
			comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSuffix(string(comm), "\n")
			found := false
			for _, so := range s.Sockets {
				if so.Port == port {
					found = true
					if so.Process != want || so.PID != pid {
						t.Errorf("port %d: process %q pid %d, want %q pid %d", port, so.Process, so.PID, want, pid)
					}
				}
			}
			if !found {
				t.Errorf("port %d not listed", port)
			}
		}
	})
	for _, args := range [][]string{
		{"scan"},
		{"report", "--format", "table"},
		{"report", "--format", "markdown"},
		{"explain", "tcp/7105"},
		{"explain", "tcp/7106"},
		{"suggest", "--diff"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stdout, stderr, code := lab.Fwaudit(args...)
			if code != 0 && !(args[0] == "suggest" && code == 1) {
				t.Errorf("exit %d\nstderr: %s", code, stderr)
			}
			if r := rawTerminal(stdout); r >= 0 {
				t.Errorf("raw %U on stdout:\n%q", r, stdout)
			}
			if r := rawTerminal(stderr); r >= 0 {
				t.Errorf("raw %U on stderr:\n%q", r, stderr)
			}
			if args[0] == "scan" && (!strings.Contains(stdout, "my app") || !strings.Contains(stdout, `\x1b[31mred`)) {
				t.Errorf("the table does not name the processes (escaped):\n%s", stdout)
			}
		})
	}
	t.Run("suggested rulesets load", func(t *testing.T) {
		v4, stderr, code := lab.Fwaudit("suggest")
		if code != 0 {
			t.Fatalf("suggest: exit %d: %s", code, stderr)
		}
		if r := rawTerminal(v4 + stderr); r >= 0 {
			t.Errorf("raw %U in suggest's output:\n%q", r, v4+stderr)
		}
		lab.Host.RunInput([]byte(v4), "iptables-restore", "--test")
		nft, _, code := lab.Fwaudit("suggest", "--format", "nft")
		if code != 0 {
			t.Fatalf("suggest --format nft: exit %d", code)
		}
		lab.Host.RunInput([]byte(nft), "nft", "-c", "-f", "-")
		script, _, code := lab.Fwaudit("suggest", "--format", "script")
		if code != 0 {
			t.Fatalf("suggest --format script: exit %d", code)
		}
		// run it for real in the lab's namespace, in an empty directory:
		// it loads the rules and creates no file
		work := t.TempDir()
		path := filepath.Join(work, "rules.sh")
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		out, stderr, err := runCmd(work, nil, "ip", "netns", "exec", lab.Host.Name, "bash", path)
		if err != nil {
			t.Fatalf("running the script: %v\n%s%s", err, out, stderr)
		}
		if r := rawTerminal(out + stderr); r >= 0 {
			t.Errorf("raw %U in what the script prints:\n%q", r, out+stderr)
		}
		ents, _ := os.ReadDir(work)
		if len(ents) != 1 {
			t.Errorf("the script created files: %v", ents)
		}
		if !lab.Probe("tcp", "192.0.2.2", "192.0.2.1", 22) {
			t.Errorf("after the script, ssh is not reachable")
		}
	})
}

// fwauditWithout runs fwaudit in the lab's host namespace in a private
// mount namespace where /usr/sbin (and so /sbin) holds every tool but
// hidden: as on a host where those are not installed. PATH is the sbin
// directories only.
func (lab *Lab) fwauditWithout(hidden []string, args ...string) (stdout, stderr string, code int) {
	lab.T.Helper()
	requireFwaudit(lab.T)
	script := `set -e
real=$(mktemp -d)
mount --bind /usr/sbin "$real"
mount -t tmpfs tmpfs /usr/sbin
for f in "$real"/*; do
	n=${f##*/}
	case " $HIDE " in *" $n "*) ;; *) ln -s "$real/$n" "/usr/sbin/$n" ;; esac
done
exec "$@"`
	full := append([]string{"ip", "netns", "exec", lab.Host.Name, "env", "HIDE=" + strings.Join(hidden, " "), "PATH=/usr/sbin:/usr/bin",
		"unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", FwauditBin}, args...)
	r := runFwaudit(lab.T, lab.Dir, full)
	return r.Stdout, r.Stderr, r.Code
}

// TestHostileMissingTools: a host without ip6tables-save, or without nft,
// or without both. fwaudit reads what it can, says once what it cannot,
// and never turns a rule it could not read into "open".
func TestHostileMissingTools(t *testing.T) {
	t.Parallel()
	lab := NewLab(t)
	lab.Start(lab.Host, "nginx", "tcp:[::]:80")
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.LoadIptables("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT\n")
	lab.LoadIp6tables("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::3 -p tcp --dport 80 -j ACCEPT\nCOMMIT\n")
	ip6save := []string{"ip6tables-save", "ip6tables-nft-save", "ip6tables-legacy-save"}
	verdicts := func(t *testing.T, stdout string) (v4, v6 string) {
		t.Helper()
		for _, so := range DecodeScan(t, stdout).Sockets {
			if so.Port == 80 && so.Firewall != nil {
				if so.Firewall.IPv4 != nil {
					v4 = so.Firewall.IPv4.Verdict
				}
				if so.Firewall.IPv6 != nil {
					v6 = so.Firewall.IPv6.Verdict + " " + strings.Join(so.Firewall.IPv6.Sources, ",")
				}
			}
		}
		return v4, v6
	}
	// the kernel's answer, for the verdicts that are read
	if !lab.Probe("tcp", "192.0.2.2", "192.0.2.1", 80) || lab.Probe("tcp", "2001:db8::2", "2001:db8::1", 80) || !lab.Probe("tcp", "2001:db8::3", "2001:db8::1", 80) {
		t.Fatal("the kernel does not do what the rules say")
	}

	t.Run("no ip6tables-save: nft reads ipv6", func(t *testing.T) {
		stdout, stderr, code := lab.fwauditWithout(ip6save, "scan", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		v4, v6 := verdicts(t, stdout)
		if v4 != "open" || v6 != "restricted 2001:db8::3/128" {
			t.Errorf("tcp/80: ipv4 %q, ipv6 %q; want open, restricted 2001:db8::3/128 (as the kernel)", v4, v6)
		}
		if strings.Count(withoutOwnerWarning(stderr), "warning: ") != 1 || !strings.Contains(stderr, "cannot read ipv6 rules with iptables") || !strings.Contains(stderr, "reading every table with nft instead") {
			t.Errorf("want one warning that ipv6 is read with nft; stderr:\n%s", stderr)
		}
	})
	t.Run("no ip6tables-save and no nft: ipv6 unknown", func(t *testing.T) {
		stdout, stderr, code := lab.fwauditWithout(append(ip6save, "nft"), "scan", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		v4, v6 := verdicts(t, stdout)
		// ipv4: iptables-nft-save reads the ip filter table; nothing else
		// sees IPv4 packets, so "open" is exact. The unread ip6 table
		// (listed by netlink, readable by nobody) makes only IPv6 unsure.
		if v4 != "open" || v6 != "unknown " {
			t.Errorf("tcp/80: ipv4 %q, ipv6 %q; want open, unknown", v4, v6)
		}
		for _, w := range []string{"warning: cannot read ipv6 rules: ip6tables-save: not installed", "warning: the kernel holds nftables tables but nft is not installed"} {
			if strings.Count(stderr, w) != 1 {
				t.Errorf("want once %q; stderr:\n%s", w, stderr)
			}
		}
		if strings.Count(withoutOwnerWarning(stderr), "warning: ") != 2 {
			t.Errorf("want exactly two warnings; stderr:\n%s", stderr)
		}
		_, stderr, code = lab.fwauditWithout(append(ip6save, "nft"), "report", "--fail-on", "high")
		if code != 4 {
			t.Errorf("report --fail-on high: exit %d, want 4 (incomplete)\n%s", code, stderr)
		}
	})
	t.Run("no nft, native nft table present: conditional", func(t *testing.T) {
		lab := NewLab(t)
		lab.Start(lab.Host, "nginx", "tcp:0.0.0.0:80")
		lab.LoadIptables("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
		lab.LoadNft("table inet guard {\n\tchain input {\n\t\ttype filter hook input priority 10; policy accept;\n\t\ttcp dport 80 drop\n\t}\n}\n")
		if lab.Probe("tcp", "192.0.2.2", "192.0.2.1", 80) {
			t.Fatal("the nft table does not drop port 80")
		}
		stdout, stderr, code := lab.fwauditWithout([]string{"nft"}, "scan", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if v4, _ := verdicts(t, stdout); v4 != "conditional" {
			t.Errorf("tcp/80 over ipv4: %q, want conditional (a table nobody could read may drop it; the kernel does)", v4)
		}
		if strings.Count(stderr, "the kernel holds nftables tables but nft is not installed") != 1 {
			t.Errorf("want one warning that nft is missing; stderr:\n%s", stderr)
		}
	})
}

// TestHostileManyPorts: 18 listeners behind today's blocklist. The
// suggestion keeps the blocked source out of all 18 with -m multiport
// drops, which take at most 15 ports each (the kernel's
// XT_MULTI_PORTS): loaded for real with iptables-restore and
// ip6tables-restore, and probed, the blocked source reaches none of the
// ports, the others reach every one.
func TestHostileManyPorts(t *testing.T) {
	t.Parallel()
	lab := NewLab(t)
	var specs []string
	for p := 9000; p < 9018; p++ {
		specs = append(specs, fmt.Sprintf("tcp:[::]:%d", p))
	}
	lab.Start(lab.Host, "unknownd", specs...)
	lab.Start(lab.Host, "sshd", "tcp:[::]:22")
	lab.LoadIptables("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 192.0.2.3 -j DROP\n-A INPUT -p tcp -j ACCEPT\nCOMMIT\n")
	lab.LoadIp6tables("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::3 -j DROP\n-A INPUT -p tcp -j ACCEPT\n-A INPUT -p ipv6-icmp -j ACCEPT\nCOMMIT\n")
	v4, stderr, code := lab.Fwaudit("suggest")
	if code != 0 {
		t.Fatalf("suggest: exit %d\n%s", code, stderr)
	}
	v6, stderr, code := lab.Fwaudit("suggest", "--format", "ip6tables")
	if code != 0 {
		t.Fatalf("suggest --format ip6tables: exit %d\n%s", code, stderr)
	}
	for _, text := range []string{v4, v6} {
		lists := 0
		for _, l := range strings.Split(text, "\n") {
			if _, rest, ok := strings.Cut(l, "--dports "); ok {
				lists++
				ports, _, _ := strings.Cut(rest, " ")
				if n := strings.Count(ports, ",") + 1; n > 15 {
					t.Errorf("%d ports in one multiport match: %s", n, l)
				}
			}
		}
		if lists < 2 {
			t.Errorf("want the blocklist split over at least two multiport drops:\n%s", text)
		}
	}
	// loaded for real: the kernel takes it or the test fails
	lab.Host.RunInput([]byte(v4), "iptables-restore")
	lab.Host.RunInput([]byte(v6), "ip6tables-restore")
	var reqs []ProbeReq
	for p := uint16(9000); p < 9018; p++ {
		reqs = append(reqs, ProbeReq{"tcp", "192.0.2.2", "192.0.2.1", p}, ProbeReq{"tcp", "192.0.2.3", "192.0.2.1", p},
			ProbeReq{"tcp", "2001:db8::2", "2001:db8::1", p}, ProbeReq{"tcp", "2001:db8::3", "2001:db8::1", p})
	}
	for i, r := range lab.ProbeAll(reqs) {
		blocked := reqs[i].Src == "192.0.2.3" || reqs[i].Src == "2001:db8::3"
		if r.OK == blocked {
			t.Errorf("%v: got through %v, want %v (%s)", reqs[i], r.OK, !blocked, r.Detail)
		}
	}
}

// withoutOwnerWarning drops the warning about processes whose open files
// even root cannot read (on some machines PID 1 is such a process): it
// belongs to the machine, not to the case under test.
func withoutOwnerWarning(stderr string) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.Contains(l, "even to root") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
