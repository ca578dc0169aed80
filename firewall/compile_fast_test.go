package firewall

import "testing"

// TestPlainMasks: the fast path of iptablesAddr (an address list whose
// prefix lengths need no rewriting) is taken exactly when rewriting would
// change nothing.
func TestPlainMasks(t *testing.T) {
	tests := []struct {
		name  string
		v     string
		plain bool
	}{
		{"no mask", "10.1.2.3", true},
		{"decimal", "10.1.2.3/24", true},
		{"zero", "0.0.0.0/0", true},
		{"IPv6 128", "2001:db8::1/128", true},
		{"list", "10.0.0.0/8,192.0.2.1,2001:db8::/32", true},
		{"octal", "10.1.2.3/010", false},
		{"octal zero", "10.1.2.3/00", false},
		{"hex", "10.1.2.3/0x10", false},
		{"plus", "10.1.2.3/+8", false},
		{"netmask", "10.1.2.3/255.0.0.0", false},
		{"empty mask", "10.1.2.3/", false},
		{"second of a list", "10.0.0.0/8,10.1.2.3/010", false},
		{"two slashes", "10.1.2.3/8/8", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plainMasks(tt.v); got != tt.plain {
				t.Errorf("plainMasks(%q) = %v, want %v", tt.v, got, tt.plain)
			}
			if !tt.plain {
				return
			}
			// what the rewrite itself makes of it
			got, err := iptablesAddr(tt.v + ",1.1.1.1/+1")
			if want := tt.v + ",1.1.1.1/1"; err != nil || got != want {
				t.Errorf("rewrite of %q = %q, %v; want %q", tt.v, got, err, want)
			}
		})
	}
}
