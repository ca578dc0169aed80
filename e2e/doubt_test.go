//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
)

// startWithGid is Lab.Start with the helper's group set to gid (setpriv;
// no supplementary groups): its sockets' owner, as -m owner --gid-owner
// sees them, is that group.
func startWithGid(lab *Lab, ns *Netns, name string, gid int, specs ...string) *Proc {
	lab.T.Helper()
	path, err := daemonPath(name)
	if err != nil {
		lab.T.Fatal(err)
	}
	return startSetpriv(lab, ns, name, path, "Gid:", gid, []string{fmt.Sprintf("--regid=%d", gid)}, specs)
}

// startSetpriv runs the helper bin as name under setpriv with ids (and no
// supplementary groups), waits until it is ready, and checks that the
// filesystem id on field's line of /proc/PID/status ("Uid:", "Gid:") is id.
func startSetpriv(lab *Lab, ns *Netns, name, bin, field string, id int, ids, specs []string) *Proc {
	lab.T.Helper()
	args := append(append(append([]string{"setpriv"}, ids...), "--clear-groups", bin, "listen"), specs...)
	p, err := lab.spawn(ns, name, args)
	if err != nil {
		lab.T.Fatalf("starting %s with %s %d: %v", name, field, id, err)
	}
	if line, err := p.next(readyTimeout); err != nil || line != "ready" {
		lab.T.Fatalf("starting %s with %s %d in %s: %q %v", name, field, id, ns.Name, line, err)
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) == 5 && f[0] == field && f[4] != fmt.Sprint(id) {
			lab.T.Fatalf("%s runs with fs %s %s, want %d", name, field, f[4], id)
		}
	}
	return p
}

// doubtIn is the peer address a runtime match covers in these tests (the
// lab's stand-in for 10.49.0.0/16); the other peer is outside it.
var doubtIn, doubtOut = PeerV4[1].String(), PeerV4[0].String()

// checkDoubt asserts that fv is open for everyone but doubtIn, with doubtIn
// in doubt for reason, and that it certainly admits doubtOut.
func checkDoubt(t *testing.T, what string, fv *FamilyVerdict, reason string) {
	t.Helper()
	if fv == nil {
		t.Fatalf("%s: no ipv4 verdict", what)
	}
	if fv.Verdict != "open" || !slices.Equal(fv.Doubtful, []string{doubtIn + "/32"}) || !slices.Equal(fv.Reasons, []string{reason}) {
		t.Errorf("%s: got %s except %v doubtful %v reasons %v, want open, %s/32 in doubt (%s)", what, fv.Verdict, fv.Except, fv.Doubtful, fv.Reasons, doubtIn, reason)
	}
	for _, c := range []struct {
		src           string
		admit, decide bool
	}{{doubtOut, true, true}, {doubtIn, false, false}} {
		a, d := fv.Admits(netip.MustParseAddr(c.src), "veth0")
		if a != c.admit || d != c.decide {
			t.Errorf("%s from %s: admitted %v decided %v, want %v %v", what, c.src, a, d, c.admit, c.decide)
		}
	}
}

// TestDoubtOwnerOnReplyPath: a drop by socket owner on the reply path to
// part of the sources (-A OUTPUT -d … -m owner --gid-owner … -j DROP)
// puts only those sources in doubt. The kernel: the peer outside the
// rule's destination reaches both listeners; the one inside it reaches
// the listener whose group is not the rule's and not the one whose group
// is (its SYN-ACK is dropped). fwaudit says open, that one source in
// doubt, for both; it used to say conditional for every source.
func TestDoubtOwnerOnReplyPath(t *testing.T) {
	lab := NewLab(t)
	startWithGid(lab, lab.Host, "sshd", 15000, "tcp:0.0.0.0:22")
	startWithGid(lab, lab.Host, "nginx", 0, "tcp:0.0.0.0:80")
	lab.LoadIptables(fmt.Sprintf(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A OUTPUT -d %s/32 -m owner --gid-owner 15000 -j DROP
COMMIT
`, doubtIn))
	lab.LoadIp6tables("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
	kernelSays(t, lab, "owner rule", []truthProbe{
		{"tcp", doubtOut, HostV4.String(), 22, true},
		{"tcp", doubtIn, HostV4.String(), 22, false}, // gid 15000: reply dropped
		{"tcp", doubtOut, HostV4.String(), 80, true},
		{"tcp", doubtIn, HostV4.String(), 80, true}, // gid 0: not the rule's
	})
	s := lab.Scan()
	checkDoubt(t, "tcp/22", verdictOf(t, s, "tcp", "ipv4", 22, "ipv4"), "-m owner")
	checkDoubt(t, "tcp/80", verdictOf(t, s, "tcp", "ipv4", 80, "ipv4"), "-m owner")

	// the table says both parts, and fits
	stdout, _, code := lab.Fwaudit("scan")
	if code != 0 || !strings.Contains(stdout, "open; conditional for "+doubtIn+"/32 [1]") {
		t.Errorf("scan table (exit %d) lacks the doubt:\n%s", code, stdout)
	}
}

// TestDoubtRecentListPart: a recent-list drop for part of the sources
// before an accept. The kernel: the other peer gets in whatever the list
// holds; the covered one gets in while the list is empty and not once its
// address is on it. fwaudit's JSON keeps the certain part (open, the other
// peer admitted) and the doubtful one (the covered peer) apart.
func TestDoubtRecentListPart(t *testing.T) {
	lab := NewLab(t)
	lab.Start(lab.Host, "nginx", "tcp:0.0.0.0:80")
	lab.LoadIptables(fmt.Sprintf(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s %s/32 -p tcp -m tcp --dport 80 -m recent --rcheck --name banned --rsource -j DROP
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
`, doubtIn))
	lab.LoadIp6tables("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
	kernelSays(t, lab, "empty list", []truthProbe{
		{"tcp", doubtOut, HostV4.String(), 80, true},
		{"tcp", doubtIn, HostV4.String(), 80, true},
	})
	// the runtime state: put the covered peer on the list
	lab.Host.RunInput(nil, "sh", "-c", "echo +"+doubtIn+" > /proc/net/xt_recent/banned")
	kernelSays(t, lab, "peer on the list", []truthProbe{
		{"tcp", doubtOut, HostV4.String(), 80, true},
		{"tcp", doubtIn, HostV4.String(), 80, false},
	})
	s := lab.Scan()
	fv := verdictOf(t, s, "tcp", "ipv4", 80, "ipv4")
	checkDoubt(t, "tcp/80", fv, "-m recent")
	if !slices.Equal(fv.Except, []string{doubtIn + "/32"}) || len(fv.Sources) != 0 {
		t.Errorf("tcp/80: except %v sources %v, want except %s/32 (the certain part), no sources", fv.Except, fv.Sources, doubtIn)
	}
}
