package suggest

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// Session is one SSH session the policy must not cut.
type Session struct {
	Client netip.AddrPort
	Server netip.AddrPort
	From   string // where it was found: "$SSH_CONNECTION" or "sshd pid 630"
}

// ParseSSHConnection parses $SSH_CONNECTION, "client_ip client_port
// server_ip server_port" as sshd sets it (sshd(8), ENVIRONMENT).
func ParseSSHConnection(v string) (Session, error) {
	f := strings.Fields(v)
	if len(f) != 4 {
		return Session{}, fmt.Errorf("parsing $SSH_CONNECTION %q: want 4 fields", v)
	}
	var ap [2]netip.AddrPort
	for i := range 2 {
		a, err := netip.ParseAddr(f[2*i])
		if err != nil {
			return Session{}, fmt.Errorf("parsing $SSH_CONNECTION %q: bad address %q", v, f[2*i])
		}
		port, err := strconv.ParseUint(f[2*i+1], 10, 16)
		if err != nil {
			return Session{}, fmt.Errorf("parsing $SSH_CONNECTION %q: bad port %q", v, f[2*i+1])
		}
		ap[i] = netip.AddrPortFrom(a.WithZone("").Unmap(), uint16(port))
	}
	return Session{Client: ap[0], Server: ap[1], From: "$SSH_CONNECTION"}, nil
}

// Sessions gathers the sessions to keep: $SSH_CONNECTION (sshConn, may be
// "") and every established connection owned by sshd or to a port sshd
// listens on. Loopback clients are left out: lo is always accepted.
func Sessions(sshConn string, conns []scan.Conn, listeners []scan.Listener) ([]Session, error) {
	var out []Session
	if strings.TrimSpace(sshConn) != "" {
		s, err := ParseSSHConnection(sshConn)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sshPorts := map[uint16]bool{}
	for _, l := range listeners {
		if isSSH(l) && l.Proto == "tcp" {
			sshPorts[l.Port] = true
		}
	}
	for _, c := range conns {
		if c.Process != "sshd" && !(c.Process == "" && sshPorts[c.Local.Port()]) {
			continue
		}
		if c.Process == "sshd" && len(sshPorts) > 0 && !sshPorts[c.Local.Port()] {
			continue // an outgoing connection of sshd (a forwarding), not a session
		}
		s := Session{Client: unmapAP(c.Remote), Server: unmapAP(c.Local), From: fmt.Sprintf("sshd pid %d", c.PID)}
		if c.PID == 0 {
			s.From = "an established connection"
		}
		if !slices.ContainsFunc(out, func(o Session) bool { return o.Client == s.Client && o.Server == s.Server }) {
			out = append(out, s)
		}
	}
	return out, nil
}

func unmapAP(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().WithZone("").Unmap(), ap.Port())
}

// LockoutError is CheckLockout's refusal.
type LockoutError struct {
	Session Session
	Why     string // the missing allowance
}

func (e *LockoutError) Error() string {
	return fmt.Sprintf("refusing: the ruleset would cut the SSH session from %s to port %d (%s): %s; add it or pass --force",
		e.Session.Client.Addr(), e.Session.Server.Port(), e.Session.From, e.Why)
}

// CheckLockout renders p for each session's family, parses it back with the
// firewall package and decides a NEW TCP connection from the session's
// client to its server port: existing sessions survive through ESTABLISHED,
// but a reconnect from the same place must be let in too. The decision is
// made on everything loaded once p is (in format, beside what stays of
// cur: an nft table does not replace the iptables rules, nor they it). It
// returns a *LockoutError for the first session that would be cut.
func CheckLockout(p *Policy, sessions []Session, cur *firewall.Loaded, format string) error {
	evs := map[firewall.Family]*firewall.Evaluator{}
	for _, s := range sessions {
		c, srv := s.Client.Addr(), s.Server.Addr()
		if c.IsLoopback() {
			continue
		}
		fam := firewall.IPv4
		if c.Is6() {
			fam = firewall.IPv6
		}
		ev := evs[fam]
		if ev == nil {
			var err error
			if ev, err = evaluator(p, cur, format, fam); err != nil {
				return fmt.Errorf("checking the ruleset against the SSH sessions: %w", err)
			}
			evs[fam] = ev
		}
		d := ev.Decide(firewall.Packet{Proto: "tcp", Src: c, Dst: srv,
			SPort: s.Client.Port(), DPort: s.Server.Port(), InIface: "eth0"})
		if d.Verdict == "accept" {
			continue
		}
		return &LockoutError{Session: s, Why: missing(p, s, fam)}
	}
	return nil
}

// evaluator loads what is loaded in fam once p is into our own evaluator.
func evaluator(p *Policy, cur *firewall.Loaded, format string, fam firewall.Family) (*firewall.Evaluator, error) {
	if cur == nil {
		cur = &firewall.Loaded{}
	}
	sets, err := afterLoading(p, cur, format, fam)
	if err != nil {
		return nil, err
	}
	return firewall.NewEvaluator(fam, sets, firewall.Host{}), nil
}

// suggestedRuleset renders p in one family and parses it back with the
// firewall package's parser.
func suggestedRuleset(p *Policy, fam firewall.Family) (*firewall.Ruleset, error) {
	var buf bytes.Buffer
	format := "iptables"
	if fam == firewall.IPv6 {
		format = "ip6tables"
	}
	if err := Render(&buf, p, format); err != nil {
		return nil, err
	}
	return firewall.ParseSave(&buf, "suggested "+format+" ruleset", fam)
}

// missing explains which allowance a session lacks.
func missing(p *Policy, s Session, fam firewall.Family) string {
	port := s.Server.Port()
	var onPort []Rule
	for _, r := range append(slices.Clone(p.SSH), p.Rules...) {
		if r.Proto == "tcp" && r.Port == port && r.Family == fam {
			onPort = append(onPort, r)
		}
	}
	if len(onPort) == 0 {
		return fmt.Sprintf("no rule allows tcp port %d over %s (sshd was not seen listening there)", port, fam)
	}
	for _, r := range onPort {
		if r.Dst.IsValid() && r.Dst != s.Server.Addr() {
			return fmt.Sprintf("port %d is only opened on %s, the session is to %s", port, r.Dst, s.Server.Addr())
		}
	}
	for _, r := range p.SSH {
		if r.Port == port && r.Sources != nil {
			return fmt.Sprintf("--ssh-from does not include %s", s.Client.Addr())
		}
	}
	return fmt.Sprintf("--allow does not include %s", s.Client.Addr())
}
