package suggest

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{in: "22", want: Spec{Raw: "22", Port: 22}},
		{in: "53/udp", want: Spec{Raw: "53/udp", Port: 53, Proto: "udp"}},
		{in: "8080/TCP", want: Spec{Raw: "8080/TCP", Port: 8080, Proto: "tcp"}},
		{in: "tcp/5432", want: Spec{Raw: "tcp/5432", Port: 5432, Proto: "tcp"}},
		{in: "UDP/53=192.0.2.0/24", want: Spec{Raw: "UDP/53=192.0.2.0/24", Port: 53, Proto: "udp",
			Sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}},
		{in: "mysql", want: Spec{Raw: "mysql", Service: "mysql", Port: 3306, Proto: "tcp"}},
		{in: "PostgreSQL", want: Spec{Raw: "PostgreSQL", Service: "postgresql", Port: 5432, Proto: "tcp"}},
		{in: "mysql=192.0.2.0/24,2001:db8::/32", want: Spec{Raw: "mysql=192.0.2.0/24,2001:db8::/32",
			Service: "mysql", Port: 3306, Proto: "tcp",
			Sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}}},
		{in: "5432=198.51.100.7", want: Spec{Raw: "5432=198.51.100.7", Port: 5432,
			Sources: []netip.Prefix{netip.MustParsePrefix("198.51.100.7/32")}}},
		{in: "5432=192.0.2.77/24", want: Spec{Raw: "5432=192.0.2.77/24", Port: 5432,
			Sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}},
		{in: "5432=::ffff:192.0.2.7", want: Spec{Raw: "5432=::ffff:192.0.2.7", Port: 5432,
			Sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32")}}},
		{in: "", wantErr: "want PORT[/PROTO] or SERVICE"},
		{in: "0", wantErr: "port 0"},
		{in: "70000", wantErr: "is not a port"},
		{in: "22/sctp", wantErr: `unknown protocol "sctp"`},
		{in: "nosuchservice", wantErr: `unknown service "nosuchservice"`},
		{in: "mysql/tcp", wantErr: "is not a port"},
		{in: "tcp/mysql", wantErr: "is not a port"},
		{in: "tcp/0", wantErr: "port 0"},
		{in: "sctp/22", wantErr: "is not a port"},
		{in: "tcp/udp", wantErr: "is not a port"},
		{in: "mysql=", wantErr: "no source"},
		{in: "mysql=10.0.0.300/8", wantErr: `bad CIDR "10.0.0.300/8"`},
		{in: "mysql=fe80::1%eth0", wantErr: "bad address"},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseSpec(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("ParseSpec(%q) error = %v, want one containing %q", c.in, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", c.in, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ParseSpec(%q) (-want +got):\n-%+v\n+%+v", c.in, c.want, got)
			}
		})
	}
}
