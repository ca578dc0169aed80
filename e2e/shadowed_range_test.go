//go:build linux

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestShadowedRangeReached: a port range after a rule that drops one of
// its ports is reached by the others. The kernel counts a connection to
// port 1500 on the range's rule, so fwaudit must not call it shadowed (it
// did while its witnesses tried a range at its first port only). The
// last rule, whose port the range accepts, is shadowed and must be
// reported so: the analysis ran.
func TestShadowedRangeReached(t *testing.T) {
	lab := NewLab(t)
	lab.LoadIptables(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 1000 -j DROP
-A INPUT -p tcp --dport 1000:2000 -j ACCEPT
-A INPUT -p tcp --dport 1200 -j DROP
COMMIT
`)
	lab.Start(lab.Host, "unknownd", "tcp:0.0.0.0:1500")
	rng := "-A INPUT -p tcp -m tcp --dport 1000:2000 -j ACCEPT"
	before := lab.ReadCounters("iptables-save")
	spec := ProbeSpec{ProbeReq: ProbeReq{Proto: "tcp", Src: PeerV4[0].String(), Dst: HostV4.String(), Port: 1500}}
	if got := lab.ProbeSpecs([]ProbeSpec{spec}); !got[0].OK {
		t.Fatalf("port 1500 was not reached: %s", got[0].Detail)
	}
	after := lab.ReadCounters("iptables-save")
	if pkts(after, rng) <= pkts(before, rng) {
		t.Fatalf("the kernel did not count a packet on %q: the scenario does not hold", rng)
	}
	stdout, stderr, code := lab.Fwaudit("report", "--format", "json")
	if code != 0 && code != 3 {
		t.Fatalf("fwaudit report: exit %d: %s", code, stderr)
	}
	var rep struct {
		Findings []struct {
			ID   string `json:"id"`
			Rule string `json:"rule"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("report JSON: %v", err)
	}
	control := false
	for _, f := range rep.Findings {
		if f.ID != "shadowed-rule" {
			continue
		}
		if strings.Contains(f.Rule, "1000:2000") {
			t.Errorf("fwaudit calls %q shadowed, yet the kernel counted a packet on it", f.Rule)
		}
		control = control || strings.Contains(f.Rule, "--dport 1200 ")
	}
	if !control {
		t.Errorf("the rule for port 1200 after the range is not reported shadowed:\n%s", stdout)
	}
}
