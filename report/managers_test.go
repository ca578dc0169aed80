package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/scan"
)

// TestManagerRules: findings about a firewall manager's own rules (ufw's
// before.rules, firewalld's zone dispatch) are not listed as work for the
// admin but summed up in one informational finding per manager; the same
// finding about a rule the admin added stays.
func TestManagerRules(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "rules", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ls := []scan.Listener{listener("tcp", "0.0.0.0", 22, "sshd")}
	for _, c := range []struct {
		name        string
		v4, v6      string
		extraV4     string // appended to the filter table: a rule the admin adds
		managed     string // the manager-rules finding's manager
		hidden      string // a rule no finding may name any more
		kept        string // a rule a finding still names
		managedKind string
	}{
		{name: "ufw", v4: read("ufw-numbered/iptables-save"), v6: read("ufw-numbered/ip6tables-save"),
			extraV4: "-A ufw-user-input -p tcp -m tcp --dport 8080 -j ACCEPT\n",
			managed: "ufw", hidden: "-A ufw-before-input -p udp -m udp --sport 67 --dport 68 -j ACCEPT",
			kept: "-A ufw-user-input -p tcp -m tcp --dport 8080 -j ACCEPT", managedKind: "stale-rule"},
		{name: "firewalld iptables", v4: read("firewalld-fedora27-counters.iptables-save"),
			managed: "", kept: "-A INPUT -i virbr0 -p tcp -m tcp --dport 53 -j ACCEPT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v4 := c.v4
			if c.extraV4 != "" {
				i := strings.Index(v4, "COMMIT\n")
				j := strings.Index(v4[i+1:], "*filter")
				k := strings.Index(v4[i+1+j:], "COMMIT\n") + i + 1 + j
				v4 = v4[:k] + c.extraV4 + v4[k:]
			}
			r := Build(Inputs{Listeners: ls, Firewall: fwFrom(t, v4, c.v6), Now: testTime})
			var managed []Finding
			named := map[string]bool{}
			for _, f := range r.Findings {
				named[f.Rule] = true
				if f.ID == "manager-rules" {
					managed = append(managed, f)
				}
			}
			if c.hidden != "" && named[c.hidden] {
				t.Errorf("a finding names the manager's own rule %q", c.hidden)
			}
			if !named[c.kept] {
				t.Errorf("no finding names the admin's rule %q: %v", c.kept, findingKeys(r))
			}
			switch {
			case c.managed == "" && len(managed) > 0:
				t.Errorf("manager-rules raised: %+v", managed)
			case c.managed != "" && (len(managed) != 1 || managed[0].Severity != Info ||
				!strings.HasPrefix(managed[0].Title, c.managed+"'s own rules") || !strings.Contains(managed[0].Detail, c.managedKind)):
				t.Errorf("manager-rules: %+v, want one informational finding for %s's %s", managed, c.managed, c.managedKind)
			}
		})
	}
}
