package scan

import (
	"cmp"
	"context"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// hostProc is /proc of the running host: an fs.FS like os.DirFS("/proc")
// for everything, plus a walk that lists socket inodes with getdents64 and
// readlinkat on reused buffers, without a path or a string per fd. It is
// what Options{} uses; tests exercise the same walk through fixture trees
// with the generic walkProc and compare the two on the live host.
type hostProc struct {
	fs.FS
	root string
}

func newHostProc(root string) hostProc { return hostProc{os.DirFS(root), root} }

// inoPID is one socket fd: the socket's inode and the process holding it.
type inoPID struct {
	ino uint32
	pid int32
}

// socketFDs walks every /proc/PID/fd and returns all socket fds, without
// knowing yet which sockets matter, so that it can run while the netlink
// dump is still in flight. Workers take the PIDs one at a time, in turn,
// when there is more than one CPU: on a busy host a worker whose thread
// waits for a CPU holds up one process, not a fixed share of them. denied
// counts unreadable fd directories.
func (h hostProc) socketFDs(ctx context.Context) ([]inoPID, int, error) {
	root, err := h.openRoot()
	if err != nil {
		return nil, 0, err
	}
	defer syscall.Close(root)
	pids, err := h.pids(root)
	if err != nil {
		return nil, 0, err
	}
	workers := runtime.GOMAXPROCS(0)
	if workers > 4 {
		workers = 4
	}
	if n := len(pids)/64 + 1; workers > n {
		workers = n
	}
	results := make([][]inoPID, workers)
	denied := make([]int, workers)
	var next atomic.Int64 // the index in pids of the next process to walk
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			dbuf := make([]byte, 32<<10)
			lbuf := make([]byte, 64)
			var out []inoPID
			for k := 0; ; k++ {
				i := int(next.Add(1) - 1)
				if i >= len(pids) || (k&63 == 0 && ctx.Err() != nil) {
					break
				}
				var err error
				out, err = socketInodes(root, pids[i], dbuf, lbuf, out)
				if err == syscall.EACCES || err == syscall.EPERM {
					denied[w]++
				}
			}
			results[w] = out
		}(w)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	total, n := 0, 0
	for w := range results {
		total += len(results[w])
		n += denied[w]
	}
	all := make([]inoPID, 0, total)
	for _, r := range results {
		all = append(all, r...)
	}
	return all, n, nil
}

// ownersOf keeps the fds of the wanted sockets and names their processes,
// reading each owner's comm once. The owners of all sockets share one
// array, in order of inode and PID.
func (h hostProc) ownersOf(fds []inoPID, want map[uint32]struct{}) map[uint32][]Process {
	kept := make([]inoPID, 0, len(want))
	for _, f := range fds {
		if _, ok := want[f.ino]; ok {
			kept = append(kept, f)
		}
	}
	slices.SortFunc(kept, func(a, b inoPID) int {
		if c := cmp.Compare(a.ino, b.ino); c != 0 {
			return c
		}
		return cmp.Compare(a.pid, b.pid)
	})
	owners := make(map[uint32][]Process, len(want))
	procs := make([]Process, len(kept))
	names := map[int32]string{}
	var buf [64]byte
	root, err := h.openRoot()
	if err != nil {
		root = -1 // no names
	} else {
		defer syscall.Close(root)
	}
	start := 0
	for i, f := range kept {
		name, ok := names[f.pid]
		if !ok {
			name = comm(root, int(f.pid), buf[:])
			names[f.pid] = name
		}
		procs[i] = Process{PID: int(f.pid), Name: name}
		if i+1 == len(kept) || kept[i+1].ino != f.ino {
			owners[f.ino] = procs[start : i+1 : i+1]
			start = i + 1
		}
	}
	return owners
}

// walkSockets is socketFDs and ownersOf in one go (Established, tests).
func (h hostProc) walkSockets(ctx context.Context, want map[uint32]struct{}) (map[uint32][]Process, int, error) {
	fds, denied, err := h.socketFDs(ctx)
	if err != nil {
		return nil, 0, err
	}
	return h.ownersOf(fds, want), denied, nil
}

// openRoot opens the /proc directory: the files of processes are opened
// relative to it, so that each open looks up "PID/fd" or "PID/comm" and
// not the whole path with its mount point again.
func (h hostProc) openRoot() (int, error) {
	fd, err := syscall.Open(h.root, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: h.root, Err: err}
	}
	return fd, nil
}

