package firewall

import (
	"errors"
	"math/rand"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

// Hostile and odd iptables-save inputs. Each case writes down what
// iptables-restore 1.8.9 (legacy and nft, run in a network namespace) does
// with the input, and asserts the parser does the same or says why not.

// errQuoteMax bounds a ParseError's message: the offending input is quoted
// up to about 72 characters, plus a few words around it.
const errQuoteMax = 200

func randomBytes(seed int64, n int) string {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return string(b)
}

func TestHostileSaveErrors(t *testing.T) {
	long := strings.Repeat("A", 100_000)
	tests := []struct {
		name     string
		input    string
		wantLine int
		wantMsg  string // a substring of the message
	}{
		// binary: the first "line" is thousands of bytes of escapes
		{"random bytes seed 1", randomBytes(1, 4096), 1, "outside a table"},
		{"random bytes seed 2", "\n\n" + randomBytes(2, 4096), 3, ""},
		{"NUL bytes", strings.Repeat("\x00", 5000), 1, "outside a table"},
		{"one 100,000-byte line", long, 1, `"AAAA`},
		{"100,000-byte word in a rule", "*filter\n-A INPUT " + long + " -j ACCEPT" + "\nCOMMIT\n", 2, "unexpected word"},
		{"100,000-byte address", "*filter\n-A INPUT -s " + strings.Repeat("1", 100_000) + " -j ACCEPT\nCOMMIT\n", 2, "address"},
		// both backends: "unable to initialize table", "table name invalid"
		{"100,000-byte table name", "*" + long + "\nCOMMIT\n", 1, "unknown table"},
		{"unknown table", "*foo\nCOMMIT\n", 1, `unknown table "foo"`},
		{"100,000-byte chain", "*filter\n-A " + long + " -j ACCEPT\nCOMMIT\n", 2, "not declared"},
		{"100,000-byte policy", "*filter\n:INPUT " + long + "\nCOMMIT\n", 2, "bad policy"},
		// CRLF: both backends refuse "filter\r" as a table name
		// ("table name 'filter\r' invalid", "unable to initialize table")
		{"CRLF line ends", "*filter\r\n:INPUT DROP [0:0]\r\n-A INPUT -j ACCEPT\r\nCOMMIT\r\n", 1, "carriage return"},
		// a comment line with a CR passes; a blank "\r" line is "Bad
		// argument" at that line; a CR after a target is "Invalid target
		// name" at that line
		{"CR on a blank line", "# saved\r\n*filter\n\r\n:INPUT DROP [0:0]\nCOMMIT\n", 3, "carriage return"},
		{"CR after the target", "*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\r\nCOMMIT\n", 3, "carriage return"},
		// iptables-restore: "chain name ... too long (must be under 29 chars)"
		{"29-character chain", "*filter\n:ufw-user-limit-accept~~~~~~~x - [0:0]\nCOMMIT\n", 2, "29 characters"},
		{"29-character chain by -N", "*filter\n-N ufw-user-limit-accept~~~~~~~x\nCOMMIT\n", 2, "29 characters"},
		// counters must be [digits:digits] (iptables-restore: "Bad argument")
		{"counters with a letter", "*filter\n[12:x] -A INPUT -j ACCEPT\nCOMMIT\n", 2, "bad counters"},
		{"counters without a rule", "*filter\n[1:2]\nCOMMIT\n", 2, "counters without a rule"},
		// the prefix length is a C number and 8 is no octal digit
		// (iptables-restore: "invalid mask `08' specified")
		{"prefix length 08", "*filter\n-A INPUT -s 10.1.2.3/08 -j ACCEPT\nCOMMIT\n", 2, "bad mask"},
		{"prefix length 0x", "*filter\n-A INPUT -s 10.1.2.3/0x -j ACCEPT\nCOMMIT\n", 2, "bad mask"},
		{"prefix length -8", "*filter\n-A INPUT -s 10.1.2.3/-8 -j ACCEPT\nCOMMIT\n", 2, "bad mask"},
		// ip6tables-restore: "host/network `fe80::1%eth0' not found"
		{"IPv6 zone", "*filter\n-A INPUT -s fe80::1%eth0 -j ACCEPT\nCOMMIT\n", 2, "zone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSave(strings.NewReader(tc.input), "in.rules", IPv4)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if pe.Line != tc.wantLine {
				t.Errorf("line %d, want %d (%v)", pe.Line, tc.wantLine, err)
			}
			if !strings.Contains(pe.Msg, tc.wantMsg) {
				t.Errorf("message %q does not say %q", pe.Msg, tc.wantMsg)
			}
			if len(pe.Msg) > errQuoteMax {
				t.Errorf("message is %d bytes, want at most %d: %q", len(pe.Msg), errQuoteMax, pe.Msg)
			}
			if strings.ContainsAny(pe.Msg, "\x00\r\n\x1b") {
				t.Errorf("message holds raw control characters: %q", pe.Msg)
			}
		})
	}
}

