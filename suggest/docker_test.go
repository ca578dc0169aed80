package suggest

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// Docker hosts: the captures of a real Docker 20.10 and moby's Docker 28
// (iptables) and 29 (nftables) golden rules, in e2e/testdata/docker (see
// the README there). The lab's host: outside interface veth0 (192.0.2.1,
// 192.0.2.10, 2001:db8::1), containers behind docker0 or br-dummy.

func dockerFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "e2e", "testdata", "docker", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dockerCurrent is today's rules of the lab host, as read live there.
func dockerCurrent(t *testing.T, v4, v6, bridge string) *firewall.Loaded {
	t.Helper()
	cur := currentOf(t, v4, v6)
	ifs := []string{"veth0", bridge}
	cur.Host = firewall.Host{Interfaces: ifs, Inside: []string{bridge},
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::1")}}
	return cur
}

// docker20Listeners: sshd, an unknown service, and docker-proxy for
// -p 8080:80 -p 8081:81/udp -p 192.0.2.10:8082:80 -p 127.0.0.1:8083:80.
func docker20Listeners() []scan.Listener {
	return []scan.Listener{
		lst("tcp", "::", 22, "sshd", true), lst("tcp", "::", 9999, "unknownd", true),
		lst("tcp", "0.0.0.0", 8080, "docker-proxy", false), lst("tcp", "::", 8080, "docker-proxy", false),
		lst("udp", "0.0.0.0", 8081, "docker-proxy", false), lst("udp", "::", 8081, "docker-proxy", false),
		lst("tcp", "192.0.2.10", 8082, "docker-proxy", false), lst("tcp", "127.0.0.1", 8083, "docker-proxy", false),
	}
}

// after judges l over fam on what loading p in format leaves loaded.
func after(t *testing.T, p *Policy, cur *firewall.Loaded, format string, l scan.Listener, fam firewall.Family) string {
	t.Helper()
	sets, err := afterLoading(p, cur, format, fam)
	if err != nil {
		t.Fatal(err)
	}
	return verdictText(judgeOn(cur.With(fam, sets), l, fam))
}

func TestDocker20(t *testing.T) {
	ls := docker20Listeners()
	tcp8080, udp8081, tcp8082 := ls[2], ls[4], ls[6]
	for _, c := range []struct {
		name  string
		state string // the capture's state
		opts  Options
		// want: per format and port, the verdict once loaded
		want map[string]string
		// lines the iptables output must hold
		lines []string
	}{
		{name: "default", state: "default",
			want:  map[string]string{"8080": "open", "8081": "open", "8082": "open"},
			lines: []string{"-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN\n-A DOCKER-USER -j RETURN\nCOMMIT"}},
		{name: "ctorigdstport", state: "ctorigdstport",
			want: map[string]string{"8080": "restricted 192.0.2.3/32", "8081": "blocked", "8082": "open"},
			lines: []string{
				`-A DOCKER-USER -s 192.0.2.3/32 -p tcp -m conntrack --ctstate NEW --ctorigdstport 8080 -m comment --comment "http-alt published to 172.17.0.2:80" -j RETURN`,
				`-A DOCKER-USER -p tcp -m conntrack --ctstate NEW --ctorigdstport 8080 -m comment --comment "http-alt published to 172.17.0.2:80" -j DROP`,
				`-A DOCKER-USER -p udp -m conntrack --ctstate NEW --ctorigdstport 8081 -m comment --comment "udp/8081 published to 172.17.0.2:81" -j DROP`,
			}},
		{name: "deny", state: "default", opts: Options{Deny: []Spec{mustSpec(t, "8082/tcp"), mustSpec(t, "8081/udp")}},
			want: map[string]string{"8080": "open", "8081": "blocked", "8082": "blocked"},
			lines: []string{
				`-A DOCKER-USER -p tcp -m conntrack --ctstate NEW --ctorigdst 192.0.2.10 --ctorigdstport 8082 -m comment --comment "tcp/8082 published to 172.17.0.2:80" -j DROP`,
			}},
		{name: "allow", state: "default", opts: Options{Allow: []Spec{mustSpec(t, "8080/tcp=198.51.100.0/24")}},
			want: map[string]string{"8080": "restricted 198.51.100.0/24", "8081": "open", "8082": "open"},
			lines: []string{
				`-A DOCKER-USER -s 198.51.100.0/24 -p tcp -m conntrack --ctstate NEW --ctorigdstport 8080 -m comment --comment "http-alt published to 172.17.0.2:80" -j RETURN`,
			}},
	} {
		for _, backend := range []string{"nft", "legacy"} {
			t.Run(c.name+"/"+backend, func(t *testing.T) {
				pre := "docker20-" + backend + "-" + c.state
				cur := dockerCurrent(t, dockerFile(t, pre+".iptables-save"), dockerFile(t, pre+".ip6tables-save"), "docker0")
				opts := c.opts
				opts.Current = cur
				p, warns, err := Build(ls, opts)
				if err != nil {
					t.Fatal(err)
				}
				// the captures' IPv6 DOCKER-USER is the lab's own (Docker
				// 20.10 makes none there), jumped to from FORWARD
				if p.docker[firewall.IPv4] != dockerUser || p.docker[firewall.IPv6] != dockerUser {
					t.Errorf("layout v4 %v v6 %v, want DOCKER-USER reached in both", p.docker[firewall.IPv4], p.docker[firewall.IPv6])
				}
				v4 := string(render(t, p, "iptables"))
				for _, want := range append([]string{"iptables-restore --noflush < FILE", "*filter\n:INPUT DROP [0:0]\n:DOCKER-USER - [0:0]\n-F INPUT\n-F DOCKER-USER\n"}, c.lines...) {
					if !strings.Contains(v4, want) {
						t.Errorf("iptables output has no %q:\n%s", want, v4)
					}
				}
				v6 := string(render(t, p, "ip6tables"))
				if strings.Contains(v4+v6, ":FORWARD") || strings.Contains(v4+v6, "DOCKER-ISOLATION") {
					t.Errorf("a Docker host's output must not touch FORWARD or Docker's chains:\n%s\n%s", v4, v6)
				}
				if !slices.ContainsFunc(warns, func(w Warning) bool { return strings.Contains(w.Hint, "--noflush") }) {
					t.Errorf("no warning saying to load with --noflush; warnings: %q", warns)
				}
				for _, format := range []string{"iptables", "nft", "script"} {
					for port, l := range map[string]scan.Listener{"8080": tcp8080, "8081": udp8081, "8082": tcp8082} {
						if got := after(t, p, cur, format, l, firewall.IPv4); got != c.want[port] {
							t.Errorf("%s: %s once loaded: %s, want %s", format, where(l), got, c.want[port])
						}
					}
				}
			})
		}
	}
}

func mustSpec(t *testing.T, s string) Spec {
	t.Helper()
	sp, err := ParseSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestMergeNoflush: INPUT (policy, rules) and DOCKER-USER (rules) are
// ours; every other chain and table is today's, untouched.
func TestMergeNoflush(t *testing.T) {
	today := currentOf(t, dockerFile(t, "docker20-nft-ctorigdstport.iptables-save"), notRead)
	ours, err := firewall.ParseSave(strings.NewReader("*filter\n:INPUT DROP [0:0]\n:DOCKER-USER - [0:0]\n-F INPUT\n-F DOCKER-USER\n"+
		"-A INPUT -i lo -j ACCEPT\n-A DOCKER-USER -s 198.51.100.7/32 -j DROP\n-A DOCKER-USER -j RETURN\nCOMMIT\n"), "ours", firewall.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	got := firewall.AfterNoflush(today.V4.Sets, ours)
	if len(got) != 1 {
		t.Fatalf("%d rulesets, want 1", len(got))
	}
	texts := func(c *firewall.Chain) []string {
		var out []string
		for _, r := range c.Rules {
			out = append(out, r.Text)
		}
		return out
	}
	var filter, oldFilter *firewall.Table
	for i, t0 := range got[0].Tables {
		if t0.Name == "filter" {
			filter, oldFilter = t0, today.V4.Sets[0].Tables[i]
		} else if t0 != today.V4.Sets[0].Tables[i] {
			t.Errorf("table %s was replaced", t0.Name)
		}
	}
	for _, c := range oldFilter.Chains {
		nc := filter.Chain(c.Name)
		switch c.Name {
		case "INPUT", "DOCKER-USER":
			if w, g := texts(ours.Table("filter").Chain(c.Name)), texts(nc); !slices.Equal(w, g) {
				t.Errorf("%s = %q, want ours %q", c.Name, g, w)
			}
		default:
			if nc != c {
				t.Errorf("chain %s was replaced", c.Name)
			}
		}
	}
	if p := filter.Chain("INPUT").Policy; p != "DROP" {
		t.Errorf("INPUT policy %s, want DROP", p)
	}
	if len(oldFilter.Chain("DOCKER-USER").Rules) != 3 {
		t.Errorf("today's DOCKER-USER was changed in place: %q", texts(oldFilter.Chain("DOCKER-USER")))
	}
}

// withDockerUser adds DOCKER-USER the way dockerd 28 does beside the
// bridge driver's rules (moby's golden files hold the driver's only):
// FORWARD jumps to it first, and it returns.
func withDockerUser(save string) string {
	return strings.Replace(save, "-A FORWARD -j DOCKER-FORWARD\n",
		"-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n-A DOCKER-USER -j RETURN\n", 1)
}

func TestDocker28(t *testing.T) {
	golden := dockerFile(t, "docker28-iptabler-nat.iptables-save")
	golden = strings.Replace(golden, ":DOCKER-FORWARD - [0:0]\n", ":DOCKER-FORWARD - [0:0]\n:DOCKER-USER - [0:0]\n", 1)
	sshd := lst("tcp", "::", 22, "sshd", true)
	l8080 := scan.Listener{Proto: "tcp", Family: "ipv4", Address: netip.IPv4Unspecified(), Port: 8080}
	for _, c := range []struct {
		name    string
		rules   string
		opts    Options
		kind    dockerKind
		want    map[string]string // per format: 8080 once loaded
		changes string            // the Changes line of 8080 (format "")
	}{
		{"kept", withDockerUser(golden), Options{}, dockerUser,
			map[string]string{"iptables": "open", "nft": "open"}, "tcp/8080: open → open (kept)"},
		{"deny", withDockerUser(golden), Options{Deny: []Spec{mustSpec(t, "8080")}}, dockerUser,
			map[string]string{"iptables": "blocked", "nft": "blocked"}, "tcp/8080: open → blocked (--deny 8080)"},
		{"deny-no-docker-user", strings.Replace(golden, ":DOCKER-USER - [0:0]\n", "", 1), Options{Deny: []Spec{mustSpec(t, "8080")}}, dockerChains,
			map[string]string{"iptables": "open", "nft": "blocked"}, "tcp/8080: open → open (kept)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cur := dockerCurrent(t, c.rules, notRead, "br-dummy")
			opts := c.opts
			opts.Current = cur
			p, _, err := Build([]scan.Listener{sshd}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if p.docker[firewall.IPv4] != c.kind {
				t.Errorf("layout %v, want %v", p.docker[firewall.IPv4], c.kind)
			}
			// the published port has no socket (no userland proxy): it is
			// decided as a listener of its own, with no INPUT rule
			if len(p.published) != 1 || p.published[0].Port != 8080 {
				t.Fatalf("published listeners %+v, want tcp/8080", p.published)
			}
			if out := string(render(t, p, "iptables")); strings.Contains(out, "--dport 8080") {
				t.Errorf("an INPUT rule for a port no socket listens on:\n%s", out)
			}
			for format, want := range c.want {
				if got := after(t, p, cur, format, l8080, firewall.IPv4); got != want {
					t.Errorf("%s: tcp/8080 once loaded: %s, want %s", format, got, want)
				}
			}
			chs, err := Changes(p, []scan.Listener{sshd}, cur, "iptables")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(chs, func(ch Change) bool { return ch.String() == c.changes }) {
				t.Errorf("changes have no %q: %v", c.changes, chs)
			}
		})
	}
}

// TestDocker29Nft reads Docker 29's golden tables and our nft output with
// nft itself (in a throwaway network namespace), loads them together as
// the host would have them, and judges the published port: the proof of
// the nft rendering on its own terms, beside the model Build uses.
func TestDocker29Nft(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: reading nft text needs a network namespace (root); run `sudo make test`")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatalf("nft not installed (make test installs it): %v", err)
	}
	var golden strings.Builder
	for _, f := range []string{"docker29-nftabler-nat.ip.nft", "docker29-nftabler-nat.ip6.nft"} {
		// nft 1.0.6 refuses the name dstnat on the output hook
		golden.WriteString(strings.Replace(dockerFile(t, f), "hook output priority dstnat;", "hook output priority -100;", 1))
	}
	read := func(text, name string) *firewall.NftRuleset {
		t.Helper()
		n, err := firewall.LoadNftText(context.Background(), firewall.ExecRunner{}, []byte(text), name)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	today := read(golden.String(), "docker29.nft")
	cur := &firewall.Loaded{}
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		*cur.Of(fam) = firewall.FamilyRules{Sets: []*firewall.Ruleset{today.Family(fam)}}
	}
	cur.Host = firewall.Host{Interfaces: []string{"veth0", "br-dummy"}, Inside: []string{"br-dummy"}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}}
	sshd := lst("tcp", "::", 22, "sshd", true)
	for _, c := range []struct {
		name string
		opts Options
		want map[firewall.Family]string
	}{
		{"kept", Options{}, map[firewall.Family]string{firewall.IPv4: "open", firewall.IPv6: "open except fe80::/10"}},
		{"deny", Options{Deny: []Spec{mustSpec(t, "8080")}}, map[firewall.Family]string{firewall.IPv4: "blocked", firewall.IPv6: "blocked"}},
		{"allow", Options{Allow: []Spec{mustSpec(t, "8080=192.0.2.3,2001:db8::3")}},
			map[firewall.Family]string{firewall.IPv4: "restricted 192.0.2.3/32", firewall.IPv6: "restricted 2001:db8::3/128"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			opts.Current = cur
			p, _, err := Build([]scan.Listener{sshd}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if p.docker[firewall.IPv4] != dockerNft || p.docker[firewall.IPv6] != dockerNft {
				t.Errorf("layout %v, want Docker's nftables backend in both families", p.docker)
			}
			out := render(t, p, "nft")
			if !bytes.Contains(out, []byte("type filter hook forward priority filter - 1; policy accept;")) {
				t.Errorf("no forward chain before Docker's:\n%s", out)
			}
			both := read(golden.String()+string(out), "docker29+suggestion.nft")
			for fam, want := range c.want {
				l := scan.Listener{Proto: "tcp", Family: string(fam), Address: netip.IPv4Unspecified(), Port: 8080}
				if fam == firewall.IPv6 {
					l.Address = netip.IPv6Unspecified()
				}
				got := verdictText(judgeOn(cur.With(fam, []*firewall.Ruleset{both.Family(fam)}), l, fam))
				if got != want {
					t.Errorf("%s tcp/8080 with Docker's tables and ours (read by nft): %s, want %s\n%s", fam, got, want, out)
				}
				// the model Build proves on agrees
				if m := after(t, p, cur, "nft", l, fam); m != got {
					t.Errorf("%s tcp/8080: the stand-in Build proves on says %s, nft's own reading %s", fam, m, got)
				}
			}
		})
	}
}

// TestDockerUserNotReached: Docker 20.10's ip6tables without the lab's
// DOCKER-USER (nothing jumps there): the ip6tables output rewrites INPUT
// only, says it cannot close published ports there, and the nft output
// still closes them.
func TestDockerUserNotReached(t *testing.T) {
	v6 := dockerFile(t, "docker20-nft-default.ip6tables-save")
	v6 = strings.Replace(strings.Replace(v6, "-A FORWARD -j DOCKER-USER\n", "", 1), "-A DOCKER-USER -j RETURN\n", "", 1)
	v6 = strings.Replace(v6, ":DOCKER-USER - [0:0]\n", "", 1)
	cur := dockerCurrent(t, dockerFile(t, "docker20-nft-default.iptables-save"), v6, "docker0")
	ls := docker20Listeners()
	p, warns, err := Build(ls, Options{Current: cur, Deny: []Spec{mustSpec(t, "8081/udp")}})
	if err != nil {
		t.Fatal(err)
	}
	if p.docker[firewall.IPv6] != dockerChains {
		t.Fatalf("IPv6 layout %v, want Docker's chains without DOCKER-USER", p.docker[firewall.IPv6])
	}
	if out := string(render(t, p, "ip6tables")); strings.Contains(out, "DOCKER-USER") || !strings.Contains(out, "--noflush") {
		t.Errorf("ip6tables output must be for --noflush and leave DOCKER-USER alone:\n%s", out)
	}
	if !slices.ContainsFunc(warns, func(w Warning) bool { return strings.Contains(w.Msg, "cannot close or restrict published ports") }) {
		t.Errorf("no warning that IPv6 published ports stay as they are; warnings: %q", warns)
	}
	udp := ls[5] // udp [::]:8081
	for format, want := range map[string]string{"ip6tables": "open", "nft": "blocked"} {
		if got := after(t, p, cur, format, udp, firewall.IPv6); got != want {
			t.Errorf("%s: udp/8081 over ipv6 once loaded: %s, want %s", format, got, want)
		}
	}
}

// TestDockerLockout: on a Docker host the SSH check judges today's rules
// with INPUT and DOCKER-USER replaced (restore formats) or with table inet
// fwaudit beside them (nft): a session --ssh-from leaves out is refused,
// one it names is kept.
func TestDockerLockout(t *testing.T) {
	cur := dockerCurrent(t, dockerFile(t, "docker20-legacy-default.iptables-save"), dockerFile(t, "docker20-legacy-default.ip6tables-save"), "docker0")
	sess := []Session{{Client: netip.MustParseAddrPort("192.0.2.2:50000"), Server: netip.MustParseAddrPort("192.0.2.1:22"), From: "$SSH_CONNECTION"}}
	for _, c := range []struct {
		from string
		cut  bool
	}{{"192.0.2.2/32", false}, {"198.51.100.0/24", true}} {
		p, _, err := Build(docker20Listeners(), Options{Current: cur, SSHFrom: []netip.Prefix{netip.MustParsePrefix(c.from)}})
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"iptables", "nft", "script"} {
			err := CheckLockout(p, sess, cur, format)
			if _, cut := err.(*LockoutError); cut != c.cut || (err != nil && !cut) {
				t.Errorf("--ssh-from %s, %s: CheckLockout = %v, want a refusal %v", c.from, format, err, c.cut)
			}
		}
	}
}

// judgeOn is l over fam on cur, as the scan judges it.
func judgeOn(cur *firewall.Loaded, l scan.Listener, fam firewall.Family) firewall.Result {
	r, _ := result(cur, l, fam)
	return r
}
