package firewall

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestUfwNumbered names the rules of a real ufw (0.36.2, in a network
// namespace: testdata/rules/ufw-numbered/SOURCES.md) as that ufw's own
// `ufw status numbered` printed them, captured with the files.
func TestUfwNumbered(t *testing.T) {
	dir := filepath.Join("..", "testdata", "rules", "ufw-numbered")
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	v4, err := ParseUfwUserRules(open("user.rules"), "user.rules", IPv4, 1)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := ParseUfwUserRules(open("user6.rules"), "user6.rules", IPv6, len(v4)+1)
	if err != nil {
		t.Fatal(err)
	}
	// `ufw status numbered` in the namespace, spaces squeezed
	want := []string{
		"[1] 80/tcp DENY IN 192.0.2.7 # fwaudit: kept out",
		"[2] 22/tcp ALLOW IN Anywhere # fwaudit: ssh",
		"[3] 80/tcp ALLOW IN 10.1.0.0/16",
		"[4] 22/tcp (v6) ALLOW IN Anywhere (v6)",
		"[5] 53/udp (v6) on eth0 ALLOW IN Anywhere (v6) # fwaudit: dns",
	}
	var got []string
	for _, r := range append(v4, v6...) {
		got = append(got, "["+strconv.Itoa(r.Number)+"] "+r.Text)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ufw rules:\n%s\nwant (ufw status numbered):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	rs4, err := ParseSave(open("iptables-save"), "iptables-save", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	rs6, err := ParseSave(open("ip6tables-save"), "ip6tables-save", IPv6)
	if err != nil {
		t.Fatal(err)
	}
	if !rs4.AnnotateUfw(v4) || !rs6.AnnotateUfw(v6) {
		t.Fatal("AnnotateUfw: the files do not match the chains they were loaded into")
	}
	for _, c := range []struct {
		fam  Family
		rs   *Ruleset
		port uint16
		want string
	}{
		{IPv4, rs4, 22, "ufw rule 2: 22/tcp ALLOW IN Anywhere # fwaudit: ssh"},
		{IPv4, rs4, 80, "ufw rule 3: 80/tcp ALLOW IN 10.1.0.0/16"},
		{IPv6, rs6, 22, "ufw rule 4: 22/tcp (v6) ALLOW IN Anywhere (v6)"},
	} {
		res := NewEvaluator(c.fam, []*Ruleset{c.rs}, Host{}).Evaluate(Query{Proto: "tcp", Port: c.port})
		if res.Origin != c.want {
			t.Errorf("%s tcp/%d: Origin %q (rule %q), want %q", c.fam, c.port, res.Origin, res.Rule, c.want)
		}
	}
	d := NewEvaluator(IPv4, []*Ruleset{rs4}, Host{}).Decide(Packet{Proto: "tcp", Src: netip.MustParseAddr("192.0.2.7"), Dst: netip.MustParseAddr("192.0.2.1"), SPort: 40000, DPort: 80, InIface: "eth0"})
	found := false
	for _, s := range d.Trace {
		found = found || s.Origin == "ufw rule 1: 80/tcp DENY IN 192.0.2.7 # fwaudit: kept out"
	}
	if d.Verdict != DecideDrop || !found {
		t.Errorf("192.0.2.7 to tcp/80: %s, want drop by ufw rule 1 named in the trace: %+v", d.Verdict, d.Trace)
	}

	// A chain that no longer holds what the file says is not named.
	stale := v4[:2]
	rs4b, _ := ParseSave(open("iptables-save"), "iptables-save", IPv4)
	if rs4b.AnnotateUfw(stale) {
		t.Error("AnnotateUfw named the rules of a chain its file does not describe")
	}
}
