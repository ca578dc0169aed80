package scan

import (
	"cmp"
	"context"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Options for a live scan. The zero value reads the running host.
type Options struct {
	// ProcFS is /proc; nil means os.DirFS("/proc"). Tests point it at a
	// fixture tree. (The netlink dump and go-netstat always read the
	// running kernel.)
	ProcFS fs.FS
	// ForceFallback skips netlink sock_diag and reads /proc/net through
	// go-netstat, as on hosts where sock_diag is unavailable.
	ForceFallback bool
}

func (o Options) procFS() fs.FS {
	if o.ProcFS != nil {
		return o.ProcFS
	}
	return newHostProc("/proc")
}

// Live lists the host's listening TCP and unconnected UDP sockets, IPv4 and
// IPv6, with their owners, sorted by port, proto, family and address.
// Client sockets are marked by the host's ephemeral port range.
// Warnings are for the user (stderr), once each; err is set only when
// nothing could be listed.
func Live(ctx context.Context, opts Options) (ls []Listener, warnings []string, err error) {
	fsys := opts.procFS()
	socks, owners, warnings, err := dump(ctx, fsys, opts.ForceFallback, true,
		", where bound devices and IPV6_V6ONLY are not visible", tcpListen, tcpClose)
	if err != nil {
		return nil, warnings, err
	}
	devs := deviceNames(socks)
	bindv6only := -1 // read lazily, only for sockets without INET_DIAG_SKV6ONLY
	sysctlUsed := false
	ls = make([]Listener, 0, socks.n)
	for s := range socks.each {
		a := s.local.Addr()
		l := Listener{Proto: s.proto, Family: "ipv4", Address: a, Port: s.local.Port(), UID: s.uid, UIDKnown: true}
		if s.ifindex != 0 {
			l.Device = devs[s.ifindex]
		}
		if a.Is6() {
			l.Family = "ipv6"
			if a.IsUnspecified() {
				v6only := s.v6only
				if v6only < 0 {
					if bindv6only < 0 {
						bindv6only = readBindV6Only(fsys)
					}
					v6only, sysctlUsed = int8(bindv6only), true
				}
				l.DualStack = v6only == 0
			}
		}
		setProcesses(&l, owners[s.inode])
		finish(&l)
		ls = append(ls, l)
	}
	eph, err := ReadEphemeral(fsys)
	if err != nil {
		eph = DefaultEphemeral
		warnings = append(warnings, "cannot read the ephemeral port range ("+err.Error()+
			"); client sockets are judged by the default "+eph.String())
	}
	MarkClients(ls, eph)
	if sysctlUsed {
		warnings = append(warnings, "dual_stack of IPv6 wildcard sockets taken from net.ipv6.bindv6only="+
			strconv.Itoa(bindv6only)+"; a socket that sets IPV6_V6ONLY itself is not seen")
	}
	sortListeners(ls)
	return ls, warnings, nil
}

// Established lists established TCP connections with their owners (for
// the lockout check: live sshd sessions), sorted by local then remote
// address. IPv4-mapped IPv6 addresses are unmapped.
func Established(ctx context.Context) ([]Conn, error) {
	conns, _, err := EstablishedWith(ctx, Options{})
	return conns, err
}

// EstablishedWith is Established with options; warnings as for Live.
func EstablishedWith(ctx context.Context, opts Options) ([]Conn, []string, error) {
	socks, owners, warnings, err := dump(ctx, opts.procFS(), opts.ForceFallback, false, "", tcpEstablished)
	if err != nil {
		return nil, warnings, err
	}
	conns := make([]Conn, 0, socks.n)
	for s := range socks.each {
		c := Conn{
			Local:  netip.AddrPortFrom(s.local.Addr().Unmap(), s.local.Port()),
			Remote: netip.AddrPortFrom(s.remote.Addr().Unmap(), s.remote.Port()),
		}
		if ps := owners[s.inode]; len(ps) > 0 {
			sort.Slice(ps, func(i, j int) bool { return ps[i].PID < ps[j].PID })
			c.PID, c.Process = ps[0].PID, ps[0].Name
		}
		conns = append(conns, c)
	}
	sort.Slice(conns, func(i, j int) bool {
		if c := conns[i].Local.Compare(conns[j].Local); c != 0 {
			return c < 0
		}
		return conns[i].Remote.Compare(conns[j].Remote) < 0
	})
	return conns, warnings, nil
}

// dump lists the sockets in the given states over netlink sock_diag, or
// from /proc/net when netlink is unavailable or force is set (listening
// picks which /proc/net sockets; unseen ends the warning with what
// /proc/net does not show), with their owners read from fsys.
func dump(ctx context.Context, fsys fs.FS, force, listening bool, unseen string, tcpState int, udpState ...int) (*sockList, map[uint32][]Process, []string, error) {
	var warnings []string
	var socks *sockList
	var err error
	ownersOf := startOwners(ctx, fsys)
	if !force {
		socks, err = diagDump(ctx, tcpState, udpState...)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, nil, ctxErr
		}
	}
	if force || err != nil {
		if err != nil {
			warnings = append(warnings, "netlink sock_diag unavailable ("+err.Error()+"); reading /proc/net instead"+unseen)
		}
		fallback, err := fallbackSockets(listening)
		if err != nil {
			return nil, nil, warnings, err
		}
		socks = listOf(fallback)
	}
	owners, w := ownersOf(socks)
	warnings = append(warnings, w...)
	if err := ctx.Err(); err != nil {
		return nil, nil, warnings, err
	}
	return socks, owners, warnings, nil
}

