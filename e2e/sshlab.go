//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An SSHLab is a small fleet: a controller network namespace joined by a
// bridge to hosts, each a network namespace running a real sshd. Each host
// also has its own mount, UTS and PID namespaces:
//
//   - /usr/local and /var are overlays whose upper layers are the host's own
//     directories (Dir/usr-local.up, Dir/var.up), so what a host installs
//     there is its own and visible to the test; /run and /root are private
//     tmpfs mounts (sshd's privilege separation directory, root's
//     authorized_keys and Ansible's remote temporary files);
//   - its hostname is its own;
//   - its /proc shows only its own processes, so a program run over SSH
//     (fwaudit) finds the owners of the host's sockets among the host's
//     processes only, with the PIDs the host itself sees.
//
// The hosts' init is a shell that reads the test's pipe: when the test
// closes it (or dies), the init exits, and the kernel kills every process
// of the host's PID namespace with it.

// sshFleetNet is the fleet's link: the controller is .1, host i is .11+i.
// A documentation range, used only inside the lab's namespaces.
var sshFleetNet = netip.MustParsePrefix("203.0.113.0/24")

const (
	sshReadyTimeout = 30 * time.Second
	sshStopTimeout  = 5 * time.Second
)

// SSHHostSpec describes one host of an SSHLab.
type SSHHostSpec struct {
	Name      string     // inventory name
	Hostname  string     // hostname inside the host (its UTS namespace)
	Listeners []Listener // started before sshd, inside the host
}

// Listener is one svc helper started in a host under a daemon name.
type Listener struct {
	Daemon string   // one of DaemonNames
	Specs  []string // svc listen specs
}

// SSHHost is one running host of an SSHLab.
type SSHHost struct {
	SSHHostSpec
	Netns string
	Addr  netip.Addr
	Dir   string // the host's files: keys, sshd_config, overlay layers, logs
	// PID is the global PID of the unshare process that holds the host's
	// mount and UTS namespaces (its /proc/PID/root is the host's view of
	// the file system) and whose child is the init of its PID namespace.
	PID int
	// LocalPIDs maps a daemon name ("sshd", "nginx", ...) to the PIDs the
	// host's own /proc shows for it.
	LocalPIDs map[string][]int
	// HostKey is the public host key line (type and key).
	HostKey string

	pidNS string // /proc/PID/ns/pid_for_children of PID: the host's PID namespace
	cmd   *exec.Cmd
	stdin interface{ Close() error }
	lines chan string
	done  chan struct{}
}

// SSHLab is a controller namespace and its hosts.
type SSHLab struct {
	T          testing.TB
	Dir        string
	Ctl        string // the controller's network namespace
	CtlAddr    netip.Addr
	Hosts      []*SSHHost
	Key        string // the controller's private key (ed25519, no passphrase)
	KnownHosts string // the hosts' keys by address
	SSHConfig  string // ssh -F file: the key, known_hosts, strict checking, no connection sharing
}

