package scan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// Netlink sock_diag (linux/sock_diag.h, linux/inet_diag.h): one dump per
// protocol and family lists every socket in the asked states, with its
// inode, bound device and, for AF_INET6 sockets in LISTEN or CLOSE state,
// an INET_DIAG_SKV6ONLY attribute (net/ipv4/inet_diag.c,
// inet_diag_msg_attrs_fill). The kernel sends that attribute unasked:
// idiag_ext only selects the optional ones.
const (
	netlinkSockDiag  = 4  // NETLINK_SOCK_DIAG
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	inetDiagSKV6Only = 11 // INET_DIAG_SKV6ONLY

	tcpEstablished = 1  // TCP_ESTABLISHED
	tcpClose       = 7  // TCP_CLOSE: an unconnected UDP socket
	tcpListen      = 10 // TCP_LISTEN

	nlmsgHdrLen     = 16
	inetDiagReqLen  = 56 // struct inet_diag_req_v2
	inetDiagMsgLen  = 72 // struct inet_diag_msg
	diagRecvBufSize = 64 << 10
	diagSockBufSize = 4 << 20
)

// diagSock is one socket as sock_diag reports it.
type diagSock struct {
	proto   string // "tcp" or "udp"
	local   netip.AddrPort
	remote  netip.AddrPort
	ifindex uint32
	inode   uint32
	uid     uint32 // the socket's owner (idiag_uid, the uid column of /proc/net/tcp)
	v6only  int8   // -1 unknown (no INET_DIAG_SKV6ONLY), 0, 1
}

var native = binary.NativeEndian

// diagConn is a NETLINK_SOCK_DIAG socket with a receive buffer, and a
// slice for the sockets of one datagram, reused for every dump.
type diagConn struct {
	fd    int
	seq   uint32
	buf   []byte
	socks []diagSock
}

// sockList gathers the sockets of several dumps in blocks of a fixed
// size, and all joins them once. Appending to one slice copied it each
// time it grew, five times its final size in all (6,000 sockets: 3 MB of
// fresh memory, a page fault per 4 KiB, which cost more than the parsing).
type sockList struct {
	blocks [][]diagSock
	n      int
}

const sockBlock = 1024

func (l *sockList) add(socks []diagSock) {
	for len(socks) > 0 {
		if len(l.blocks) == 0 || len(l.blocks[len(l.blocks)-1]) == sockBlock {
			l.blocks = append(l.blocks, make([]diagSock, 0, sockBlock))
		}
		b := &l.blocks[len(l.blocks)-1]
		k := min(sockBlock-len(*b), len(socks))
		*b = append(*b, socks[:k]...)
		socks = socks[k:]
		l.n += k
	}
}

// listOf holds socks as one block.
func listOf(socks []diagSock) *sockList {
	return &sockList{blocks: [][]diagSock{socks}, n: len(socks)}
}

// each yields every socket in order, in place: the live scan reads the
// blocks as they are, with no joined copy of them (at 20,000 sockets
// 2 MB of fresh memory, 500 page faults).
func (l *sockList) each(yield func(*diagSock) bool) {
	for _, b := range l.blocks {
		for i := range b {
			if !yield(&b[i]) {
				return
			}
		}
	}
}

func (l *sockList) all() []diagSock {
	if len(l.blocks) == 1 {
		return l.blocks[0]
	}
	out := make([]diagSock, 0, l.n)
	for _, b := range l.blocks {
		out = append(out, b...)
	}
	return out
}

func openDiag() (*diagConn, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, netlinkSockDiag)
	if err != nil {
		return nil, fmt.Errorf("opening netlink sock_diag socket: %w", err)
	}
	// A big socket buffer keeps a large dump from stalling; the forced
	// variant needs CAP_NET_ADMIN, the plain one is capped by rmem_max.
	if syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, diagSockBufSize) != nil {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, diagSockBufSize)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("binding netlink sock_diag socket: %w", err)
	}
	return &diagConn{fd: fd, buf: make([]byte, diagRecvBufSize)}, nil
}

