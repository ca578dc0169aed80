package scan

import (
	"context"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

// procTree builds a fixture /proc: pid → comm and fd → link target.
func procTree(procs map[string]struct {
	comm string
	fds  map[string]string
}) fstest.MapFS {
	m := fstest.MapFS{
		"self":                    {Mode: fs.ModeSymlink, Data: []byte("1")},
		"net/tcp":                 {Data: []byte("not read by the walk\n")},
		"sys/net/ipv6/bindv6only": {Data: []byte("0\n")},
	}
	for pid, p := range procs {
		m[pid+"/comm"] = &fstest.MapFile{Data: []byte(p.comm + "\n")}
		m[pid+"/fd"] = &fstest.MapFile{Mode: fs.ModeDir | 0o500}
		for fd, target := range p.fds {
			m[pid+"/fd/"+fd] = &fstest.MapFile{Mode: fs.ModeSymlink, Data: []byte(target)}
		}
	}
	return m
}

// deniedFS refuses to list the fd directories of the given PIDs, like
// /proc does for another user's processes.
type deniedFS struct {
	fs.FS
	pids []string
}

func (d deniedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	for _, p := range d.pids {
		if name == p+"/fd" {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
		}
	}
	return fs.ReadDir(d.FS, name)
}

func (d deniedFS) ReadLink(name string) (string, error)   { return fs.ReadLink(d.FS, name) }
func (d deniedFS) Lstat(name string) (fs.FileInfo, error) { return fs.Lstat(d.FS, name) }

type proc = struct {
	comm string
	fds  map[string]string
}

func TestWalkProc(t *testing.T) {
	tree := procTree(map[string]proc{
		"1":    {"systemd", map[string]string{"0": "/dev/null", "3": "socket:[111]", "9": "anon_inode:[eventfd]"}},
		"630":  {"sshd", map[string]string{"3": "socket:[222]", "4": "socket:[333]", "5": "socket:[999]"}},
		"1200": {"nginx", map[string]string{"6": "socket:[444]", "7": "socket:[444]"}},
		"1201": {"nginx", map[string]string{"6": "socket:[444]", "8": "pipe:[5]"}},
		"77":   {"postgres", map[string]string{"3": "socket:[555]"}},
		"88":   {"odd name, (x)", map[string]string{"3": "socket:[666]", "4": "socket:[bad]", "5": "socket:[1"}},
	})
	want := map[uint32]struct{}{111: {}, 222: {}, 333: {}, 444: {}, 555: {}, 666: {}, 777: {}}
	tests := []struct {
		name       string
		fsys       fs.FS
		wantOwners map[uint32][]Process
		wantDenied int
	}{
		{"root", tree, map[uint32][]Process{
			111: {{1, "systemd"}},
			222: {{630, "sshd"}},
			333: {{630, "sshd"}},
			444: {{1200, "nginx"}, {1200, "nginx"}, {1201, "nginx"}},
			555: {{77, "postgres"}},
			666: {{88, "odd name, (x)"}},
		}, 0},
		{"not root", deniedFS{tree, []string{"1", "77"}}, map[uint32][]Process{
			222: {{630, "sshd"}},
			333: {{630, "sshd"}},
			444: {{1200, "nginx"}, {1200, "nginx"}, {1201, "nginx"}},
			666: {{88, "odd name, (x)"}},
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, denied, err := walkProc(context.Background(), tt.fsys, want)
			if err != nil {
				t.Fatal(err)
			}
			for ino := range got {
				sortProcs(got[ino])
			}
			if !reflect.DeepEqual(got, tt.wantOwners) || denied != tt.wantDenied {
				t.Errorf("walkProc (-want +got):\n-%v denied %d\n+%v denied %d", tt.wantOwners, tt.wantDenied, got, denied)
			}
		})
	}
	t.Run("owners become sorted, deduplicated Processes", func(t *testing.T) {
		got, _, _ := walkProc(context.Background(), tree, want)
		var l Listener
		setProcesses(&l, got[444])
		wantL := Listener{PID: 1200, Process: "nginx", Processes: []Process{{1200, "nginx"}, {1201, "nginx"}}}
		if !reflect.DeepEqual(l, wantL) {
			t.Errorf("(-want +got):\n-%+v\n+%+v", wantL, l)
		}
	})
	t.Run("no /proc", func(t *testing.T) {
		if _, _, err := walkProc(context.Background(), fstest.MapFS{}, want); err != nil {
			t.Fatalf("empty tree: %v", err)
		}
		_, w := owners(context.Background(), deniedFS{tree, []string{"1"}}, listOf([]diagSock{{inode: 111}}))
		if len(w) != 1 || !strings.Contains(w[0], "1 processes (permission denied") {
			t.Errorf("warnings = %q, want one permission warning", w)
		}
	})
}

func sortProcs(ps []Process) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].PID < ps[j-1].PID; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func TestSocketInode(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"socket:[12345]", 12345, true},
		{"socket:[4294967295]", 4294967295, true},
		{"socket:[4294967296]", 0, false},
		{"socket:[]", 0, false},
		{"socket:[12a]", 0, false},
		{"pipe:[12]", 0, false},
		{"/dev/null", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := socketInode(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("socketInode(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestReadBindV6Only(t *testing.T) {
	for _, tt := range []struct {
		data string
		want int
	}{{"0\n", 0}, {"1\n", 1}, {"", 0}} {
		fsys := fstest.MapFS{}
		if tt.data != "" {
			fsys["sys/net/ipv6/bindv6only"] = &fstest.MapFile{Data: []byte(tt.data)}
		}
		if got := readBindV6Only(fsys); got != tt.want {
			t.Errorf("readBindV6Only(%q) = %d, want %d", tt.data, got, tt.want)
		}
	}
}

// TestHostProcMatchesFS checks the direct /proc walk against the fs.FS
// walk on the live host, for the sockets of this process.
func TestHostProcMatchesFS(t *testing.T) {
	s := openTestSockets(t)
	socks, err := diagDump(context.Background(), tcpListen, tcpClose)
	if err != nil {
		t.Skipf("sock_diag unavailable: %v", err)
	}
	want := map[uint32]struct{}{}
	for _, d := range socks.all() {
		want[d.inode] = struct{}{}
	}
	a, _, err := walkProc(context.Background(), os.DirFS("/proc"), want)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := newHostProc("/proc").walkSockets(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	mine := func(m map[uint32][]Process) map[uint32][]Process {
		out := map[uint32][]Process{}
		for ino, ps := range m {
			for _, p := range ps {
				if p.PID == self {
					out[ino] = append(out[ino], p)
				}
			}
		}
		return out
	}
	ma, mb := mine(a), mine(b)
	if len(ma) < 3 || !reflect.DeepEqual(ma, mb) {
		t.Errorf("own sockets (%d opened, tcp4 port %d) (-fs.FS +hostProc):\n-%v\n+%v", 3, s.v4, ma, mb)
	}
	t.Run("missing root", func(t *testing.T) {
		if _, _, err := newHostProc("/nonexistent-proc").walkSockets(context.Background(), want); err == nil {
			t.Error("no error for a missing /proc")
		}
	})
}

func TestDirentPID(t *testing.T) {
	for _, tt := range []struct {
		in   string
		pid  int
		isok bool
	}{{"1\x00", 1, true}, {"4194304\x00", 4194304, true}, {"self\x00", 0, false}, {"\x00", 0, false}, {"12", 0, false}, {"12345678901\x00", 0, false}} {
		pid, ok := direntPID([]byte(tt.in))
		if pid != tt.pid || ok != tt.isok {
			t.Errorf("direntPID(%q) = %d, %v; want %d, %v", tt.in, pid, ok, tt.pid, tt.isok)
		}
	}
}

// TestSocketInodesBufferSizes walks this process's fd table with
// getdents buffers from one entry to all of them: the walk stops at the
// table's end, not at a reply that left room in the buffer unfilled.
func TestSocketInodesBufferSizes(t *testing.T) {
	var fds []int
	t.Cleanup(func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	})
	for range 300 {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	want := map[uint32]bool{} // the inodes of the sockets opened here
	for _, fd := range fds {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		want[uint32(st.Ino)] = true
	}
	root, err := newHostProc("/proc").openRoot()
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(root)
	for _, size := range []int{64, 100, 1000, 4096, 8 << 10, 32 << 10} {
		out, err := socketInodes(root, os.Getpid(), make([]byte, size), make([]byte, 64), nil)
		if err != nil {
			t.Fatalf("buffer %d: %v", size, err)
		}
		got := map[uint32]bool{}
		for _, f := range out {
			got[f.ino] = true
		}
		for ino := range want {
			if !got[ino] {
				t.Errorf("buffer %d: socket %d of %d not found (%d found)", size, ino, len(want), len(got))
				break
			}
		}
	}
}
