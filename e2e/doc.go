//go:build linux

// Package e2e proves fwaudit against the kernel. Its tests start real
// listeners in throwaway network namespaces, load real rulesets
// (iptables-restore, ip6tables-restore, iptables-legacy, nft, even ufw),
// probe every listener from a peer namespace and require fwaudit's verdicts
// to agree with what got through. "The kernel is the judge."
//
// The tests need root; without it every test skips with a loud message.
// Run them with `sudo make e2e` (go test -count=1 ./e2e/...).
//
// # Binaries
//
// TestMain (main_test.go) builds, once per run, the fwaudit binary and the
// helper e2e/internal/svc (listen, probe and hold modes; see its doc). The
// helper is hard-linked to daemon names (sshd, nginx, mysqld, postgres,
// named, redis-server, ...) so /proc/PID/comm shows those names. Package
// variables FwauditBin and SvcBin hold their paths. When the helper does
// not build (BuildErr), NewLab fails every test; when fwaudit does not
// (FwauditErr), only the tests that run it fail. FWAUDIT_E2E_BIN=/path
// tests that fwaudit binary instead of building one.
//
// A test file in this package gets all of this for free (TestMain is
// shared); a lab's methods report to lab.T, and a subtest borrows the lab
// with `defer lab.Use(t)()`.
//
// # The lab
//
//	lab := e2e.NewLab(t)
//
// creates two namespaces, lab.Host and lab.Peer (names carry the test name
// and the pid), joined by a veth pair: HostIf "veth0" in the host namespace
// with 192.0.2.1/24 and 2001:db8::1/64, PeerIf "veth1" in the peer with
// 192.0.2.2/24, 192.0.2.3/24, 2001:db8::2/64 and 2001:db8::3/64 (nodad, no
// link-local addresses, permanent neighbour entries both ways: no ARP or
// neighbour discovery traffic disturbs the rule counters), lo up in both.
// Everything is removed in t.Cleanup, even on failure: started processes
// are killed by PID first, then the namespaces are deleted.
//
// Running things:
//
//	lab.Host.Run("iptables-save")          // stdout; fails the test on error
//	lab.Host.Exec(stdin, "nft", "-f", "-")  // stdout, stderr, error
//	p := lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22", "tcp6only:[::]:22")
//	p.PID; p.Stop()
//	w := lab.StartShared(lab.Host, "apache2", "nginx", "tcp:0.0.0.0:80")
//	w.Children[0] // a second owner of the same sockets, running as nginx
//
// Listen specs are KIND:ADDR[%DEV]:PORT: tcp or udp (IPv4 for an IPv4
// address, dual-stack for "::", plain IPv6 otherwise), tcp6only or udp6only
// (IPV6_V6ONLY); %DEV binds to a device (tcp:0.0.0.0%lo:7000). TCP is
// echoed until closed, UDP datagrams are echoed (UDP sockets set
// SO_REUSEADDR, so 0.0.0.0:53 and 127.0.0.1:53 can coexist).
//
// Rules (all in the host namespace, each fails the test on error):
//
//	lab.LoadIptables(rules)       // iptables-restore (the default backend, nft)
//	lab.LoadIp6tables(rules)      // ip6tables-restore
//	lab.LoadIptablesLegacy(rules) // iptables-legacy-restore
//	lab.LoadIp6tablesLegacy(rules)
//	lab.LoadNft(rules)            // nft -f -
//	lab.Ufw("allow", "80/tcp")    // ufw in a private mount namespace
//	Testdata(t, "name.rules")     // reads e2e/testdata/name.rules
//
// ufw runs as `ip netns exec HOST unshare -m sh -c 'mount --bind ...; ufw ...'`
// over per-lab /etc/ufw, /etc/default/ufw and /lib/ufw built from the ufw
// package's own templates (checked against dpkg's md5sums; an empty
// sysctl.conf), never from the host's files: whatever the host has enabled,
// the lab starts from a pristine ufw, and every call checks that the host's
// files are unchanged (TestUfwHostileHost).
//
// Probing (always from the peer namespace):
//
//	ok := lab.Probe("tcp", "192.0.2.2", "192.0.2.1", 22)
//	res := lab.ProbeAll([]e2e.ProbeReq{...})  // concurrent, one helper process
//	res = lab.ProbeSpecs([]e2e.ProbeSpec{{ProbeReq: r, SPort: 80}}) // fixed source port
//	res = lab.ProbeOnce(reqs, 700*time.Millisecond)                 // no retry
//	h := lab.Hold("192.0.2.2", "192.0.2.1", 22); h.Alive(); h.Close()
//
// A TCP probe succeeds when the handshake completes within the timeout, a
// UDP probe when the echo comes back; failures say "refused", "unreachable"
// (an ICMP error) or "timeout", and ProbeAll retries a timeout once with a
// longer wait.
//
// fwaudit:
//
//	stdout, stderr, code := lab.Fwaudit("scan", "-o", "json") // in the host namespace
//	scan := lab.Scan()                                        // scan -o json, decoded
//	res := e2e.RunFwaudit(t, dir, "scan", "--offline", ...)   // outside any namespace
//
//	a := lab.StartApply("--timeout", "4s")  // fwaudit apply in the background (applylab.go)
//	a.WaitFor("waiting", d); a.Wait(d); a.WaitResult(d); lab.RulesNow()
//
// StartApply writes backups under lab.Dir and kills the process and the
// watchdog it leaves (by the pid in the backup directory) at cleanup;
// StartApplyTerminal runs it on a pseudo-terminal (script(1)) to type on.
//
// Scan, Socket, SocketFirewall and FamilyVerdict decode `scan -o json`
// independently of package report, so the tests also check the JSON
// contract. FamilyVerdict.Admits says which sources a verdict admits.
//
// Ground truth for explain (counters.go):
//
//	d, res, err := lab.Decide("iptables-save", e2e.ProbeReq{...})
//	d.Verdict, d.Rule, d.Table, d.Policy, d.Path
//
// probes once with per-rule packet counters read before and after
// (iptables-save -c, or ip6tables-save, iptables-legacy-save, ...), and
// walks the counters that moved through every chain on the way in (raw,
// mangle and nat PREROUTING, mangle, filter, security and nat INPUT;
// jumps, gotos, RETURN, policies) to the rule or policy the kernel's walk
// ended on. The first Decide makes the peer send only SYNs (a rule in its
// OUTPUT chains), so one TCP probe is one packet; held connections stop
// working after it. The host's ruleset is never touched. When the way in
// accepted but the probe failed (a reply dropped in OUTPUT, a redirect to
// a closed port) the error is a *ReplyLost. ParseCounters and Deciding are
// the pure halves, unit-tested on captured dumps.
//
// The nft twin (nft_counters.go):
//
//	d, res, err := lab.DecideNft(e2e.ProbeReq{...})
//	d.Nft // family, table, chain and handle (or policy) of a native rule
//
// reads `nft -a -j list ruleset` around one probe and walks the base
// chains the packet met (netdev ingress, prerouting, then input, or
// forward after a dnat to another host) by priority: an accept ends its
// base chain only, a drop is final. nft counts only where a rule says
// `counter`, and never a policy, so every verdict rule the walk reaches
// must carry a counter right before its verdict (the e2e rulesets do), and
// a base chain the walk falls off ended on its policy. Verdict maps are
// looked up for the probe's packet; rules on ct state that no NEW packet
// matches are skipped (their counters may move for replies crossing the
// host). iptables-nft's rules, which nft lists too, are named by their
// iptables-save text. NftDeciding is the pure half, unit-tested on
// captured listings (testdata/nft/captured).
//
// # Scenarios
//
// scenarios_test.go holds the evaluator's proof as a table: each scenario
// names its rulesets (testdata/*.rules, *.rules6, *.nft, corpus/), an
// optional setup (ufw), and its listeners with what the kernel must let in
// per family ("both", "none", ".2", ".3"). TestScenarios probes every
// listener from both peer sources per family, then checks, per scenario,
// "kernel" (the expectations), "verdicts" (scan -o json admits exactly the
// sources that got in; conditional only where the scenario pins it),
// "explain" (both command forms against the counter walk; nft counters
// where the scenario sets nftCounters) and "shadowed" (no shadowed-rule
// finding of `report` names a rule whose counter moved during the
// probes). nft_scenarios_test.go holds the native nftables scenarios
// (testdata/nft/), run the same way by TestScenariosNft.
//
// # Limits
//
// Permanent neighbour entries mean IPv6 works here even when the ruleset
// drops neighbour discovery, which on a real host would cut IPv6 off; test
// ICMPv6 with the suggest kernel tests' ping, not with probes.
package e2e
