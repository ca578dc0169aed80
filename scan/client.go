package scan

import (
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

// Ephemeral is the range the kernel picks local ports from when a socket
// is bound to port 0 or sends without binding (net.ipv4.ip_local_port_range,
// which IPv6 sockets use too), less net.ipv4.ip_local_reserved_ports, which
// it never picks (ip-sysctl.rst in the kernel documentation).
type Ephemeral struct {
	Lo, Hi   uint16
	Reserved []PortRange
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi uint16 }

// DefaultEphemeral is Linux's default ip_local_port_range, used for saved
// ss/netstat output, where the host's own range is not known.
var DefaultEphemeral = Ephemeral{Lo: 32768, Hi: 60999}

// Contains reports whether the kernel could have picked port itself.
func (e Ephemeral) Contains(port uint16) bool {
	if port < e.Lo || port > e.Hi {
		return false
	}
	for _, r := range e.Reserved {
		if port >= r.Lo && port <= r.Hi {
			return false
		}
	}
	return true
}

func (e Ephemeral) String() string { return fmt.Sprintf("%d-%d", e.Lo, e.Hi) }

// ReadEphemeral reads the ephemeral port range of the host whose /proc is
// fsys (sys/net/ipv4/ip_local_port_range and ip_local_reserved_ports).
func ReadEphemeral(fsys fs.FS) (Ephemeral, error) {
	f, err := fsys.Open("sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return Ephemeral{}, err
	}
	defer f.Close()
	e, err := parsePortRange(f)
	if err != nil {
		return Ephemeral{}, fmt.Errorf("reading net.ipv4.ip_local_port_range: %w", err)
	}
	if r, err := fsys.Open("sys/net/ipv4/ip_local_reserved_ports"); err == nil {
		defer r.Close()
		if e.Reserved, err = parseReservedPorts(r); err != nil {
			return Ephemeral{}, fmt.Errorf("reading net.ipv4.ip_local_reserved_ports: %w", err)
		}
	}
	return e, nil
}

// parsePortRange reads ip_local_port_range: two port numbers, "32768\t60999".
func parsePortRange(r io.Reader) (Ephemeral, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Ephemeral{}, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return Ephemeral{}, fmt.Errorf("want two ports, got %q", strings.TrimSpace(string(b)))
	}
	lo, err1 := strconv.ParseUint(f[0], 10, 16)
	hi, err2 := strconv.ParseUint(f[1], 10, 16)
	if err1 != nil || err2 != nil || lo > hi {
		return Ephemeral{}, fmt.Errorf("want two ports, low first, got %q", strings.TrimSpace(string(b)))
	}
	return Ephemeral{Lo: uint16(lo), Hi: uint16(hi)}, nil
}

// parseReservedPorts reads ip_local_reserved_ports: a comma-separated list
// of ports and ranges ("8080,9000-9100"), empty when none are reserved.
func parseReservedPorts(r io.Reader) ([]PortRange, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil, nil
	}
	var out []PortRange
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.ParseUint(lo, 10, 16)
		h, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 != nil || err2 != nil || l > h {
			return nil, fmt.Errorf("bad port or range %q", part)
		}
		out = append(out, PortRange{uint16(l), uint16(h)})
	}
	return out, nil
}

// MarkClients sets Client on the UDP sockets that are the client side of
// a conversation: host, dig, a resolver library, a syslog forwarder
// binding port 0 get an unconnected UDP socket on a port the kernel picked.
// Such a socket is bound in the ephemeral range, on a port the catalog
// names no service on, by owners that are all known and none of them a
// known server (or port forwarder). A socket whose owner is unknown (no
// -p, not root) is never a client: it may be a server fwaudit cannot name,
// and hiding a server is worse than listing a client.
func MarkClients(ls []Listener, e Ephemeral) {
	for i := range ls {
		ls[i].Client = isClient(&ls[i], e)
	}
}

func isClient(l *Listener, e Ephemeral) bool {
	if l.Proto != "udp" || !e.Contains(l.Port) || len(l.Processes) == 0 {
		return false
	}
	if _, ok := byPort[portKey{l.Proto, l.Port}]; ok {
		return false // wireguard on 51820, mosh on 60001
	}
	for _, p := range l.Processes {
		if p.Name == "" || knownServer(p.Name) {
			return false
		}
	}
	return true
}
