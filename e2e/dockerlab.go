//go:build linux

package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A real Docker daemon (Debian's docker.io) inside a lab's host namespace.
//
// dockerd runs in the lab host's network namespace and in a private mount
// namespace of its own, where /run and /etc/docker are empty tmpfs and
// /sys is the namespace's own sysfs (the cgroup hierarchies are bound back
// in). Its data root, exec root, pidfile and socket are in a
// temporary directory; its storage driver is vfs; its containers sit under
// a cgroup parent named for the test. The image is a static Go binary
// (e2e/internal/ctrsrv) imported from a tar: no registry is asked for
// anything. The iptables backend Docker uses is chosen by PATH: a
// directory of iptables, ip6tables, *-save and *-restore links to
// xtables-nft-multi or xtables-legacy-multi comes first.
//
// Cleanup removes the containers, stops dockerd (SIGTERM, then SIGKILL),
// kills by PID whatever is left in its mount namespace or its cgroups,
// removes the cgroups and the directory. Every wait is bounded.

// Addresses of the Docker lab: the default bridge and its IPv6 subnet, and
// a second host address for a port published on one address.
var (
	DockerBridgeV4 = netip.MustParsePrefix("172.17.0.0/16")
	DockerBridgeV6 = netip.MustParsePrefix("fd00:db8:1::/64")
	HostV4Extra    = netip.MustParseAddr("192.0.2.10")
)

// dockerImage is the tag the test image is imported as.
const dockerImage = "fwaudit-ctr:e2e"

const (
	dockerStartTimeout = 90 * time.Second
	dockerStopTimeout  = 20 * time.Second
)

// Docker is one running dockerd.
type Docker struct {
	lab     *Lab
	Backend string // "nft" or "legacy": the iptables Docker runs
	Dir     string // its private directory
	sock    string
	cgroup  string // the containers' cgroup parent (a single path element)
	cli     string // the docker client
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	mntNS   string // dockerd's mount namespace (readlink /proc/PID/ns/mnt)

	mu      sync.Mutex
	ctrPIDs []int
}

var (
	ctrsrvOnce sync.Once
	ctrsrvBin  string
	ctrsrvErr  error
)

// buildCtrsrv builds the static container binary once per test run.
func buildCtrsrv() (string, error) {
	ctrsrvOnce.Do(func() {
		if binDir == "" {
			ctrsrvErr = fmt.Errorf("binaries not built: TestMain must call e2e.Setup")
			return
		}
		root, err := moduleRoot()
		if err != nil {
			ctrsrvErr = err
			return
		}
		out := filepath.Join(binDir, "ctrsrv")
		cmd := exec.Command(goTool(), "build", "-o", out, "./e2e/internal/ctrsrv")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			ctrsrvErr = fmt.Errorf("go build ./e2e/internal/ctrsrv: %v\n%s", err, b)
			return
		}
		ctrsrvBin = out
	})
	return ctrsrvBin, ctrsrvErr
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// dockerTool finds one of docker.io's programs: a missing one fails t (the
// test never skips for want of Docker as root; scripts/test-deps.sh
// installs it).
func dockerTool(t testing.TB, name string, prefer ...string) string {
	t.Helper()
	for _, p := range prefer {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("DOCKER TEST CANNOT RUN: %s not found (install docker.io: scripts/test-deps.sh): %v", name, err)
	}
	return p
}

// StartDocker starts dockerd in lab's host namespace with the iptables
// backend ("nft" or "legacy"), imports the test image and returns when
// the daemon answers. If dockerd cannot start, t fails with its log.
func StartDocker(lab *Lab, backend string) *Docker {
	t := lab.T
	t.Helper()
	RequireRoot(t)
	dockerd := dockerTool(t, "dockerd")
	for _, n := range []string{"containerd", "runc", "containerd-shim-runc-v2", "docker-proxy", "nsenter", "unshare"} {
		dockerTool(t, n)
	}
	multi := map[string]string{"nft": "xtables-nft-multi", "legacy": "xtables-legacy-multi"}[backend]
	if multi == "" {
		t.Fatalf("StartDocker: backend %q: want nft or legacy", backend)
	}
	multiPath := dockerTool(t, multi)
	srv, err := buildCtrsrv()
	if err != nil {
		t.Fatalf("building the container image's binary: %v", err)
	}
	// A short directory: the daemon's unix socket path must fit 108 bytes.
	dir, err := os.MkdirTemp("", "fwa-dk-")
	if err != nil {
		t.Fatal(err)
	}
	d := &Docker{
		lab: lab, Backend: backend, Dir: dir,
		sock:    filepath.Join(dir, "docker.sock"),
		cgroup:  fmt.Sprintf("fwaudit-e2e-%d-%d", os.Getpid(), labSeq.Add(1)),
		cli:     dockerTool(t, "docker", "/usr/bin/docker"),
		logPath: filepath.Join(dir, "dockerd.log"),
		done:    make(chan struct{}),
	}
	t.Cleanup(func() { d.cleanup(t) })

	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"} {
		if err := os.Symlink(multiPath, filepath.Join(bin, n)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := map[string]any{
		"bip":            "172.17.0.1/16",
		"ipv6":           true,
		"fixed-cidr-v6":  DockerBridgeV6.String(),
		"experimental":   true, // ip6tables needs it in 20.10
		"ip6tables":      true,
		"iptables":       true,
		"storage-driver": "vfs",
		"cgroup-parent":  "/" + d.cgroup,
		"exec-opts":      []string{"native.cgroupdriver=cgroupfs"},
		"log-level":      "info",
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `set -eu
D=$1
mkdir -p "$D/cg"
mount --rbind /sys/fs/cgroup "$D/cg"
mount -t sysfs sysfs /sys
mount --rbind "$D/cg" /sys/fs/cgroup
umount -l "$D/cg"
mount -t tmpfs tmpfs /run
# dockerd writes its trust key to /etc/docker (docker.io ships the directory)
if ! [ -d /etc/docker ]; then echo "no /etc/docker to hide dockerd's key.json in" >&2; exit 1; fi
mount -t tmpfs tmpfs /etc/docker
export PATH="$D/bin:$PATH"
exec "$2" --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/docker.pid" \
	-H "unix://$D/docker.sock" --config-file "$D/daemon.json"
`
	logf, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	// nsenter and unshare exec (no fork): the PID started is dockerd's.
	d.cmd = exec.Command("nsenter", "--net=/run/netns/"+lab.Host.Name, "--",
		"unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir, dockerd)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting dockerd: %v", err)
	}
	go func() {
		d.cmd.Wait()
		logf.Close()
		close(d.done)
	}()

	deadline := time.Now().Add(dockerStartTimeout)
	for {
		_, _, err := d.exec(nil, "version", "--format", "{{.Server.Version}}")
		if err == nil {
			break
		}
		select {
		case <-d.done:
			t.Fatalf("DOCKERD EXITED before answering (backend %s): %v\n--- dockerd log ---\n%s", backend, d.cmd.ProcessState, d.logTail(80))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("DOCKERD DID NOT ANSWER within %v (backend %s): %v\n--- dockerd log ---\n%s", dockerStartTimeout, backend, err, d.logTail(80))
		}
		time.Sleep(250 * time.Millisecond)
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", d.cmd.Process.Pid))
	self, err2 := os.Readlink("/proc/self/ns/mnt")
	if err != nil || err2 != nil || ns == self {
		t.Fatalf("dockerd (pid %d) is not in a private mount namespace: %q (ours %q): %v %v", d.cmd.Process.Pid, ns, self, err, err2)
	}
	d.mntNS = ns

	// The image: the one static binary, at /ctrsrv.
	var img bytes.Buffer
	tw := tar.NewWriter(&img)
	content, err := os.ReadFile(srv)
	if err != nil {
		t.Fatal(err)
	}
	tw.WriteHeader(&tar.Header{Name: "ctrsrv", Mode: 0o755, Size: int64(len(content)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg})
	tw.Write(content)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	d.RunInput(img.Bytes(), "import", "-", dockerImage)
	return d
}

// exec runs the docker client against this daemon.
func (d *Docker) exec(in []byte, args ...string) (stdout, stderr string, err error) {
	return runCmdEnv("", []string{"DOCKER_CONFIG=" + filepath.Join(d.Dir, "cli")}, in, append([]string{d.cli, "-H", "unix://" + d.sock}, args...)...)
}

// Run runs `docker args...` and returns its stdout; an error fails the
// test, with the end of dockerd's log.
func (d *Docker) Run(args ...string) string {
	d.lab.T.Helper()
	return d.RunInput(nil, args...)
}

// RunInput is Run with stdin.
func (d *Docker) RunInput(in []byte, args ...string) string {
	d.lab.T.Helper()
	out, stderr, err := d.exec(in, args...)
	if err != nil {
		d.lab.T.Fatalf("docker %s: %v\nstderr: %s\n--- dockerd log ---\n%s", strings.Join(args, " "), err, stderr, d.logTail(30))
	}
	return out
}

// Container is one running container.
type Container struct {
	Name   string
	ID     string
	PID    int
	V4, V6 netip.Addr
}

// RunContainer starts the test image detached with docker run flags and
// the ctrsrv arguments, and waits until it is running.
func (d *Docker) RunContainer(name string, flags []string, ctrArgs ...string) Container {
	d.lab.T.Helper()
	args := append([]string{"run", "-d", "--name", name}, flags...)
	args = append(append(args, dockerImage, "/ctrsrv"), ctrArgs...)
	id := strings.TrimSpace(d.Run(args...))
	out := d.Run("inspect", "--format",
		"{{.State.Pid}} {{.NetworkSettings.IPAddress}} {{.NetworkSettings.GlobalIPv6Address}} {{.State.Running}}", id)
	f := strings.Fields(out)
	if len(f) != 4 || f[3] != "true" {
		d.lab.T.Fatalf("container %s: inspect says %q\nlogs: %s", name, out, d.Run("logs", id))
	}
	pid, _ := strconv.Atoi(f[0])
	c := Container{Name: name, ID: id, PID: pid}
	c.V4, _ = netip.ParseAddr(f[1])
	c.V6, _ = netip.ParseAddr(f[2])
	if pid <= 0 || !c.V4.IsValid() {
		d.lab.T.Fatalf("container %s: inspect says %q", name, out)
	}
	d.mu.Lock()
	d.ctrPIDs = append(d.ctrPIDs, pid)
	d.mu.Unlock()
	// ctrsrv prints one line once it listens.
	for i := 0; ; i++ {
		if strings.Contains(d.Run("logs", id), "ctrsrv ready") {
			break
		}
		if i == 40 {
			d.lab.T.Fatalf("container %s never said ready", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c
}

// ProbeFromContainer runs the probes from inside c's network namespace,
// retrying once those that timed out.
func (d *Docker) ProbeFromContainer(c Container, reqs []ProbeReq) []ProbeResult {
	d.lab.T.Helper()
	once := func(reqs []ProbeReq, timeout time.Duration) []ProbeResult {
		args := []string{"nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", c.PID), "--", SvcBin, "probe", "-timeout", timeout.String()}
		for _, r := range reqs {
			args = append(args, ProbeSpec{ProbeReq: r}.arg())
		}
		out, stderr, err := runCmd(d.lab.Dir, nil, args...)
		if err != nil {
			d.lab.T.Fatalf("probe from container %s: %v: %s", c.Name, err, stderr)
		}
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != len(reqs) {
			d.lab.T.Fatalf("probe from container %s: %d requests, %d answers:\n%s", c.Name, len(reqs), len(lines), out)
		}
		res := make([]ProbeResult, len(reqs))
		for i, l := range lines {
			res[i] = ProbeResult{OK: l == "ok", Detail: l}
		}
		return res
	}
	res := once(reqs, ProbeTimeout)
	var again []int
	for i, r := range res {
		if r.Detail == "fail timeout" {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		retry := make([]ProbeReq, len(again))
		for j, i := range again {
			retry[j] = reqs[i]
		}
		for j, r := range once(retry, RetryTimeout) {
			res[again[j]] = r
		}
	}
	return res
}

// logTail is the last n lines of dockerd's log.
func (d *Docker) logTail(n int) string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (d *Docker) running() bool {
	select {
	case <-d.done:
		return false
	default:
		return d.cmd != nil && d.cmd.Process != nil
	}
}

// cleanup removes everything StartDocker made, even after a failure.
func (d *Docker) cleanup(t testing.TB) {
	if d.running() {
		if out, _, err := d.exec(nil, "ps", "-aq"); err == nil && strings.TrimSpace(out) != "" {
			if _, stderr, err := d.exec(nil, append([]string{"rm", "-f"}, strings.Fields(out)...)...); err != nil {
				t.Logf("cleanup: docker rm -f: %v: %s", err, stderr)
			}
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(dockerStopTimeout):
			t.Logf("cleanup: dockerd (pid %d) did not stop within %v: killing it", d.cmd.Process.Pid, dockerStopTimeout)
			d.cmd.Process.Kill()
			select {
			case <-d.done:
			case <-time.After(5 * time.Second):
				t.Errorf("cleanup: dockerd (pid %d) survived SIGKILL", d.cmd.Process.Pid)
			}
		}
	}
	// Whatever is left (containerd, shims, docker-proxy, container
	// processes): by PID, found by mount namespace, cgroup or record.
	for i := 0; i < 50; i++ {
		left := d.leftovers()
		if len(left) == 0 {
			break
		}
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if i == 49 {
			t.Errorf("cleanup: processes of the Docker lab survive: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if d.cgroup != "" {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + d.cgroup)
		dirs2, _ := filepath.Glob("/sys/fs/cgroup/" + d.cgroup)
		for _, root := range append(dirs, dirs2...) {
			var all []string
			filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
				if err == nil && e.IsDir() {
					all = append(all, p)
				}
				return nil
			})
			for i := len(all) - 1; i >= 0; i-- {
				if err := os.Remove(all[i]); err != nil && !os.IsNotExist(err) {
					t.Errorf("cleanup: removing cgroup %s: %v", all[i], err)
				}
			}
		}
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		t.Errorf("cleanup: removing %s: %v", d.Dir, err)
	}
}

// leftovers lists the PIDs still running in dockerd's mount namespace,
// in the containers' cgroups, or recorded as a container's.
func (d *Docker) leftovers() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	recorded := map[int]bool{}
	d.mu.Lock()
	for _, p := range d.ctrPIDs {
		recorded[p] = true
	}
	d.mu.Unlock()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || pid == 1 {
			continue
		}
		mine := false
		if d.mntNS != "" {
			if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && ns == d.mntNS {
				mine = true
			}
		}
		if cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid)); err == nil && strings.Contains(string(cg), "/"+d.cgroup+"/") {
			mine = true
		}
		if recorded[pid] {
			if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "ctrsrv" {
				mine = true
			}
		}
		if mine {
			out = append(out, pid)
		}
	}
	return out
}