// openPID opens root's PID/name (O_RDONLY and flags) with no allocation.
func openPID(root, pid int, name string, flags int) (int, syscall.Errno) {
	var pathBuf [64]byte
	path := strconv.AppendInt(pathBuf[:0], int64(pid), 10)
	path = append(append(append(path, '/'), name...), 0)
	for range 8 {
		r, _, e := syscall.Syscall6(syscall.SYS_OPENAT, uintptr(root), uintptr(unsafe.Pointer(&path[0])),
			uintptr(syscall.O_RDONLY|syscall.O_CLOEXEC|flags), 0, 0, 0)
		if e != syscall.EINTR {
			return int(r), e
		}
	}
	return -1, syscall.EINTR
}

// pids lists the numeric entries of the /proc directory open as fd.
func (h hostProc) pids(fd int) ([]int, error) {
	buf := make([]byte, 32<<10)
	pids := make([]int, 0, 512)
	for range 1 << 20 { // bounded: a getdents64 call returns at least one entry
		n, err := syscall.Getdents(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "getdents", Path: h.root, Err: err}
		}
		if n <= 0 {
			break
		}
		for off := 0; off+19 < n; {
			reclen := int(*(*uint16)(unsafe.Pointer(&buf[off+16])))
			if reclen == 0 {
				break
			}
			if pid, ok := direntPID(buf[off+19 : off+reclen]); ok {
				pids = append(pids, pid)
			}
			off += reclen
		}
	}
	return pids, nil
}

// direntPID parses a NUL-terminated all-digit name.
func direntPID(name []byte) (int, bool) {
	pid := 0
	for i, c := range name {
		if c == 0 {
			return pid, i > 0
		}
		if c < '0' || c > '9' || i > 9 {
			return 0, false
		}
		pid = pid*10 + int(c-'0')
	}
	return 0, false
}

// socketInodes appends the socket fds of process pid to out; root is the
// /proc directory.
func socketInodes(root, pid int, dbuf, lbuf []byte, out []inoPID) ([]inoPID, error) {
	dir, e := openPID(root, pid, "fd", syscall.O_DIRECTORY)
	if e != 0 {
		return out, e
	}
	defer syscall.Close(dir)
	for range 1 << 20 {
		n, err := syscall.Getdents(dir, dbuf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return out, err
		}
		// The kernel fills the buffer with fd entries until the table
		// ends or the next entry does not fit (proc_readfd_common): a
		// reply with room left for the longest entry (fd names are at
		// most 10 digits, 32 bytes) was the table's end, and the call
		// that would say so is saved, one per process.
		last := n <= len(dbuf)-fdDirentMax
		for off := 0; off+19 < n; {
			reclen := int(*(*uint16)(unsafe.Pointer(&dbuf[off+16])))
			if reclen == 0 {
				break
			}
			name := off + 19
			off += reclen
			if dbuf[name] == '.' {
				continue
			}
			// The name is NUL-terminated in place: hand it to readlinkat.
			r, _, e := syscall.Syscall6(syscall.SYS_READLINKAT, uintptr(dir),
				uintptr(unsafe.Pointer(&dbuf[name])), uintptr(unsafe.Pointer(&lbuf[0])), uintptr(len(lbuf)), 0, 0)
			if e != 0 {
				if e == syscall.EACCES || e == syscall.EPERM {
					// The directory opens with CAP_DAC_READ_SEARCH,
					// the links need ptrace access to the process
					// (proc(5)): one denied, all are. The process
					// counts as unreadable, so that its sockets are
					// not silently ownerless.
					return out, e
				}
				continue
			}
			if ino, ok := socketInode(lbuf[:r]); ok {
				out = append(out, inoPID{ino, int32(pid)})
			}
		}
		if last {
			break
		}
	}
	return out, nil
}

// fdDirentMax bounds a linux_dirent64 of /proc/PID/fd: 19 bytes of header,
// a name of at most 10 digits and its NUL, rounded up to 8 bytes, with a
// margin.
const fdDirentMax = 64

// comm reads /proc/PID/comm without its newline, into buf (64 bytes:
// the kernel writes at most TASK_COMM_LEN of them); root is the /proc
// directory. Three system calls, where os.ReadFile makes six (its fcntl,
// epoll and fstat are of no use on a proc file), for every process that
// owns a socket.
func comm(root, pid int, buf []byte) string {
	if root < 0 {
		return ""
	}
	fd, e := openPID(root, pid, "comm", 0)
	if e != 0 {
		return ""
	}
	defer syscall.Close(fd)
	n, err := syscall.Read(fd, buf)
	for i := 0; err == syscall.EINTR && i < 8; i++ {
		n, err = syscall.Read(fd, buf)
	}
	if err != nil || n <= 0 {
		return ""
	}
	b := buf[:n]
	if b[n-1] == '\n' {
		b = b[:n-1]
	}
	return string(b)
}
