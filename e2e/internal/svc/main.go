//go:build linux

// Command svc is the e2e tests' stand-in for real daemons and clients. It is
// built once per test run and copied (hard-linked) to names such as sshd or
// mysqld, so that /proc/PID/comm shows what a real daemon would.
//
//	svc listen [-share NAME] SPEC...
//	                              bind every SPEC, print "ready", serve until
//	                              stdin closes or the lifetime ends; with
//	                              -share, first start a child running as NAME
//	                              that holds the same sockets (a pre-forked
//	                              worker) and print "child PID"
//	svc probe [-timeout D] REQ... try every REQ concurrently, print one
//	                              result line per REQ, in order
//	svc hold SRC DST PORT         open one TCP connection and keep it; every
//	                              line read on stdin checks it ("alive"/"dead")
//
// A listen SPEC is KIND:ADDR[%DEV]:PORT with KIND one of tcp, udp (IPv4 for
// an IPv4 address; for "::" a dual-stack socket, IPV6_V6ONLY off; for any
// other IPv6 address an IPv6 socket) or tcp6only, udp6only (IPV6_V6ONLY on).
// ADDR may be bracketed: tcp:[::]:80. %DEV binds the socket to a device
// (SO_BINDTODEVICE): tcp:0.0.0.0%lo:7000. TCP connections are echoed until the peer
// closes; UDP datagrams are echoed back to their sender.
//
// A probe REQ is PROTO,SRC,DST,PORT[,SPORT] (PROTO tcp or udp; SPORT a fixed
// source port, set with SO_REUSEADDR so probes may share it). A TCP probe succeeds
// when the connection is established within the timeout; a UDP probe when
// the echo comes back. Results are "ok", "fail refused", "fail
// unreachable", "fail timeout" or "fail error: ...".
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxLifetime bounds every mode: a leaked helper dies on its own.
const maxLifetime = 10 * time.Minute

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	time.AfterFunc(maxLifetime, func() { os.Exit(3) })
	var err error
	switch os.Args[1] {
	case "listen":
		err = listen(os.Args[2:])
	case "probe":
		err = probe(os.Args[2:])
	case "hold":
		err = hold(os.Args[2:])
	case "hold-fds": // the child of listen -share: keep inherited sockets
		io.Copy(io.Discard, os.Stdin)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "svc: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: svc listen SPEC... | probe [-timeout D] PROTO,SRC,DST,PORT... | hold SRC DST PORT")
	os.Exit(2)
}

// spec is one parsed listen SPEC.
type spec struct {
	proto    string // tcp or udp
	v6only   bool
	addrPort netip.AddrPort
	device   string
}

func parseSpec(s string) (spec, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return spec{}, fmt.Errorf("spec %q: want KIND:ADDR:PORT", s)
	}
	var sp spec
	switch kind {
	case "tcp", "udp":
		sp.proto = kind
	case "tcp6only", "udp6only":
		sp.proto, sp.v6only = kind[:3], true
	default:
		return spec{}, fmt.Errorf("spec %q: unknown kind %q", s, kind)
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return spec{}, fmt.Errorf("spec %q: no port", s)
	}
	host, dev, _ := strings.Cut(rest[:i], "%")
	sp.device = strings.Trim(dev, "[]")
	addr, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return spec{}, fmt.Errorf("spec %q: %v", s, err)
	}
	port, err := strconv.ParseUint(rest[i+1:], 10, 16)
	if err != nil {
		return spec{}, fmt.Errorf("spec %q: bad port: %v", s, err)
	}
	if sp.v6only && !addr.Is6() {
		return spec{}, fmt.Errorf("spec %q: %s needs an IPv6 address", s, kind)
	}
	sp.addrPort = netip.AddrPortFrom(addr, uint16(port))
	return sp, nil
}

// network picks the Go network name; control then pins IPV6_V6ONLY so the
// socket's family and dual-stack state never depend on Go's defaults.
func (sp spec) network() string {
	if sp.addrPort.Addr().Is4() {
		return sp.proto + "4"
	}
	return sp.proto + "6"
}