// TestHostileBinaryFile: a real binary, the case that printed a 1,914-byte
// error line.
func TestHostileBinaryFile(t *testing.T) {
	for _, name := range []string{"/bin/ls", "/bin/sh"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(name)
			if err != nil {
				t.Skip(err)
			}
			defer f.Close()
			_, err = ParseSave(f, name, IPv4)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if len(pe.Msg) > errQuoteMax || !strings.HasPrefix(pe.Msg, `"\x7fELF`) {
				t.Errorf("message (%d bytes) = %q", len(pe.Msg), pe.Msg)
			}
		})
	}
}

func TestClippedQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short", "abc", `"abc"`},
		{"exactly the limit", strings.Repeat("a", quoteMax), `"` + strings.Repeat("a", quoteMax) + `"`},
		{"one over", strings.Repeat("a", quoteMax+1), `"` + strings.Repeat("a", quoteMax) + `"... (73 bytes)`},
		// escapes count as printed: \x00 is four characters
		{"NULs", strings.Repeat("\x00", 40), `"` + strings.Repeat(`\x00`, 18) + `"... (40 bytes)`},
		{"invalid UTF-8", strings.Repeat("\xff", 40), `"` + strings.Repeat(`\xff`, 18) + `"... (40 bytes)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := saveParser{name: "f"}
			got := p.errorf("", "%q", tc.in).(*ParseError).Msg
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestHostileSaveAccepted: odd inputs iptables-restore takes, read as it
// reads them.
func TestHostileSaveAccepted(t *testing.T) {
	c300 := strings.Repeat("b", 300)
	chain28 := "abcdefghij~klmnopqrstuvwxyz0" // 28 characters, the most iptables allows
	tests := []struct {
		name  string
		input string
		q     Query
		want  brief
		rules int // rules in the Ruleset
	}{
		// nothing: iptables-save prints nothing on a host with no tables
		// loaded (legacy): no rules, every port open
		{"empty file", "", tcp(22), brief{Verdict: Open}, 0},
		{"comments and blank lines only", "# Generated by iptables-save\n\n# Completed\n", tcp(22), brief{Verdict: Open}, 0},
		// iptables-restore takes a 300-character comment (the kernel keeps
		// 255 of it); it changes no verdict
		{"300-character comment", filterRules("DROP", `-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "`+c300+`" -j ACCEPT`),
			tcp(22), brief{Verdict: Open, Rule: `-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "` + c300 + `" -j ACCEPT`}, 1},
		{"28-character chain name with ~", filterRules("DROP", "-A INPUT -j "+chain28, "-A "+chain28+" -s 10.0.0.1/32 -p tcp -j ACCEPT"),
			tcp(22), brief{Verdict: Restricted, Sources: "10.0.0.1/32", Rule: "-A " + chain28 + " -s 10.0.0.1/32 -p tcp -j ACCEPT"}, 2},
		// iptables-save -c: counters before the rule and after the policy
		{"[n:m] counters", "*filter\n:INPUT DROP [123:45678]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n[12:3456] -A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
			tcp(22), brief{Verdict: Restricted, Sources: "192.0.2.0/24", Rule: "-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 22 -j ACCEPT"}, 1},
		{"CR on a comment line only", "# saved by hand\r\n" + filterRules("DROP", "-A INPUT -p tcp -j ACCEPT"),
			tcp(22), brief{Verdict: Open, Rule: "-A INPUT -p tcp -j ACCEPT"}, 1},
		// iptables-save 1.8.9+ prints "[unsupported revision]" where a match
		// or target came from another version and its options are not shown
		{"unsupported revision of a match", filterRules("DROP", "-A INPUT -p tcp -m conntrack [unsupported revision] -j ACCEPT"),
			tcp(22), brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: "-m conntrack [unsupported revision]", Rule: "-A INPUT -p tcp -m conntrack [unsupported revision] -j ACCEPT"}, 1},
		// REJECT drops whatever its options say
		{"unsupported revision of REJECT", filterRules("ACCEPT", "-A INPUT -p tcp -j REJECT [unsupported revision]"),
			tcp(22), brief{Verdict: Blocked, Rule: "-A INPUT -p tcp -j REJECT [unsupported revision]"}, 1},
		{"unsupported revision of an unknown target", filterRules("DROP", "-A INPUT -p tcp -j FUTURE [unsupported revision]"),
			tcp(22), brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: "-j FUTURE [unsupported revision]", Rule: "-A INPUT -p tcp -j FUTURE [unsupported revision]"}, 1},
		{"unknown target", filterRules("DROP", "-A INPUT -p tcp -j FUTURE --future-option 3"),
			tcp(22), brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: "-j FUTURE (unknown target)", Rule: "-A INPUT -p tcp -j FUTURE --future-option 3"}, 1},
		{"unknown match module", filterRules("DROP", "-A INPUT -p tcp -m future --when now -j ACCEPT"),
			tcp(22), brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: "-m future", Rule: "-A INPUT -p tcp -m future --when now -j ACCEPT"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := ParseSave(strings.NewReader(tc.input), "in.rules", IPv4)
			if err != nil {
				t.Fatal(err)
			}
			if n := rs.RuleCount(); n != tc.rules {
				t.Errorf("%d rules, want %d", n, tc.rules)
			}
			if got := briefOf(NewEvaluator(IPv4, []*Ruleset{rs}, Host{}).Evaluate(tc.q)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestHostileUnsupportedRevisionUnknown(t *testing.T) {
	rs := parseString(t, filterRules("DROP", "-A INPUT -p tcp -m conntrack [unsupported revision] -j MARK [unsupported revision]"), IPv4)
	r := onlyRule(t, rs)
	want := []string{"-m conntrack [unsupported revision]", "-j MARK [unsupported revision]"}
	if !reflect.DeepEqual(r.Unknown(), want) {
		t.Errorf("Unknown = %q, want %q", r.Unknown(), want)
	}
}

// TestSaveInfoFragment: which files leave built-in policies unset.
func TestSaveInfoFragment(t *testing.T) {
	ufw, err := os.ReadFile("../testdata/rules/ufw-before.rules")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		input      string
		undeclared []string
		unshown    int
	}{
		{"empty file", "", nil, 0},
		{"iptables-save output", filterRules("DROP", "-A INPUT -j ACCEPT"), nil, 0},
		// ufw's before.rules declares its own chains only
		{"ufw before.rules", string(ufw), []string{"filter INPUT", "filter FORWARD", "filter OUTPUT"}, 0},
		{"one policy of three", "*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n", []string{"filter FORWARD", "filter OUTPUT"}, 0},
		{"policies by -P", "*filter\n-P INPUT DROP\n-P FORWARD DROP\n-P OUTPUT ACCEPT\nCOMMIT\n", nil, 0},
		// a section with no policy lines leaves every policy to the host
		{"empty table section", "*filter\nCOMMIT\n", []string{"filter INPUT", "filter FORWARD", "filter OUTPUT"}, 0},
		// a nat chain's policy is always ACCEPT (iptables refuses DROP
		// there): leaving one out says nothing, as iptables-save of a
		// kernel before 2.6.36 (no nat INPUT) does
		{"nat section without some policies", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080\nCOMMIT\n", nil, 0},
		{"kernel before 2.6.36: no nat INPUT", "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n" + filterRules("DROP"), nil, 0},
		// iptables-restore flushes a table named twice: the last section's
		// rules count; a policy the first section set stays with
		// iptables-legacy and is reset to ACCEPT by iptables-nft 1.8.9 (seen
		// in a namespace), so a last section without one is a fragment
		{"table twice, last complete", "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n" + filterRules("DROP"), nil, 0},
		{"table twice, last a fragment", filterRules("DROP") + "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", []string{"filter INPUT", "filter FORWARD", "filter OUTPUT"}, 0},
		{"incompatible table", "# Table `filter' is incompatible, use 'nft' tool.\n", nil, 1},
		{"incompatible base chains", "# Table `filter' contains incompatible base-chains, use 'nft' tool to list them.\n" + filterRules("DROP"), nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, info, err := ParseSaveInfo(strings.NewReader(tc.input), "in.rules", IPv4)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(info.Undeclared, tc.undeclared) {
				t.Errorf("Undeclared = %q, want %q", info.Undeclared, tc.undeclared)
			}
			if info.Fragment() != (len(tc.undeclared) > 0) {
				t.Errorf("Fragment() = %v", info.Fragment())
			}
			if len(info.Unshown) != tc.unshown {
				t.Errorf("Unshown = %q, want %d", info.Unshown, tc.unshown)
			}
		})
	}
}

