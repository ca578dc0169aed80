// Command benchfw generates large iptables-save rulesets and times how long
// the firewall package takes to parse one and evaluate a set of listeners.
// scripts/bench-firewall.sh runs it next to `iptables-restore --test`.
//
//	benchfw -gen 10000 > rules.v4     # write a ruleset of 10,000 rules
//	benchfw -listeners 50 rules.v4    # parse + evaluate 50 listeners, print seconds
//
// For scripts/bench-scale.sh it also writes the other inputs of a scale
// run, deterministically:
//
//	benchfw -sockets 20000 > ss.txt   # 20,000 listeners in ss -tunlp layout
//	benchfw -ifaces 200 > rules.v4    # one accept per input interface eth0..eth199
//	benchfw -gen6 > rules.v6          # a small ip6tables ruleset
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/fwaudit/fwaudit/firewall"
)

func main() {
	// the same garbage collector setting as fwaudit itself (cmd/gc.go)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
	gen := flag.Int("gen", 0, "write a ruleset with this many rules to stdout")
	listeners := flag.Int("listeners", 50, "listeners to evaluate")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	sockets := flag.Int("sockets", 0, "write this many listeners in ss -tunlp layout to stdout")
	ifaces := flag.Int("ifaces", 0, "write a ruleset naming this many input interfaces to stdout")
	gen6 := flag.Bool("gen6", false, "write a small IPv6 ruleset to stdout")
	flag.Parse()
	if *sockets > 0 || *ifaces > 0 || *gen6 {
		w := bufio.NewWriter(os.Stdout)
		switch {
		case *sockets > 0:
			if *sockets > 60000 {
				fmt.Fprintln(os.Stderr, "benchfw: error: -sockets at most 60000 (one port each)")
				os.Exit(2)
			}
			writeSockets(w, *sockets)
		case *ifaces > 0:
			writeIfaces(w, *ifaces)
		default:
			writeRules6(w)
		}
		if err := w.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, "benchfw: error:", err)
			os.Exit(1)
		}
		return
	}
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(pf) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if *gen > 0 {
		w := bufio.NewWriter(os.Stdout)
		generate(w, *gen)
		if err := w.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, "benchfw: error:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: benchfw [-gen N | -listeners N FILE]")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *listeners); err != nil {
		fmt.Fprintln(os.Stderr, "benchfw: error:", err)
		os.Exit(1)
	}
}

func run(path string, listeners int) error {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	// the file itself, as fwaudit passes it: the parser sizes its buffer
	// from Stat
	rs, err := firewall.ParseSave(f, path, firewall.IPv4)
	f.Close()
	if err != nil {
		return err
	}
	parsed := time.Now()
	e := firewall.NewEvaluator(firewall.IPv4, []*firewall.Ruleset{rs}, firewall.Host{})
	counts := map[firewall.Verdict]int{}
	for i := 0; i < listeners; i++ {
		proto := "tcp"
		if i%5 == 4 {
			proto = "udp"
		}
		r := e.Evaluate(firewall.Query{Proto: proto, Addr: netip.IPv4Unspecified(), Port: listenerPort(i)})
		counts[r.Verdict]++
	}
	done := time.Now()
	fmt.Printf("%.4f parse=%.4f eval=%.4f rules=%d verdicts=%v\n", done.Sub(start).Seconds(),
		parsed.Sub(start).Seconds(), done.Sub(parsed).Seconds(), rs.RuleCount(), counts)
	return nil
}

// listenerPort spreads listeners over ports the rules name and ports they
// do not.
func listenerPort(i int) uint16 {
	ports := []uint16{22, 25, 53, 80, 443, 3306, 5432, 6379, 8080, 9000}
	if i < len(ports) {
		return ports[i]
	}
	return uint16(1000 + i*37)
}

