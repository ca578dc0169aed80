// Command loadgen holds a socket load open for scripts/bench-scan.sh: N TCP
// and M UDP listeners on loopback (127.0.0.1 and ::1 alternately, ports
// from -base up) and C established loopback TCP connections, spread over K
// processes that own them. The parent re-executes itself as the K children
// (so every socket belongs to a real, separate process), prints "ready"
// once all of them are up, and then waits until it is killed; children die
// with it (PR_SET_PDEATHSIG). Every loop is bounded by the counts given.
//
// With -mixed the listeners take six kinds of address in turn (127.0.0.1,
// ::1, 0.0.0.0, [::] dual-stack, [::] with IPV6_V6ONLY, 127.0.0.1 bound
// to device lo), the children rename themselves after known and unknown
// programs (sshd, nginx, prometheus-node cut at 15 bytes, docker-proxy,
// systemd, loadgen), and each child also holds one UDP socket on a port
// the kernel picks: a client socket. That load is for comparing the
// output of two builds, not for timing.
//
// It is meant to run inside a throwaway network namespace:
//
//	ip netns exec NS loadgen -tcp 20 -udp 4 -conns 200 -procs 50
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

type load struct {
	tcp, udp, conns, procs, base int
	mixed                        bool
}

func main() {
	var l load
	child := flag.Int("child", -1, "internal: run as child number N")
	flag.IntVar(&l.tcp, "tcp", 20, "TCP listeners")
	flag.IntVar(&l.udp, "udp", 4, "UDP listeners")
	flag.IntVar(&l.conns, "conns", 200, "established loopback TCP connections")
	flag.IntVar(&l.procs, "procs", 10, "processes owning the sockets")
	flag.IntVar(&l.base, "base", 10000, "first port")
	flag.BoolVar(&l.mixed, "mixed", false, "addresses, devices, program names and client sockets of every kind")
	timeout := flag.Duration("timeout", 120*time.Second, "give up when the children are not ready by then")
	flag.Parse()
	if l.procs < 1 || l.tcp < 0 || l.udp < 0 || l.conns < 0 || l.base+l.tcp+l.udp > 32000 {
		fmt.Fprintln(os.Stderr, "loadgen: error: bad counts (ports must stay below 32000, the ephemeral range)")
		os.Exit(2)
	}
	if l.conns > 0 && l.tcp == 0 {
		fmt.Fprintln(os.Stderr, "loadgen: error: connections need at least one TCP listener")
		os.Exit(2)
	}
	if *child >= 0 {
		if err := runChild(l, *child); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: child %d: error: %v\n", *child, err)
			os.Exit(1)
		}
		return
	}
	if err := runParent(l, *timeout); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: error: %v\n", err)
		os.Exit(1)
	}
}

func runParent(l load, timeout time.Duration) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ready := make(chan error, l.procs)
	for i := 0; i < l.procs; i++ {
		cmd := exec.Command(self, "-child", strconv.Itoa(i),
			"-tcp", strconv.Itoa(l.tcp), "-udp", strconv.Itoa(l.udp),
			"-conns", strconv.Itoa(l.conns), "-procs", strconv.Itoa(l.procs), "-base", strconv.Itoa(l.base),
			"-mixed="+strconv.FormatBool(l.mixed))
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting child %d: %w", i, err)
		}
		go func() {
			line, err := bufio.NewReader(out).ReadString('\n')
			if err == nil && line != "ready\n" {
				err = fmt.Errorf("child said %q", line)
			}
			ready <- err
		}()
	}
	deadline := time.After(timeout)
	for i := 0; i < l.procs; i++ {
		select {
		case err := <-ready:
			if err != nil {
				return fmt.Errorf("a child failed: %w", err)
			}
		case <-deadline:
			return fmt.Errorf("children not ready after %v", timeout)
		}
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	return nil
}

// share is how many of n items child i of k gets (round robin).
func share(n, k, i int) int {
	s := n / k
	if i < n%k {
		s++
	}
	return s
}

func addr(i, port int) string {
	if i%2 == 1 {
		return "[::1]:" + strconv.Itoa(port)
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

// mixedNames are what -mixed children call themselves, in turn.
var mixedNames = []string{"sshd", "nginx", "prometheus-node", "docker-proxy", "systemd", "loadgen"}

// mixedConfig is the address and socket options of listener j of -mixed.
func mixedConfig(j, port int) (net.ListenConfig, string, string) {
	p := strconv.Itoa(port)
	var lc net.ListenConfig
	opt := func(level, name, v int) {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), level, name, v) }); err != nil {
				return err
			}
			return serr
		}
	}
	switch j % 6 {
	case 0:
		return lc, "4", "127.0.0.1:" + p
	case 1:
		return lc, "6", "[::1]:" + p
	case 2:
		return lc, "4", "0.0.0.0:" + p
	case 3:
		opt(syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 0)
		return lc, "6", "[::]:" + p
	case 4:
		opt(syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1)
		return lc, "6", "[::]:" + p
	}
	lc.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = syscall.BindToDevice(int(fd), "lo") }); err != nil {
			return err
		}
		return serr
	}
	return lc, "4", "127.0.0.1:" + p
}

func listenTCP(l load, j, port int) (net.Listener, error) {
	if !l.mixed {
		return net.Listen("tcp", addr(j, port))
	}
	lc, fam, a := mixedConfig(j, port)
	return lc.Listen(context.Background(), "tcp"+fam, a)
}

func listenUDP(l load, j, port int) (net.PacketConn, error) {
	if !l.mixed {
		return net.ListenPacket("udp", addr(j, port))
	}
	lc, fam, a := mixedConfig(j, port)
	return lc.ListenPacket(context.Background(), "udp"+fam, a)
}

func runChild(l load, me int) error {
	var keep []any // everything stays open until the process dies
	var listeners []net.Listener
	if l.mixed {
		// /proc/self/comm names the process (its main thread)
		if err := os.WriteFile("/proc/self/comm", []byte(mixedNames[me%len(mixedNames)]), 0); err != nil {
			return err
		}
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		keep = append(keep, pc)
	}
	// Listener j belongs to child j%procs.
	for j := me; j < l.tcp; j += l.procs {
		ln, err := listenTCP(l, j, l.base+j)
		if err != nil {
			return err
		}
		listeners = append(listeners, ln)
		keep = append(keep, ln)
	}
	for j := me; j < l.udp; j += l.procs {
		pc, err := listenUDP(l, j, l.base+l.tcp+j)
		if err != nil {
			return err
		}
		keep = append(keep, pc)
	}
	// Connections go to the children that own TCP listeners.
	owners := l.procs
	if l.tcp < owners {
		owners = l.tcp
	}
	if me < owners && l.conns > 0 {
		n := share(l.conns, owners, me)
		for c := 0; c < n; c++ {
			ln := listeners[c%len(listeners)]
			cl, err := net.DialTimeout(ln.Addr().Network(), ln.Addr().String(), 5*time.Second)
			if err != nil {
				return fmt.Errorf("connection %d: %w", c, err)
			}
			srv, err := ln.Accept()
			if err != nil {
				return err
			}
			keep = append(keep, cl, srv)
		}
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	runtime.KeepAlive(keep) // unreachable sockets would be closed by their finalizers
	return nil
}
