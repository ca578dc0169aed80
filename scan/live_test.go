package scan

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testSockets opens the sockets TestLive looks for, in this process.
type testSockets struct {
	v4, dual, v6only, dev uint16 // TCP listener ports; 0 when not opened
	udp, udpConnected     uint16
	ipv6                  bool
}

func listenTCP(t *testing.T, network, addr string, control func(fd uintptr)) uint16 {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if control == nil {
			return nil
		}
		return c.Control(control)
	}}
	l, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { l.Close() })
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

func v6only(on int) func(fd uintptr) {
	return func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, on) }
}

func openTestSockets(t *testing.T) testSockets {
	t.Helper()
	var s testSockets
	s.v4 = listenTCP(t, "tcp4", "127.0.0.1:0", nil)
	if l, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		l.Close()
		s.ipv6 = true
		s.dual = listenTCP(t, "tcp6", "[::]:0", v6only(0))
		s.v6only = listenTCP(t, "tcp6", "[::]:0", v6only(1))
	}
	if os.Geteuid() == 0 {
		s.dev = listenTCP(t, "tcp4", "0.0.0.0:0", func(fd uintptr) {
			_ = syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, "lo")
		})
	}
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	s.udp = uint16(u.LocalAddr().(*net.UDPAddr).Port)
	c, err := net.Dial("udp4", u.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s.udpConnected = uint16(c.LocalAddr().(*net.UDPAddr).Port)
	return s
}

func selfComm(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	return strings.TrimSpace(string(b))
}

func TestLive(t *testing.T) {
	s := openTestSockets(t)
	comm, pid := selfComm(t), os.Getpid()
	type want struct {
		family   string
		addr     string
		dual     bool
		device   string
		exposure Exposure
	}
	type check struct {
		name  string
		proto string
		port  uint16
		want  want
	}
	checks := func(fallback bool) []check {
		cs := []check{
			{"tcp4 loopback", "tcp", s.v4, want{"ipv4", "127.0.0.1", false, "", ExposureLocal}},
			{"udp4 loopback", "udp", s.udp, want{"ipv4", "127.0.0.1", false, "", ExposureLocal}},
		}
		if s.ipv6 {
			cs = append(cs,
				check{"tcp6 wildcard dual stack", "tcp", s.dual, want{"ipv6", "::", true, "", ExposurePublic}},
				// /proc/net cannot show IPV6_V6ONLY: the fallback goes by
				// net.ipv6.bindv6only (0 here) and says so in a warning.
				check{"tcp6 wildcard v6only", "tcp", s.v6only, want{"ipv6", "::", fallback && readBindV6Only(os.DirFS("/proc")) == 0, "", ExposurePublic}})
		}
		if s.dev != 0 {
			w := want{"ipv4", "0.0.0.0", false, "lo", ExposureLocal}
			if fallback { // no bound device in /proc/net
				w.device, w.exposure = "", ExposurePublic
			}
			cs = append(cs, check{"tcp4 wildcard bound to lo", "tcp", s.dev, w})
		}
		return cs
	}
	for _, fallback := range []bool{false, true} {
		name := "netlink"
		if fallback {
			name = "go-netstat fallback"
		}
		t.Run(name, func(t *testing.T) {
			ls, warnings, err := Live(context.Background(), Options{ForceFallback: fallback})
			if err != nil {
				if !fallback && (err == syscall.EPERM || strings.Contains(err.Error(), "sock_diag")) {
					t.Skipf("sock_diag unavailable here: %v", err)
				}
				t.Fatal(err)
			}
			if !fallback {
				for _, w := range warnings {
					if strings.Contains(w, "sock_diag unavailable") {
						t.Fatalf("netlink path fell back: %s", w)
					}
				}
			}
			for _, c := range checks(fallback) {
				t.Run(c.name, func(t *testing.T) {
					var found []Listener
					for _, l := range ls {
						if l.Proto == c.proto && l.Port == c.port {
							found = append(found, l)
						}
					}
					if len(found) != 1 {
						t.Fatalf("%d listeners on %s/%d, want 1: %+v", len(found), c.proto, c.port, found)
					}
					l := found[0]
					got := want{l.Family, l.Address.String(), l.DualStack, l.Device, l.Exposure}
					if got != c.want {
						t.Errorf("(-want +got):\n-%+v\n+%+v", c.want, got)
					}
					if l.PID != pid || l.Process != comm || len(l.Processes) != 1 {
						t.Errorf("owner = %d %q %v, want %d %q", l.PID, l.Process, l.Processes, pid, comm)
					}
				})
			}
			for _, l := range ls {
				if l.Proto == "udp" && l.Port == s.udpConnected && l.Address == netip.MustParseAddr("127.0.0.1") {
					t.Errorf("connected UDP socket listed: %+v", l)
				}
				if l.Proto == "tcp" && l.Port == 0 {
					t.Errorf("listener without port: %+v", l)
				}
			}
			if fallback && s.ipv6 {
				if len(warnings) == 0 || !strings.Contains(strings.Join(warnings, "\n"), "net.ipv6.bindv6only") {
					t.Errorf("fallback warnings %q do not mention net.ipv6.bindv6only", warnings)
				}
			}
		})
	}
}

