package suggest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// ruleKeys summarizes a policy's accepts as "ipv4 tcp/22 [dst] [from ...]".
func ruleKeys(p *Policy) []string {
	var out []string
	for _, r := range append(append([]Rule{}, p.SSH...), p.Rules...) {
		k := fmt.Sprintf("%s %s/%d", r.Family, r.Proto, r.Port)
		if r.Dst.IsValid() {
			k += " to " + r.Dst.String()
		}
		if r.In != "" {
			k += " on " + r.In
		}
		if r.Sources != nil {
			var s []string
			for _, p := range r.Sources {
				s = append(s, p.String())
			}
			k += " from " + strings.Join(s, ",")
		}
		if r.Except != nil {
			var s []string
			for _, p := range r.Except {
				s = append(s, p.String())
			}
			k += " except " + strings.Join(s, ",")
		}
		if r.SPorts != nil {
			k += " sport " + portList(r.SPorts, ":")
		}
		out = append(out, k)
	}
	return out
}

func TestBuild(t *testing.T) {
	for _, c := range []struct {
		name      string
		listeners []scan.Listener
		opts      func(t testing.TB) Options
		rules     []string
		notes     []string // substrings, one per note, in order
		warnings  []string // substrings
		err       string
	}{
		{name: "fresh", listeners: freshHost,
			rules: []string{"ipv4 tcp/22", "ipv6 tcp/22"}},
		{name: "mail", listeners: mailHost,
			rules: []string{"ipv4 tcp/5622", "ipv6 tcp/5622", "ipv4 tcp/25", "ipv6 tcp/25", "ipv4 tcp/143", "ipv6 tcp/143",
				"ipv4 tcp/465", "ipv6 tcp/465", "ipv4 tcp/587", "ipv6 tcp/587", "ipv4 tcp/993", "ipv6 tcp/993", "ipv4 tcp/995", "ipv6 tcp/995"}},
		{name: "db sensitive closed", listeners: dbHost,
			rules:    []string{"ipv4 tcp/22", "ipv6 tcp/22", "ipv4 tcp/80", "ipv6 tcp/80", "ipv4 tcp/443", "ipv6 tcp/443"},
			notes:    []string{"# postgresql on 5432 is not opened: fwaudit suggest --allow postgresql=CIDR"},
			warnings: []string{"postgresql listens on tcp port 5432 and is not opened"}},
		{name: "db allowed by name with sources of both families", listeners: dbHost,
			opts: func(t testing.TB) Options {
				return Options{Allow: mustSpecs(t, "postgresql=192.0.2.0/24,2001:db8::/32,192.0.2.9")}
			},
			rules: []string{"ipv4 tcp/22", "ipv6 tcp/22", "ipv4 tcp/80", "ipv6 tcp/80", "ipv4 tcp/443", "ipv6 tcp/443",
				"ipv4 tcp/5432 from 192.0.2.0/24,192.0.2.9/32"}},
		{name: "allowed by port, to everyone", listeners: dbHost,
			opts:     func(t testing.TB) Options { return Options{Allow: mustSpecs(t, "5432")} },
			rules:    []string{"ipv4 tcp/22", "ipv6 tcp/22", "ipv4 tcp/80", "ipv6 tcp/80", "ipv4 tcp/443", "ipv6 tcp/443", "ipv4 tcp/5432"},
			warnings: []string{"--allow 5432 opens port 5432 to everyone (no CIDR given)"}},
		{name: "allow to every address of a family", listeners: dbHost,
			opts: func(t testing.TB) Options { return Options{Allow: mustSpecs(t, "postgresql=0.0.0.0/0")} },
			rules: []string{"ipv4 tcp/22", "ipv6 tcp/22", "ipv4 tcp/80", "ipv6 tcp/80", "ipv4 tcp/443", "ipv6 tcp/443",
				"ipv4 tcp/5432 from 0.0.0.0/0"},
			warnings: []string{"--allow postgresql=0.0.0.0/0 opens postgresql to every IPv4 address (0.0.0.0/0)"}},
		{name: "dual-stack allow with only IPv4 sources", listeners: []scan.Listener{
			lst("tcp", "::", 22, "sshd", true), lst("tcp", "::", 3306, "mysqld", true)},
			opts:  func(t testing.TB) Options { return Options{Allow: mustSpecs(t, "mysql=192.0.2.0/24")} },
			rules: []string{"ipv4 tcp/22", "ipv6 tcp/22", "ipv4 tcp/3306 from 192.0.2.0/24"},
			notes: []string{"# mysql on tcp/3306 is not opened for ipv6: no ipv6 source given"}},
		{name: "ssh-from", listeners: dbHost,
			opts: func(t testing.TB) Options {
				return Options{SSHFrom: mustPrefixes(t, "198.51.100.0/24,2001:db8:2::/48")}
			},
			rules: []string{"ipv4 tcp/22 from 198.51.100.0/24", "ipv6 tcp/22 from 2001:db8:2::/48",
				"ipv4 tcp/80", "ipv6 tcp/80", "ipv4 tcp/443", "ipv6 tcp/443"},
			notes:    []string{"# postgresql on 5432"},
			warnings: []string{"postgresql listens"}},
		{name: "ssh-from IPv4 only keeps SSH over IPv6 as today", listeners: freshHost,
			opts:     func(t testing.TB) Options { return Options{SSHFrom: mustPrefixes(t, "198.51.100.0/24")} },
			rules:    []string{"ipv4 tcp/22 from 198.51.100.0/24", "ipv6 tcp/22"},
			warnings: []string{"--ssh-from names no ipv6 source: ssh over ipv6 stays reachable as the current rules allow"}},
		{name: "allow ssh to everyone with ssh-from", listeners: freshHost,
			opts: func(t testing.TB) Options {
				return Options{Allow: mustSpecs(t, "ssh"), SSHFrom: mustPrefixes(t, "198.51.100.0/24")}
			},
			err: "--allow ssh opens ssh to everyone and --ssh-from restricts it"},
		{name: "allow ssh's port to everyone with ssh-from", listeners: freshHost,
			opts: func(t testing.TB) Options {
				return Options{Allow: mustSpecs(t, "22/tcp"), SSHFrom: mustPrefixes(t, "198.51.100.0/24")}
			},
			err: "--allow 22/tcp opens ssh on port 22 to everyone and --ssh-from restricts it"},
		{name: "no sshd: 22 kept, with a warning", listeners: []scan.Listener{lst("tcp", "0.0.0.0", 80, "nginx", false)},
			rules:    []string{"ipv4 tcp/22", "ipv6 tcp/22", "ipv4 tcp/80"},
			warnings: []string{"sshd was not found listening; keeping ssh open on port 22"}},
		{name: "loopback-only sshd counts as not found", listeners: []scan.Listener{lst("tcp", "127.0.0.1", 22, "sshd", false)},
			rules:    []string{"ipv4 tcp/22", "ipv6 tcp/22"},
			warnings: []string{"sshd was not found"}},
		{name: "specific binds, v4 mapped, unknown service", listeners: []scan.Listener{
			lst("tcp", "::", 22, "sshd", true),
			lst("tcp", "192.0.2.10", 8080, "myapp", false),
			lst("udp", "2001:db8::10", 9999, "", false),
			lst("tcp", "::ffff:192.0.2.11", 8443, "javaapp", false),
		},
			rules: []string{"ipv4 tcp/22", "ipv6 tcp/22", "ipv4 tcp/8080 to 192.0.2.10", "ipv4 tcp/8443 to 192.0.2.11", "ipv6 udp/9999 to 2001:db8::10"}},
		{name: "wildcard covers a specific bind of the same port", listeners: []scan.Listener{
			lst("tcp", "::", 22, "sshd", true), lst("tcp", "0.0.0.0", 80, "nginx", false), lst("tcp", "192.0.2.10", 80, "nginx", false)},
			rules: []string{"ipv4 tcp/22", "ipv6 tcp/22", "ipv4 tcp/80"}},
		{name: "a dual-stack wildcard covers an earlier IPv4 specific bind", listeners: []scan.Listener{
			lst("tcp", "::", 22, "sshd", true), lst("tcp", "192.0.2.10", 80, "nginx", false), lst("tcp", "::", 80, "nginx", true)},
			rules: []string{"ipv4 tcp/22", "ipv6 tcp/22", "ipv4 tcp/80", "ipv6 tcp/80"}},
		{name: "deny", listeners: dbHost,
			opts:     func(t testing.TB) Options { return Options{Deny: mustSpecs(t, "http")} },
			rules:    []string{"ipv4 tcp/22", "ipv6 tcp/22", "ipv4 tcp/443", "ipv6 tcp/443"},
			notes:    []string{"# http on tcp/80 is not opened: --deny http", "# postgresql on 5432"},
			warnings: []string{"postgresql listens"}},
		{name: "allow for nothing listening opens it anyway", listeners: freshHost,
			opts:  func(t testing.TB) Options { return Options{Allow: mustSpecs(t, "8080/tcp=192.0.2.0/24", "dns")} },
			rules: []string{"ipv4 tcp/22", "ipv6 tcp/22", "ipv4 tcp/53", "ipv6 tcp/53", "ipv4 udp/53", "ipv6 udp/53", "ipv4 tcp/8080 from 192.0.2.0/24"},
			warnings: []string{"--allow dns opens dns to everyone (no CIDR given)",
				"--allow 8080/tcp=192.0.2.0/24: nothing listens on tcp/8080", "--allow dns: nothing listens on tcp/53", "--allow dns: nothing listens on udp/53"}},
		{name: "one note and warning for a sensitive service on both families", listeners: []scan.Listener{
			lst("tcp", "::", 22, "sshd", true), lst("tcp", "0.0.0.0", 6379, "redis-server", false), lst("tcp", "::", 6379, "redis-server", false)},
			rules:    []string{"ipv4 tcp/22", "ipv6 tcp/22"},
			notes:    []string{"# redis on 6379 is not opened: fwaudit suggest --allow redis=CIDR"},
			warnings: []string{"redis listens on tcp port 6379 and is not opened"}},
		{name: "deny takes no sources", listeners: freshHost,
			opts: func(t testing.TB) Options { return Options{Deny: mustSpecs(t, "http=192.0.2.0/24")} },
			err:  "--deny http=192.0.2.0/24: --deny takes no sources"},
		{name: "deny ssh", listeners: freshHost,
			opts: func(t testing.TB) Options { return Options{Deny: mustSpecs(t, "ssh")} },
			err:  "--deny ssh would close ssh on port 22"},
		{name: "allow and deny the same", listeners: freshHost,
			opts: func(t testing.TB) Options { return Options{Allow: mustSpecs(t, "80"), Deny: mustSpecs(t, "http")} },
			err:  "--allow 80 and --deny http name the same port"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts Options
			if c.opts != nil {
				opts = c.opts(t)
			}
			p, warns, err := Build(c.listeners, opts)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Build error = %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ruleKeys(p); strings.Join(got, "\n") != strings.Join(c.rules, "\n") {
				t.Errorf("rules (-want +got):\n-%s\n+%s", strings.Join(c.rules, "\n-"), strings.Join(got, "\n+"))
			}
			if len(p.Notes) != len(c.notes) {
				t.Errorf("notes = %q, want %d like %q", p.Notes, len(c.notes), c.notes)
			} else {
				for i, n := range c.notes {
					if !strings.Contains(p.Notes[i], n) {
						t.Errorf("note %d = %q, want it to contain %q", i, p.Notes[i], n)
					}
				}
			}
			var ws []string
			for _, w := range warns {
				ws = append(ws, w.Msg)
			}
			if len(ws) != len(c.warnings) {
				t.Errorf("warnings = %q, want %d like %q", ws, len(c.warnings), c.warnings)
			} else {
				for i, w := range c.warnings {
					if !strings.Contains(ws[i], w) {
						t.Errorf("warning %d = %q, want it to contain %q", i, ws[i], w)
					}
				}
			}
		})
	}
}

