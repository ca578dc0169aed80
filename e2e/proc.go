//go:build linux

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// readyTimeout bounds the wait for a helper's first line.
const readyTimeout = 10 * time.Second

// Proc is a helper process started by a lab.
type Proc struct {
	Name  string   // the daemon name it runs under (/proc/PID/comm)
	PID   int      // ip netns exec execs the helper, so this is its PID
	Specs []string // listen specs, for Start
	// Children are the PIDs of processes sharing the sockets (StartShared).
	Children  []int
	childName string

	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	once  sync.Once
	done  chan struct{}
}

// Start runs the helper as name in ns, listening on specs, and waits for it
// to be ready. A failure to start fails the test.
func (lab *Lab) Start(ns *Netns, name string, specs ...string) *Proc {
	lab.T.Helper()
	return lab.start(ns, name, "", specs)
}

// StartShared is Start with a second process, running as child, that holds
// the same sockets (a pre-forked worker): the sockets then have two owners.
// Its PID is in Proc.Children.
func (lab *Lab) StartShared(ns *Netns, name, child string, specs ...string) *Proc {
	lab.T.Helper()
	if _, err := daemonPath(child); err != nil {
		lab.T.Fatal(err)
	}
	return lab.start(ns, name, child, specs)
}

func (lab *Lab) start(ns *Netns, name, child string, specs []string) *Proc {
	lab.T.Helper()
	path, err := daemonPath(name)
	if err != nil {
		lab.T.Fatal(err)
	}
	args := []string{path, "listen"}
	if child != "" {
		args = append(args, "-share", child)
	}
	p, err := lab.spawn(ns, name, append(args, specs...))
	if err != nil {
		lab.T.Fatalf("starting %s %s: %v", name, strings.Join(specs, " "), err)
	}
	p.Specs, p.childName = specs, child
	for range 4 {
		line, err := p.next(readyTimeout)
		if err != nil {
			lab.T.Fatalf("starting %s %s in %s: %v", name, strings.Join(specs, " "), ns.Name, err)
		}
		if pid, ok := strings.CutPrefix(line, "child "); ok {
			n, _ := strconv.Atoi(pid)
			p.Children = append(p.Children, n)
			continue
		}
		if line != "ready" {
			lab.T.Fatalf("starting %s %s in %s: got %q", name, strings.Join(specs, " "), ns.Name, line)
		}
		break
	}
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.PID))
	if got := strings.TrimSpace(string(comm)); got != name && !(len(name) > 15 && got == name[:15]) {
		lab.T.Fatalf("started %s as pid %d but /proc/%d/comm is %q", name, p.PID, p.PID, got)
	}
	return p
}

// spawn starts args in ns with piped stdin and stdout and tracks it for
// cleanup.
func (lab *Lab) spawn(ns *Netns, name string, args []string) (*Proc, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...)
	cmd.Dir = lab.Dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Name: name, PID: cmd.Process.Pid, cmd: cmd, stdin: stdin,
		lines: make(chan string, 16), done: make(chan struct{})}
	lab.track(p)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		cmd.Wait()
		if s := strings.TrimSpace(stderr.String()); s != "" {
			p.lines <- "stderr: " + s
		}
		close(p.lines)
		close(p.done)
	}()
	return p, nil
}

// next returns the process's next stdout line.
func (p *Proc) next(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", fmt.Errorf("%s (pid %d) exited", p.Name, p.PID)
		}
		return l, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("%s (pid %d): no output within %v", p.Name, p.PID, timeout)
	}
}

// Stop ends the process (closes its stdin, then kills it by PID).
func (p *Proc) Stop() { p.kill() }

func (p *Proc) kill() {
	p.once.Do(func() {
		p.stdin.Close()
		select {
		case <-p.done:
			if len(p.Children) == 0 {
				return
			}
		case <-time.After(500 * time.Millisecond):
		}
		syscall.Kill(p.PID, syscall.SIGKILL)
		for _, c := range p.Children {
			// Only if it is still ours: the PID may be gone and reused.
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c))
			if strings.TrimSpace(string(comm)) == p.childName {
				syscall.Kill(c, syscall.SIGKILL)
			}
		}
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	})
}

// Held is one TCP connection kept open from the peer.
type Held struct {
	p   *Proc
	lab *Lab
	OK  bool // whether the connection was established
}

// Hold opens a TCP connection from src (in the peer) to dst:port and keeps
// it open until Close or the end of the test.
func (lab *Lab) Hold(src, dst string, port uint16) *Held {
	lab.T.Helper()
	p, err := lab.spawn(lab.Peer, "svc", []string{SvcBin, "hold", src, dst, fmt.Sprint(port)})
	if err != nil {
		lab.T.Fatalf("hold %s -> %s:%d: %v", src, dst, port, err)
	}
	line, err := p.next(readyTimeout)
	if err != nil {
		lab.T.Fatalf("hold %s -> %s:%d: %v", src, dst, port, err)
	}
	return &Held{p: p, lab: lab, OK: line == "ok"}
}

// Alive sends one byte over the held connection and reports whether its
// echo came back within a second.
func (h *Held) Alive() bool {
	if !h.OK {
		return false
	}
	if _, err := io.WriteString(h.p.stdin, "check\n"); err != nil {
		return false
	}
	line, err := h.p.next(3 * time.Second)
	return err == nil && line == "alive"
}

// Close closes the connection and ends the helper.
func (h *Held) Close() { h.p.kill() }
