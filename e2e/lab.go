//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cmdTimeout bounds every command the harness runs.
const cmdTimeout = 60 * time.Second

// The lab's fixed addressing. Only documentation ranges, only inside the
// lab's namespaces.
var (
	HostV4 = netip.MustParseAddr("192.0.2.1")
	HostV6 = netip.MustParseAddr("2001:db8::1")
	PeerV4 = []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")}
	PeerV6 = []netip.Addr{netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("2001:db8::3")}
)

const (
	hostMAC = "02:00:5e:00:53:01"
	peerMAC = "02:00:5e:00:53:02"
)

// Lab is a host namespace and a peer namespace joined by a veth pair.
type Lab struct {
	T              testing.TB
	Host, Peer     *Netns
	HostIf, PeerIf string // "veth0" (in Host), "veth1" (in Peer)
	Dir            string // a per-lab temporary directory

	mu        sync.Mutex
	procs     []*Proc
	extra     []*Netns // namespaces added with AddBackend or AddLink, deleted on cleanup
	links     int      // links added (AddLink)
	ufwDir    string
	synOnlyOn bool
}

// Netns is one network namespace of a lab.
type Netns struct {
	Name string
	lab  *Lab
}

var labSeq atomic.Int64

// RequireRoot skips t, loudly, unless the tests run as root; it fails t
// when the helper could not be built.
func RequireRoot(t testing.TB) {
	t.Helper()
	if !IsRoot() {
		t.Skip("SKIPPING KERNEL TEST: needs root to create network namespaces; run `sudo make e2e`")
	}
	if BuildErr != nil {
		t.Fatalf("building test binaries: %v", BuildErr)
	}
	if SvcBin == "" {
		t.Fatal("binaries not built: TestMain must call e2e.Setup")
	}
}

var nsUnsafe = regexp.MustCompile(`[^A-Za-z0-9]+`)

// NewLab creates a lab for t and removes it in t.Cleanup.
func NewLab(t testing.TB) *Lab {
	t.Helper()
	RequireRoot(t)
	base := strings.Trim(nsUnsafe.ReplaceAllString(t.Name(), "-"), "-")
	if len(base) > 30 {
		base = base[len(base)-30:]
	}
	id := fmt.Sprintf("%s-%d-%d", base, os.Getpid(), labSeq.Add(1))
	lab := &Lab{
		T:      t,
		Host:   &Netns{Name: "fwa-h-" + id},
		Peer:   &Netns{Name: "fwa-p-" + id},
		HostIf: "veth0",
		PeerIf: "veth1",
		Dir:    t.TempDir(),
	}
	lab.Host.lab, lab.Peer.lab = lab, lab
	t.Cleanup(func() { lab.cleanup(t) })
	for _, ns := range []*Netns{lab.Host, lab.Peer} {
		if _, stderr, err := runCmd("", nil, "ip", "netns", "add", ns.Name); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", ns.Name, err, stderr)
		}
	}
	h, p := lab.Host.Name, lab.Peer.Name
	steps := [][]string{
		// a new namespace takes its IPv4 settings from the machine's
		// (net.core.devconf_inherit_init_net 0): the kernel's default,
		// that 127.0.0.0/8 from outside is a martian, whatever the machine
		// says (kube-proxy sets route_localnet 1)
		{"ip", "netns", "exec", h, "sysctl", "-q", "-w", "net.ipv4.conf.all.route_localnet=0", "net.ipv4.conf.default.route_localnet=0"},
		{"ip", "-n", h, "link", "add", "veth0", "address", hostMAC, "type", "veth",
			"peer", "name", "veth1", "address", peerMAC, "netns", p},
		{"ip", "-n", h, "link", "set", "veth0", "addrgenmode", "none"},
		{"ip", "-n", p, "link", "set", "veth1", "addrgenmode", "none"},
		{"ip", "-n", h, "addr", "add", "192.0.2.1/24", "dev", "veth0"},
		{"ip", "-n", h, "addr", "add", "2001:db8::1/64", "dev", "veth0", "nodad"},
		{"ip", "-n", p, "addr", "add", "192.0.2.2/24", "dev", "veth1"},
		{"ip", "-n", p, "addr", "add", "192.0.2.3/24", "dev", "veth1"},
		{"ip", "-n", p, "addr", "add", "2001:db8::2/64", "dev", "veth1", "nodad"},
		{"ip", "-n", p, "addr", "add", "2001:db8::3/64", "dev", "veth1", "nodad"},
		{"ip", "-n", h, "link", "set", "lo", "up"},
		{"ip", "-n", p, "link", "set", "lo", "up"},
		{"ip", "-n", h, "link", "set", "veth0", "up"},
		{"ip", "-n", p, "link", "set", "veth1", "up"},
	}
	// Permanent neighbours: no ARP or neighbour discovery, so rule
	// counters move only for the probes.
	for _, a := range append(append([]netip.Addr{}, PeerV4...), PeerV6...) {
		steps = append(steps, []string{"ip", "-n", h, "neigh", "replace", a.String(),
			"lladdr", peerMAC, "dev", "veth0", "nud", "permanent"})
	}
	for _, a := range []netip.Addr{HostV4, HostV6} {
		steps = append(steps, []string{"ip", "-n", p, "neigh", "replace", a.String(),
			"lladdr", hostMAC, "dev", "veth1", "nud", "permanent"})
	}
	for _, s := range steps {
		if _, stderr, err := runCmd("", nil, s...); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(s, " "), err, stderr)
		}
	}
	return lab
}

