package suggest

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// fuzzPool is the listeners the round trip draws from: ssh always, the
// others as the fuzzer's mask picks them. Wildcard, dual-stack, specific,
// device-bound, sensitive and unknown services, tcp and udp.
var fuzzPool = func() []scan.Listener {
	dev := lst("tcp", "0.0.0.0", 8443, "app", false)
	dev.Device = "eth1"
	ls := []scan.Listener{
		lst("tcp", "::", 22, "sshd", true),
		lst("tcp", "::", 80, "nginx", true),
		lst("tcp", "0.0.0.0", 443, "nginx", false),
		lst("tcp", "0.0.0.0", 5432, "postgres", false),
		lst("udp", "0.0.0.0", 53, "named", false),
		lst("udp", "::", 53, "named", false),
		lst("tcp", "192.0.2.10", 8080, "java", false),
		lst("tcp", "2001:db8::10", 7007, "app", false),
		lst("tcp", "127.0.0.1", 6379, "redis-server", false),
		lst("udp", "0.0.0.0", 123, "chronyd", false),
		lst("tcp", "::", 3306, "mysqld", true),
		dev,
	}
	for p := uint16(9000); p < 9018; p++ { // more ports than one multiport takes
		ls = append(ls, lst("tcp", "0.0.0.0", p, "worker", false))
	}
	return ls
}()