// TestHostileIPv6Addresses: ip6tables masks host bits and prints the
// canonical form; the evaluator must match the same sources. Expected
// values are ip6tables-save's output after loading each rule (legacy and
// nft, 1.8.9).
func TestHostileIPv6Addresses(t *testing.T) {
	q := Query{Proto: "tcp", Addr: netip.IPv6Unspecified(), Port: 22}
	tests := []struct {
		name, src, want string
	}{
		{"host bits set", "2001:db8::1/64", "2001:db8::/64"},
		{"upper case and zeros", "2001:0DB8:0000:0:0:0:0:00A1", "2001:db8::a1/128"},
		{"v4-mapped with host bits", "::ffff:10.1.2.3/120", "::ffff:10.1.2.0/120"},
		{"netmask form", "2001:db8:1::5/ffff:ffff:ffff::", "2001:db8:1::/48"},
		// the prefix length is a C number: octal with a leading 0, hex
		// with 0x (ip6tables-save: 2001:db8::/52, 2001:db8::/64)
		{"octal prefix length", "2001:DB8::1/064", "2001:db8::/52"},
		{"hex prefix length", "2001:db8::1/0x40", "2001:db8::/64"},
		{"plus sign", "2001:db8::1/+64", "2001:db8::/64"},
		{"in a list", "2001:db8::1/0100,2001:db8:5::1/0x30", "2001:db8::/64 2001:db8:5::/48"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s " + tc.src + " -p tcp -j ACCEPT\nCOMMIT\n"
			rs, err := ParseSave(strings.NewReader(text), "in.rules", IPv6)
			if err != nil {
				t.Fatal(err)
			}
			got := briefOf(NewEvaluator(IPv6, []*Ruleset{rs}, Host{}).Evaluate(q))
			if got.Verdict != Restricted || got.Sources != tc.want {
				t.Errorf("got %+v, want restricted to %s", got, tc.want)
			}
		})
	}
}

