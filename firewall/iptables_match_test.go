package firewall

import (
	"math/rand/v2"
	"strings"
	"testing"
)

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

// TestParsePrefix4: where parsePrefix4 reads a value, parseCIDR reads the
// same prefix; what it declines is left to parseCIDR.
func TestParsePrefix4(t *testing.T) {
	tests := []struct {
		name, v string
		ok      bool
	}{
		{"address", "192.0.2.1", true},
		{"prefix", "192.0.2.1/24", true},
		{"zero", "0.0.0.0/0", true},
		{"host", "255.255.255.255/32", true},
		{"one digit mask", "10.0.0.0/8", true},
		{"mask 33", "10.0.0.0/33", false},
		{"three digit mask", "10.0.0.0/008", false},
		{"netmask", "10.0.0.0/255.0.0.0", false},
		{"leading zero", "10.01.0.0", false},
		{"field over 255", "10.256.0.0", false},
		{"four digits", "1000.0.0.0", false},
		{"three fields", "10.0.0", false},
		{"five fields", "10.0.0.0.0", false},
		{"empty field", "10..0.0", false},
		{"empty mask", "10.0.0.0/", false},
		{"IPv6", "2001:db8::/32", false},
		{"v4-mapped", "::ffff:10.0.0.1", false},
		{"trailing junk", "10.0.0.0x", false},
		{"sign", "10.0.0.0/+8", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parsePrefix4(tt.v)
			if ok != tt.ok {
				t.Fatalf("parsePrefix4(%q) ok = %v, want %v", tt.v, ok, tt.ok)
			}
			if !ok {
				return
			}
			want, err := parseCIDR(tt.v, IPv4)
			if err != nil || got != want {
				t.Errorf("parsePrefix4(%q) = %v; parseCIDR: %v, %v", tt.v, got, want, err)
			}
		})
	}
	// and on random values built from the pieces addresses are made of
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"0", "1", "9", "10", "25", "255", "256", "01", "00", ".", ".", ".", "/", "32", "33", "8", ":", "a", ""}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for j := rng.IntN(9); j >= 0; j-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		v := b.String()
		got, ok := parsePrefix4(v)
		if !ok {
			continue
		}
		want, err := parseCIDR(v, IPv4)
		if err != nil || got != want {
			t.Fatalf("parsePrefix4(%q) = %v; parseCIDR: %v, %v", v, got, want, err)
		}
	}
}
