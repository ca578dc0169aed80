//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// suggest on a Docker host, judged by the kernel. The suggestion must
// leave Docker's chains alone, close or restrict the published ports the
// policy decides to (matched in DOCKER-USER, or in an nft forward chain
// before Docker's, by the port the client used), keep the others working,
// keep ssh, and fwaudit's scan of the result must agree with the probes.

// dsProbe is one probe and whether the suggestion must let it through.
type dsProbe struct {
	fam  string
	src  netip.Addr
	dst  netip.Addr
	port uint16
	want bool
}

// dsProbes: from both peers to the host ports, in the families fams.
// open ports admit both peers, onlyA ports peer A only, closed ports
// nobody.
func dsProbes(fams []string, open, onlyA, closed []uint16) []dsProbe {
	var out []dsProbe
	for _, fam := range fams {
		a, b, dst := peerA4, peerB4, HostV4
		if fam == "ipv6" {
			a, b, dst = peerA6, peerB6, HostV6
		}
		for _, p := range open {
			out = append(out, dsProbe{fam, a, dst, p, true}, dsProbe{fam, b, dst, p, true})
		}
		for _, p := range onlyA {
			out = append(out, dsProbe{fam, a, dst, p, true}, dsProbe{fam, b, dst, p, false})
		}
		for _, p := range closed {
			out = append(out, dsProbe{fam, a, dst, p, false}, dsProbe{fam, b, dst, p, false})
		}
	}
	return out
}

var (
	v4only = []string{"ipv4"}
	v6only = []string{"ipv6"}
	both   = []string{"ipv4", "ipv6"}
)

// checkDockerSuggestProbes probes, requires what the suggestion means, and
// requires fwaudit scan's verdicts to match what got through.
func checkDockerSuggestProbes(t *testing.T, lab *Lab, what string, probes []dsProbe, dump func() string) {
	t.Helper()
	reqs := make([]ProbeReq, len(probes))
	for i, p := range probes {
		reqs[i] = ProbeReq{"tcp", p.src.String(), p.dst.String(), p.port}
	}
	got := lab.ProbeAll(reqs)
	scan := lab.Scan()
	for i, p := range probes {
		if got[i].OK != p.want {
			t.Errorf("kernel after %s: %s tcp %s -> %s:%d: %s, the suggestion means through = %v%s", what, p.fam, p.src, p.dst, p.port, got[i].Detail, p.want, dump())
		}
		socks := scan.Find("tcp", p.fam, p.port)
		if p.fam == "ipv4" {
			for _, so := range scan.Find("tcp", "ipv6", p.port) {
				if so.DualStack {
					socks = append(socks, so)
				}
			}
		}
		if len(socks) != 1 || socks[0].Firewall == nil {
			t.Errorf("fwaudit scan after %s: tcp/%d %s: want one socket with a verdict, got %+v", what, p.port, p.fam, socks)
			continue
		}
		fv := socks[0].Firewall.IPv4
		if p.fam == "ipv6" {
			fv = socks[0].Firewall.IPv6
		}
		if admitted, decided := fv.Admits(p.src, lab.HostIf); !decided || admitted != got[i].OK {
			j, _ := json.Marshal(fv)
			t.Errorf("MISMATCH after %s: %s tcp %s -> %s:%d: kernel %s; fwaudit scan on socket %s:%d says admitted=%v decided=%v: %s",
				what, p.fam, p.src, p.dst, p.port, got[i].Detail, socks[0].Address, socks[0].Port, admitted, decided, j)
		}
	}
}

// TestDockerSuggest runs a real dockerd (each iptables backend) with one
// container publishing
//
//	-p 8080:80  -p 5432:5432  -p 6379:6379  -p 127.0.0.1:8083:80
//
// and today's DOCKER-USER letting only peer A reach 5432 (postgresql), in
// the --ctorigdstport form. INPUT accepts everything; ssh listens on 22 and
// an unknown service on 9999. `fwaudit suggest` (iptables, ip6tables and
// script, generated in that state) is loaded with --noflush (the script
// run twice); then: Docker's chains are all still there, 8080 (web) and
// 9999 are open to both peers, 5432 to peer A only, 6379 (redis, a
// sensitive service open today) to nobody, ssh to both; the client
// container still reaches the web port on the host; fwaudit scan agrees
// with every probe.
func TestDockerSuggest(t *testing.T) {
	for _, backend := range []string{"nft", "legacy"} {
		t.Run(backend, func(t *testing.T) { testDockerSuggest(t, backend) })
	}
}

