package suggest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
)

func loadSave(t *testing.T, name string, fam firewall.Family) *firewall.Ruleset {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "suggest", "foreign", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := firewall.ParseSave(f, name, fam)
	if err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	return rs
}

func TestForeignChains(t *testing.T) {
	for _, c := range []struct {
		file string
		want []string // one warning per entry, each containing every substring
	}{
		{"fail2ban-legacy-chain-diekmann.iptables-save", []string{"fail2ban chains are loaded (filter/fail2ban-ssh)|restart fail2ban"}},
		{"docker-2016-bridge-diekmann.iptables-save", []string{"Docker chains are loaded (nat/DOCKER)|restart Docker|DOCKER-USER"}},
		{"ufw-server2-diekmann.iptables-save", []string{"ufw chains are loaded (filter/ufw-after-forward, filter/ufw-after-input, filter/ufw-after-logging-forward, filter/ufw-after-logging-input, and 27 more)|ufw disable"}},
		{"firewalld-fedora27-counters.iptables-save", []string{"firewalld chains are loaded|filter/FWDI_FedoraWorkstation|systemctl disable --now firewalld"}},
		{"kube-f2b-own.iptables-save", []string{
			"fail2ban chains are loaded (filter/f2b-sshd)",
			"kube-proxy chains are loaded (filter/KUBE-FIREWALL, filter/KUBE-FORWARD, nat/KUBE-NAT-ONLY)|Kubernetes node",
		}},
	} {
		t.Run(c.file, func(t *testing.T) {
			got := ForeignChains([]*firewall.Ruleset{loadSave(t, c.file, firewall.IPv4), nil})
			if len(got) != len(c.want) {
				t.Fatalf("ForeignChains = %d warnings, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
			for i, w := range c.want {
				for _, sub := range strings.Split(w, "|") {
					if !strings.Contains(got[i], sub) {
						t.Errorf("warning %d = %q, want it to contain %q", i, got[i], sub)
					}
				}
			}
		})
	}
	t.Run("own ruleset", func(t *testing.T) {
		p, _, err := Build(dbHost, Options{LogDrops: true})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := firewall.ParseSave(strings.NewReader(string(render(t, p, "iptables"))), "ours", firewall.IPv4)
		if err != nil {
			t.Fatal(err)
		}
		if got := ForeignChains([]*firewall.Ruleset{rs}); len(got) != 0 {
			t.Errorf("ForeignChains on our own ruleset = %q, want none", got)
		}
	})
}
