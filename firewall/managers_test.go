package firewall

import (
	"strings"
	"testing"
)

func TestManagedBy(t *testing.T) {
	fwd, err := ParseSave(strings.NewReader(`*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:INPUT_ZONES - [0:0]
:IN_public - [0:0]
:IN_public_allow - [0:0]
-A INPUT -i virbr0 -p udp -m udp --dport 67 -j ACCEPT
-A INPUT -j INPUT_ZONES
-A INPUT_ZONES -g IN_public
-A IN_public -j IN_public_allow
-A IN_public -j REJECT
-A IN_public_allow -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`), "firewalld", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	ufw, err := ParseSave(strings.NewReader(`*filter
:INPUT DROP [0:0]
:ufw-before-input - [0:0]
:ufw-user-input - [0:0]
:ufw-user-limit - [0:0]
-A INPUT -j ufw-before-input
-A ufw-before-input -p udp -m udp --sport 67 --dport 68 -j ACCEPT
-A ufw-before-input -j ufw-user-input
-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT
-A ufw-user-limit -j REJECT
COMMIT
`), "ufw", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"-A INPUT -i virbr0 -p udp -m udp --dport 67 -j ACCEPT":             "", // libvirt's, beside firewalld
		"-A INPUT -j INPUT_ZONES":                                           "",
		"-A INPUT_ZONES -g IN_public":                                       "firewalld",
		"-A IN_public -j IN_public_allow":                                   "firewalld",
		"-A IN_public -j REJECT":                                            "firewalld",
		"-A IN_public_allow -p tcp -m tcp --dport 22 -j ACCEPT":             "", // a service the admin enabled
		"-A INPUT -j ufw-before-input":                                      "",
		"-A ufw-before-input -p udp -m udp --sport 67 --dport 68 -j ACCEPT": "ufw",
		"-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT":              "", // ufw allow 22/tcp
		"-A ufw-before-input -j ufw-user-input":                             "ufw",
		"-A ufw-user-limit -j REJECT":                                       "ufw",
	}
	seen := 0
	for _, rs := range []*Ruleset{fwd, ufw} {
		for _, c := range rs.Table("filter").Chains {
			for _, r := range c.Rules {
				w, ok := want[r.Text]
				if !ok {
					t.Fatalf("rule %q not in the table", r.Text)
				}
				seen++
				if got := rs.ManagedBy(r); got != w {
					t.Errorf("ManagedBy(%s) = %q, want %q", r.Text, got, w)
				}
			}
		}
	}
	if seen != len(want) {
		t.Errorf("checked %d rules, want %d", seen, len(want))
	}
}