// FuzzHostileSaveErrors: whatever the input, an error is a ParseError
// whose message is short and holds no raw control character, and the
// parse never panics.
func FuzzHostileSaveErrors(f *testing.F) {
	f.Add("*filter\n-X \x1b[31mred\nCOMMIT\n")
	f.Add("*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\r\nCOMMIT\n")
	f.Add("*filter\n:a - [0:0]\n-A a -j ACCEPT\n-X a\nCOMMIT\n")
	f.Add(randomBytes(3, 300))
	f.Add("# Table `filter' is incompatible, use 'nft' tool.\n*nat\nCOMMIT\n")
	f.Add("*filter\n-A INPUT -p tcp -m conntrack [unsupported revision] -j MARK [unsupported revision]\nCOMMIT\n")
	f.Fuzz(func(t *testing.T, text string) {
		_, _, err := ParseSaveInfo(strings.NewReader(text), "fuzz", IPv4)
		if err == nil {
			return
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error is not a *ParseError: %v", err)
		}
		if len(pe.Msg) > 2*errQuoteMax {
			t.Errorf("message is %d bytes: %q", len(pe.Msg), pe.Msg)
		}
		for _, r := range pe.Msg {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("raw control character %U in %q", r, pe.Msg)
			}
		}
	})
}

// TestHostileIPv4PrefixLength: iptables-save's output after loading each
// -s value (iptables-legacy-restore 1.8.9).
func TestHostileIPv4PrefixLength(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"octal", "10.1.2.3/010", "10.0.0.0/8"},
		{"hex", "10.1.2.3/0x10", "10.1.0.0/16"},
		{"plus sign", "10.1.2.3/+8", "10.0.0.0/8"},
		{"decimal with host bits", "10.1.2.3/8", "10.0.0.0/8"},
		{"zero", "10.1.2.3/0", ""},
		{"octal zero", "10.1.2.3/00", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := evalText(t, filterRules("DROP", "-A INPUT -s "+tc.src+" -p tcp -j ACCEPT"), Host{}, tcp(22))
			want := Restricted
			if tc.want == "" {
				want = Open
			}
			if got.Verdict != want || got.Sources != tc.want {
				t.Errorf("got %+v, want %s %s", got, want, tc.want)
			}
		})
	}
}