// FuzzSuggestRoundTrip: any ruleset our parser reads, taken as today's
// rules → Build → every format renders → the iptables and ip6tables
// renderings parse back with our parser → evaluated, each listener admits
// no source and no interface that today's rules do not, judged at every
// boundary of the address ranges involved. The suggestion never carries
// a rule iptables could not show (unsupported revision) or a raw control
// character. Nothing panics.
func FuzzSuggestRoundTrip(f *testing.F) {
	files, _ := filepath.Glob("../testdata/rules/*.iptables-save")
	files6, _ := filepath.Glob("../testdata/rules/*.ip6tables-save")
	for _, p := range append(files, files6...) {
		if strings.Contains(p, "tum-large") {
			continue // large; the others cover its syntax
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if strings.Contains(p, "ip6tables") {
			f.Add("", string(b), uint32(0xffffffff))
		} else {
			f.Add(string(b), "", uint32(0xffffffff))
		}
	}
	f.Add(rules(":INPUT DROP [0:0]", "-A INPUT -s 198.51.100.7 -j DROP", "-A INPUT -p tcp -j ACCEPT"), acceptAll, uint32(0x3ffff))
	f.Add(rules(":INPUT DROP [0:0]", "-A INPUT -p tcp -m conntrack [unsupported revision] -j ACCEPT", "-A INPUT -p udp -j ACCEPT"), dropAll, uint32(0xffff))
	f.Add(rules(":INPUT ACCEPT [0:0]", "-A INPUT -i eth0 -p tcp --dport 80 -j DROP", "-A INPUT -s 10.0.0.0/8 -p tcp -j ACCEPT", "-A INPUT -j DROP"), notRead, uint32(7))
	f.Fuzz(func(t *testing.T, v4, v6 string, mask uint32) {
		cur := &firewall.Loaded{}
		for _, s := range []struct {
			fam  firewall.Family
			text string
			t    *firewall.FamilyRules
		}{{firewall.IPv4, v4, &cur.V4}, {firewall.IPv6, v6, &cur.V6}} {
			rs, err := firewall.ParseSave(strings.NewReader(s.text), "today", s.fam)
			if err != nil || s.text == notRead || rs.RuleCount() > 500 {
				s.t.Why = "not read (fuzz)"
				continue
			}
			s.t.Sets = []*firewall.Ruleset{rs}
		}
		var ls []scan.Listener
		for i, l := range fuzzPool {
			if i == 0 || mask&(1<<(i%32)) != 0 {
				ls = append(ls, l)
			}
		}
		p, _, err := Build(ls, Options{Current: cur})
		var oe *OptionError
		if errors.As(err, &oe) && strings.Contains(err.Error(), "only under runtime conditions") {
			// ssh behind a knock or a limit: refused until told who may
			// connect, which the check below leaves aside (it is ssh),
			// in each family (firewalld's reverse-path check is a
			// runtime match over IPv6)
			p, _, err = Build(ls, Options{Current: cur, SSHFrom: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}})
		}
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		out := map[string][]byte{}
		for _, format := range Formats {
			var buf bytes.Buffer
			err := Render(&buf, p, format)
			if (format == "ufw" || format == "firewalld") && p.onDocker() {
				// Docker's chains come before the manager's: refused, with the reason
				if err == nil || !strings.Contains(err.Error(), "Docker") {
					t.Fatalf("Render ufw on a Docker host: %v, want a refusal naming Docker", err)
				}
				continue
			}
			if format == "firewalld" && err != nil && strings.Contains(err.Error(), "firewalld's zone cannot say that") && strings.Contains(err.Error(), "--ssh-from") {
				// ssh admitted on some interfaces only: a zone cannot say
				// that, so the format refuses and names --ssh-from
				continue
			}
			if err != nil {
				t.Fatalf("Render %s: %v", format, err)
			}
			text := buf.String()
			if strings.Contains(text, "unsupported revision") {
				t.Fatalf("%s re-emits a rule iptables could not show:\n%s", format, text)
			}
			for _, r := range text {
				if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 {
					t.Fatalf("%s holds a raw %U:\n%q", format, r, text)
				}
			}
			out[format] = buf.Bytes()
		}
		for _, c := range []struct {
			format string
			fam    firewall.Family
		}{{"iptables", firewall.IPv4}, {"ip6tables", firewall.IPv6}} {
			after, err := firewall.ParseSave(bytes.NewReader(out[c.format]), c.format, c.fam)
			if err != nil {
				t.Fatalf("our parser rejects our %s output: %v\n%s", c.format, err, out[c.format])
			}
			today := cur.Of(c.fam)
			if today.Sets == nil {
				continue
			}
			evBefore := firewall.NewEvaluator(c.fam, today.Sets, firewall.Host{})
			evAfter := firewall.NewEvaluator(c.fam, []*firewall.Ruleset{after}, firewall.Host{})
			for _, l := range ls {
				if isSSH(l) || l.Exposure == scan.ExposureLocal || !servesFamily(l, c.fam) {
					continue
				}
				q := firewall.Query{Proto: l.Proto, Addr: queryAddr(l, c.fam), Port: l.Port}
				evDev := func(ev *firewall.Evaluator, sets []*firewall.Ruleset) firewall.Result {
					if l.Device == "" {
						return ev.Evaluate(q)
					}
					return firewall.NewEvaluator(c.fam, sets, firewall.Host{Interfaces: []string{l.Device}}).Evaluate(q)
				}
				before := evDev(evBefore, today.Sets)
				got := evDev(evAfter, []*firewall.Ruleset{after})
				if msg := admitsMore(got, before, c.fam, l.Device); msg != "" {
					t.Fatalf("%s %s/%d on %s: the suggestion admits %s\ntoday: %+v\nsuggested: %+v\ntoday's rules:\n%s\nsuggested rules:\n%s",
						c.fam, l.Proto, l.Port, l.Address, msg, before, got, textOf(c.fam, v4, v6), out[c.format])
				}
				if l.Device != "" {
					continue
				}
				// and on every interface alone
				_, eachBefore := evBefore.EvaluateEach(q)
				_, eachAfter := evAfter.EvaluateEach(q)
				for _, pr := range pairByIface(eachBefore, eachAfter) {
					if msg := admitsMore(pr.after, pr.before, c.fam, ""); msg != "" {
						t.Fatalf("%s %s/%d on %s, arriving on %s: the suggestion admits %s\ntoday: %+v\nsuggested: %+v\ntoday's rules:\n%s\nsuggested rules:\n%s",
							c.fam, l.Proto, l.Port, l.Address, pr.iface, msg, pr.before, pr.after, textOf(c.fam, v4, v6), out[c.format])
					}
				}
			}
		}
	})
}

