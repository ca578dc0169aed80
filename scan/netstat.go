package scan

import (
	"strconv"
	"strings"
)

// netstatStates are the TCP state names netstat (net-tools) prints.
var netstatStates = map[string]bool{
	"ESTABLISHED": true, "SYN_SENT": true, "SYN_RECV": true, "FIN_WAIT1": true,
	"FIN_WAIT2": true, "TIME_WAIT": true, "CLOSE": true, "CLOSE_WAIT": true,
	"LAST_ACK": true, "LISTEN": true, "CLOSING": true, "UNKNOWN": true,
}

// netstatLine parses one line of `netstat -tunlp` (net-tools): Proto,
// Recv-Q, Send-Q, Local Address, Foreign Address, State (empty for
// unconnected UDP), with -e User and Inode, with -p "PID/Program name",
// where the program name may hold spaces and colons ("600/sshd: /usr/sbin").
// netstat names one owner per socket.
func (p *textParser) netstatLine(n int, line string, f []string) error {
	p.recognised = true
	if len(f) < 5 || !allDigits(f[1]) || !allDigits(f[2]) {
		return p.errorf(n, line, "expected Proto, Recv-Q, Send-Q, local and foreign address columns")
	}
	proto := strings.TrimSuffix(f[0], "6")
	rest := f[5:]
	state := ""
	if len(rest) > 0 && netstatStates[rest[0]] {
		state, rest = rest[0], rest[1:]
	}
	if proto == "tcp" && state != "LISTEN" || proto == "udp" && state != "" && state != "CLOSE" {
		return nil
	}
	a, msg := parseSockAddr(f[3])
	if msg != "" {
		return p.errorf(n, line, msg)
	}
	if a.star {
		return p.errorf(n, line, "address "+strconv.Quote(f[3])+" is not numeric (capture with -n)")
	}
	var procs []Process
	for i, x := range rest {
		slash := strings.IndexByte(x, '/')
		if slash <= 0 || !allDigits(x[:slash]) {
			continue
		}
		pid, err := strconv.Atoi(x[:slash])
		if err != nil {
			return p.errorf(n, line, "bad PID in "+strconv.Quote(x))
		}
		name := strings.Join(append([]string{x[slash+1:]}, rest[i+1:]...), " ")
		// Keep the program column as printed, spaces included.
		if k := strings.Index(line, x); k >= 0 {
			name = strings.TrimSpace(line[k+slash+1:])
		}
		procs = []Process{{PID: pid, Name: name}}
		break
	}
	if a.addr.Is6() && a.addr.IsUnspecified() {
		p.guessed = append(p.guessed, len(p.out))
	}
	p.out = append(p.out, newListener(proto, a.addr, a.port, a.device, true, procs))
	return nil
}
