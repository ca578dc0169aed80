// Package scan owns the view of what listens on the host: the listening TCP
// and bound UDP sockets, the processes that own them, the service each one
// is, and how exposed its bind address is. It reads the live host (netlink
// sock_diag plus one walk of /proc, go-netstat as the fallback) or parses
// saved `ss` / `netstat` output. It knows nothing of firewalls.
package scan

import "net/netip"

// Exposure says how far a bind address reaches before any firewall.
type Exposure string

const (
	ExposureLocal    Exposure = "local"    // 127.0.0.0/8, ::1, ::ffff:127.x, or bound to device lo
	ExposurePublic   Exposure = "public"   // wildcard: 0.0.0.0 or ::
	ExposureSpecific Exposure = "specific" // one non-loopback address
)

// Process is one owner of a socket.
type Process struct {
	PID  int
	Name string
}

// Listener is one listening TCP socket or one bound, unconnected UDP socket.
type Listener struct {
	Proto     string     // "tcp" or "udp"
	Family    string     // "ipv4" or "ipv6"
	DualStack bool       // IPv6 wildcard without IPV6_V6ONLY: receives IPv4 too
	Address   netip.Addr // bind address, without zone
	Port      uint16
	Device    string // bound device (SO_BINDTODEVICE, the "%lo" in ss output), "" if none

	// PID and Process name the first owner (lowest PID); Processes lists
	// every owner, sorted by PID. All zero when unknown.
	PID       int
	Process   string
	Processes []Process

	Service string // canonical catalog name, "" when unknown
	// ServiceBy says what named the service: ServiceByProcess (an owner is
	// a known server of it) or ServiceByPort (the port alone: a guess).
	// "" when Service is.
	ServiceBy string
	Exposure  Exposure

	// Client marks an unconnected UDP socket on a port the kernel picked
	// for a process that is not a known server (dig, a syslog forwarder):
	// the client side of a conversation, nothing to open or to flag. See
	// MarkClients.
	Client bool

	// UID is the socket's owner uid (sock_diag's idiag_uid, the uid
	// column of /proc/net/tcp), where UIDKnown: a live scan knows it, a
	// listing read from ss or netstat text does not. Not in the JSON.
	UID      uint32
	UIDKnown bool
}

// Conn is an established TCP connection, used to keep live sessions alive.
type Conn struct {
	Local, Remote netip.AddrPort
	PID           int
	Process       string
}
