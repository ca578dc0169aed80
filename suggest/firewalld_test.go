package suggest

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// TestFirewalldModel: on a RHEL 8 firewalld host (nft -j list ruleset,
// testdata/rules/SOURCES.md) the default zone is read from the rules, the
// default format is firewall-cmd, and what firewalld holds after the
// script is today's table with zone public's allow chain holding the
// suggestion alone: ssh stays open, cockpit (tcp/9090, nobody listens)
// closes, libvirt's zone keeps what it admits.
func TestFirewalldModel(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "testdata", "rules", "GEN-firewalld-rhel8-libvirt-insights.nft-j.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := firewall.ParseNftJSON(f, "rhel8.json")
	if err != nil {
		t.Fatal(err)
	}
	cur := &firewall.Loaded{}
	cur.V4 = firewall.FamilyRules{Sets: []*firewall.Ruleset{n.Family(firewall.IPv4)}}
	cur.V6 = firewall.FamilyRules{Sets: []*firewall.Ruleset{n.Family(firewall.IPv6)}}
	if m := DetectManager(cur); m.Name != "firewalld" || m.Format != "firewalld" {
		t.Fatalf("DetectManager: %+v, want firewalld", m)
	}
	if z, nft := firewalldZone(cur.V4.Sets); z != "public" || !nft {
		t.Fatalf("firewalldZone: %q (nft %v), want public", z, nft)
	}
	ls := []scan.Listener{{Proto: "tcp", Family: "ipv4", Address: netip.IPv4Unspecified(), Port: 22,
		Process: "sshd", Service: "ssh", Exposure: scan.ExposurePublic}}
	p, _, err := Build(ls, Options{Current: cur})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var script strings.Builder
	if err := Render(&script, p, "firewalld"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(script.String(), "ZONE=public\n") || !strings.Contains(script.String(), `fc --add-rich-rule='rule family="ipv4" port port="22" protocol="tcp" accept'`) {
		t.Errorf("script lacks zone public or the IPv4 ssh rule (the listener is IPv4 only):\n%s", script.String())
	}
	after, err := firewalldAfter(p, cur.V4.Sets, firewall.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	ev := firewall.NewEvaluator(firewall.IPv4, after, firewall.Host{})
	for _, c := range []struct {
		port uint16
		want firewall.Verdict
	}{{22, firewall.Open}, {9090, firewall.Blocked}} {
		if got := ev.Evaluate(firewall.Query{Proto: "tcp", Port: c.port}); got.Verdict != c.want {
			t.Errorf("after the script, tcp/%d: %s (%s), want %s", c.port, got.Verdict, got.Rule, c.want)
		}
	}
	// libvirt's zone (virbr0) still admits DNS there
	ev = firewall.NewEvaluator(firewall.IPv4, after, firewall.Host{Interfaces: []string{"virbr0"}})
	if got := ev.Evaluate(firewall.Query{Proto: "udp", Port: 53}); got.Verdict == firewall.Blocked {
		t.Errorf("after the script, udp/53 on virbr0: blocked, want libvirt's zone kept")
	}
}
