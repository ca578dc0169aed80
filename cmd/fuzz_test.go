package cmd

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/suggest"
)

// rawControl returns the first character of s a terminal would act on
// (C0 but newline and tab, DEL, C1, or bytes that are not UTF-8), or -1.
func rawControl(s string) rune {
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return r
		}
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return r
		}
	}
	return -1
}

// FuzzFlagValues feeds one string to every parser of a flag value:
// --allow/--deny (suggest.ParseSpec), --ssh-from (suggest.ParsePrefix and
// ParsePrefixes), explain's port (parseProtoPort) and its --src/--dst
// (parseFamilyAddr). None may panic; what they accept is well formed;
// what they refuse is a usage error whose text, printed on a terminal,
// holds no raw control character.
func FuzzFlagValues(f *testing.F) {
	for _, s := range []string{
		"22", "tcp/22", "22/udp", "UDP/53", "ssh", "tcp/ssh", "postgresql=192.0.2.0/24,2001:db8::/32",
		"mysql=10.1.2.3", "5432/tcp=::ffff:192.0.2.0/120", "http=", "=", "/", "0", "65536", "tcp/0",
		"192.0.2.1", "2001:db8::1/64", "fe80::1%eth0", "fe80::1%\x1b[31m", "::ffff:10.0.0.1/104",
		"", "10.0.0.0/33", " 22 / tcp ", "sctp/22", "a=b=c", "ssh=,,,", "\x00", "tcp/\x1b]0;x\x07",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if sp, err := suggest.ParseSpec(s); err != nil {
			if r := rawControl(err.Error()); r >= 0 {
				t.Errorf("ParseSpec(%q): raw %U in the error %q", s, r, err)
			}
		} else {
			if sp.Port == 0 || sp.Proto != "" && sp.Proto != "tcp" && sp.Proto != "udp" {
				t.Errorf("ParseSpec(%q) = %+v: bad port or protocol", s, sp)
			}
			for _, p := range sp.Sources {
				if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
					t.Errorf("ParseSpec(%q): source %v is not a canonical prefix", s, p)
				}
			}
		}
		if p, err := suggest.ParsePrefix(s); err != nil {
			if r := rawControl(err.Error()); r >= 0 {
				t.Errorf("ParsePrefix(%q): raw %U in the error %q", s, r, err)
			}
		} else {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Errorf("ParsePrefix(%q) = %v: not a canonical prefix", s, p)
			}
			// the canonical form reads back as itself
			if q, err := suggest.ParsePrefix(p.String()); err != nil || q != p {
				t.Errorf("ParsePrefix(%q) = %v, which reads back as %v, %v", s, p, q, err)
			}
		}
		if ps, err := suggest.ParsePrefixes(s); err == nil {
			for _, p := range ps {
				if p != p.Masked() {
					t.Errorf("ParsePrefixes(%q): %v has host bits", s, p)
				}
			}
		} else if r := rawControl(err.Error()); r >= 0 {
			t.Errorf("ParsePrefixes(%q): raw %U in the error %q", s, r, err)
		}
		if proto, port, err := parseProtoPort(s); err != nil {
			var ee *exitErr
			if !errors.As(err, &ee) || ee.code != exitUsage {
				t.Errorf("parseProtoPort(%q): %v is not a usage error", s, err)
			}
			if r := rawControl(err.Error()); r >= 0 {
				t.Errorf("parseProtoPort(%q): raw %U in the error %q", s, r, err)
			}
		} else if proto != "tcp" && proto != "udp" || port == 0 {
			t.Errorf("parseProtoPort(%q) = %s/%d", s, proto, port)
		}
		for _, v6 := range []bool{false, true} {
			opts := &explainOptions{proto: "tcp", port: 22, from: s, to: s, v6: v6}
			q, err := opts.query()
			if err != nil {
				var ee *exitErr
				if !errors.As(err, &ee) || ee.code != exitUsage {
					t.Errorf("explain --from %q: %v is not a usage error", s, err)
				}
				if r := rawControl(err.Error()); r >= 0 {
					t.Errorf("explain --from %q (-6 %v): raw %U in the error %q", s, v6, r, err)
				}
				continue
			}
			a := q.From
			if s == "" {
				// no --from or --to: the explanation picks its own
				// addresses, in the family -6 asks for
				if a.IsValid() || q.To.IsValid() || (v6 && q.Family != firewall.IPv6) || (!v6 && q.Family != "") {
					t.Errorf("explain without --from (-6 %v): %v in %q", v6, a, q.Family)
				}
				continue
			}
			if a.Is4() != (q.Family == firewall.IPv4) || a.Is4In6() || a == (netip.Addr{}) || (v6 && q.Family != firewall.IPv6) {
				t.Errorf("explain --from %q (-6 %v): %v in %s", s, v6, a, q.Family)
			}
		}
	})
}