func testDockerSuggest(t *testing.T, backend string) {
	lab := NewLab(t)
	h := lab.Host.Name
	if _, stderr, err := runCmd("", nil, "ip", "netns", "exec", h, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"); err != nil {
		t.Fatalf("sysctl: %v: %s", err, stderr)
	}
	lab.Start(lab.Host, "sshd", "tcp:[::]:22")
	lab.Start(lab.Host, "unknownd", "tcp:[::]:9999")
	dk := StartDocker(lab, backend)
	// one container per published port: Docker 20.10 with ip6tables
	// sometimes writes the IPv6 DNAT of only one of a container's ports
	dk.RunContainer("web", []string{"-p", "8080:80", "-p", "127.0.0.1:8083:80"}, "tcp:80")
	dk.RunContainer("db", []string{"-p", "5432:5432"}, "tcp:5432")
	dk.RunContainer("cache", []string{"-p", "6379:6379"}, "tcp:6379")
	client := dk.RunContainer("client", nil)

	ipt := map[string]string{"ipv4": "iptables-" + backend, "ipv6": "ip6tables-" + backend}
	run := func(fam string, args ...string) { t.Helper(); lab.Host.Run(append([]string{ipt[fam]}, args...)...) }
	// Docker 20.10's ip6tables makes no DOCKER-USER: the administrator's
	run("ipv6", "-N", "DOCKER-USER")
	run("ipv6", "-A", "DOCKER-USER", "-j", "RETURN")
	run("ipv6", "-I", "FORWARD", "1", "-j", "DOCKER-USER")
	today := func() {
		t.Helper()
		for fam, a := range map[string]netip.Addr{"ipv4": peerA4, "ipv6": peerA6} {
			run(fam, "-P", "INPUT", "ACCEPT")
			run(fam, "-F", "INPUT")
			run(fam, "-F", "DOCKER-USER")
			run(fam, "-A", "DOCKER-USER", "-i", "veth0", "!", "-s", a.String(), "-p", "tcp", "-m", "conntrack", "--ctorigdstport", "5432", "-j", "DROP")
			run(fam, "-A", "DOCKER-USER", "-j", "RETURN")
		}
	}
	save := func(fam string) string {
		return lab.Host.Run(strings.Replace(ipt[fam], "-"+backend, "-"+backend+"-save", 1))
	}
	dump := func() string {
		return "\n--- " + ipt["ipv4"] + "-save ---\n" + save("ipv4") + "--- " + ipt["ipv6"] + "-save ---\n" + save("ipv6")
	}
	today()
	// Docker 20.10 with ip6tables writes the IPv6 DNAT of some published
	// ports only (seen: one of three); the others reach docker-proxy's
	// socket through INPUT, where today's DOCKER-USER rule does not apply.
	// 5432's IPv6 expectations follow what Docker wrote.
	nat6 := save("ipv6")
	dnat6 := func(port uint16) bool {
		return strings.Contains(nat6, fmt.Sprintf("! -i docker0 -p tcp -m tcp --dport %d -j DNAT", port))
	}
	if !dnat6(8080) && !dnat6(5432) && !dnat6(6379) {
		t.Fatalf("Docker wrote no IPv6 DNAT for the published ports: the IPv6 forward path cannot be tested%s", dump())
	}
	t.Logf("IPv6 DNAT written by Docker: 8080 %v, 5432 %v, 6379 %v", dnat6(8080), dnat6(5432), dnat6(6379))
	before := dsProbes(both, []uint16{8080, 6379, 9999, 22}, nil, nil)
	after := dsProbes(both, []uint16{8080, 9999, 22}, nil, []uint16{6379})
	before = append(before, dsProbes(v4only, nil, []uint16{5432}, nil)...)
	after = append(after, dsProbes(v4only, nil, []uint16{5432}, nil)...)
	if dnat6(5432) {
		// published through DNAT: today's DOCKER-USER restriction holds
		before = append(before, dsProbes(v6only, nil, []uint16{5432}, nil)...)
		after = append(after, dsProbes(v6only, nil, []uint16{5432}, nil)...)
	} else {
		// docker-proxy through INPUT: open today, a sensitive service the
		// suggestion closes
		before = append(before, dsProbes(v6only, []uint16{5432}, nil, nil)...)
		after = append(after, dsProbes(v6only, nil, nil, []uint16{5432})...)
	}
	checkDockerSuggestProbes(t, lab, "today's rules", before, dump)

	out := map[string]string{}
	for _, f := range []string{"iptables", "ip6tables", "script"} {
		stdout, stderr, code := lab.Fwaudit("suggest", "--format", f)
		if code != 0 {
			t.Fatalf("fwaudit suggest --format %s: exit %d\n%s", f, code, stderr)
		}
		t.Logf("fwaudit suggest --format %s stderr:\n%s", f, stderr)
		out[f] = stdout
		os.WriteFile(filepath.Join(lab.Dir, "suggest."+f), []byte(stdout), 0o644)
	}
	for _, f := range []string{"iptables", "ip6tables"} {
		for _, want := range []string{"--noflush", ":DOCKER-USER - [0:0]\n", "-F INPUT\n", "-F DOCKER-USER\n"} {
			if !strings.Contains(out[f], want) {
				t.Errorf("suggest --format %s: no %q in:\n%s", f, want, out[f])
			}
		}
		if strings.Contains(out[f], ":FORWARD") {
			t.Errorf("suggest --format %s declares FORWARD on a Docker host:\n%s", f, out[f])
		}
	}

	dockerChains := func(what string) {
		t.Helper()
		for fam, want := range map[string][]string{
			"ipv4": {"*filter", ":DOCKER - ", ":DOCKER-USER - ", "-A FORWARD -j DOCKER-USER", "*nat", "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT"},
			"ipv6": {":DOCKER - ", ":DOCKER-USER - ", "-A FORWARD -j DOCKER-USER", "*nat", "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT"},
		} {
			s := save(fam)
			for _, w := range want {
				if !strings.Contains(s, w) {
					t.Errorf("after %s: %s-save lost Docker's %q:\n%s", what, ipt[fam], w, s)
				}
			}
		}
	}
	fromClient := func(what string) {
		t.Helper()
		got := dk.ProbeFromContainer(client, []ProbeReq{
			{"tcp", client.V4.String(), HostV4.String(), 8080},
			{"tcp", client.V4.String(), HostV4.String(), 6379},
		})
		if !got[0].OK || got[1].OK {
			t.Errorf("after %s: from container %s: web port 8080 %s (want through), redis 6379 %s (want dropped)%s", what, client.Name, got[0].Detail, got[1].Detail, dump())
		}
	}
	for _, way := range []string{"restore", "script"} {
		t.Run(way, func(t *testing.T) {
			defer lab.Use(t)()
			today()
			switch way {
			case "restore":
				lab.Host.RunInput([]byte(out["iptables"]), ipt["ipv4"]+"-restore", "--noflush")
				lab.Host.RunInput([]byte(out["ip6tables"]), ipt["ipv6"]+"-restore", "--noflush")
				lab.Host.RunInput([]byte(out["iptables"]), ipt["ipv4"]+"-restore", "--noflush")
			case "script":
				env := []string{"env", "IPTABLES=" + ipt["ipv4"], "IP6TABLES=" + ipt["ipv6"], "bash", "-c", out["script"]}
				lab.Host.Run(env...)
				first := rulesOnly(dump())
				lab.Host.Run(env...)
				if again := rulesOnly(dump()); again != first {
					t.Errorf("the script run twice gives other rules:\n--- once ---%s\n--- twice ---%s", first, again)
				}
			}
			dockerChains(way)
			checkDockerSuggestProbes(t, lab, "suggest ("+way+")", after, dump)
			fromClient(way)
		})
	}
}