// diagDump lists TCP sockets in tcpState and, if udpState is given, UDP
// sockets in that state, for IPv4 and IPv6, over one netlink socket.
func diagDump(ctx context.Context, tcpState int, udpState ...int) (*sockList, error) {
	c, err := openDiag()
	if err != nil {
		return nil, err
	}
	defer c.close()
	type req struct {
		proto uint8
		state int
	}
	reqs := []req{{syscall.IPPROTO_TCP, tcpState}}
	for _, s := range udpState {
		reqs = append(reqs, req{syscall.IPPROTO_UDP, s})
	}
	var out sockList
	for _, r := range reqs {
		for _, fam := range []uint8{syscall.AF_INET, syscall.AF_INET6} {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := c.dump(fam, r.proto, 1<<r.state, &out); err != nil {
				return nil, err
			}
		}
	}
	return &out, nil
}

// startOwners starts the /proc walk and returns the function that finds
// the owners of a socket list. On the live host (hostProc) the walk runs
// while the caller does the netlink dump; a fixture fs.FS is walked when
// the sockets are known.
func startOwners(ctx context.Context, fsys fs.FS) func(*sockList) (map[uint32][]Process, []string) {
	h, ok := fsys.(hostProc)
	if !ok {
		return func(socks *sockList) (map[uint32][]Process, []string) { return owners(ctx, fsys, socks) }
	}
	type walk struct {
		fds    []inoPID
		denied int
		err    error
	}
	done := make(chan walk, 1)
	go func() {
		fds, denied, err := h.socketFDs(ctx)
		done <- walk{fds, denied, err}
	}()
	return func(socks *sockList) (map[uint32][]Process, []string) {
		w := <-done
		want := wantInodes(socks)
		if w.err != nil || len(want) == 0 {
			return ownerWarnings(nil, 0, w.err)
		}
		return ownerWarnings(h.ownersOf(w.fds, want), w.denied, nil)
	}
}

func wantInodes(socks *sockList) map[uint32]struct{} {
	want := make(map[uint32]struct{}, socks.n)
	for s := range socks.each {
		if s.inode != 0 {
			want[s.inode] = struct{}{}
		}
	}
	return want
}

