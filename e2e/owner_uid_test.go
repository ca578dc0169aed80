//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// startWithUid is Lab.Start with the helper run as user and group uid
// (setpriv; no supplementary groups), from a world-readable copy of its
// binary: its sockets' owner, as -m owner --uid-owner and meta skuid see
// it, is uid. The ports must be unprivileged.
func startWithUid(lab *Lab, ns *Netns, name string, uid int, specs ...string) *Proc {
	lab.T.Helper()
	path, err := daemonPath(name)
	if err != nil {
		lab.T.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "fwaudit-uid-")
	if err != nil {
		lab.T.Fatal(err)
	}
	lab.T.Cleanup(func() { os.RemoveAll(dir) })
	b, err := os.ReadFile(path)
	if err != nil {
		lab.T.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		lab.T.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		lab.T.Fatal(err)
	}
	return startSetpriv(lab, ns, name, bin, "Uid:", uid, []string{fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", uid)}, specs)
}

// checkCertain asserts that fv is open with no source in doubt, keeps out
// exactly except, and decides both peers as the kernel did.
func checkCertain(t *testing.T, what string, fv *FamilyVerdict, except []string, inAdmitted bool) {
	t.Helper()
	if fv == nil {
		t.Fatalf("%s: no ipv4 verdict", what)
	}
	if fv.Verdict != "open" || len(fv.Doubtful) != 0 || len(fv.Reasons) != 0 || !slices.Equal(fv.Except, except) {
		t.Errorf("%s: got %s except %v doubtful %v reasons %v, want open except %v, nothing in doubt", what, fv.Verdict, fv.Except, fv.Doubtful, fv.Reasons, except)
	}
	for _, c := range []struct {
		src   string
		admit bool
	}{{doubtOut, true}, {doubtIn, inAdmitted}} {
		if a, d := fv.Admits(netip.MustParseAddr(c.src), "veth0"); a != c.admit || !d {
			t.Errorf("%s from %s: admitted %v decided %v, want %v, decided", what, c.src, a, d, c.admit)
		}
	}
}

// TestOwnerUIDOnReplyPath: a drop by socket owner uid on the reply path
// to part of the sources is decided by the listener's uid, which the scan
// reads (sock_diag). The kernel: the peer outside the rule's destination
// reaches both listeners; the one inside it reaches the listener of
// another uid and not the one of the rule's uid (its SYN-ACK is dropped).
// fwaudit says open except that peer for the one, open for the other,
// nothing in doubt; with --gid-owner it puts the peer in doubt
// (TestDoubtOwnerOnReplyPath). The nft form (meta skuid) is decided alike.
func TestOwnerUIDOnReplyPath(t *testing.T) {
	probes := []truthProbe{
		{"tcp", doubtOut, HostV4.String(), 2222, true},
		{"tcp", doubtIn, HostV4.String(), 2222, false}, // uid 15000: reply dropped
		{"tcp", doubtOut, HostV4.String(), 8080, true},
		{"tcp", doubtIn, HostV4.String(), 8080, true}, // uid 15001: not the rule's
	}
	check := func(t *testing.T, lab *Lab) {
		kernelSays(t, lab, "owner rule", probes)
		s := lab.Scan()
		checkCertain(t, "tcp/2222", verdictOf(t, s, "tcp", "ipv4", 2222, "ipv4"), []string{doubtIn + "/32"}, false)
		checkCertain(t, "tcp/8080", verdictOf(t, s, "tcp", "ipv4", 8080, "ipv4"), nil, true)
	}
	// the same split by a uid, and by a negated range that leaves 15000 out
	for name, match := range map[string]string{"iptables": "--uid-owner 15000", "iptables negated range": "! --uid-owner 15001-15009"} {
		t.Run(name, func(t *testing.T) {
			lab := NewLab(t)
			startWithUid(lab, lab.Host, "sshd", 15000, "tcp:0.0.0.0:2222")
			startWithUid(lab, lab.Host, "nginx", 15001, "tcp:0.0.0.0:8080")
			lab.LoadIptables(fmt.Sprintf(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 2222 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT
-A OUTPUT -d %s/32 -m owner %s -j DROP
COMMIT
`, doubtIn, match))
			lab.LoadIp6tables("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
			check(t, lab)
		})
	}
	t.Run("nft", func(t *testing.T) {
		lab := NewLab(t)
		startWithUid(lab, lab.Host, "sshd", 15000, "tcp:0.0.0.0:2222")
		startWithUid(lab, lab.Host, "nginx", 15001, "tcp:0.0.0.0:8080")
		lab.LoadNft(fmt.Sprintf(`table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif lo accept
		ct state established,related accept
		tcp dport { 2222, 8080 } accept
	}
	chain output {
		type filter hook output priority filter; policy accept;
		ip daddr %s meta skuid 15000 drop
	}
}
`, doubtIn))
		check(t, lab)
	})
}