// TestLiveFallbackAgrees compares the two paths on everything the host
// has: same sockets and owners; only device and IPV6_V6ONLY may differ.
func TestLiveFallbackAgrees(t *testing.T) {
	openTestSockets(t)
	a, _, err := Live(context.Background(), Options{})
	if err != nil {
		t.Skipf("netlink path unavailable: %v", err)
	}
	b, _, err := Live(context.Background(), Options{ForceFallback: true})
	if err != nil {
		t.Fatal(err)
	}
	key := func(ls []Listener) map[string]string {
		m := map[string]string{}
		for _, l := range ls {
			k := l.Proto + " " + netip.AddrPortFrom(l.Address, l.Port).String()
			m[k] += l.Family + " " + l.Process + " uid " + strconv.FormatUint(uint64(l.UID), 10) + " " + strconv.FormatBool(l.UIDKnown) + ";"
		}
		return m
	}
	ka, kb := key(a), key(b)
	for k, v := range ka {
		if kb[k] != v {
			t.Errorf("%s: netlink %q, fallback %q", k, v, kb[k])
		}
	}
	for k, v := range kb {
		if _, ok := ka[k]; !ok {
			t.Errorf("%s only in the fallback: %q", k, v)
		}
	}
}

func TestEstablished(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.DialTimeout("tcp4", l.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	server := netip.MustParseAddrPort(l.Addr().String())
	client := netip.MustParseAddrPort(c.LocalAddr().String())
	comm, pid := selfComm(t), os.Getpid()
	for _, fallback := range []bool{false, true} {
		conns, _, err := EstablishedWith(context.Background(), Options{ForceFallback: fallback})
		if err != nil {
			t.Fatalf("fallback=%v: %v", fallback, err)
		}
		want := map[Conn]bool{
			{Local: server, Remote: client, PID: pid, Process: comm}: false,
			{Local: client, Remote: server, PID: pid, Process: comm}: false,
		}
		for _, c := range conns {
			if _, ok := want[c]; ok {
				want[c] = true
			}
		}
		for c, seen := range want {
			if !seen {
				t.Errorf("fallback=%v: connection %+v not found among %d", fallback, c, len(conns))
			}
		}
	}
}

func TestLiveNotRoot(t *testing.T) {
	s := openTestSockets(t)
	self := strconv.Itoa(os.Getpid())
	// /proc as an unprivileged user sees it: this process's fds unreadable.
	fsys := deniedFS{os.DirFS("/proc"), []string{self}}
	ls, warnings, err := Live(context.Background(), Options{ProcFS: fsys})
	if err != nil {
		t.Skipf("netlink path unavailable: %v", err)
	}
	found := false
	for _, l := range ls {
		if l.Proto == "tcp" && l.Port == s.v4 {
			found = true
			if l.PID != 0 || l.Process != "" || l.Processes != nil {
				t.Errorf("owner of an unreadable process = %d %q %v, want none", l.PID, l.Process, l.Processes)
			}
		}
	}
	if !found {
		t.Errorf("listener 127.0.0.1:%d not listed without process access", s.v4)
	}
	n := 0
	for _, w := range warnings {
		if strings.Contains(w, "permission denied") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("warnings %q: want exactly one permission warning", warnings)
	}
}

func TestParseDiag(t *testing.T) {
	// One NLMSG of a TCP/IPv6 dump: [::]:22 bound to ifindex 1, uid 1000,
	// inode 4242, with INET_DIAG_SKV6ONLY=1; then NLMSG_DONE.
	msg := make([]byte, nlmsgHdrLen+inetDiagMsgLen+8)
	native.PutUint32(msg[0:], uint32(len(msg)))
	native.PutUint16(msg[4:], sockDiagByFamily)
	native.PutUint32(msg[8:], 7)
	m := msg[nlmsgHdrLen:]
	m[0], m[1] = syscall.AF_INET6, tcpListen
	m[4], m[5] = 0, 22
	native.PutUint32(m[40:], 1)
	native.PutUint32(m[64:], 1000)
	native.PutUint32(m[68:], 4242)
	native.PutUint16(m[72:], 5)
	native.PutUint16(m[74:], inetDiagSKV6Only)
	m[76] = 1
	done := make([]byte, nlmsgHdrLen+4)
	native.PutUint32(done[0:], uint32(len(done)))
	native.PutUint16(done[4:], syscall.NLMSG_DONE)
	native.PutUint32(done[8:], 7)
	got, fin, err := parseDiag(append(msg, done...), 7, "tcp", nil)
	want := diagSock{proto: "tcp", local: netip.MustParseAddrPort("[::]:22"), remote: netip.MustParseAddrPort("[::]:0"), ifindex: 1, uid: 1000, inode: 4242, v6only: 1}
	if err != nil || !fin || len(got) != 1 || got[0] != want {
		t.Errorf("parseDiag = %+v, %v, %v; want [%+v], true, nil", got, fin, err, want)
	}
	t.Run("error reply", func(t *testing.T) {
		e := make([]byte, nlmsgHdrLen+4)
		native.PutUint32(e[0:], uint32(len(e)))
		native.PutUint16(e[4:], syscall.NLMSG_ERROR)
		native.PutUint32(e[8:], 7)
		errno := -int32(syscall.ENOENT)
		native.PutUint32(e[16:], uint32(errno))
		_, fin, err := parseDiag(e, 7, "udp", nil)
		if !fin || err == nil || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("parseDiag(NLMSG_ERROR ENOENT) = %v, %v; want done with an ENOENT error", fin, err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		_, _, err := parseDiag(msg[:20], 7, "tcp", nil)
		if err == nil {
			t.Error("parseDiag of a truncated message: no error")
		}
	})
}

// TestSockList: sockets added in runs of any length come out once each,
// in order, across block boundaries.
func TestSockList(t *testing.T) {
	for _, runs := range [][]int{nil, {1}, {sockBlock}, {sockBlock - 1, 2}, {3, sockBlock + 5, 0, 2*sockBlock + 1}} {
		var l sockList
		var want []uint32
		for _, n := range runs {
			socks := make([]diagSock, n)
			for i := range socks {
				socks[i].inode = uint32(len(want) + 1)
				want = append(want, socks[i].inode)
			}
			l.add(socks)
		}
		got := l.all()
		if len(got) != len(want) {
			t.Fatalf("runs %v: %d sockets, want %d", runs, len(got), len(want))
		}
		for i, s := range got {
			if s.inode != want[i] {
				t.Fatalf("runs %v: socket %d has inode %d, want %d", runs, i, s.inode, want[i])
			}
		}
	}
}

func FuzzParseDiag(f *testing.F) {
	msg := make([]byte, nlmsgHdrLen+inetDiagMsgLen+8)
	native.PutUint32(msg[0:], uint32(len(msg)))
	native.PutUint16(msg[4:], sockDiagByFamily)
	native.PutUint32(msg[8:], 1)
	msg[nlmsgHdrLen] = syscall.AF_INET6
	native.PutUint16(msg[nlmsgHdrLen+72:], 5)
	native.PutUint16(msg[nlmsgHdrLen+74:], inetDiagSKV6Only)
	f.Add(msg)
	f.Add(msg[:40])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		socks, _, _ := parseDiag(b, 1, "tcp", nil)
		for _, s := range socks {
			if !s.local.Addr().IsValid() {
				t.Fatalf("invalid address from %x", b)
			}
		}
	})
}

