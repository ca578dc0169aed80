//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// A source zone beside interface zones, in firewalld's shape: a source
// goes to an accepting chain on every interface, eth1 to a rejecting one,
// eth0 to one that admits ssh, every other interface (eth2, veth0) to a
// dropping one. Every outside interface admits someone (the source), and
// eth0 admits everyone, so the answers pooled over the interfaces read
// open while the kernel keeps everyone but the source out on eth1 and
// eth2. Beside it, a blocklist on one interface (tcp/8080 refuses one
// source on eth0, admits everyone elsewhere): pooled, nobody is kept out.
// The scan's verdict, on every interface from two sources per family,
// must say what got through; each suggestion loaded in place must not
// widen anything.
func TestVerdictPerInterface(t *testing.T) {
	RequireRoot(t)
	for _, form := range []string{"nft", "iptables"} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			testVerdictPerInterface(t, form)
		})
	}
}

func testVerdictPerInterface(t *testing.T, form string) {
	lab := NewLab(t)
	eth0, eth1, eth2 := lab.AddLink("eth0"), lab.AddLink("eth1"), lab.AddLink("eth2")
	links := []*Link{eth0, eth1, eth2}
	// the source zone's source arrives on eth1 (as firewalld's test has it)
	trusted4, trusted6 := eth1.SrcV4[1], eth1.SrcV6[1]
	// the blocklist's source, on eth0
	banned4, banned6 := eth0.SrcV4[1], eth0.SrcV6[1]
	ports := []PortSpec{{"tcp", 22}, {"tcp", 80}, {"tcp", 8080}}
	lab.startPorts(ports)

	var load func() error
	switch form {
	case "nft":
		rules := fmt.Sprintf(`table inet zones {
	chain filter_INPUT {
		type filter hook input priority filter + 10; policy accept;
		ct state established,related accept
		iifname "lo" accept
		iifname "eth0" ip saddr %s tcp dport 8080 drop
		iifname "eth0" ip6 saddr %s tcp dport 8080 drop
		tcp dport 8080 accept
		jump filter_INPUT_ZONES
		reject with icmpx admin-prohibited
	}
	chain filter_INPUT_ZONES {
		ip saddr %s goto filter_IN_trusted
		ip6 saddr %s goto filter_IN_trusted
		iifname "eth1" goto filter_IN_block
		iifname "eth0" goto filter_IN_internal
		goto filter_IN_drop
	}
	chain filter_IN_trusted {
		accept
	}
	chain filter_IN_block {
		reject with icmpx admin-prohibited
	}
	chain filter_IN_internal {
		tcp dport 22 accept
	}
	chain filter_IN_drop {
		drop
	}
}
`, banned4, banned6, trusted4, trusted6)
		load = func() error {
			_, stderr, err := lab.Host.Exec([]byte(rules), "nft", "-f", "-")
			if err != nil {
				return fmt.Errorf("nft -f: %v: %s", err, stderr)
			}
			return nil
		}
	case "iptables":
		rules := func(trusted, banned, reject string) string {
			return "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
				":INPUT_ZONES - [0:0]\n:IN_trusted - [0:0]\n:IN_block - [0:0]\n:IN_internal - [0:0]\n:IN_drop - [0:0]\n" +
				"-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -i lo -j ACCEPT\n" +
				"-A INPUT -s " + banned + " -i eth0 -p tcp -m tcp --dport 8080 -j DROP\n" +
				"-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT\n" +
				"-A INPUT -j INPUT_ZONES\n-A INPUT -j REJECT --reject-with " + reject + "\n" +
				"-A INPUT_ZONES -s " + trusted + " -g IN_trusted\n" +
				"-A INPUT_ZONES -i eth1 -g IN_block\n-A INPUT_ZONES -i eth0 -g IN_internal\n-A INPUT_ZONES -g IN_drop\n" +
				"-A IN_trusted -j ACCEPT\n-A IN_block -j REJECT --reject-with " + reject + "\n" +
				"-A IN_internal -p tcp -m tcp --dport 22 -j ACCEPT\n-A IN_drop -j DROP\nCOMMIT\n"
		}
		v4 := rules(trusted4.String()+"/32", banned4.String()+"/32", "icmp-host-prohibited")
		v6 := rules(trusted6.String()+"/128", banned6.String()+"/128", "icmp6-adm-prohibited")
		load = func() error {
			for _, l := range []struct{ text, tool string }{{v4, "iptables-restore"}, {v6, "ip6tables-restore"}} {
				if _, stderr, err := lab.Host.Exec([]byte(l.text), l.tool); err != nil {
					return fmt.Errorf("%s: %v: %s", l.tool, err, stderr)
				}
			}
			return nil
		}
	}
	if err := load(); err != nil {
		t.Fatal(err)
	}
	w := &widenRun{lab: lab, links: links, ports: ports, load: load}
	probes := LinkProbes(links, ports)
	before := lab.ProbeLinks(probes)

	// the lab works: what the rules say, as the kernel did it
	for i, p := range probes {
		trusted := p.Src == trusted4 || p.Src == trusted6
		var want bool
		switch p.Port {
		case 22:
			want = trusted || p.Link == eth0
		case 80:
			want = trusted
		case 8080:
			want = !(p.Link == eth0 && (p.Src == banned4 || p.Src == banned6))
		}
		if before[i].OK != want {
			t.Fatalf("lab: %s: %s, want in=%v", p, before[i].Detail, want)
		}
	}

	// every scan verdict agrees with the kernel on every interface
	sc := lab.Scan()
	checks := 0
	for _, port := range ports {
		socks := sc.Find(port.Proto, "ipv6", port.Port)
		if len(socks) != 1 || socks[0].Firewall == nil {
			t.Fatalf("scan: %d sockets for %s/%d (want 1 with a firewall verdict)", len(socks), port.Proto, port.Port)
		}
		for i, p := range probes {
			if p.Proto != port.Proto || p.Port != port.Port {
				continue
			}
			fv := socks[0].Firewall.IPv4
			if p.V6 {
				fv = socks[0].Firewall.IPv6
			}
			checks++
			adm, decided := fv.Admits(p.Src, p.Link.Name)
			if !decided || adm != before[i].OK {
				t.Errorf("scan: %s: kernel in=%v, scan says %s (sources %v except %v interfaces %v by interface %+v)",
					p, before[i].OK, fv.Verdict, fv.Sources, fv.Except, fv.Interfaces, fv.ByInterface)
			}
		}
	}
	if want := len(probes); checks != want {
		t.Errorf("%d scan checks, want %d", checks, want)
	}
	// ssh over IPv4 is open on eth0 only: not open, and the table says
	// who gets in where
	ssh := sc.Find("tcp", "ipv6", 22)[0].Firewall.IPv4
	if ssh.Verdict != "restricted" {
		t.Errorf("tcp/22 over IPv4: %s, want restricted (everyone on eth0, %s on the others)", ssh.Verdict, trusted4)
	}
	stdout, stderr, code := lab.Fwaudit("scan")
	if code != 0 {
		t.Fatalf("fwaudit scan: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "v4 restricted: on eth0: everyone; on eth1,eth2,veth0: "+trusted4.String()+"/32") {
		t.Errorf("fwaudit scan does not say who gets in on which interface:\n%s", stdout)
	}

	// each suggestion, loaded in place, widens nothing
	st := w.measure(t)
	checkWiden(t, st, len(widenFormats)*len(probes))
}
