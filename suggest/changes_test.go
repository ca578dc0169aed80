package suggest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/scan"
)

func changeLines(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c.Family)+" "+c.String())
	}
	return out
}

// TestChanges pins, line by line, what loading a suggestion changes on a
// host with rules of its own, in every format.
func TestChanges(t *testing.T) {
	ls := append(dbHostListeners(), lst("tcp", "0.0.0.0", 8099, "myapp", false))
	v4 := rules(":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
		"-A INPUT -p tcp -m tcp --dport 25 -j ACCEPT",
		"-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 5432 -j ACCEPT",
		"-A INPUT -p tcp -m tcp --dport 5432 -j DROP",
		"-A INPUT -p tcp -m tcp --dport 8099 -j DROP")
	v4Changes := []string{
		"ipv4 policy filter/INPUT: ACCEPT → DROP",
		"ipv4 policy filter/FORWARD: ACCEPT → DROP",
		"ipv4 policy filter/OUTPUT: ACCEPT → ACCEPT (kept)",
		"ipv4 tcp/22: open → open (kept)",
		"ipv4 tcp/80: open → open (kept)",
		"ipv4 tcp/443: open → open (kept)",
		"ipv4 tcp/5432: restricted 192.0.2.0/24 → restricted 192.0.2.0/24 (kept)",
		"ipv4 tcp/8099: blocked → blocked (kept)",
		"ipv4 tcp/1-21,23-79,81-442,444-5431,5433-8098,8100-65535: open → blocked (nothing listens)",
		"ipv4 udp/1-65535: open → blocked (nothing listens)",
	}
	v6Changes := []string{
		"ipv6 policy filter/INPUT: unknown → DROP",
		"ipv6 policy filter/FORWARD: unknown → DROP",
		"ipv6 policy filter/OUTPUT: unknown → ACCEPT",
		"ipv6 tcp/22: unknown → open (ssh is always kept reachable; the current ipv6 rules are not known: ipv6 rules not provided (test))",
		"ipv6 tcp/80: unknown → blocked (the current ipv6 rules are not known: ipv6 rules not provided (test))",
		"ipv6 tcp/443: unknown → blocked (the current ipv6 rules are not known: ipv6 rules not provided (test))",
		"ipv6 tcp/1-21,23-79,81-442,444-65535: unknown → blocked (nothing listens)",
		"ipv6 udp/1-65535: unknown → blocked (nothing listens)",
	}
	cur := currentOf(t, v4, notRead)
	p, _, err := Build(ls, Options{Current: cur})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		format string
		want   []string
	}{
		{"", append(append([]string{}, v4Changes...), v6Changes...)},
		{"script", append(append([]string{}, v4Changes...), v6Changes...)},
		{"iptables", v4Changes},
		{"ip6tables", v6Changes},
		// nft adds its table beside today's: both must accept
		{"nft", append([]string{
			"ipv4 policy filter/INPUT (today.ipv4): ACCEPT → ACCEPT (kept)",
			"ipv4 policy filter/FORWARD (today.ipv4): ACCEPT → ACCEPT (kept)",
			"ipv4 policy filter/OUTPUT (today.ipv4): ACCEPT → ACCEPT (kept)",
			"ipv4 policy input (table inet fwaudit): no chain → drop (added)",
			"ipv4 policy forward (table inet fwaudit): no chain → drop (added)",
			"ipv4 policy output (table inet fwaudit): no chain → accept (the same: a hook without a chain accepts)",
		}, append(v4Changes[3:], v6Changes...)...)},
	} {
		t.Run("format "+c.format, func(t *testing.T) {
			cs, err := Changes(p, ls, cur, c.format)
			if err != nil {
				t.Fatal(err)
			}
			if got := changeLines(cs); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("changes (-want +got):\n%s", lineDiff(strings.Join(c.want, "\n"), strings.Join(got, "\n")))
			}
		})
	}
}

func dbHostListeners() []scan.Listener { return append([]scan.Listener{}, dbHost...) }

// TestChangesNone: once the suggestion is loaded, suggesting again changes
// nothing (the suggestion is its own fixed point), in every host case.
func TestChangesNone(t *testing.T) {
	for _, hc := range hostCases(t) {
		t.Run(hc.name, func(t *testing.T) {
			p, _, err := Build(hc.listeners, hc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var v4, v6 bytes.Buffer
			if err := Render(&v4, p, "iptables"); err != nil {
				t.Fatal(err)
			}
			if err := Render(&v6, p, "ip6tables"); err != nil {
				t.Fatal(err)
			}
			opts := hc.opts
			opts.Current = currentOf(t, v4.String(), v6.String())
			p2, _, err := Build(hc.listeners, opts)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := Changes(p2, hc.listeners, opts.Current, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if c.Changed {
					t.Errorf("%s %s", c.Family, c)
				}
			}
		})
	}
}

// TestChangesDeviceAndDestination: listeners bound to a device or an
// address are judged where they listen.
func TestChangesDeviceAndDestination(t *testing.T) {
	ls := []scan.Listener{lst("tcp", "::", 22, "sshd", true), onDevice(lst("udp", "0.0.0.0", 67, "dnsmasq", false), "virbr0"),
		lst("tcp", "192.0.2.10", 8080, "myapp", false)}
	cur := currentOf(t, acceptAll, acceptAll)
	p, _, err := Build(ls, Options{Current: cur})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := Changes(p, ls, cur, "iptables")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(changeLines(cs), "\n")
	for _, want := range []string{
		"ipv4 udp/67 on virbr0: restricted on virbr0 → restricted on virbr0 (kept)",
		"ipv4 tcp/8080 on 192.0.2.10: open → open (kept)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no line %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ipv6") {
		t.Errorf("--format iptables changes IPv6:\n%s", got)
	}
}
