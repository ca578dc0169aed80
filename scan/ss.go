package scan

import (
	"net/netip"
	"strconv"
	"strings"
)

// ssLine parses one socket line of `ss -tunlp` (iproute2): optional Netid,
// optional State, Recv-Q, Send-Q, local and peer address, then with -p a
// users:(("name",pid=N,fd=N),...) list and with -e key:value fields.
func (p *textParser) ssLine(n int, line string) error {
	p.recognised = true
	rest, procs, msg := cutUsers(line)
	if msg != "" {
		return p.errorf(n, line, msg)
	}
	f := strings.Fields(rest)
	proto, state := "", ""
	if len(f) > 0 && (f[0] == "tcp" || f[0] == "udp") {
		proto, f = f[0], f[1:]
	}
	if len(f) > 0 && ssStates[f[0]] {
		state, f = f[0], f[1:]
	}
	if len(f) < 4 || !allDigits(f[0]) || !allDigits(f[1]) {
		return p.errorf(n, line, "expected Recv-Q, Send-Q, local and peer address columns")
	}
	switch {
	case proto == "" && state == "LISTEN":
		proto = "tcp"
	case proto == "" && state == "UNCONN":
		proto = "udp"
	case proto == "":
		return nil // a non-listening socket of an unknown protocol
	case proto == "tcp" && state != "" && state != "LISTEN":
		return nil
	case proto == "udp" && state != "" && state != "UNCONN":
		return nil // connected UDP
	}
	a, msg := parseSockAddr(f[2])
	if msg != "" {
		return p.errorf(n, line, msg)
	}
	v6only := ""
	for _, x := range f[4:] {
		if v, ok := strings.CutPrefix(x, "v6only:"); ok {
			v6only = v
		}
	}
	addr, dual := a.addr, false
	switch {
	case a.star && p.oldSS:
		addr = netip.IPv4Unspecified()
	case a.star:
		addr, dual = netip.IPv6Unspecified(), true
	case addr.Is6() && addr.IsUnspecified():
		// "[::]" is printed only for IPV6_V6ONLY sockets by bracketing ss;
		// old ss (":::22") could not tell and Linux defaults to dual stack.
		dual = p.oldSS
	}
	if v6only != "" && addr.Is6() {
		dual = v6only == "0"
	} else if p.oldSS && addr.Is6() && addr.IsUnspecified() {
		p.guessed = append(p.guessed, len(p.out))
	}
	p.out = append(p.out, newListener(proto, addr, a.port, a.device, dual, procs))
	return nil
}

// cutUsers removes the users:((...)) field from an ss line and parses it.
// Process names may hold spaces, commas, quotes and parentheses, so an
// entry's name ends at the `",pid=` (or old ss's `",<digit>`) after it.
func cutUsers(line string) (rest string, procs []Process, msg string) {
	start := strings.Index(line, "users:((")
	if start < 0 {
		return line, nil, ""
	}
	s := line[start+len("users:("):]
	consumed := len("users:(")
	for {
		if !strings.HasPrefix(s, "(\"") {
			return "", nil, "malformed users:(...) field"
		}
		s = s[2:]
		consumed += 2
		end := strings.Index(s, "\",pid=")
		skip := len("\",pid=")
		if end < 0 {
			// iproute2 before 3.16: ("name",pid,fd)
			for i := 0; i+2 < len(s); i++ {
				if s[i] == '"' && s[i+1] == ',' && s[i+2] >= '0' && s[i+2] <= '9' {
					end, skip = i, 2
					break
				}
			}
		}
		if end < 0 {
			return "", nil, "malformed users:(...) field: no pid"
		}
		name := s[:end]
		s = s[end+skip:]
		consumed += end + skip
		j := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		pid, err := strconv.Atoi(s[:j])
		if err != nil {
			return "", nil, "malformed users:(...) field: bad pid"
		}
		procs = append(procs, Process{PID: pid, Name: name})
		k := strings.IndexByte(s[j:], ')')
		if k < 0 {
			return "", nil, "malformed users:(...) field: unterminated"
		}
		s = s[j+k+1:]
		consumed += j + k + 1
		if strings.HasPrefix(s, ",(") {
			s = s[1:]
			consumed++
			continue
		}
		if strings.HasPrefix(s, ")") {
			consumed++
			break
		}
		return "", nil, "malformed users:(...) field: unterminated"
	}
	return line[:start] + line[start+consumed:], procs, ""
}
