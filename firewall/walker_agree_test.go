package firewall

import (
	"math/rand"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// agreeCorpus is every corpus ruleset the firewall tests read, per
// family: iptables dumps of both backends (the mixed-backends pair
// together), nft -j dumps and nft text read without nft.
func agreeCorpus(t *testing.T) map[string][]*Ruleset {
	out := map[string][]*Ruleset{}
	for _, f := range fixtureFiles(t) {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "GEN-mixed-backends") {
			continue
		}
		out[name] = []*Ruleset{loadFixture(t, name)}
	}
	out["GEN-mixed-backends"] = []*Ruleset{loadFixture(t, "GEN-mixed-backends.iptables-legacy-save"), loadFixture(t, "GEN-mixed-backends.iptables-nft-save")}
	add := func(name string, n *NftRuleset) {
		for _, fam := range []Family{IPv4, IPv6} {
			if rs := n.Family(fam); len(rs.Tables) > 0 {
				out[name+"/"+string(fam)] = []*Ruleset{rs}
			}
		}
	}
	for _, f := range nftJSONFiles {
		add(f, readNftJSON(t, f))
	}
	var texts []string
	for _, pat := range []string{"*.nft", "*.nft-list-ruleset.txt", "debian12-default-nftables.conf"} {
		fs, _ := filepath.Glob(filepath.Join("../testdata/rules", pat))
		texts = append(texts, fs...)
	}
	for _, f := range texts {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n, err := ParseNftText(b, f, nil)
		if err != nil {
			continue // read by nft itself (ErrNftTextUnsupported): covered by its JSON
		}
		add(filepath.Base(f), n)
	}
	return out
}

// agreeProbe is a packet the agreement test asks both ways about.
type agreeProbe struct {
	src   netip.Addr
	iface string
	sport uint16
}

// TestDecideAgreesWithEvaluateOnCorpus: for every corpus ruleset and
// random packets (seeded), Decide accepts a packet exactly when Evaluate
// puts its source in the set accepted for its protocol, destination, port
// and interface; a verdict that depends on runtime state on one side is
// conditional (or a may-set member) on the other.
func TestDecideAgreesWithEvaluateOnCorpus(t *testing.T) {
	corpus := agreeCorpus(t)
	if len(corpus) < 40 {
		t.Fatalf("only %d corpus rulesets read", len(corpus))
	}
	// offline, and on a host with interfaces (one inside), addresses and
	// routes (reverse-path checks judged, destinations of its own)
	live := Host{Interfaces: []string{"eth0", "eth1", "docker0"}, Inside: []string{"docker0"},
		Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("172.17.0.1"), netip.MustParseAddr("2001:db8::1")},
		Routes: []Route{{netip.MustParsePrefix("0.0.0.0/0"), "eth0"}, {netip.MustParsePrefix("10.0.0.0/8"), "eth1"},
			{netip.MustParsePrefix("172.17.0.0/16"), "docker0"}, {netip.MustParsePrefix("::/0"), "eth0"}}}
	for name, sets := range corpus {
		for _, host := range []struct {
			name string
			h    Host
		}{{"offline", Host{}}, {"live", live}} {
			t.Run(name+"/"+host.name, func(t *testing.T) { agreeOn(t, name, sets, host.h) })
		}
	}
}