// cleanup kills every started process by PID, then deletes the namespaces.
func (lab *Lab) cleanup(t testing.TB) {
	lab.mu.Lock()
	procs := lab.procs
	lab.procs = nil
	lab.mu.Unlock()
	for _, p := range procs {
		p.kill()
	}
	for _, ns := range append(lab.extra, lab.Peer, lab.Host) {
		if _, stderr, err := runCmd("", nil, "ip", "netns", "del", ns.Name); err != nil &&
			!strings.Contains(stderr, "No such file") {
			t.Errorf("cleanup: ip netns del %s: %v: %s", ns.Name, err, stderr)
		}
	}
}

// Use makes the lab report to t (a subtest's) until the returned function
// restores the previous one: defer lab.Use(t)().
func (lab *Lab) Use(t testing.TB) (restore func()) {
	prev := lab.T
	lab.T = t
	return func() { lab.T = prev }
}

func (lab *Lab) track(p *Proc) {
	lab.mu.Lock()
	defer lab.mu.Unlock()
	lab.procs = append(lab.procs, p)
}

// runCmd runs one command with the harness timeout, stdin from in (nil:
// none), in directory dir ("" for the current one).
func runCmd(dir string, in []byte, args ...string) (stdout, stderr string, err error) {
	return runCmdEnv(dir, nil, in, args...)
}

// runCmdEnv is runCmd with env added to the environment.
func runCmdEnv(dir string, env []string, in []byte, args ...string) (stdout, stderr string, err error) {
	return runCmdWithin(cmdTimeout, dir, env, in, args...)
}

// runCmdWithin is runCmdEnv with its own timeout, for commands that are
// many commands (a script of ufw commands).
func runCmdWithin(timeout time.Duration, dir string, env []string, in []byte, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if in != nil {
		cmd.Stdin = bytes.NewReader(in)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", timeout, err)
	}
	return o.String(), e.String(), err
}

// Exec runs args in the namespace with stdin in (nil: none). It does not
// fail the test.
func (ns *Netns) Exec(in []byte, args ...string) (stdout, stderr string, err error) {
	full := append([]string{"ip", "netns", "exec", ns.Name}, args...)
	return runCmd(ns.lab.Dir, in, full...)
}

// Run runs args in the namespace and returns stdout; an error fails the
// test (call it from the test's goroutine).
func (ns *Netns) Run(args ...string) string {
	ns.lab.T.Helper()
	return ns.RunInput(nil, args...)
}

// RunInput is Run with stdin.
func (ns *Netns) RunInput(in []byte, args ...string) string {
	ns.lab.T.Helper()
	out, stderr, err := ns.Exec(in, args...)
	if err != nil {
		ns.lab.T.Fatalf("in %s: %s: %v\nstderr: %s", ns.Name, strings.Join(args, " "), err, stderr)
	}
	return out
}

// LoadIptables loads an iptables-save style ruleset with iptables-restore
// (the default backend: iptables-nft on Debian 12).
func (lab *Lab) LoadIptables(rules string) {
	lab.T.Helper()
	lab.Host.RunInput([]byte(rules), "iptables-restore")
}

// LoadIp6tables loads rules with ip6tables-restore.
func (lab *Lab) LoadIp6tables(rules string) {
	lab.T.Helper()
	lab.Host.RunInput([]byte(rules), "ip6tables-restore")
}

// LoadIptablesLegacy loads rules with iptables-legacy-restore.
func (lab *Lab) LoadIptablesLegacy(rules string) {
	lab.T.Helper()
	lab.Host.RunInput([]byte(rules), "iptables-legacy-restore")
}