func (c *diagConn) close() { syscall.Close(c.fd) }

// dump lists the sockets of one family and protocol whose state is in
// states (a bit mask of 1<<TCP_*), adding them to out.
func (c *diagConn) dump(family uint8, proto uint8, states uint32, out *sockList) error {
	c.seq++
	var req [nlmsgHdrLen + inetDiagReqLen]byte
	native.PutUint32(req[0:], uint32(len(req)))
	native.PutUint16(req[4:], sockDiagByFamily)
	native.PutUint16(req[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP)
	native.PutUint32(req[8:], c.seq)
	req[16] = family
	req[17] = proto
	native.PutUint32(req[20:], states)
	if err := syscall.Sendto(c.fd, req[:], 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return fmt.Errorf("sending sock_diag request: %w", err)
	}
	name := "tcp"
	if proto == syscall.IPPROTO_UDP {
		name = "udp"
	}
	for {
		n, _, err := syscall.Recvfrom(c.fd, c.buf, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading sock_diag reply: %w", err)
		}
		var done bool
		c.socks, done, err = parseDiag(c.buf[:n], c.seq, name, c.socks[:0])
		out.add(c.socks)
		if err != nil || done {
			return err
		}
	}
}

// parseDiag decodes one datagram of a sock_diag dump. done is set by
// NLMSG_DONE; NLMSG_ERROR becomes an error carrying the errno.
func parseDiag(b []byte, seq uint32, proto string, out []diagSock) (_ []diagSock, done bool, err error) {
	for len(b) >= nlmsgHdrLen {
		l := int(native.Uint32(b[0:]))
		typ := native.Uint16(b[4:])
		if l < nlmsgHdrLen || l > len(b) {
			return out, false, errors.New("sock_diag: truncated netlink message")
		}
		hdr, msg := b[:nlmsgHdrLen], b[nlmsgHdrLen:l]
		if next := (l + 3) &^ 3; next < len(b) {
			b = b[next:]
		} else {
			b = nil
		}
		if native.Uint32(hdr[8:]) != seq {
			continue // a late reply to an earlier request
		}
		switch typ {
		case syscall.NLMSG_DONE:
			return out, true, nil
		case syscall.NLMSG_ERROR:
			if len(msg) >= 4 {
				if e := int32(native.Uint32(msg)); e < 0 {
					return out, true, fmt.Errorf("sock_diag: %w", syscall.Errno(-e))
				}
			}
			return out, true, nil
		case sockDiagByFamily:
			if s, ok := parseDiagMsg(msg, proto); ok {
				out = append(out, s)
			}
		}
	}
	return out, false, nil
}

// parseDiagMsg decodes a struct inet_diag_msg and its attributes.
func parseDiagMsg(m []byte, proto string) (diagSock, bool) {
	if len(m) < inetDiagMsgLen {
		return diagSock{}, false
	}
	s := diagSock{proto: proto, v6only: -1}
	sport := binary.BigEndian.Uint16(m[4:])
	dport := binary.BigEndian.Uint16(m[6:])
	switch m[0] {
	case syscall.AF_INET:
		s.local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(m[8:12])), sport)
		s.remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(m[24:28])), dport)
	case syscall.AF_INET6:
		s.local = netip.AddrPortFrom(netip.AddrFrom16([16]byte(m[8:24])), sport)
		s.remote = netip.AddrPortFrom(netip.AddrFrom16([16]byte(m[24:40])), dport)
	default:
		return diagSock{}, false
	}
	s.ifindex = native.Uint32(m[40:])
	s.uid = native.Uint32(m[64:])
	s.inode = native.Uint32(m[68:])
	for a := m[inetDiagMsgLen:]; len(a) >= 4; {
		l := int(native.Uint16(a[0:]))
		typ := native.Uint16(a[2:])
		if l < 4 || l > len(a) {
			break
		}
		if typ == inetDiagSKV6Only && l >= 5 {
			s.v6only = int8(a[4])
		}
		next := (l + 3) &^ 3
		if next >= len(a) {
			break
		}
		a = a[next:]
	}
	return s, true
}