// agreeOn is TestDecideAgreesWithEvaluateOnCorpus for one ruleset on one
// host.
func agreeOn(t *testing.T, name string, sets []*Ruleset, host Host) {
	fam := sets[0].Family
	e := NewEvaluator(fam, sets, host)
	rnd := rand.New(rand.NewSource(int64(len(name)) * 7919))
	// addresses and ports the rules name, so that packets meet them
	var addrs []netip.Addr
	var ports []uint16
	e.reachable(func(_ *cchain, cr *crule) {
		for _, r := range cr.src.r {
			if len(addrs) < 4096 {
				addrs = append(addrs, uToAddr(r.lo, fam), uToAddr(r.hi, fam))
			}
		}
		for _, pm := range cr.r.m.x.ports {
			for _, pr := range pm.ranges {
				if len(ports) < 1024 {
					ports = append(ports, pr.Lo, pr.Hi)
				}
			}
		}
	})
	randAddr := func() netip.Addr {
		if len(addrs) > 0 && rnd.Intn(3) > 0 {
			return addrs[rnd.Intn(len(addrs))]
		}
		if fam == IPv4 {
			var b [4]byte
			rnd.Read(b[:])
			return netip.AddrFrom4(b)
		}
		var b [16]byte
		rnd.Read(b[:])
		if rnd.Intn(2) == 0 {
			b[0] = 0x20 // global unicast, as most sources are
		}
		return netip.AddrFrom16(b)
	}
	checked := 0
	for q := 0; q < 24; q++ {
		proto := []string{"tcp", "tcp", "udp", "udp", "icmp"}[rnd.Intn(5)]
		if proto == "icmp" && fam == IPv6 {
			proto = "ipv6-icmp"
		}
		port := uint16(rnd.Intn(65536))
		if len(ports) > 0 && rnd.Intn(3) > 0 {
			port = ports[rnd.Intn(len(ports))]
		}
		if proto != "tcp" && proto != "udp" {
			port = uint16([]int{0, 3, 8, 11, 128, 129, 135, 136}[rnd.Intn(8)])
		}
		dst := e.dsts[rnd.Intn(len(e.dsts))]
		r, each := e.EvaluateEach(Query{Proto: proto, Addr: dst, Port: port})
		if r.Verdict == NotApplicable || r.Verdict == Unknown {
			continue
		}
		for k := 0; k < 12; k++ {
			pr := agreeProbe{src: randAddr(), iface: e.ifaces[rnd.Intn(len(e.ifaces))]}
			var ir *Result
			for i := range each {
				if each[i].Iface == pr.iface || (each[i].Iface == "" && pr.iface == genericIface) {
					ir = &each[i].Result
				}
			}
			if ir == nil {
				t.Fatalf("no answer for interface %q", pr.iface)
			}
			// Evaluate accepts a source if some source port class
			// does: Decide is asked for each
			var dv []string
			for _, sp := range e.sports {
				if proto != "tcp" && proto != "udp" {
					sp = 0
				}
				iface := pr.iface
				if iface == genericIface {
					iface = ""
				}
				d := e.DecideVerdict(Packet{Proto: proto, Src: pr.src, Dst: dst, SPort: sp, DPort: port, InIface: iface})
				dv = append(dv, d.Verdict)
			}
			checked++
			in := resultHolds(ir, pr.src)
			acc, cond := false, false
			for _, v := range dv {
				acc = acc || v == DecideAccept
				cond = cond || v == DecideConditional
			}
			switch {
			case (ir.Verdict == Conditional || doubtHolds(ir, pr.src)) && in:
				if !acc && !cond {
					t.Errorf("%s/%d to %s from %s on %s: Evaluate may accept (conditional %v), Decide %v", proto, port, dst, pr.src, pr.iface, ir.Reasons, dv)
				}
			case in:
				// accepted on some source port's class: there the
				// packet is accepted whatever the runtime state
				if !acc {
					t.Errorf("%s/%d to %s from %s on %s: Evaluate accepts (%s, %s), Decide %v", proto, port, dst, pr.src, pr.iface, ir.Verdict, ir.Rule, dv)
				}
			default:
				if acc || cond {
					t.Errorf("%s/%d to %s from %s on %s: Evaluate does not accept (%s, %s), Decide %v", proto, port, dst, pr.src, pr.iface, ir.Verdict, ir.Rule, dv)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatalf("no packet checked")
	}
}

// resultHolds: r's accepted (or, conditional, possibly accepted) sources
// hold a.
func resultHolds(r *Result, a netip.Addr) bool {
	if doubtHolds(r, a) {
		return true
	}
	switch r.Verdict {
	case Open:
		for _, p := range r.Except {
			if p.Contains(a) {
				return false
			}
		}
		return true
	case Restricted, Conditional:
		if r.Verdict == Restricted && len(r.Sources) == 0 {
			return true
		}
		for _, p := range r.Sources {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// doubtHolds: a is among r's sources in doubt.
func doubtHolds(r *Result, a netip.Addr) bool {
	for _, p := range r.Doubtful {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
