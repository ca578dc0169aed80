//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The truth tests: rules taken from real hosts (firewalld's, a ufw dump)
// that fwaudit once read otherwise than the kernel does. Each loads the
// rules in the lab, checks with probes from the peer what the kernel lets
// in, and holds fwaudit's answer (scan, explain, report, suggest) to it.

// truthProbe is one connection from the peer and whether the kernel must
// let it in.
type truthProbe struct {
	proto, src, dst string
	port            uint16
	ok              bool
}

func (p truthProbe) String() string {
	return fmt.Sprintf("%s %s -> %s port %d", p.proto, p.src, p.dst, p.port)
}

// kernelSays runs the probes and fails t now when the kernel answers
// otherwise than they say: the lab is not what the test is about.
func kernelSays(t *testing.T, lab *Lab, when string, probes []truthProbe) {
	t.Helper()
	reqs := make([]ProbeReq, len(probes))
	for i, p := range probes {
		reqs[i] = ProbeReq{p.proto, p.src, p.dst, p.port}
	}
	for i, r := range lab.ProbeAll(reqs) {
		if r.OK != probes[i].ok {
			t.Errorf("kernel %s: %s: got through %v (%s), want %v", when, probes[i], r.OK, r.Detail, probes[i].ok)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// verdictOf is one family's verdict of the socket proto/family/port in s.
func verdictOf(t *testing.T, s Scan, proto, family string, port uint16, of string) *FamilyVerdict {
	t.Helper()
	socks := s.Find(proto, family, port)
	if len(socks) != 1 || socks[0].Firewall == nil {
		t.Fatalf("scan: want one %s %s socket on port %d, got %d", proto, family, port, len(socks))
	}
	fv := socks[0].Firewall.IPv4
	if of == "ipv6" {
		fv = socks[0].Firewall.IPv6
	}
	if fv == nil {
		t.Fatalf("scan: %s %s/%d has no %s verdict", family, proto, port, of)
	}
	return fv
}

// addHostAddrs gives the host a second address per family on veth0, with
// the peer's neighbour entries for them.
func addHostAddrs(t *testing.T, lab *Lab, v4, v6 string) {
	t.Helper()
	lab.Host.Run("ip", "addr", "add", v4+"/24", "dev", "veth0")
	lab.Host.Run("ip", "addr", "add", v6+"/64", "dev", "veth0", "nodad")
	for _, a := range []string{v4, v6} {
		lab.Peer.Run("ip", "neigh", "replace", a, "lladdr", hostMAC, "dev", "veth1", "nud", "permanent")
	}
}

// suggestLoaded writes the suggestion in format and loads it in place of
// today's rules: iptables and ip6tables over them (restore replaces the
// tables it names), nft alone after flushing the ruleset.
func suggestLoaded(t *testing.T, lab *Lab, format string) string {
	t.Helper()
	gen := func(f string) string {
		stdout, stderr, code := suggestRun(lab, nil, "--format", f)
		if code != 0 {
			t.Fatalf("fwaudit suggest --format %s: exit %d\nstderr:\n%s", f, code, stderr)
		}
		t.Logf("suggest --format %s stderr:\n%s", f, stderr)
		return stdout
	}
	switch format {
	case "iptables":
		v4, v6 := gen("iptables"), gen("ip6tables")
		lab.Host.Run("nft", "flush", "ruleset")
		lab.LoadIptables(v4)
		lab.LoadIp6tables(v6)
		return v4 + v6
	default:
		rs := gen("nft")
		lab.Host.Run("nft", "flush", "ruleset")
		lab.LoadNft(rs)
		return rs
	}
}

// TestTruthDestination: a destination match (firewalld's dhcpv6-client
// service, `ip6 daddr fe80::/64 udp dport 546 accept`; a ufw dump's
// `-d 192.168.1.3 --dport 4444`) admits a wildcard socket at that address
// only. The verdict says so (restricted, with its destinations), and the
// suggestion keeps the match: the other address stays closed after it is
// loaded.
func TestTruthDestination(t *testing.T) {
	const v4b, v6b = "192.0.2.9", "2001:db8::9"
	rulesets := map[string]func(lab *Lab){
		"iptables": func(lab *Lab) {
			lab.LoadIptables(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -d 192.0.2.1/32 -p tcp -m tcp --dport 4444 -j ACCEPT
COMMIT
`)
			lab.LoadIp6tables(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -d 2001:db8::1/128 -p tcp -m tcp --dport 4444 -j ACCEPT
COMMIT
`)
		},
		"nft": func(lab *Lab) {
			lab.LoadNft(`table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		tcp dport 22 accept
		ip daddr 192.0.2.1 tcp dport 4444 accept
		ip6 daddr 2001:db8::1/128 tcp dport 4444 accept
	}
}
`)
		},
	}
	for _, front := range []string{"iptables", "nft"} {
		for _, format := range []string{"iptables", "nft"} {
			t.Run(front+"/suggest-"+format, func(t *testing.T) {
				lab := NewLab(t)
				addHostAddrs(t, lab, v4b, v6b)
				lab.Start(lab.Host, "sshd", "tcp:[::]:22")
				lab.Start(lab.Host, "unknownd", "tcp:[::]:4444")
				rulesets[front](lab)
				var probes []truthProbe
				for _, src := range PeerV4 {
					probes = append(probes, truthProbe{"tcp", src.String(), HostV4.String(), 4444, true},
						truthProbe{"tcp", src.String(), v4b, 4444, false}, truthProbe{"tcp", src.String(), v4b, 22, true})
				}
				for _, src := range PeerV6 {
					probes = append(probes, truthProbe{"tcp", src.String(), HostV6.String(), 4444, true},
						truthProbe{"tcp", src.String(), v6b, 4444, false}, truthProbe{"tcp", src.String(), v6b, 22, true})
				}
				kernelSays(t, lab, "before", probes)

				s := lab.Scan()
				for fam, want := range map[string]string{"ipv4": HostV4.String() + "/32", "ipv6": HostV6.String() + "/128"} {
					fv := verdictOf(t, s, "tcp", "ipv6", 4444, fam)
					if fv.Verdict != "restricted" || !slices.Equal(fv.Destinations, []string{want}) || len(fv.Sources) != 0 {
						t.Errorf("tcp/4444 %s: verdict %s to %v from %v, want restricted to %s from everyone", fam, fv.Verdict, fv.Destinations, fv.Sources, want)
					}
				}
				rs := suggestLoaded(t, lab, format)
				if !strings.Contains(rs, "4444") {
					t.Errorf("the suggestion does not keep tcp/4444 open where it was:\n%s", rs)
				}
				kernelSays(t, lab, "after loading the suggestion", probes)
			})
		}
	}
}

// TestTruthRedirect: firewalld's forward-port without an address, nft
// `tcp dport 8022 redirect to :22` with `ct status dnat accept` in input
// (and iptables' REDIRECT with --ctstate DNAT): everyone reaches sshd
// through 8022 and nobody on 22 itself. The verdict for sshd is open, not
// conditional, explain follows the redirect to the accept, and the
// suggestion keeps ssh reachable.
func TestTruthRedirect(t *testing.T) {
	rulesets := map[string]func(lab *Lab){
		"nft": func(lab *Lab) {
			lab.LoadNft(`table inet firewalld {
	chain nat_PREROUTING {
		type nat hook prerouting priority dstnat + 10; policy accept;
		tcp dport 8022 redirect to :22
	}
	chain filter_INPUT {
		type filter hook input priority filter + 10; policy accept;
		ct state established,related accept
		ct status dnat accept
		iifname "lo" accept
		reject with icmpx admin-prohibited
	}
}
`)
		},
		"iptables": func(lab *Lab) {
			for _, load := range []func(string){lab.LoadIptables, lab.LoadIp6tables} {
				load(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8022 -j REDIRECT --to-ports 22
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate DNAT -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -j REJECT
COMMIT
`)
			}
		},
	}
	for _, front := range []string{"nft", "iptables"} {
		t.Run(front, func(t *testing.T) {
			lab := NewLab(t)
			lab.Start(lab.Host, "sshd", "tcp:[::]:22")
			rulesets[front](lab)
			var probes []truthProbe
			for _, src := range PeerV4 {
				probes = append(probes, truthProbe{"tcp", src.String(), HostV4.String(), 8022, true},
					truthProbe{"tcp", src.String(), HostV4.String(), 22, false})
			}
			for _, src := range PeerV6 {
				probes = append(probes, truthProbe{"tcp", src.String(), HostV6.String(), 8022, true},
					truthProbe{"tcp", src.String(), HostV6.String(), 22, false})
			}
			kernelSays(t, lab, "before", probes)

			s := lab.Scan()
			for _, fam := range []string{"ipv4", "ipv6"} {
				if fv := verdictOf(t, s, "tcp", "ipv6", 22, fam); fv.Verdict != "open" {
					t.Errorf("sshd %s: verdict %s (%v), want open: everyone gets in through 8022", fam, fv.Verdict, fv.Reasons)
				}
			}
			out, stderr, code := lab.Fwaudit("explain", "tcp/8022", "--from", PeerV4[0].String())
			if code != 0 || !strings.Contains(out, "verdict: accept") {
				t.Errorf("explain tcp/8022: exit %d, want the redirected packet accepted:\n%s\n%s", code, out, stderr)
			}

			rs := suggestLoaded(t, lab, "nft")
			if !strings.Contains(rs, "dport 22 accept") {
				t.Errorf("the suggestion writes no rule for ssh:\n%s", rs)
			}
			var after []truthProbe
			for _, src := range append(append(PeerV4[:0:0], PeerV4...), PeerV6...) {
				dst := HostV4.String()
				if src.Is6() {
					dst = HostV6.String()
				}
				after = append(after, truthProbe{"tcp", src.String(), dst, 22, true})
			}
			kernelSays(t, lab, "after loading the suggestion (ssh must stay reachable)", after)
		})
	}
}

// TestTruthEmptySecurityTable: an empty security (and mangle) table with
// policy ACCEPT is not the rule that accepts: ssh is accepted by its own
// rule (no exposed-by-policy), and forwarded NEW connections, which the
// filter's REJECT refuses before the security table sees them, pass
// default-deny.
func TestTruthEmptySecurityTable(t *testing.T) {
	// firewalld's iptables backend: empty security and mangle tables with
	// policy ACCEPT beside a filter table ending in a REJECT
	b, err := os.ReadFile("../testdata/rules/firewalld-iptables-empty-tables.iptables-save")
	if err != nil {
		t.Fatal(err)
	}
	firewalldIptables := string(b)
	lab := NewLab(t)
	backend := lab.AddBackend()
	lab.Peer.Run("ip", "route", "add", "198.51.100.0/24", "via", HostV4.String())
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "unknownd", "tcp:0.0.0.0:4444")
	lab.Start(backend, "nginx", "tcp:0.0.0.0:80")
	lab.LoadIptables(firewalldIptables)
	lab.LoadIp6tables(strings.ReplaceAll(firewalldIptables, "-j REJECT", "-j REJECT --reject-with icmp6-adm-prohibited"))
	var probes []truthProbe
	for _, src := range PeerV4 {
		probes = append(probes, truthProbe{"tcp", src.String(), HostV4.String(), 22, true},
			truthProbe{"tcp", src.String(), HostV4.String(), 4444, false},
			truthProbe{"tcp", src.String(), BackendV4.String(), 80, false})
	}
	kernelSays(t, lab, "with the rules", probes)

	s := lab.Scan()
	const accept22 = "-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"
	if fv := verdictOf(t, s, "tcp", "ipv4", 22, "ipv4"); fv.Verdict != "open" || fv.Rule != accept22 {
		t.Errorf("sshd: verdict %s by %q, want open by %q", fv.Verdict, fv.Rule, accept22)
	}
	r := runReport(t, lab)
	r.wantStatus(t, map[string]string{"default-deny-v4": "pass"})
	if f := r.find("exposed-by-policy", 0); len(f) > 0 {
		t.Errorf("exposed-by-policy raised, but a rule accepts: %v", f)
	}
	// the kernel again: forwarding was on, and was refused
	kernelSays(t, lab, "after the report", probes)
}

// probeFrom runs one probe from namespace ns (the host itself, a backend)
// and reports whether it got through.
func probeFrom(t *testing.T, ns *Netns, proto, src, dst string, port uint16) (bool, string) {
	t.Helper()
	out := strings.TrimSpace(ns.Run(SvcBin, "probe", "-timeout", RetryTimeout.String(),
		fmt.Sprintf("%s,%s,%s,%d,0", proto, src, dst, port)))
	return out == "ok", out
}

// firewalldRPF is firewalld's reverse-path filter (IPv6RPFilter=yes) in
// front of an input chain that accepts lo, established traffic and ssh.
const firewalldRPF = `table inet firewalld {
	chain filter_PREROUTING {
		type filter hook prerouting priority filter + 10; policy accept;
		icmpv6 type { nd-router-advert, nd-neighbor-solicit } accept
		meta nfproto ipv6 fib saddr . mark . iif oif missing drop
	}
	chain filter_INPUT {
		type filter hook input priority filter + 10; policy accept;
		ct state { established, related } accept
		ct status dnat accept
		iifname "lo" accept
		tcp dport 22 accept
		reject with icmpx admin-prohibited
	}
}
`

// TestTruthReversePathOnLoopback: the kernel skips the reverse-path check
// for packets on lo, so firewalld's fib rule does not touch loopback
// traffic (loopback-v6 passes, explain accepts ::1 on lo); and established
// traffic is accepted on a second link whose peers the strict check lets
// through (established-v6 passes on a host with two interfaces and no
// default route).
func TestTruthReversePathOnLoopback(t *testing.T) {
	lab := NewLab(t)
	backend := lab.AddBackend()
	for _, s := range [][]string{
		{"ip", "-n", lab.Host.Name, "addr", "add", "2001:db8:1::1/64", "dev", "ctr0", "nodad"},
		{"ip", "-n", backend.Name, "addr", "add", "2001:db8:1::2/64", "dev", "eth0", "nodad"},
	} {
		if _, stderr, err := runCmd("", nil, s...); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(s, " "), err, stderr)
		}
	}
	// permanent neighbours on the second link, as on the first
	mac := func(ns *Netns, dev string) string {
		f := strings.Fields(ns.Run("cat", "/sys/class/net/"+dev+"/address"))
		if len(f) != 1 {
			t.Fatalf("no address for %s", dev)
		}
		return f[0]
	}
	lab.Host.Run("ip", "neigh", "replace", "2001:db8:1::2", "lladdr", mac(backend, "eth0"), "dev", "ctr0", "nud", "permanent")
	backend.Run("ip", "neigh", "replace", "2001:db8:1::1", "lladdr", mac(lab.Host, "ctr0"), "dev", "eth0", "nud", "permanent")
	lab.Start(lab.Host, "sshd", "tcp:[::]:22")
	lab.LoadNft(firewalldRPF)
	for _, c := range []struct {
		ns       *Netns
		src, dst string
	}{
		{lab.Host, "::1", "::1"},
		{lab.Host, "127.0.0.1", "127.0.0.1"},
		{backend, "2001:db8:1::2", "2001:db8:1::1"}, // the second link: the handshake's ACK is established traffic
		{lab.Peer, PeerV6[0].String(), HostV6.String()},
	} {
		// the backend's link may still be settling: a bounded retry
		var ok bool
		var detail string
		for range 3 {
			if ok, detail = probeFrom(t, c.ns, "tcp", c.src, c.dst, 22); ok {
				break
			}
		}
		if !ok {
			t.Fatalf("kernel: tcp %s -> %s port 22 did not get through (%s)", c.src, c.dst, detail)
		}
	}

	r := runReport(t, lab)
	r.wantStatus(t, map[string]string{"loopback-v6": "pass", "established-v6": "pass"})
	out, stderr, code := lab.Fwaudit("explain", "-6", "tcp/22", "--from", "::1", "--to", "::1", "--iface", "lo")
	if code != 0 || !strings.Contains(out, "verdict: accept") {
		t.Errorf("explain tcp/22 from ::1 on lo: exit %d, want accept:\n%s\n%s", code, out, stderr)
	}
}

// TestTruthFlagAndFragmentTests: the TCP flag and fragment tests of a
// real router's input chain are decided for the packet judged (a client's
// SYN, an unfragmented datagram), and a match on a tcp or ip header never
// casts doubt on UDP or IPv6: ssh and DNS are open in both families, as
// the probes find.
func TestTruthFlagAndFragmentTests(t *testing.T) {
	lab := NewLab(t)
	lab.Start(lab.Host, "sshd", "tcp:[::]:22")
	lab.Start(lab.Host, "named", "udp:[::]:53")
	lab.LoadNft(`table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		tcp flags & (fin|syn|rst|psh|ack|urg) == 0x0 drop
		tcp flags & (fin|syn) == (fin|syn) drop
		ip frag-off & 0x1fff != 0 drop
		tcp dport 22 accept
		udp dport 53 accept
	}
}
`)
	var probes []truthProbe
	for _, src := range PeerV4 {
		probes = append(probes, truthProbe{"tcp", src.String(), HostV4.String(), 22, true}, truthProbe{"udp", src.String(), HostV4.String(), 53, true})
	}
	for _, src := range PeerV6 {
		probes = append(probes, truthProbe{"tcp", src.String(), HostV6.String(), 22, true}, truthProbe{"udp", src.String(), HostV6.String(), 53, true})
	}
	kernelSays(t, lab, "with the rules", probes)
	s := lab.Scan()
	for _, c := range []struct {
		proto string
		port  uint16
	}{{"tcp", 22}, {"udp", 53}} {
		for _, fam := range []string{"ipv4", "ipv6"} {
			if fv := verdictOf(t, s, c.proto, "ipv6", c.port, fam); fv.Verdict != "open" {
				t.Errorf("%s/%d %s: verdict %s %v, want open", c.proto, c.port, fam, fv.Verdict, fv.Reasons)
			}
		}
	}
}

// TestTruthNatWithoutInput: iptables-save of a kernel before 2.6.36 has no
// nat INPUT chain (openvpn-eu and ugent-server in the fffuu corpus). Such a
// file is no restore fragment: iptables-restore loads it, the kernel
// decides as its filter table says, and fwaudit's verdicts for it (read
// with --rules) are the kernel's, not conditional.
func TestTruthNatWithoutInput(t *testing.T) {
	const rules = `# Generated by iptables-save v1.4.8
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A POSTROUTING -s 10.8.0.0/24 -o veth0 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 192.0.2.2/32 -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`
	lab := NewLab(t)
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "nginx", "tcp:0.0.0.0:80")
	lab.LoadIptables(rules)
	if err := os.WriteFile(filepath.Join(lab.Dir, "rules.v4"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	kernelSays(t, lab, "with the rules", []truthProbe{
		{"tcp", PeerV4[0].String(), HostV4.String(), 22, true},
		{"tcp", PeerV4[1].String(), HostV4.String(), 22, false},
		{"tcp", PeerV4[0].String(), HostV4.String(), 80, false},
	})
	stdout, stderr, code := lab.Fwaudit("scan", "-o", "json", "--rules", "rules.v4")
	if code != 0 {
		t.Fatalf("fwaudit scan --rules: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "fragment") {
		t.Errorf("the file is read as a restore fragment:\n%s", stderr)
	}
	s := DecodeScan(t, stdout)
	if fv := verdictOf(t, s, "tcp", "ipv4", 22, "ipv4"); fv.Verdict != "restricted" || !slices.Equal(fv.Sources, []string{"192.0.2.2/32"}) {
		t.Errorf("sshd: %s from %v %v, want restricted to 192.0.2.2/32", fv.Verdict, fv.Sources, fv.Reasons)
	}
	if fv := verdictOf(t, s, "tcp", "ipv4", 80, "ipv4"); fv.Verdict != "blocked" {
		t.Errorf("nginx: %s %v, want blocked", fv.Verdict, fv.Reasons)
	}
}

// TestTruthNftNotARuleset: --nft given JSON that is not nft -j output
// (no metainfo, no table) is an error naming the file, with nothing on
// stdout, not an empty ruleset that makes every port open.
func TestTruthNftNotARuleset(t *testing.T) {
	lab := NewLab(t)
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.LoadIptables("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
	kernelSays(t, lab, "with the rules", []truthProbe{{"tcp", PeerV4[0].String(), HostV4.String(), 22, false}})
	if err := os.WriteFile(filepath.Join(lab.Dir, "odd.json"), []byte(`{"nftables":[{"foo":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := lab.Fwaudit("scan", "-o", "json", "--nft", "odd.json")
	if code == 0 || stdout != "" || !strings.Contains(stderr, "odd.json") || !strings.Contains(stderr, "not nft -j output") {
		t.Errorf("scan --nft odd.json: exit %d, want an error naming the file and no output\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// TestTruthNativeBackendNamed: with firewalld's nftables backend the rules
// are in table inet firewalld and iptables-nft holds none; the report's
// single-firewall-backend check names native nftables, not iptables-nft.
func TestTruthNativeBackendNamed(t *testing.T) {
	lab := NewLab(t)
	lab.Start(lab.Host, "sshd", "tcp:[::]:22")
	lab.LoadNft(firewalldRPF)
	kernelSays(t, lab, "with the rules", []truthProbe{{"tcp", PeerV4[0].String(), HostV4.String(), 22, true}})
	r := runReport(t, lab)
	if got, d := r.status("single-firewall-backend"), r.detail("single-firewall-backend"); got != "pass" || d != "all rules are in native nftables" {
		t.Errorf("single-firewall-backend: %s (%s), want pass: all rules are in native nftables", got, d)
	}
}

// TestTruthTCPOption: `--tcp-option 64 -j DROP` before ssh's accept does
// not touch a client's SYN (no such option), and `--tcp-option 2` (MSS,
// in every SYN Linux sends) drops it: the verdicts are the kernel's, not
// conditional.
func TestTruthTCPOption(t *testing.T) {
	lab := NewLab(t)
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "nginx", "tcp:0.0.0.0:80")
	lab.LoadIptables(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --tcp-option 64 -j DROP
-A INPUT -p tcp -m tcp --dport 80 --tcp-option 2 -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
`)
	var probes []truthProbe
	for _, src := range PeerV4 {
		probes = append(probes, truthProbe{"tcp", src.String(), HostV4.String(), 22, true}, truthProbe{"tcp", src.String(), HostV4.String(), 80, false})
	}
	kernelSays(t, lab, "with the rules", probes)
	s := lab.Scan()
	if fv := verdictOf(t, s, "tcp", "ipv4", 22, "ipv4"); fv.Verdict != "open" {
		t.Errorf("sshd: %s %v, want open", fv.Verdict, fv.Reasons)
	}
	if fv := verdictOf(t, s, "tcp", "ipv4", 80, "ipv4"); fv.Verdict != "blocked" {
		t.Errorf("nginx: %s %v, want blocked", fv.Verdict, fv.Reasons)
	}
}