// UDP sockets get SO_REUSEADDR, as DNS servers set it, so that one daemon
// can bind 0.0.0.0:53 and 127.0.0.1:53 (TCP listeners get it from Go).
func (sp spec) control(_, _ string, c syscall.RawConn) error {
	v := 0
	if sp.v6only {
		v = 1
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		if sp.proto == "udp" {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
		}
		if serr == nil && sp.device != "" {
			serr = syscall.BindToDevice(int(fd), sp.device)
		}
		if serr == nil && sp.addrPort.Addr().Is6() {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, v)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

func listen(args []string) error {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	share := fs.String("share", "", "also hold the sockets in a child running as this name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) == 0 {
		return errors.New("listen: no specs")
	}
	var files []*os.File
	for _, a := range args {
		sp, err := parseSpec(a)
		if err != nil {
			return err
		}
		lc := net.ListenConfig{Control: sp.control}
		ctx := context.Background()
		addr := sp.addrPort.String()
		if sp.proto == "tcp" {
			l, err := lc.Listen(ctx, sp.network(), addr)
			if err != nil {
				return fmt.Errorf("listening on %s: %v", a, err)
			}
			if *share != "" {
				f, err := l.(*net.TCPListener).File()
				if err != nil {
					return err
				}
				files = append(files, f)
			}
			go serveTCP(l)
		} else {
			pc, err := lc.ListenPacket(ctx, sp.network(), addr)
			if err != nil {
				return fmt.Errorf("listening on %s: %v", a, err)
			}
			if *share != "" {
				f, err := pc.(*net.UDPConn).File()
				if err != nil {
					return err
				}
				files = append(files, f)
			}
			go serveUDP(pc)
		}
	}
	if *share != "" {
		pid, err := startChild(*share, files)
		if err != nil {
			return err
		}
		fmt.Printf("child %d\n", pid)
	}
	fmt.Println("ready")
	// Serve until stdin closes (the test ends or dies).
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// startChild runs the helper linked as name next to this one, holding
// files (it only keeps them open). It shares this process's stdin, so it
// ends with it, and dies with its parent.
func startChild(name string, files []*os.File) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(filepath.Join(filepath.Dir(self), name), "hold-fds")
	cmd.Stdin = os.Stdin
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %v", name, err)
	}
	for _, f := range files {
		f.Close() // the listeners keep their own descriptors
	}
	return cmd.Process.Pid, nil
}

func serveTCP(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(maxLifetime))
			io.Copy(c, c)
		}()
	}
}

func serveUDP(pc net.PacketConn) {
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo(buf[:n], from)
	}
}

// req is one probe request.
type req struct {
	proto       string
	src, dst    netip.Addr
	port, sport uint16
}

func parseReq(s string) (req, error) {
	f := strings.Split(s, ",")
	if len(f) < 4 || len(f) > 5 || (f[0] != "tcp" && f[0] != "udp") {
		return req{}, fmt.Errorf("probe %q: want PROTO,SRC,DST,PORT[,SPORT]", s)
	}
	src, err1 := netip.ParseAddr(f[1])
	dst, err2 := netip.ParseAddr(f[2])
	port, err3 := strconv.ParseUint(f[3], 10, 16)
	var sport uint64
	var err4 error
	if len(f) == 5 {
		sport, err4 = strconv.ParseUint(f[4], 10, 16)
	}
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return req{}, fmt.Errorf("probe %q: %v", s, err)
	}
	return req{f[0], src, dst, uint16(port), uint16(sport)}, nil
}

func probe(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 300*time.Millisecond, "per-probe timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reqs := make([]req, 0, fs.NArg())
	for _, a := range fs.Args() {
		r, err := parseReq(a)
		if err != nil {
			return err
		}
		reqs = append(reqs, r)
	}
	res := make([]string, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = result(try(r, *timeout))
		}()
	}
	wg.Wait()
	for _, r := range res {
		fmt.Println(r)
	}
	return nil
}

func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "fail refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EACCES):
		return "fail unreachable" // an ICMP error: REJECT --reject-with icmp-*-prohibited
	case errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "fail timeout"
	default:
		return "fail error: " + strings.ReplaceAll(err.Error(), "\n", " ")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func try(r req, timeout time.Duration) error {
	switch r.proto {
	case "tcp":
		c, err := dialTCP(r.src, r.sport, r.dst, r.port, timeout)
		if err != nil {
			return err
		}
		// Reset rather than FIN: no TIME_WAIT, fewer packets.
		c.(*net.TCPConn).SetLinger(0)
		return c.Close()
	default:
		d := net.Dialer{LocalAddr: &net.UDPAddr{IP: r.src.AsSlice(), Port: int(r.sport)}, Control: reuseAddr}
		c, err := d.Dial("udp", netip.AddrPortFrom(r.dst, r.port).String())
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		msg := []byte("fwaudit-probe")
		if _, err := c.Write(msg); err != nil {
			return err
		}
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		if string(buf[:n]) != string(msg) {
			return fmt.Errorf("unexpected echo %q", buf[:n])
		}
		return nil
	}
}

func dialTCP(src netip.Addr, sport uint16, dst netip.Addr, port uint16, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice(), Port: int(sport)}, Timeout: timeout, Control: reuseAddr}
	return d.Dial("tcp", netip.AddrPortFrom(dst, port).String())
}

// reuseAddr lets probes share a fixed source port.
func reuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

func hold(args []string) error {
	if len(args) != 3 {
		return errors.New("hold: want SRC DST PORT")
	}
	src, err1 := netip.ParseAddr(args[0])
	dst, err2 := netip.ParseAddr(args[1])
	port, err3 := strconv.ParseUint(args[2], 10, 16)
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("hold: %v", err)
	}
	c, err := dialTCP(src, 0, dst, uint16(port), time.Second)
	if err != nil {
		fmt.Println(result(err))
		return nil
	}
	defer c.Close()
	fmt.Println("ok")
	in := bufio.NewScanner(os.Stdin)
	buf := make([]byte, 1)
	for in.Scan() {
		c.SetDeadline(time.Now().Add(time.Second))
		_, err := c.Write([]byte{'x'})
		if err == nil {
			_, err = io.ReadFull(c, buf)
		}
		if err != nil {
			fmt.Println("dead " + strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Println("alive")
	}
	return nil
}