// TestRuleDetails checks what the keys above do not show: review marks,
// sanitized names, comments and the families of a dual-stack listener.
func TestRuleDetails(t *testing.T) {
	p, _, err := Build(hostileHost, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Rules {
		if !r.Review {
			t.Errorf("%s/%d: unknown service not marked for review", r.Proto, r.Port)
		}
		if strings.ContainsAny(r.Process, "\n\r\x00") || len(r.Process) > maxName {
			t.Errorf("%s/%d: process name not sanitized: %q", r.Proto, r.Port, r.Process)
		}
		if c := r.Comment(); !strings.HasPrefix(c, fmt.Sprintf("review: unknown service %s/%d", r.Proto, r.Port)) {
			t.Errorf("comment %q lacks the review prefix", c)
		}
	}
	var got []firewall.Family
	for _, r := range p.SSH {
		got = append(got, r.Family)
	}
	if fmt.Sprint(got) != "[ipv4 ipv6]" {
		t.Errorf("dual-stack sshd rule families = %v, want [ipv4 ipv6]", got)
	}
}

func TestWarningString(t *testing.T) {
	if got := (Warning{Msg: "m"}).String(); got != "m" {
		t.Errorf("got %q", got)
	}
	if got := (Warning{Msg: "m", Hint: "h"}).String(); got != "m\nhint: h" {
		t.Errorf("got %q", got)
	}
}
