//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A real firewalld (Debian's) inside a lab's host namespace.
//
// firewalld runs in the lab host's network namespace and in a private
// mount namespace of its own (unshare -m, propagation private), where
// /etc/firewalld is a copy in the lab's directory (bind-mounted over the
// machine's), /run, /var/log and /var/lib are empty tmpfs: nothing it
// writes reaches the machine's files.
// Its D-Bus is a dbus-daemon of its own, started in the same namespaces
// with a system-bus configuration written here: it listens on a socket in
// the lab's directory, allows root only and has no service directories,
// so nothing is bus-activated. firewall-cmd reaches it through
// DBUS_SYSTEM_BUS_ADDRESS. The machine's own dbus and firewalld are never
// started or asked anything.
//
// Cleanup (the lab's, by PID): firewalld, then its dbus-daemon; the mount
// namespace goes with them, the network namespace with the lab.

// firewalldStartTimeout bounds the wait for firewalld to answer --state.
const firewalldStartTimeout = 60 * time.Second

// Firewalld is one running firewalld.
type Firewalld struct {
	lab     *Lab
	Backend string // "nftables" or "iptables" (FirewallBackend)
	Dir     string
	bus     string // the bus address
	proc    *Proc
}

// firewalldTool finds one of firewalld's programs; a missing one fails t
// (scripts/test-deps.sh installs firewalld).
func firewalldTool(t testing.TB, name string) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/" + name, "/usr/bin/" + name} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run scripts/test-deps.sh as root (it installs firewalld)", name)
	}
	return p
}

// busConfig is the private system bus: root only, no activation.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <deny user="*"/>
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="false"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`

// StartFirewalld starts firewalld with backend ("nftables" or "iptables")
// in the lab's host and waits until it runs.
func (lab *Lab) StartFirewalld(backend string) *Firewalld {
	t := lab.T
	t.Helper()
	fwd := firewalldTool(t, "firewalld")
	firewalldTool(t, "firewall-cmd")
	dbusd := firewalldTool(t, "dbus-daemon")
	dir := filepath.Join(lab.Dir, "firewalld-"+backend)
	for _, d := range []string{"etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// a copy of the package's /etc/firewalld, with the backend chosen
	if _, stderr, err := runCmd("", nil, "cp", "-a", "/etc/firewalld/.", filepath.Join(dir, "etc")); err != nil {
		t.Fatalf("copying /etc/firewalld: %v: %s", err, stderr)
	}
	conf := filepath.Join(dir, "etc", "firewalld.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "FirewallBackend=") {
			continue
		}
		lines = append(lines, l)
	}
	lines = append(lines, "FirewallBackend="+backend)
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "bus")
	if err := os.WriteFile(filepath.Join(dir, "bus.conf"), []byte(fmt.Sprintf(busConfig, sock)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The script runs in the new mount namespace: private mounts, the
	// bus in the background (its PID on stdout), then firewalld in the
	// script's place (same PID).
	script := fmt.Sprintf(`set -eu
mount --make-rprivate /
mount -t tmpfs fwaudit-run /run
mount -t tmpfs fwaudit-log /var/log
mount --bind %[1]s/etc /etc/firewalld
mount -t tmpfs fwaudit-varlib /var/lib
%[2]s --config-file=%[1]s/bus.conf --nofork --nopidfile </dev/null >%[1]s/dbus.log 2>&1 &
echo "child $!"
i=0
while [ ! -S %[3]s ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
echo ready
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=%[3]s
exec %[4]s --nofork --nopid </dev/null >%[1]s/firewalld.log 2>&1
`, dir, dbusd, sock, fwd)
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := lab.spawn(lab.Host, "firewalld", []string{"unshare", "-m", "--propagation", "private", "sh", filepath.Join(dir, "run.sh")})
	if err != nil {
		t.Fatalf("starting firewalld: %v", err)
	}
	p.childName = "dbus-daemon"
	for range 2 {
		line, err := p.next(readyTimeout)
		if err != nil {
			t.Fatalf("starting firewalld's dbus-daemon: %v", err)
		}
		if pid, ok := strings.CutPrefix(line, "child "); ok {
			n, _ := strconv.Atoi(pid)
			p.Children = append(p.Children, n)
		}
	}
	f := &Firewalld{lab: lab, Backend: backend, Dir: dir, bus: "unix:path=" + sock, proc: p}
	deadline := time.Now().Add(firewalldStartTimeout)
	for {
		out, _, _ := f.exec("--state")
		if strings.TrimSpace(out) == "running" {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "firewalld.log"))
			t.Fatalf("firewalld (%s) not running after %v; its log:\n%s", backend, firewalldStartTimeout, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return f
}

// exec runs firewall-cmd args in the lab host against this firewalld.
func (f *Firewalld) exec(args ...string) (stdout, stderr string, err error) {
	full := append([]string{"ip", "netns", "exec", f.lab.Host.Name, "env", "DBUS_SYSTEM_BUS_ADDRESS=" + f.bus, "firewall-cmd"}, args...)
	return runCmd(f.lab.Dir, nil, full...)
}

// Cmd runs firewall-cmd args; a failure fails the test.
func (f *Firewalld) Cmd(args ...string) string {
	f.lab.T.Helper()
	out, stderr, err := f.exec(args...)
	if err != nil {
		f.lab.T.Fatalf("firewall-cmd %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return out
}

// Log is firewalld's log so far (warnings and errors).
func (f *Firewalld) Log() string {
	b, _ := os.ReadFile(filepath.Join(f.Dir, "firewalld.log"))
	return string(b)
}

// Stop ends firewalld and its dbus-daemon by PID (the lab does too).
func (f *Firewalld) Stop() { f.proc.kill() }

// Script runs a shell script (fwaudit suggest --format firewalld) with sh
// in the lab host, its firewall-cmd talking to this firewalld; a failure
// fails the test. A script is many firewall-cmd runs: it gets the time
// of several commands.
func (f *Firewalld) Script(script string) string {
	f.lab.T.Helper()
	p := filepath.Join(f.Dir, fmt.Sprintf("script-%d.sh", labSeq.Add(1)))
	if err := os.WriteFile(p, []byte(script), 0o600); err != nil {
		f.lab.T.Fatal(err)
	}
	out, stderr, err := runCmdWithin(5*cmdTimeout, f.lab.Dir, nil, nil, "ip", "netns", "exec", f.lab.Host.Name,
		"env", "DBUS_SYSTEM_BUS_ADDRESS="+f.bus, "sh", p)
	if err != nil {
		f.lab.T.Fatalf("sh %s: %v\n%s%s", p, err, out, stderr)
	}
	return out
}
