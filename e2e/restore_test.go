//go:build linux

package e2e

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// A hand-kept restore file may flush and delete chains and name a table
// twice. fwaudit's reading of the file (scan --rules FILE) must agree with
// what iptables-restore actually left in the kernel.
func TestRestoreFileCommands(t *testing.T) {
	lab := NewLab(t)
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "nginx", "tcp:0.0.0.0:80", "tcp:0.0.0.0:443")
	lab.Start(lab.Host, "mysqld", "tcp:0.0.0.0:3306")
	rules := `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 3306 -j ACCEPT
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:OLD - [0:0]
:WEB - [0:0]
:CLEAN - [0:0]
-A OLD -p tcp -m tcp --dport 443 -j ACCEPT
-F OLD
-X OLD
-A INPUT -j CLEAN
-A CLEAN -p tcp -m tcp --dport 443 -j ACCEPT
-F CLEAN
-A WEB -p tcp -m tcp --dport 80 -j ACCEPT
-A WEB -s 192.0.2.3/32 -p tcp -m tcp --dport 443 -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j WEB
COMMIT
`
	lab.LoadIptables(rules)
	file := filepath.Join(lab.Dir, "rules.v4")
	if err := os.WriteFile(file, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	// the first *filter section is replaced, OLD is gone, CLEAN is empty,
	// WEB decides
	expect := map[uint16]map[string]bool{
		22:   {"192.0.2.2": true, "192.0.2.3": true},
		80:   {"192.0.2.2": true, "192.0.2.3": true},
		443:  {"192.0.2.2": false, "192.0.2.3": true},
		3306: {"192.0.2.2": false, "192.0.2.3": false},
	}
	offline := lab.Scan("--rules", file)
	live := lab.Scan()
	for port, bySrc := range expect {
		for src, want := range bySrc {
			got := lab.Probe("tcp", src, HostV4.String(), port)
			if got != want {
				t.Errorf("kernel: tcp/%d from %s got in = %v, the test expects %v", port, src, got, want)
			}
			for name, s := range map[string]Scan{"scan --rules FILE": offline, "scan (live)": live} {
				socks := s.Find("tcp", "ipv4", port)
				if len(socks) != 1 || socks[0].Firewall == nil {
					t.Fatalf("%s: tcp/%d: want one socket with a verdict, got %+v", name, port, socks)
				}
				fv := socks[0].Firewall.IPv4
				admitted, decided := fv.Admits(netip.MustParseAddr(src), lab.HostIf)
				if !decided || admitted != got {
					t.Errorf("%s: tcp/%d from %s: kernel let in = %v, fwaudit says %s %v (rule %q)", name, port, src, got, fv.Verdict, fv.Sources, fv.Rule)
				}
			}
		}
	}
}