func textOf(fam firewall.Family, v4, v6 string) string {
	if fam == firewall.IPv6 {
		return v6
	}
	return v4
}

// servesFamily reports whether l receives connections over fam.
func servesFamily(l scan.Listener, fam firewall.Family) bool {
	if fam == firewall.IPv4 {
		return l.Address.Is4() || l.Address.Is4In6() || l.DualStack
	}
	return l.Address.Is6() && !l.Address.Is4In6()
}

// admitsMore is the fuzz test's own judge, written apart from verify: the
// sources each result admits are unions of prefixes, so if after admits
// an address before does not, one such address lies at a boundary of one
// of the prefixes involved (its first or last address, or one beside
// them). Loopback sources do not count (every rendering drops them from
// outside). A device-bound listener hears its device only.
func admitsMore(after, before firewall.Result, fam firewall.Family, dev string) string {
	var probes []netip.Addr
	add := func(a netip.Addr) {
		if a.IsValid() {
			probes = append(probes, a)
		}
	}
	for _, ps := range [][]netip.Prefix{after.Sources, after.Except, before.Sources, before.Except} {
		for _, p := range ps {
			if (p.Addr().Is4()) != (fam == firewall.IPv4) {
				continue
			}
			first, last := p.Masked().Addr(), lastOf(p)
			add(first)
			add(last)
			add(first.Prev())
			add(last.Next())
		}
	}
	for _, s := range []string{"192.0.2.1", "198.51.100.7", "10.0.0.1", "8.8.8.8", "0.0.0.1", "255.255.255.254", "2001:db8::1", "2001:db8:bad::1", "fe80::1", "2a00::1", "::2", "ffff::1"} {
		a := netip.MustParseAddr(s)
		if a.Is4() == (fam == firewall.IPv4) {
			add(a)
		}
	}
	for _, a := range probes {
		if a.IsLoopback() {
			continue
		}
		if admits(after, a) && !admits(before, a) {
			return "source " + a.String() + ", which today's rules do not"
		}
	}
	if dev != "" || len(before.Interfaces) == 0 || !admitsAny(after, probes) {
		return ""
	}
	if len(after.Interfaces) == 0 {
		return "every interface, where today's rules admit only " + strings.Join(before.Interfaces, ", ")
	}
	for _, i := range after.Interfaces {
		found := false
		for _, j := range before.Interfaces {
			found = found || i == j
		}
		if !found {
			return "interface " + i + ", which today's rules do not"
		}
	}
	return ""
}

func admitsAny(r firewall.Result, probes []netip.Addr) bool {
	for _, a := range probes {
		if !a.IsLoopback() && admits(r, a) {
			return true
		}
	}
	return false
}

// admits reports whether r lets a in (conditional: whom it may).
func admits(r firewall.Result, a netip.Addr) bool {
	in := func(ps []netip.Prefix) bool {
		for _, p := range ps {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	switch r.Verdict {
	case firewall.Open:
		return !in(r.Except)
	case firewall.Restricted:
		return r.Sources == nil || in(r.Sources)
	case firewall.Conditional:
		return in(r.Sources)
	case firewall.Blocked, firewall.NotApplicable:
		return false
	}
	return true
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// queryAddr is the bind address to ask about in fam: the IPv4 side of a
// dual-stack "::" is the IPv4 wildcard; an IPv4-mapped bind is IPv4.
func queryAddr(l scan.Listener, fam firewall.Family) netip.Addr {
	a := l.Address
	if fam == firewall.IPv4 {
		if a.Is4In6() {
			return a.Unmap()
		}
		if a.Is6() {
			return netip.IPv4Unspecified()
		}
	}
	return a
}