// NewSSHLab starts a host per spec and removes everything in t.Cleanup.
func NewSSHLab(t testing.TB, specs ...SSHHostSpec) *SSHLab {
	t.Helper()
	RequireRoot(t)
	for _, tool := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen", "unshare", "hostname"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (scripts/test-deps.sh installs it): %v", tool, err)
		}
	}
	seq := labSeq.Add(1)
	lab := &SSHLab{
		T:       t,
		Dir:     t.TempDir(),
		Ctl:     fmt.Sprintf("fwa-c-%d-%d", os.Getpid(), seq),
		CtlAddr: sshFleetNet.Addr().Next(),
	}
	t.Cleanup(func() { lab.cleanup(t) })
	run := func(args ...string) {
		t.Helper()
		if _, stderr, err := runCmd("", nil, args...); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, stderr)
		}
	}
	run("ip", "netns", "add", lab.Ctl)
	bits := sshFleetNet.Bits()
	for _, s := range [][]string{
		{"ip", "-n", lab.Ctl, "link", "set", "lo", "up"},
		{"ip", "-n", lab.Ctl, "link", "add", "br0", "type", "bridge"},
		{"ip", "-n", lab.Ctl, "addr", "add", fmt.Sprintf("%s/%d", lab.CtlAddr, bits), "dev", "br0"},
		{"ip", "-n", lab.Ctl, "link", "set", "br0", "up"},
	} {
		run(s...)
	}

	lab.Key = filepath.Join(lab.Dir, "id_ed25519")
	run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fwaudit-e2e-controller", "-f", lab.Key)
	pub, err := os.ReadFile(lab.Key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	// Only the controller's address may use the key.
	authorized := fmt.Sprintf("from=%q %s", lab.CtlAddr.String(), pub)

	var known strings.Builder
	for i, spec := range specs {
		h := &SSHHost{
			SSHHostSpec: spec,
			Netns:       fmt.Sprintf("fwa-s%d-%d-%d", i, os.Getpid(), seq),
			Addr:        hostAddr(i),
			Dir:         filepath.Join(lab.Dir, "host-"+spec.Name),
			LocalPIDs:   map[string][]int{},
		}
		lab.Hosts = append(lab.Hosts, h)
		if err := os.MkdirAll(h.Dir, 0o700); err != nil {
			t.Fatal(err)
		}
		veth := fmt.Sprintf("vh%d", i)
		run("ip", "netns", "add", h.Netns)
		for _, s := range [][]string{
			{"ip", "-n", lab.Ctl, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h.Netns},
			{"ip", "-n", lab.Ctl, "link", "set", veth, "master", "br0"},
			{"ip", "-n", lab.Ctl, "link", "set", veth, "up"},
			{"ip", "-n", h.Netns, "link", "set", "lo", "up"},
			{"ip", "-n", h.Netns, "addr", "add", fmt.Sprintf("%s/%d", h.Addr, bits), "dev", "eth0"},
			{"ip", "-n", h.Netns, "link", "set", "eth0", "up"},
		} {
			run(s...)
		}
		key := filepath.Join(h.Dir, "ssh_host_ed25519_key")
		run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fwaudit-e2e-"+spec.Name, "-f", key)
		hk, err := os.ReadFile(key + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(hk))
		h.HostKey = f[0] + " " + f[1]
		fmt.Fprintf(&known, "%s %s\n", h.Addr, h.HostKey)
		if err := os.WriteFile(filepath.Join(h.Dir, "authorized_keys"), []byte(authorized), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(h.Dir, "sshd_config"), []byte(sshdConfig(key)), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	lab.KnownHosts = filepath.Join(lab.Dir, "known_hosts")
	if err := os.WriteFile(lab.KnownHosts, []byte(known.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	lab.SSHConfig = filepath.Join(lab.Dir, "ssh_config")
	if err := os.WriteFile(lab.SSHConfig, []byte(sshClientConfig(lab.Key, lab.KnownHosts)), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, h := range lab.Hosts {
		if err := lab.start(h); err != nil {
			t.Fatalf("starting host %s: %v\nsshd log:\n%s", h.Name, err, h.Log())
		}
	}
	return lab
}

func hostAddr(i int) netip.Addr {
	a := sshFleetNet.Addr().As4()
	a[3] = byte(11 + i)
	return netip.AddrFrom4(a)
}

// sshdConfig is a host's whole sshd configuration: its own host key, key
// login only, nothing read from /etc/ssh.
func sshdConfig(hostKey string) string {
	return fmt.Sprintf(`# sshd of an e2e fleet host
Port 22
ListenAddress 0.0.0.0
ListenAddress ::
HostKey %s
PidFile none
PermitRootLogin prohibit-password
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
UsePAM no
AuthorizedKeysFile .ssh/authorized_keys
StrictModes yes
UseDNS no
PrintMotd no
X11Forwarding no
AllowTcpForwarding no
MaxStartups 50:30:100
LogLevel VERBOSE
Subsystem sftp internal-sftp
`, hostKey)
}

// sshClientConfig is the controller's ssh -F file: this lab's key and
// known_hosts only, strict host key checking, no connection sharing and no
// control socket.
func sshClientConfig(key, known string) string {
	return fmt.Sprintf(`Host *
  User root
  IdentityFile %s
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile %s
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  CheckHostIP no
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  BatchMode yes
  ControlMaster no
  ControlPath none
  ConnectTimeout 10
  ServerAliveInterval 5
  ServerAliveCountMax 3
`, key, known)
}

// shq quotes s for sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// initScript is the host's init, run by sh as PID 1 of the host's PID
// namespace. Every wait in it is bounded.
func (h *SSHHost) initScript() (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `set -eu
exec 3<&0
d=%s
hostname %s
for m in usr-local:/usr/local var:/var; do
	n=${m%%%%:*} p=${m#*:}
	mkdir -p "$d/$n.up" "$d/$n.work"
	mount -t overlay "fwa-$n" -o "lowerdir=$p,upperdir=$d/$n.up,workdir=$d/$n.work" "$p"
done
# A fresh host: whatever the machine has there is hidden (the whiteouts are
# in this host's own layer).
rm -f /usr/local/bin/fwaudit
rm -rf /var/lib/fwaudit
mount -t tmpfs -o mode=0755 fwa-run /run
mkdir -m 0755 /run/sshd
mount -t tmpfs -o mode=0700 fwa-root /root
mkdir -m 0700 /root/.ssh
cp "$d/authorized_keys" /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
waitfor() {
	i=0
	until grep -q -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 200 ]; then
			echo "error: no \"$2\" in $1 within 20s: $(tr '\n' ' ' < "$1" 2>/dev/null)"
			exit 1
		fi
		sleep 0.1
	done
}
`, shq(h.Dir), shq(h.Hostname))
	for i, l := range h.Listeners {
		bin, err := daemonPath(l.Daemon)
		if err != nil {
			return "", err
		}
		out := fmt.Sprintf("$d/svc-%d.out", i)
		quoted := make([]string, len(l.Specs))
		for j, s := range l.Specs {
			quoted[j] = shq(s)
		}
		fmt.Fprintf(&b, "%s listen %s <&3 >\"%s\" 2>&1 &\necho \"pid %s $!\"\nwaitfor \"%s\" '^ready$'\n",
			shq(bin), strings.Join(quoted, " "), out, l.Daemon, out)
	}
	b.WriteString(`/usr/sbin/sshd -D -e -f "$d/sshd_config" </dev/null >/dev/null 2>"$d/sshd.log" &
echo "pid sshd $!"
waitfor "$d/sshd.log" 'Server listening on 0.0.0.0 port 22'
waitfor "$d/sshd.log" 'Server listening on :: port 22'
echo ready
# Live until the test closes the pipe; then the whole PID namespace dies.
cat <&3 >/dev/null || true
`)
	return b.String(), nil
}

// start runs the host's init and waits for it to be ready.
func (lab *SSHLab) start(h *SSHHost) error {
	script, err := h.initScript()
	if err != nil {
		return err
	}
	h.cmd = exec.Command("ip", "netns", "exec", h.Netns,
		"unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child=SIGKILL",
		"--mount-proc", "--propagation", "private", "sh", "-c", script)
	stdin, err := h.cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	h.cmd.Stderr = &stderr
	if err := h.cmd.Start(); err != nil {
		return err
	}
	h.stdin, h.PID = stdin, h.cmd.Process.Pid
	h.lines, h.done = make(chan string, 64), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		h.cmd.Wait()
		if s := strings.TrimSpace(stderr.String()); s != "" {
			h.lines <- "stderr: " + s
		}
		close(h.lines)
		close(h.done)
	}()
	deadline := time.After(sshReadyTimeout)
	for {
		select {
		case line, ok := <-h.lines:
			if !ok {
				return errors.New("the host's init exited before it was ready")
			}
			if rest, ok := strings.CutPrefix(line, "pid "); ok {
				name, pid, _ := strings.Cut(rest, " ")
				n, err := strconv.Atoi(pid)
				if err != nil {
					return fmt.Errorf("init said %q", line)
				}
				h.LocalPIDs[name] = append(h.LocalPIDs[name], n)
				continue
			}
			if line != "ready" {
				return fmt.Errorf("init said %q", line)
			}
			ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid_for_children", h.PID))
			if err != nil {
				return fmt.Errorf("reading the host's PID namespace: %w", err)
			}
			own, err := os.Readlink("/proc/self/ns/pid")
			if err != nil {
				return fmt.Errorf("reading the test's PID namespace: %w", err)
			}
			if ns == own {
				return fmt.Errorf("the host shares the test's PID namespace (%s)", ns)
			}
			h.pidNS = ns
			return nil
		case <-deadline:
			return fmt.Errorf("not ready within %v", sshReadyTimeout)
		}
	}
}

// Log returns the host's sshd log.
func (h *SSHHost) Log() string {
	b, _ := os.ReadFile(filepath.Join(h.Dir, "sshd.log"))
	return string(b)
}

// Root is the path, from the test's side, of file p as the host sees it
// (through /proc/PID/root of a process in its mount namespace).
func (h *SSHHost) Root(p string) string {
	return filepath.Join(fmt.Sprintf("/proc/%d/root", h.PID), p)
}

// Upper is the path of file p of the host's /usr/local or /var overlay in
// its own upper layer ("" when p is under neither).
func (h *SSHHost) Upper(p string) string {
	for _, m := range []struct{ dir, name string }{{"/usr/local", "usr-local"}, {"/var", "var"}} {
		if rest, ok := strings.CutPrefix(p, m.dir+"/"); ok {
			return filepath.Join(h.Dir, m.name+".up", rest)
		}
	}
	return ""
}

// Load runs a ruleset loader (iptables-restore, ip6tables-restore or nft
// -f -) in the host's network namespace with rules on stdin.
func (lab *SSHLab) Load(h *SSHHost, rules string, loader ...string) {
	lab.T.Helper()
	args := append([]string{"ip", "netns", "exec", h.Netns}, loader...)
	if _, stderr, err := runCmd("", []byte(rules), args...); err != nil {
		lab.T.Fatalf("loading rules into %s with %s: %v: %s", h.Name, strings.Join(loader, " "), err, stderr)
	}
}

// CtlRun runs args in the controller's namespace with env added to the
// test's environment, in dir, bounded by timeout. It returns the exit code
// and fails the test only when the command cannot run or times out.
func (lab *SSHLab) CtlRun(timeout time.Duration, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	lab.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", lab.Ctl}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	// ansible-playbook starts ssh processes: on a timeout, kill the whole
	// process group, by its id.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		lab.T.Fatalf("%s: timed out after %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), timeout, o.String(), e.String())
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		lab.T.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}

// SSH runs a command on h over ssh from the controller with the lab's
// client configuration plus opts (-o ...).
func (lab *SSHLab) SSH(h *SSHHost, opts []string, command string) (stdout, stderr string, code int) {
	lab.T.Helper()
	args := append([]string{"ssh", "-F", lab.SSHConfig}, opts...)
	args = append(args, h.Addr.String(), command)
	return lab.CtlRun(cmdTimeout, lab.Dir, nil, args...)
}

// cleanup stops every host (closing its pipe ends its PID namespace), kills
// by PID whatever is left in a host's PID namespace, checks that no mount
// escaped into the test's namespace, and deletes the namespaces.
func (lab *SSHLab) cleanup(t testing.TB) {
	for _, h := range lab.Hosts {
		if h.cmd == nil || h.cmd.Process == nil {
			continue
		}
		h.stdin.Close()
		select {
		case <-h.done:
		case <-time.After(sshStopTimeout):
			syscall.Kill(h.PID, syscall.SIGKILL) // --kill-child then kills the host's init
			select {
			case <-h.done:
			case <-time.After(sshStopTimeout):
				t.Errorf("cleanup: host %s (unshare pid %d) did not exit", h.Name, h.PID)
			}
		}
		if h.pidNS != "" {
			for _, pid := range pidsInHostNS(h.pidNS) {
				t.Errorf("cleanup: pid %d of host %s outlived its PID namespace's init; killing it", pid, h.Name)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(mi), lab.Dir) {
		t.Errorf("cleanup: a mount under %s is visible in the test's own mount namespace", lab.Dir)
	}
	for _, h := range lab.Hosts {
		lab.delNetns(t, h.Netns)
	}
	lab.delNetns(t, lab.Ctl)
}

func (lab *SSHLab) delNetns(t testing.TB, name string) {
	if _, stderr, err := runCmd("", nil, "ip", "netns", "del", name); err != nil &&
		!strings.Contains(stderr, "No such file") {
		t.Errorf("cleanup: ip netns del %s: %v: %s", name, err, stderr)
	}
}

// pidsInHostNS lists the processes whose PID namespace is ns (a
// /proc/PID/ns/pid link target). It lists none when ns is the test's own
// PID namespace, where every process of the machine is.
func pidsInHostNS(ns string) []int {
	if own, err := os.Readlink("/proc/self/ns/pid"); err != nil || own == ns {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && l == ns {
			out = append(out, pid)
		}
	}
	return out
}