// owners walks a /proc fs.FS for the sockets' inodes.
func owners(ctx context.Context, fsys fs.FS, socks *sockList) (map[uint32][]Process, []string) {
	want := wantInodes(socks)
	if len(want) == 0 {
		return nil, nil
	}
	owners, denied, err := walkProc(ctx, fsys, want)
	return ownerWarnings(owners, denied, err)
}

// ownerWarnings words a failed walk or a permission problem as one warning.
func ownerWarnings(owners map[uint32][]Process, denied int, err error) (map[uint32][]Process, []string) {
	if err != nil {
		return nil, []string{"cannot read processes from /proc (" + err.Error() + "); owners are unknown"}
	}
	if denied > 0 {
		why := "permission denied; run as root"
		if os.Geteuid() == 0 {
			why = "permission denied, even to root: a capability such as CAP_SYS_PTRACE is missing, or they belong to another container"
		}
		return owners, []string{"cannot read the open files of " + strconv.Itoa(denied) +
			" processes (" + why + "): their sockets are listed without owner"}
	}
	return owners, nil
}

// deviceNames maps the bound-device indexes in socks to interface names,
// asking the kernel only when a socket is bound to a device.
func deviceNames(socks *sockList) map[uint32]string {
	var m map[uint32]string
	for s := range socks.each {
		if s.ifindex == 0 {
			continue
		}
		if m == nil {
			m = map[uint32]string{}
			if ifs, err := net.Interfaces(); err == nil {
				for _, i := range ifs {
					m[uint32(i.Index)] = i.Name
				}
			}
		}
		if _, ok := m[s.ifindex]; !ok {
			m[s.ifindex] = "if" + strconv.FormatUint(uint64(s.ifindex), 10)
		}
	}
	return m
}

// readBindV6Only reads net.ipv6.bindv6only (0 when unreadable: the
// kernel default).
func readBindV6Only(fsys fs.FS) int {
	b, err := fs.ReadFile(fsys, "sys/net/ipv6/bindv6only")
	if err == nil && strings.TrimSpace(string(b)) == "1" {
		return 1
	}
	return 0
}

// sortListeners orders by port, proto, family, address, device and owner,
// in place; listeners equal in all of these keep their order. (A Listener
// is big: the reflection-based sort.SliceStable showed in profiles at
// 20,000 sockets.)
func sortListeners(ls []Listener) {
	// sort positions, then move each listener once: a comparison function
	// taking Listeners by value copied two 150-byte structs per call, 5 %
	// of a report at 20,000 listeners
	idx := make([]int32, len(ls))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(i, j int32) int {
		if c := compareListeners(&ls[i], &ls[j]); c != 0 {
			return c
		}
		return cmp.Compare(i, j) // equal keys keep their order
	})
	// Move them in place, one cycle of the permutation at a time (a sorted
	// copy was a second slice of every listener, fresh memory whose page
	// faults cost more than the sort): position k takes the listener at
	// idx[k], and idx[k] = k marks k done.
	for start := range ls {
		if idx[start] == int32(start) {
			continue
		}
		held := ls[start]
		k := start
		for {
			from := int(idx[k])
			idx[k] = int32(k)
			if from == start {
				ls[k] = held
				break
			}
			ls[k] = ls[from]
			k = from
		}
	}
}

// compareListeners orders by port, proto, family, address, device and PID.
func compareListeners(a, b *Listener) int {
	if c := cmp.Compare(a.Port, b.Port); c != 0 {
		return c
	}
	if c := strings.Compare(a.Proto, b.Proto); c != 0 {
		return c
	}
	if c := strings.Compare(a.Family, b.Family); c != 0 {
		return c
	}
	if c := a.Address.Compare(b.Address); c != 0 {
		return c
	}
	if c := strings.Compare(a.Device, b.Device); c != 0 {
		return c
	}
	return cmp.Compare(a.PID, b.PID)
}