// TestLiveUnprivileged runs Live as user nobody (a child of the test binary)
// while this root process holds a listener: the child must list it without
// owner and say so in exactly one warning.
func TestLiveUnprivileged(t *testing.T) {
	if port := os.Getenv("FWAUDIT_SCAN_UNPRIV_PORT"); port != "" {
		ls, warnings, err := Live(context.Background(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range ls {
			if l.Proto == "tcp" && strconv.Itoa(int(l.Port)) == port {
				found = true
				if l.PID != 0 || l.Process != "" {
					t.Errorf("root's listener shows owner %d %q to nobody", l.PID, l.Process)
				}
			}
		}
		if !found {
			t.Errorf("listener on port %s not listed for nobody", port)
		}
		n := 0
		for _, w := range warnings {
			if strings.Contains(w, "permission denied") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("warnings %q: want exactly one permission warning", warnings)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root to start a child as nobody (run as root to cover the unprivileged path)")
	}
	port := listenTCP(t, "tcp4", "127.0.0.1:0", nil)
	// The test binary sits in a directory only root may enter: copy it to
	// one nobody can execute from.
	dir, err := os.MkdirTemp("", "fwaudit-scan-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "scan.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run", "^TestLiveUnprivileged$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FWAUDIT_SCAN_UNPRIV_PORT="+strconv.Itoa(int(port)))
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") || strings.Contains(string(out), "no tests to run") {
		t.Errorf("child as nobody: %v\n%s", err, out)
	}
}

func TestLiveCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, fallback := range []bool{false, true} {
		if _, _, err := Live(ctx, Options{ForceFallback: fallback}); err != context.Canceled {
			t.Errorf("Live(canceled, fallback=%v) error = %v, want context.Canceled", fallback, err)
		}
	}
	if _, err := Established(ctx); err != context.Canceled {
		t.Errorf("Established(canceled) error = %v, want context.Canceled", err)
	}
}

// TestLiveUID: a listener's owner uid is the one its socket was created
// with (the fsuid at socket()), as sock_diag and /proc/net/tcp both show
// it. The socket is created on a thread of its own with another fsuid.
func TestLiveUID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a socket as another uid")
	}
	const uid = 15002
	type made struct {
		fd  int
		err error
	}
	ch := make(chan made)
	go func() {
		// the thread's fsuid is changed and never put back: it ends with
		// this goroutine, locked
		runtime.LockOSThread()
		syscall.RawSyscall(syscall.SYS_SETFSUID, uid, 0, 0)
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		ch <- made{fd, err}
	}()
	m := <-ch
	if m.err != nil {
		t.Fatal(m.err)
	}
	defer syscall.Close(m.fd)
	if err := syscall.Bind(m.fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(m.fd, 1); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(m.fd)
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(sa.(*syscall.SockaddrInet4).Port)
	for _, fallback := range []bool{false, true} {
		ls, _, err := Live(context.Background(), Options{ForceFallback: fallback})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range ls {
			if l.Proto == "tcp" && l.Port == port && l.Address == netip.MustParseAddr("127.0.0.1") {
				found = true
				if !l.UIDKnown || l.UID != uid {
					t.Errorf("fallback %v: uid %d (known %v), want %d", fallback, l.UID, l.UIDKnown, uid)
				}
			} else if l.Proto == "tcp" && !l.UIDKnown {
				t.Errorf("fallback %v: %v:%d with no uid", fallback, l.Address, l.Port)
			}
		}
		if !found {
			t.Errorf("fallback %v: 127.0.0.1:%d not listed", fallback, port)
		}
	}
}