// LoadIp6tablesLegacy loads rules with ip6tables-legacy-restore.
func (lab *Lab) LoadIp6tablesLegacy(rules string) {
	lab.T.Helper()
	lab.Host.RunInput([]byte(rules), "ip6tables-legacy-restore")
}

// LoadNft loads an nft -f file.
func (lab *Lab) LoadNft(rules string) {
	lab.T.Helper()
	lab.Host.RunInput([]byte(rules), "nft", "-f", "-")
}

// Testdata returns the contents of e2e/testdata/name.
func Testdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The host's ufw configuration, which lab.Ufw must never touch nor read.
var ufwHostPaths = []string{"/etc/ufw", "/etc/default/ufw", "/lib/ufw"}

// Ufw runs ufw args in the lab's host namespace, in a private mount
// namespace where /etc/ufw, /etc/default/ufw and /lib/ufw are the lab's
// own pristine copies (pristineUfw), and returns its output. Whatever the
// host has enabled or added (ENABLED=yes, its own rules, another default
// policy) the lab starts from ufw as its package installs it. An error
// fails the test, and so does any change to the host's own files.
func (lab *Lab) Ufw(args ...string) string {
	lab.T.Helper()
	return lab.withUfw(cmdTimeout, "ufw "+strings.Join(args, " "), append([]string{"ufw"}, args...)...)
}

// UfwScript runs a shell script (fwaudit suggest --format ufw) with sh in
// the same private mount namespace as lab.Ufw, and returns its output.
func (lab *Lab) UfwScript(script string) string {
	lab.T.Helper()
	f := filepath.Join(lab.Dir, fmt.Sprintf("ufw-script-%d.sh", labSeq.Add(1)))
	if err := os.WriteFile(f, []byte(script), 0o600); err != nil {
		lab.T.Fatal(err)
	}
	// each ufw command is a process of its own: a script of twenty takes
	// its time on a loaded machine
	return lab.withUfw(5*cmdTimeout, "sh "+f, "sh", f)
}

// withUfw runs argv in the lab's host namespace with the lab's own ufw
// configuration mounted over the host's (see Ufw).
func (lab *Lab) withUfw(timeout time.Duration, what string, argv ...string) string {
	lab.T.Helper()
	before := hashTree(lab.T, ufwHostPaths...)
	if lab.ufwDir == "" {
		lab.ufwDir = filepath.Join(lab.Dir, "ufw")
		pristineUfw(lab.T, lab.ufwDir)
	}
	script := fmt.Sprintf(`set -e
mount --bind %q /etc/ufw
mount --bind %q /etc/default/ufw
mount --bind %q /lib/ufw
exec "$@"`, filepath.Join(lab.ufwDir, "etc-ufw"), filepath.Join(lab.ufwDir, "default-ufw"), filepath.Join(lab.ufwDir, "lib-ufw"))
	cmd := append([]string{"unshare", "-m", "--propagation", "private", "sh", "-c", script, "ufw"}, argv...)
	out, stderr, err := runCmdWithin(timeout, lab.Dir, nil, nil, append([]string{"ip", "netns", "exec", lab.Host.Name}, cmd...)...)
	if after := hashTree(lab.T, ufwHostPaths...); after != before {
		lab.T.Errorf("%s changed the host's %s", what, strings.Join(ufwHostPaths, " or "))
	}
	if err != nil {
		lab.T.Fatalf("%s: %v\n%s%s", what, err, out, stderr)
	}
	return out
}

// ufwDefaults is /etc/default/ufw as the ufw package (0.36) ships it, less
// its comments: the host's copy may say otherwise.
const ufwDefaults = `IPV6=yes
DEFAULT_INPUT_POLICY="DROP"
DEFAULT_OUTPUT_POLICY="ACCEPT"
DEFAULT_FORWARD_POLICY="DROP"
DEFAULT_APPLICATION_POLICY="SKIP"
MANAGE_BUILTINS=no
IPT_SYSCTL=/etc/ufw/sysctl.conf
IPT_MODULES=""
`

