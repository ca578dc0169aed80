package scan

import "testing"

func TestExposureOf(t *testing.T) {
	tests := []struct {
		addr, device string
		want         Exposure
	}{
		{"127.0.0.1", "", ExposureLocal},
		{"127.0.0.53", "", ExposureLocal},
		{"127.0.0.53%lo", "", ExposureLocal},
		{"127.255.255.254", "", ExposureLocal},
		{"::1", "", ExposureLocal},
		{"[::1]", "", ExposureLocal},
		{"::ffff:127.0.0.1", "", ExposureLocal},
		{"192.0.2.10", "lo", ExposureLocal},
		{"0.0.0.0", "lo", ExposureLocal},
		{"0.0.0.0%lo", "", ExposureLocal},
		{"0.0.0.0", "", ExposurePublic},
		{"::", "", ExposurePublic},
		{"[::]", "", ExposurePublic},
		{"*", "", ExposurePublic},
		{"::ffff:0.0.0.0", "", ExposurePublic},
		{"0.0.0.0%virbr0", "", ExposurePublic},
		{"192.0.2.10", "", ExposureSpecific},
		{"2001:db8::10", "", ExposureSpecific},
		{"fe80::1%eth0", "", ExposureSpecific},
		{"[fe80::9cc5:aeff:fec5:34ae]%eth0", "", ExposureSpecific},
		{"not-an-address", "", ExposureSpecific},
	}
	for _, tt := range tests {
		t.Run(tt.addr+"/"+tt.device, func(t *testing.T) {
			if got := ExposureOf(tt.addr, tt.device); got != tt.want {
				t.Errorf("ExposureOf(%q, %q) = %s, want %s", tt.addr, tt.device, got, tt.want)
			}
		})
	}
}
