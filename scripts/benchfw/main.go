// Command benchfw generates large iptables-save rulesets and times how long
// the firewall package takes to parse one and evaluate a set of listeners.
// scripts/bench-firewall.sh runs it next to `iptables-restore --test`.
//
//	benchfw -gen 10000 > rules.v4     # write a ruleset of 10,000 rules
//	benchfw -listeners 50 rules.v4    # parse + evaluate 50 listeners, print seconds
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
	flag.Parse()
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
	rs, err := firewall.ParseSave(bufio.NewReaderSize(f, 1<<20), path, firewall.IPv4)
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
