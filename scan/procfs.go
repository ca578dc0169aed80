package scan

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"
)

// walkProc reads every /proc/PID/fd once and maps the socket inodes in
// want to the processes holding them (an fd links to "socket:[INODE]").
// Names come from /proc/PID/comm, read only for owners. denied counts the
// processes whose fd directory could not be read (another user's, when
// not root); vanished processes are skipped silently.
func walkProc(ctx context.Context, fsys fs.FS, want map[uint32]struct{}) (owners map[uint32][]Process, denied int, err error) {
	procs, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, 0, err
	}
	owners = make(map[uint32][]Process, len(want))
	var found []uint32
	for i, p := range procs {
		name := p.Name()
		if name == "" || name[0] < '1' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if i&255 == 0 && ctx.Err() != nil {
			return nil, denied, ctx.Err()
		}
		fdDir := name + "/fd"
		fds, err := fs.ReadDir(fsys, fdDir)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				denied++
			}
			continue
		}
		found = found[:0]
		for _, fd := range fds {
			target, err := fs.ReadLink(fsys, fdDir+"/"+fd.Name())
			if err != nil {
				continue
			}
			ino, ok := socketInode(target)
			if !ok {
				continue
			}
			if _, ok := want[ino]; ok {
				found = append(found, ino)
			}
		}
		if len(found) == 0 {
			continue
		}
		comm := ""
		if b, err := fs.ReadFile(fsys, name+"/comm"); err == nil {
			comm = strings.TrimSuffix(string(b), "\n")
		}
		for _, ino := range found {
			owners[ino] = append(owners[ino], Process{PID: pid, Name: comm})
		}
	}
	return owners, denied, nil
}

// socketInode parses a /proc/PID/fd link target "socket:[12345]", as
// text or as the bytes readlink wrote.
func socketInode[T string | []byte](s T) (uint32, bool) {
	const prefix = "socket:["
	if len(s) < len(prefix)+2 || string(s[:len(prefix)]) != prefix || s[len(s)-1] != ']' {
		return 0, false
	}
	var n uint64
	for i := len(prefix); i < len(s)-1; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<32-1 {
			return 0, false
		}
	}
	return uint32(n), true
}