// d29Publish adds, in the style of Docker 29's own rules, a published port
// host:port → container:port to the golden tables (both families): the
// DNAT and the filter accept before the unpublished-port drop.
func d29Publish(rules string, port uint16) string {
	nat := fmt.Sprintf("\t\tiifname != \"br-dummy\" tcp dport 8080 counter packets 0 bytes 0 dnat to %s:80 comment \"DNAT\"\n", d29CtrV4)
	nat6 := fmt.Sprintf("\t\tiifname != \"br-dummy\" ip6 saddr != fe80::/10 tcp dport 8080 counter packets 0 bytes 0 dnat to [%s]:80 comment \"DNAT\"\n", d29CtrV6)
	for _, pair := range [][2]string{
		{nat, strings.ReplaceAll(strings.ReplaceAll(nat, "8080", fmt.Sprint(port)), ":80 ", fmt.Sprintf(":%d ", port))},
		{nat6, strings.ReplaceAll(strings.ReplaceAll(nat6, "8080", fmt.Sprint(port)), "]:80 ", fmt.Sprintf("]:%d ", port))},
		{fmt.Sprintf("\t\tip daddr %s tcp dport 80 counter packets 0 bytes 0 accept\n", d29CtrV4), fmt.Sprintf("\t\tip daddr %s tcp dport %d counter packets 0 bytes 0 accept\n", d29CtrV4, port)},
		{fmt.Sprintf("\t\tip6 daddr %s tcp dport 80 counter packets 0 bytes 0 accept\n", d29CtrV6), fmt.Sprintf("\t\tip6 daddr %s tcp dport %d counter packets 0 bytes 0 accept\n", d29CtrV6, port)},
	} {
		if strings.Contains(rules, pair[0]) {
			rules = strings.Replace(rules, pair[0], pair[0]+pair[1], 1)
		}
	}
	return rules
}

