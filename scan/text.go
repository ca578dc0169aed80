package scan

import (
	"bytes"
	"cmp"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ParseError is a line of saved ss/netstat output that is neither a
// header nor a socket line fwaudit understands, or input with no ss or
// netstat output at all (Line 0).
type ParseError struct {
	Source string // the name given to ParseText
	Line   int    // 1-based; 0 when the error is about the whole input
	Text   string // the raw line
	Msg    string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.Source + ": " + e.Msg
	}
	return e.Source + " line " + strconv.Itoa(e.Line) + ": " + e.Msg
}

// ParseText reads saved `ss -tunlp` or `netstat -tunlp` output: any flag
// order (-tulpn, -tlnp, -lnp), with or without -p, -e or a header (-H),
// several outputs concatenated. It keeps listening TCP and unconnected
// UDP sockets, in input order, and ignores unix, raw and other sockets.
// name is used in errors.
//
// Dual stack: ss marks an IPv6 wildcard socket without IPV6_V6ONLY as
// "*:port" and one with IPV6_V6ONLY as "[::]:port" (iproute2 ≥ 4.x, which
// also prints "v6only:0|1" with -e; -e wins when present). Old ss (":::22"
// for IPv6, "*:22" for IPv4) and netstat cannot tell: an IPv6 wildcard is
// then assumed dual stack, the Linux default (net.ipv6.bindv6only=0).
func ParseText(r io.Reader, name string) ([]Listener, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	p := textParser{source: name, oldSS: isOldSS(data)}
	n := 0
	for len(data) > 0 {
		n++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if err := p.line(n, string(bytes.TrimRight(line, "\r"))); err != nil {
			return nil, err
		}
	}
	if !p.recognised {
		return nil, &ParseError{Source: name, Msg: "no ss or netstat output recognised"}
	}
	inferV6Only(p.out, p.guessed)
	MarkClients(p.out, DefaultEphemeral)
	return p.out, nil
}

// inferV6Only corrects the dual-stack guess for the IPv6 wildcards in
// guessed (indexes into ls). A dual-stack IPv6 socket receives IPv4 on its
// port, so Linux refuses a bind of the IPv4 wildcard on the same port next
// to it (EADDRINUSE, short of SO_REUSEPORT); OpenSSH, nginx and others set
// IPV6_V6ONLY exactly when they bind both. So when the process that owns
// the IPv6 wildcard (same PID, or the same name: netstat names one of
// several pre-forked owners) also holds 0.0.0.0 on the same port, proto
// and device, its IPv6 socket is V6ONLY. Without owners nothing is changed.
func inferV6Only(ls []Listener, guessed []int) {
	for _, i := range guessed {
		l := &ls[i]
		if !l.DualStack || len(l.Processes) == 0 {
			continue
		}
		for _, v4 := range ls {
			if v4.Family == "ipv4" && v4.Address.IsUnspecified() && v4.Proto == l.Proto &&
				v4.Port == l.Port && v4.Device == l.Device && sameOwner(v4.Processes, l.Processes) {
				l.DualStack = false
				break
			}
		}
	}
}

// sameOwner reports whether two owner lists share a PID or a process name.
func sameOwner(a, b []Process) bool {
	for _, x := range a {
		for _, y := range b {
			if x.PID == y.PID || x.Name != "" && x.Name == y.Name {
				return true
			}
		}
	}
	return false
}

type textFormat int

const (
	formatUnknown textFormat = iota
	formatSS
	formatNetstat
)

type textParser struct {
	source     string
	oldSS      bool       // "*:22" is IPv4 (see isOldSS)
	format     textFormat // from the last header seen
	otherInet  bool       // inside netstat's "Active UNIX domain sockets" section
	recognised bool       // a header or a socket line was seen
	out        []Listener
	guessed    []int // indexes in out of IPv6 wildcards whose dual stack is assumed
}

func (p *textParser) errorf(n int, line, msg string) error {
	return &ParseError{Source: p.source, Line: n, Text: line, Msg: msg}
}

// ss netids and netstat protocols that are not TCP or UDP over IP.
var otherProtos = map[string]bool{
	"raw": true, "raw6": true, "unix": true, "udpl": true, "udpl6": true, "udplite": true,
	"u_str": true, "u_dgr": true, "u_seq": true, "nl": true, "p_raw": true, "p_dgr": true,
	"mptcp": true, "sctp": true, "sctp6": true, "tipc": true, "v_str": true, "v_dgr": true,
	"xdp": true, "icmp6": true, "dccp": true, "ax25": true, "netrom": true, "ipx": true,
	"bluetooth": true, "l2cap": true, "rfcomm": true, "sco": true,
}

// ssStates are the state names ss prints (ss.c sstate_name) plus "LISTEN"
// spelled as netstat does; netstat's own names are in netstatStates.
var ssStates = map[string]bool{
	"UNKNOWN": true, "ESTAB": true, "SYN-SENT": true, "SYN-RECV": true, "FIN-WAIT-1": true,
	"FIN-WAIT-2": true, "TIME-WAIT": true, "UNCONN": true, "CLOSE-WAIT": true, "LAST-ACK": true,
	"LISTEN": true, "CLOSING": true, "NEW-SYN-RECV": true, "BOUND-INACTIVE": true,
}