// generate writes a blocklist-heavy ruleset: mostly "-s x/32 -j DROP",
// with multiport accepts, conntrack rules and a user chain mixed in.
func generate(w *bufio.Writer, n int) {
	fmt.Fprintln(w, "*filter")
	fmt.Fprintln(w, ":INPUT DROP [0:0]")
	fmt.Fprintln(w, ":FORWARD DROP [0:0]")
	fmt.Fprintln(w, ":OUTPUT ACCEPT [0:0]")
	fmt.Fprintln(w, ":SERVICES - [0:0]")
	fmt.Fprintln(w, "-A INPUT -i lo -j ACCEPT")
	fmt.Fprintln(w, "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	fmt.Fprintln(w, "-A INPUT -m conntrack --ctstate INVALID -j DROP")
	written := 3
	for i := 0; written < n-3; i++ {
		a := netip.AddrFrom4([4]byte{byte(1 + i>>16%200), byte(i >> 8), byte(i), byte(7 + i%3)})
		switch {
		case i%50 == 49:
			fmt.Fprintf(w, "-A INPUT -s %s/24 -p tcp -m multiport --dports %d,%d,%d:%d -m conntrack --ctstate NEW -j ACCEPT\n",
				a.String(), 1000+i%700, 2000+i%500, 3000+i%300, 3010+i%300)
		case i%100 == 77:
			fmt.Fprintf(w, "-A INPUT -p udp -m udp --dport %d -m conntrack --ctstate NEW -j ACCEPT\n", 4000+i%1000)
		default:
			fmt.Fprintf(w, "-A INPUT -s %s/32 -j DROP\n", a.String())
		}
		written++
	}
	fmt.Fprintln(w, "-A INPUT -p tcp -m multiport --dports 22,80,443 -j ACCEPT")
	fmt.Fprintln(w, "-A INPUT -j SERVICES")
	fmt.Fprintln(w, "-A SERVICES -s 10.0.0.0/8 -p tcp -m tcp --dport 5432 -j ACCEPT")
	fmt.Fprintln(w, "COMMIT")
}

// writeSockets writes n listeners as `ss -tunlp` prints them: TCP and UDP
// (one in five), on ports from 1024 up, bound to 0.0.0.0, * (dual stack),
// [::], 127.0.0.1 and 192.0.2.10, owned by n/4 processes.
func writeSockets(w *bufio.Writer, n int) {
	fmt.Fprintf(w, "%-5s %-6s %-6s %-6s %20s %-17s%s\n", "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "Process")
	for i := 0; i < n; i++ {
		proto, state, backlog := "tcp", "LISTEN", 128
		if i%5 == 4 {
			proto, state, backlog = "udp", "UNCONN", 0
		}
		addr, peer := "0.0.0.0", "0.0.0.0"
		switch i % 5 {
		case 1:
			addr, peer = "*", "*"
		case 2:
			addr, peer = "[::]", "[::]"
		case 3:
			addr = "127.0.0.1"
		case 4:
			addr = "192.0.2.10"
		}
		pid := 1000 + i/4
		fmt.Fprintf(w, "%-5s %-6s %-6d %-6d %14s:%-5d %11s:%-5s users:((\"app%d\",pid=%d,fd=%d))\n",
			proto, state, 0, backlog, addr, 1024+i, peer, "*", pid%997, pid, 3+i%4)
	}
}

// writeIfaces writes a ruleset that tells n input interfaces apart: eth<k>
// accepts TCP port 1024+k%50 (the ports of the first 50 -sockets), from
// 10.k/16 for every third one, and every
// interface is named by one rule.
func writeIfaces(w *bufio.Writer, n int) {
	fmt.Fprintln(w, "*filter")
	fmt.Fprintln(w, ":INPUT DROP [0:0]")
	fmt.Fprintln(w, ":FORWARD DROP [0:0]")
	fmt.Fprintln(w, ":OUTPUT ACCEPT [0:0]")
	fmt.Fprintln(w, "-A INPUT -i lo -j ACCEPT")
	fmt.Fprintln(w, "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	for k := 0; k < n; k++ {
		src := ""
		if k%3 == 2 {
			src = fmt.Sprintf(" -s 10.%d.0.0/16", k%256)
		}
		fmt.Fprintf(w, "-A INPUT -i eth%d%s -p tcp -m tcp --dport %d -j ACCEPT\n", k, src, 1024+k%50)
	}
	fmt.Fprintln(w, "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT")
	fmt.Fprintln(w, "COMMIT")
}

// writeRules6 writes a small default-deny IPv6 ruleset.
func writeRules6(w *bufio.Writer) {
	fmt.Fprintln(w, "*filter")
	fmt.Fprintln(w, ":INPUT DROP [0:0]")
	fmt.Fprintln(w, ":FORWARD DROP [0:0]")
	fmt.Fprintln(w, ":OUTPUT ACCEPT [0:0]")
	fmt.Fprintln(w, "-A INPUT -i lo -j ACCEPT")
	fmt.Fprintln(w, "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	fmt.Fprintln(w, "-A INPUT -p ipv6-icmp -j ACCEPT")
	fmt.Fprintln(w, "-A INPUT -s 2001:db8::/32 -p tcp -m multiport --dports 22,80,443 -j ACCEPT")
	fmt.Fprintln(w, "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT")
	fmt.Fprintln(w, "COMMIT")
}