// pristineUfw builds in dir what ufw reads, from the package's own
// templates (what its postinst copies to a fresh /etc/ufw), never from
// the host's /etc/ufw: etc-ufw (rules files, ufw.conf with ENABLED=no,
// the init hooks, no application profiles, an empty sysctl.conf, since
// not all of ufw's sysctls are per network namespace), default-ufw and
// lib-ufw. Each package file is checked against dpkg's md5sums first: a
// modified one fails the test rather than leaking the host's state in.
func pristineUfw(t testing.TB, dir string) {
	t.Helper()
	sums := map[string]string{}
	if b, err := os.ReadFile("/var/lib/dpkg/info/ufw.md5sums"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if sum, path, ok := strings.Cut(l, "  "); ok {
				sums["/"+path] = sum
			}
		}
	} else {
		t.Skipf("SKIPPING: ufw's package file list is not readable (%v): cannot build a pristine ufw", err)
	}
	etc, lib := filepath.Join(dir, "etc-ufw"), filepath.Join(dir, "lib-ufw")
	for _, d := range []string{filepath.Join(etc, "applications.d"), lib} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile := func(src, dst string, mode os.FileMode) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("pristine ufw: %v", err)
		}
		if sum := fmt.Sprintf("%x", md5.Sum(b)); sums[src] != sum {
			t.Fatalf("pristine ufw: %s differs from the package (md5 %s, dpkg says %q): reinstall ufw", src, sum, sums[src])
		}
		if err := os.WriteFile(dst, b, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"before.rules", "before6.rules", "after.rules", "after6.rules", "user.rules", "user6.rules"} {
		copyFile("/usr/share/ufw/iptables/"+f, filepath.Join(etc, f), 0o640)
	}
	for _, f := range []string{"before.init", "after.init"} {
		copyFile("/usr/share/ufw/"+f, filepath.Join(etc, f), 0o640)
	}
	copyFile("/usr/share/ufw/ufw.conf", filepath.Join(etc, "ufw.conf"), 0o644)
	for _, f := range []string{"ufw-init", "ufw-init-functions"} {
		copyFile("/lib/ufw/"+f, filepath.Join(lib, f), 0o755)
	}
	for name, text := range map[string]string{
		filepath.Join(etc, "sysctl.conf"): "# emptied by the e2e lab\n",
		filepath.Join(dir, "default-ufw"): ufwDefaults,
	} {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// hashTree hashes the names and contents of every file under paths.
func hashTree(t testing.TB, paths ...string) string {
	h := sha256.New()
	for _, root := range paths {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				fmt.Fprintf(h, "%s: %v\n", p, err)
				return nil
			}
			if d.Type().IsRegular() {
				b, _ := os.ReadFile(p)
				fmt.Fprintf(h, "%s %d\n", p, len(b))
				h.Write(b)
			}
			return nil
		})
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// Backend addresses: a host behind the lab host (a container, say), on a
// link of its own, reached only through the lab host.
var (
	BackendHostV4 = netip.MustParseAddr("198.51.100.1") // the lab host's side, "ctr0"
	BackendV4     = netip.MustParseAddr("198.51.100.2") // the backend's side, "eth0"
)

// AddBackend adds a third namespace linked to the host by a veth pair
// (ctr0 on the host, eth0 in the backend, 198.51.100.0/24), routes the
// backend's replies through the host and turns on IPv4 forwarding in the
// host: what a container behind Docker's bridge sees. It is deleted with
// the lab.
func (lab *Lab) AddBackend() *Netns {
	lab.T.Helper()
	ns := &Netns{Name: strings.Replace(lab.Host.Name, "fwa-h-", "fwa-b-", 1), lab: lab}
	if _, stderr, err := runCmd("", nil, "ip", "netns", "add", ns.Name); err != nil {
		lab.T.Fatalf("ip netns add %s: %v: %s", ns.Name, err, stderr)
	}
	lab.mu.Lock()
	lab.extra = append(lab.extra, ns)
	lab.mu.Unlock()
	h, b := lab.Host.Name, ns.Name
	for _, s := range [][]string{
		{"ip", "-n", h, "link", "add", "ctr0", "type", "veth", "peer", "name", "eth0", "netns", b},
		{"ip", "-n", h, "addr", "add", BackendHostV4.String() + "/24", "dev", "ctr0"},
		{"ip", "-n", b, "addr", "add", BackendV4.String() + "/24", "dev", "eth0"},
		{"ip", "-n", h, "link", "set", "ctr0", "up"},
		{"ip", "-n", b, "link", "set", "lo", "up"},
		{"ip", "-n", b, "link", "set", "eth0", "up"},
		{"ip", "-n", b, "route", "add", "default", "via", BackendHostV4.String()},
		{"ip", "netns", "exec", h, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
	} {
		if _, stderr, err := runCmd("", nil, s...); err != nil {
			lab.T.Fatalf("%s: %v: %s", strings.Join(s, " "), err, stderr)
		}
	}
	return ns
}