func (p *textParser) line(n int, line string) error {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	switch {
	case f[0] == "Active" && len(f) > 1:
		// netstat section banners: "Active Internet connections (only
		// servers)", "Active UNIX domain sockets", "Active Bluetooth ...".
		p.recognised, p.format = true, formatNetstat
		p.otherInet = f[1] != "Internet"
		return nil
	case f[0] == "Proto" && len(f) > 1 && (f[1] == "Recv-Q" || f[1] == "RefCnt"):
		p.recognised, p.format = true, formatNetstat
		return nil
	case (f[0] == "Netid" || f[0] == "State" || f[0] == "Recv-Q") && strings.Contains(line, "Local Address"):
		p.recognised, p.format, p.otherInet = true, formatSS, false
		return nil
	}
	if p.otherInet || otherProtos[f[0]] {
		p.recognised = true
		return nil
	}
	switch f[0] {
	case "tcp6", "udp6":
		return p.netstatLine(n, line, f)
	case "tcp", "udp":
		if p.format == formatNetstat || (p.format == formatUnknown && looksNetstat(f)) {
			return p.netstatLine(n, line, f)
		}
		return p.ssLine(n, line)
	}
	if ssStates[f[0]] {
		return p.ssLine(n, line)
	}
	return p.errorf(n, line, "not a header or a tcp/udp socket line: "+strconv.Quote(trim(line)))
}

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// looksNetstat tells a headerless netstat line from an ss line that has a
// netid but no state column: netstat prints the state word, "PID/Program"
// or "-" after the foreign address, ss prints users:(...) or key:value.
func looksNetstat(f []string) bool {
	if len(f) < 4 {
		return false
	}
	if len(f) < 6 {
		return strings.HasPrefix(f[3], ":::")
	}
	x := f[5]
	if x == "-" || x == "LISTEN" || x == "ESTABLISHED" || x == "CLOSE" {
		return true
	}
	if i := strings.IndexByte(x, '/'); i > 0 && allDigits(x[:i]) {
		return true
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isOldSS reports whether the input is ss output from iproute2 before
// bracketed IPv6 (about 2017): IPv6 as ":::22" and IPv4 wildcards as "*:22".
// Newer ss prints "0.0.0.0:22", "[::]:22" and "*:22" for a dual-stack
// IPv6 wildcard. netstat lines (tcp6/udp6) are not counted.
func isOldSS(data []byte) bool {
	old := false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] == "tcp6" || f[0] == "udp6" {
			continue
		}
		for i, x := range f[1:] {
			switch {
			case strings.HasPrefix(x, "0.0.0.0:"), strings.HasPrefix(x, "["):
				return false
			case strings.HasPrefix(x, ":::"), strings.HasPrefix(x, "::ffff:"):
				old = true
			case i+2 < len(f) && f[i+2] == "*:*" && isIPv4Port(x):
				// an IPv4 socket with peer "*:*": new ss prints "0.0.0.0:*"
				old = true
			}
		}
	}
	return old
}

// isIPv4Port reports whether s is "a.b.c.d:port" (an optional %device
// before the colon allowed).
func isIPv4Port(s string) bool {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return false
	}
	host := s[:i]
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host = host[:j]
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Is4()
}

// sockAddr is a parsed local address column.
type sockAddr struct {
	addr   netip.Addr
	device string
	port   uint16
	star   bool // "*:port"
}

// parseSockAddr reads "0.0.0.0:22", "[::]:22", "*:22", ":::22",
// "127.0.0.53%lo:53", "0.0.0.0%virbr0:67", "[fe80::1]%eth0:123".
func parseSockAddr(s string) (sockAddr, string) {
	var a sockAddr
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return a, "address " + strconv.Quote(s) + " has no port"
	}
	host, port := s[:i], s[i+1:]
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		if port == "*" {
			return a, "address " + strconv.Quote(s) + " has no port"
		}
		return a, "port " + strconv.Quote(port) + " is not a number (capture with -n)"
	}
	a.port = uint16(pn)
	if j := strings.LastIndexByte(host, '%'); j >= 0 {
		a.device, host = host[j+1:], host[:j]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "*" {
		a.star = true
		return a, ""
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return a, "address " + strconv.Quote(host) + " is not numeric (capture with -n)"
	}
	if z := ip.Zone(); z != "" && a.device == "" {
		a.device = z
	}
	a.addr = ip.WithZone("")
	return a, ""
}

// listener fills in family, service and exposure, and sorts owners.
func newListener(proto string, a netip.Addr, port uint16, device string, dual bool, procs []Process) Listener {
	l := Listener{Proto: proto, Family: "ipv4", Address: a, Port: port, Device: device}
	if a.Is6() {
		l.Family = "ipv6"
		l.DualStack = dual && a.IsUnspecified()
	}
	setProcesses(&l, procs)
	finish(&l)
	return l
}

// setProcesses sorts owners by PID, drops duplicates (one process holding
// the socket on several fds) and sets PID/Process to the first.
func setProcesses(l *Listener, procs []Process) {
	// no reflection: this runs once per socket
	slices.SortStableFunc(procs, func(a, b Process) int { return cmp.Compare(a.PID, b.PID) })
	out := procs[:0]
	for _, p := range procs {
		if len(out) > 0 && out[len(out)-1].PID == p.PID {
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		l.Processes, l.PID, l.Process = nil, 0, ""
		return
	}
	l.Processes = out
	l.PID, l.Process = out[0].PID, out[0].Name
}

// finish names the service and the exposure.
func finish(l *Listener) {
	if s, by := identifyListener(l); by != "" {
		l.Service, l.ServiceBy = s.Name, by
	}
	l.Exposure = exposureOfAddr(l.Address, l.Device)
}
