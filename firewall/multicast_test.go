package firewall

import (
	"strings"
	"testing"
)

func TestRuleMulticastOnly(t *testing.T) {
	tests := []struct {
		rule string
		fam  Family
		want bool
	}{
		{"-A INPUT -d 224.0.0.251/32 -p udp -m udp --dport 5353 -j ACCEPT", IPv4, true},
		{"-A INPUT -d 239.255.255.250/32 -p udp -m udp --dport 1900 -j ACCEPT", IPv4, true},
		{"-A INPUT -d 255.255.255.255/32 -p udp -m udp --dport 67 -j ACCEPT", IPv4, true},
		{"-A INPUT -d ff02::fb/128 -p udp -m udp --dport 5353 -j ACCEPT", IPv6, true},
		{"-A INPUT -p udp -m udp --dport 5353 -j ACCEPT", IPv4, false},
		{"-A INPUT -d 192.0.2.1/32 -p tcp -m tcp --dport 80 -j ACCEPT", IPv4, false},
		{"-A INPUT -d 224.0.0.0/3 -p udp -j ACCEPT", IPv4, false},
		{"-A INPUT ! -d 224.0.0.0/4 -p udp -j ACCEPT", IPv4, false},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			rs, err := ParseSave(strings.NewReader("*filter\n:INPUT DROP [0:0]\n"+tc.rule+"\nCOMMIT\n"), "t", tc.fam)
			if err != nil {
				t.Fatal(err)
			}
			if got := rs.Tables[0].Chains[0].Rules[0].MulticastOnly(); got != tc.want {
				t.Errorf("MulticastOnly() = %v, want %v", got, tc.want)
			}
		})
	}
}
