//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Never wider on every interface and source: a host with two outside
// interfaces and a blocklist on one of them. Pooled over both interfaces
// the port is open to everyone, so a plain accept was suggested and the
// blocked source got in on the first interface. Every suggestion format,
// loaded in place of today's rules, must keep it out there and let the
// rest in as today.
func TestNeverWiderPerInterface(t *testing.T) {
	RequireRoot(t)
	for _, c := range []struct {
		name   string
		ifaces [2]string
		rules  func(blocked *Link) (v4, v6, nft string)
	}{
		{name: "iptables", ifaces: [2]string{"eth0", "eth1"},
			rules: func(b *Link) (string, string, string) {
				f := func(src string) string {
					return "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
						"-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -i lo -j ACCEPT\n" +
						"-A INPUT -s " + src + " -i eth0 -j DROP\n" +
						"-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
				}
				return f(b.SrcV4[1].String() + "/32"), f(b.SrcV6[1].String() + "/128"), ""
			}},
		{name: "nft netdev ingress", ifaces: [2]string{"eth0", "wg0"},
			rules: func(b *Link) (string, string, string) {
				return "", "", fmt.Sprintf(`table netdev filter {
	chain ingress {
		type filter hook ingress device "eth0" priority -500;
		ip saddr %s drop
		ip6 saddr %s drop
	}
}
table inet filter {
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		iifname "lo" accept
		tcp dport 80 accept
		tcp dport 22 accept
	}
}
`, b.SrcV4[1], b.SrcV6[1])
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			lab := NewLab(t)
			links := []*Link{lab.AddLink(c.ifaces[0]), lab.AddLink(c.ifaces[1])}
			v4, v6, nft := c.rules(links[0])
			load := func() error {
				for _, l := range []struct{ text, tool string }{{v4, "iptables-restore"}, {v6, "ip6tables-restore"}, {nft, "nft"}} {
					if l.text == "" {
						continue
					}
					args := []string{l.tool}
					if l.tool == "nft" {
						args = append(args, "-f", "-")
					}
					if _, stderr, err := lab.Host.Exec([]byte(l.text), args...); err != nil {
						return fmt.Errorf("%s: %v: %s", l.tool, err, stderr)
					}
				}
				return nil
			}
			ports := []PortSpec{{"tcp", 22}, {"tcp", 80}}
			lab.startPorts(ports)
			if err := load(); err != nil {
				t.Fatal(err)
			}
			w := &widenRun{lab: lab, links: links, ports: ports, load: load}
			st := w.measure(t)
			// today: the blocked source is refused on eth0 only
			for i, p := range w.probes {
				want := !(p.Link == links[0] && p.Src == p.Link.Sources(p.V6)[1])
				if w.before[i].OK != want {
					t.Errorf("host expectation: %s: %s before, want in=%v", p, w.before[i].Detail, want)
				}
			}
			checkWiden(t, st, 3*len(w.probes))
		})
	}
}

// checkWiden fails t for every widening, cut or refusal, and for fewer
// checks than want.
func checkWiden(t *testing.T, st WidenStats, want int) {
	t.Helper()
	for _, w := range st.Widened {
		t.Errorf("WIDENED: %s", w)
	}
	for _, c := range st.Cut {
		t.Errorf("ssh cut: %s", c)
	}
	for _, r := range st.Refused {
		t.Errorf("suggest refused: %s", r)
	}
	if st.Checks != want {
		t.Errorf("%d checks, want %d", st.Checks, want)
	}
}

// ssh behind an ICMP port knock, beside one fixed source. Today only the
// fixed source and whoever knocked get in; the others are refused until
// they knock. suggest must not turn that into an accept for everyone: it
// refuses (exit 2, naming --ssh-from), and with --ssh-from the suggestion
// loaded in place admits exactly what it names.
func TestSSHKnockNotOpened(t *testing.T) {
	RequireRoot(t)
	lab := NewLab(t)
	links := []*Link{lab.AddLink("eth0"), lab.AddLink("eth1")}
	fixed := links[0].SrcV4[0]
	knock := fmt.Sprintf(`table inet filter {
	set knocked { type ipv4_addr; flags dynamic,timeout; timeout 3h; }
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		iifname "lo" accept
		icmp type echo-request add @knocked { ip saddr } accept
		tcp dport 22 ip saddr @knocked accept
		tcp dport 22 ip saddr %s accept
		tcp dport 80 accept
	}
}
`, fixed)
	ports := []PortSpec{{"tcp", 22}, {"tcp", 80}}
	lab.startPorts(ports)
	lab.LoadNft(knock)
	var ssh4 []LinkProbe
	for _, p := range LinkProbes(links, ports) {
		if p.Port == 22 && !p.V6 {
			ssh4 = append(ssh4, p)
		}
	}
	check := func(when string, in func(p LinkProbe) bool) {
		t.Helper()
		for i, r := range lab.ProbeLinks(ssh4) {
			if want := in(ssh4[i]); r.OK != want {
				t.Errorf("%s: ssh %s: %s, want in=%v", when, ssh4[i], r.Detail, want)
			}
		}
	}
	check("before knocking", func(p LinkProbe) bool { return p.Src == fixed })

	// the refusal, before anyone knocked (the set is empty)
	stdout, stderr, code := suggestRun(lab, nil, "--format", "nft")
	if code != 2 || stdout != "" || !strings.Contains(stderr, "runtime conditions") || !strings.Contains(stderr, "--ssh-from") {
		t.Errorf("fwaudit suggest on a knock: exit %d, want 2 with no output and a hint naming --ssh-from\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// the knock works: the kernel's answer depends on it
	knocker := links[1].SrcV4[1]
	if err := pingFrom(links[1].Peer, knocker, links[1].HostV4, 2*time.Second); err != nil {
		t.Fatalf("knock: %v", err)
	}
	check("after one source knocked", func(p LinkProbe) bool { return p.Src == fixed || p.Src == knocker })

	// with --ssh-from, loaded in place: exactly what it names
	for _, format := range []string{"nft", "iptables"} {
		stdout, stderr, code := suggestRun(lab, nil, "--format", format, "--ssh-from", fixed.String()+"/32")
		if code != 0 {
			t.Fatalf("fwaudit suggest --ssh-from: exit %d\n%s", code, stderr)
		}
		lab.Host.Run("nft", "flush", "ruleset")
		if format == "nft" {
			lab.LoadNft(stdout)
		} else {
			lab.LoadIptables(stdout)
		}
		check("the "+format+" suggestion with --ssh-from loaded", func(p LinkProbe) bool { return p.Src == fixed })
		lab.Host.Run("nft", "flush", "ruleset")
		lab.LoadNft(knock)
	}
}