// TestDocker29Suggest: Docker 29's nftables golden rules (both families)
// behind a real bridge, publishing the container's 80 on 8080 and, added
// the same way, 5432 and 6379 (no userland proxy: no host socket). INPUT
// accepts everything. `fwaudit suggest --format nft --allow
// postgresql=<peer A>` is loaded with nft -f; then Docker's tables are
// still there, 8080 and 9999 are open to both peers, 5432 to peer A only,
// 6379 (redis, sensitive, open today) to nobody, ssh to both; fwaudit scan
// agrees with every probe.
func TestDocker29Suggest(t *testing.T) {
	lab := NewLab(t)
	ctr := addBridgedContainer(lab)
	lab.Start(ctr, "nginx", "tcp:[::]:80", "tcp:[::]:5432", "tcp:[::]:6379")
	lab.Start(lab.Host, "sshd", "tcp:[::]:22")
	lab.Start(lab.Host, "unknownd", "tcp:[::]:9999")
	var rules strings.Builder
	for _, f := range []string{"docker29-nftabler-nat.ip.nft", "docker29-nftabler-nat.ip6.nft"} {
		r := d29Loadable(Testdata(t, "docker/"+f))
		r = d29Publish(d29Publish(r, 5432), 6379)
		rules.WriteString(r)
	}
	if n := strings.Count(rules.String(), "dport 5432"); n != 4 {
		t.Fatalf("adding the 5432 publish to the golden rules: %d rules name it, want 4 (DNAT and accept, both families)", n)
	}
	lab.LoadNft(rules.String())
	waitIPv6Ready(t, lab.Host, ctr)
	dump := func() string { return "\n--- nft list ruleset ---\n" + lab.Host.Run("nft", "list", "ruleset") }

	before := dsProbes(both, []uint16{8080, 5432, 6379, 9999, 22}, nil, nil)
	checkDockerSuggestProbes(t, lab, "today's rules", before, dump)

	stdout, stderr, code := lab.Fwaudit("suggest", "--format", "nft", "--allow", "postgresql="+peerA4.String()+","+peerA6.String())
	if code != 0 {
		t.Fatalf("fwaudit suggest --format nft: exit %d\n%s", code, stderr)
	}
	t.Logf("fwaudit suggest --format nft stderr:\n%s", stderr)
	os.WriteFile(filepath.Join(lab.Dir, "suggest.nft"), []byte(stdout), 0o644)
	for _, want := range []string{"hook forward priority filter - 1; policy accept;", "ct original proto-dst 6379 drop", "ct original proto-dst 5432 accept"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("suggest --format nft: no %q in:\n%s", want, stdout)
		}
	}
	lab.LoadNft(stdout)
	lab.LoadNft(stdout) // twice: it replaces its own table
	tables := lab.Host.Run("nft", "list", "tables")
	for _, want := range []string{"table ip docker-bridges", "table ip6 docker-bridges", "table inet fwaudit"} {
		if !strings.Contains(tables, want) {
			t.Errorf("after loading the suggestion, nft list tables has no %q:\n%s", want, tables)
		}
	}
	after := dsProbes(both, []uint16{8080, 9999, 22}, []uint16{5432}, []uint16{6379})
	checkDockerSuggestProbes(t, lab, "suggest --format nft", after, dump)
}

// waitIPv6Ready waits (at most 5 s) until no IPv6 address of the
// namespaces is tentative: until duplicate address detection ends, the
// bridge's and the container's link-local addresses cannot be used, and
// forwarded IPv6 connections stall.
func waitIPv6Ready(t *testing.T, nss ...*Netns) {
	t.Helper()
	for i := 0; ; i++ {
		busy := ""
		for _, ns := range nss {
			if out := ns.Run("ip", "-6", "addr", "show", "tentative"); strings.TrimSpace(out) != "" {
				busy += ns.Name + ": " + out
			}
		}
		if busy == "" {
			return
		}
		if i == 50 {
			t.Fatalf("IPv6 addresses still tentative after 5s:\n%s", busy)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rulesOnly drops the comments and counters of iptables-save output.
func rulesOnly(save string) string {
	var out []string
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, saveCounters.ReplaceAllString(l, "[0:0]"))
	}
	return strings.Join(out, "\n")
}

var saveCounters = regexp.MustCompile(`\[[0-9]+:[0-9]+\]`)