// FuzzSafeStderr: whatever is written to stderr reaches it with no
// character a terminal acts on, and text without one passes unchanged.
func FuzzSafeStderr(f *testing.F) {
	f.Add([]byte("warning: plain text\n"))
	f.Add([]byte("nft: tcp dport 22 \x1b[31mevil accept\n"))
	f.Add([]byte("c1 \xc2\x9b31m and bad \xff\xfe utf-8, é ok\n"))
	f.Fuzz(func(t *testing.T, p []byte) {
		var b strings.Builder
		n, err := safeStderr{&b}.Write(p)
		if err != nil || n != len(p) {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(p))
		}
		if r := rawControl(b.String()); r >= 0 {
			t.Fatalf("raw %U in %q (from %q)", r, b.String(), p)
		}
		if rawControl(string(p)) < 0 && b.String() != string(p) {
			t.Fatalf("printable %q came out as %q", p, b.String())
		}
	})
}

// FuzzCommandLine runs whole offline command lines with fuzzed flag
// values: suggest --allow/--deny/--ssh-from on the kept host, and explain
// with a fuzzed port. The exit code is one README documents for the
// command (0, or 2 for a value refused); on 2 stderr says why in one
// "fwaudit: error:" line; on 0 suggest's stdout is a ruleset our parser
// reads; stderr never carries a raw control character.
func FuzzCommandLine(f *testing.F) {
	f.Add("postgresql=192.0.2.0/25", "http", "203.0.113.0/24", "tcp/22")
	f.Add("8099/tcp", "25", "2001:db8::/48", "udp/dns")
	f.Add("ssh", "ssh", "10.0.0.0/8", "22")
	f.Add("tcp/\x1b[2J", "=x", "fe80::1%\x1b", "\x00/tcp")
	f.Add("mysql=::ffff:10.0.0.0/104", "", "", "tcp/65535")
	f.Fuzz(func(t *testing.T, allow, deny, sshFrom, port string) {
		args := keptArgs()
		for _, a := range []struct{ flag, v string }{{"--allow", allow}, {"--deny", deny}, {"--ssh-from", sshFrom}} {
			if a.v != "" {
				args = append(args, a.flag+"="+a.v)
			}
		}
		stdout, stderr, code := run(t, nil, args...)
		checkCLI(t, args, stdout, stderr, code)
		if code == 0 {
			if _, err := firewall.ParseSave(strings.NewReader(stdout), "suggested", firewall.IPv4); err != nil {
				t.Fatalf("%q: our parser rejects the ruleset: %v\n%s", args, err, stdout)
			}
		}
		args = []string{"explain", port, "--offline", "--rules", keptDir + "rules.v4"}
		if strings.HasPrefix(port, "-") {
			args = []string{"explain", "--offline", "--rules", keptDir + "rules.v4", "--", port}
		}
		stdout, stderr, code = run(t, nil, args...)
		checkCLI(t, args, stdout, stderr, code)
	})
}

func checkCLI(t *testing.T, args []string, stdout, stderr string, code int) {
	t.Helper()
	if r := rawControl(stderr); r >= 0 {
		t.Fatalf("%q: raw %U on stderr: %q", args, r, stderr)
	}
	switch code {
	case exitOK:
		if stdout == "" {
			t.Fatalf("%q: exit 0 and nothing on stdout; stderr: %s", args, stderr)
		}
	case exitUsage:
		if stdout != "" || strings.Count(stderr, "fwaudit: error: ") != 1 {
			t.Fatalf("%q: exit 2 with stdout %q, stderr %q; want no data and one error line", args, stdout, stderr)
		}
	default:
		t.Fatalf("%q: exit %d; stderr: %s", args, code, stderr)
	}
}

// FuzzReportReaders feeds a fuzzed report (seeded with the fleet's own
// reports) to `fwaudit diff` and `fwaudit fleet`, which read reports
// gathered from many hosts: hostile input by nature. Exit codes are
// README's (diff: 0, 1 or 2; fleet: 0 or 1), nothing panics, no text
// output or message carries a raw control character, and JSON output no C0
// control (encoding/json escapes them).
func FuzzReportReaders(f *testing.F) {
	const week = "../testdata/fleet/week1/"
	for _, n := range []string{"mail.json", "web.json", "fresh.json"} {
		b, err := os.ReadFile(week + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"schema_version":1,"tool":{"name":"fwaudit"},"host":{"hostname":"\u001b[31mx"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "host.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			args  []string
			codes []int
		}{
			{[]string{"diff", week + "mail.json", p}, []int{0, 1, 2}},
			{[]string{"diff", "-o", "json", p, week + "web.json"}, []int{0, 1, 2}},
			{[]string{"fleet", dir}, []int{0, 1}},
			{[]string{"fleet", "--format", "markdown", dir}, []int{0, 1}},
		} {
			stdout, stderr, code := run(t, nil, c.args...)
			if !slices.Contains(c.codes, code) {
				t.Fatalf("%q: exit %d, want one of %v\nstderr: %s", c.args, code, c.codes, stderr)
			}
			if r := rawControl(stderr); r >= 0 {
				t.Fatalf("%q: raw %U on stderr: %q", c.args, r, stderr)
			}
			r := rawControl(stdout)
			if slices.Contains(c.args, "json") && (r == 0x7f || r >= 0x80) {
				// JSON is data: encoding/json escapes C0 controls; DEL and
				// C1 are valid string content, as the report held them
				r = -1
			}
			if r >= 0 {
				t.Fatalf("%q: raw %U on stdout: %q", c.args, r, stdout)
			}
		}
	})
}
