package firewall

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// nftBenchFiles are the `nft -j list ruleset` files the nft benchmarks
// read: the repository's fixtures, and the *.json in the directory
// FWAUDIT_NFT_BENCH_DIR names (scripts/bench-nft.sh -k DIR leaves the
// generated rulesets there).
func nftBenchFiles(b *testing.B) []string {
	files, err := filepath.Glob("../testdata/rules/*.nft-j.json")
	if err != nil {
		b.Fatal(err)
	}
	if dir := os.Getenv("FWAUDIT_NFT_BENCH_DIR"); dir != "" {
		more, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			b.Fatal(err)
		}
		if len(more) == 0 {
			b.Fatalf("FWAUDIT_NFT_BENCH_DIR=%s holds no *.json", dir)
		}
		files = append(files, more...)
	}
	return files
}

// nftBenchQuery is one family's question about one of the 50 listeners
// scripts/gennft -sockets 50 writes, asked the way the scan report asks.
type nftBenchQuery struct {
	fam Family
	q   Query
}

// nftBenchQueries mirrors gennft's listener list: port by index, TCP
// except every fifth, bind address by index modulo 7 (0.0.0.0, a dual
// stack *, [::], 0.0.0.0, 127.0.0.1, 192.0.2.10, 2001:db8::10). The
// loopback binds are left out: the report answers them without asking.
func nftBenchQueries() []nftBenchQuery {
	known := []uint16{22, 25, 53, 80, 443, 3306, 5432, 6379, 8080, 9000, 123, 161, 5353, 11211, 27017, 9090, 9100, 3000, 8443, 993}
	var out []nftBenchQuery
	for i := 0; i < 50; i++ {
		port := uint16(1000 + i*37)
		if i < len(known) {
			port = known[i]
		}
		proto := "tcp"
		if i%5 == 4 {
			proto = "udp"
		}
		v4 := func(a netip.Addr) { out = append(out, nftBenchQuery{IPv4, Query{Proto: proto, Addr: a, Port: port}}) }
		v6 := func(a netip.Addr) { out = append(out, nftBenchQuery{IPv6, Query{Proto: proto, Addr: a, Port: port}}) }
		switch i % 7 {
		case 0, 3:
			v4(netip.IPv4Unspecified())
		case 1:
			v4(netip.IPv4Unspecified())
			v6(netip.IPv6Unspecified())
		case 2:
			v6(netip.IPv6Unspecified())
		case 4:
		case 5:
			v4(netip.MustParseAddr("192.0.2.10"))
		default:
			v6(netip.MustParseAddr("2001:db8::10"))
		}
	}
	return out
}

// BenchmarkNft splits what `fwaudit scan --offline --nft FILE.json` does
// with the rules into its steps, per file: parse the JSON, compile both
// families (NftRuleset.Family), build both evaluators, answer the 50
// listeners' queries, and all of it together. Steps after the first
// re-use the earlier steps' results, made outside the timer (and only when
// the step runs, so that -bench NAME/all -cpuprofile profiles that alone).
func BenchmarkNft(b *testing.B) {
	qs := nftBenchQueries()
	for _, path := range nftBenchFiles(b) {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(path)
		parse := func() *NftRuleset {
			n, err := ParseNftJSON(bytes.NewReader(data), name)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
		compile := func(n *NftRuleset) (*Ruleset, *Ruleset) { return n.Family(IPv4), n.Family(IPv6) }
		evaluators := func(v4, v6 *Ruleset) map[Family]*Evaluator {
			return map[Family]*Evaluator{
				IPv4: NewEvaluator(IPv4, []*Ruleset{v4}, Host{}),
				IPv6: NewEvaluator(IPv6, []*Ruleset{v6}, Host{}),
			}
		}
		ask := func(evs map[Family]*Evaluator) {
			for _, q := range qs {
				evs[q.fam].Evaluate(q.q)
			}
		}
		b.Run(name+"/parse", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				parse()
			}
		})
		b.Run(name+"/compile", func(b *testing.B) {
			n := parse()
			for b.Loop() {
				compile(n)
			}
		})
		b.Run(name+"/evaluators", func(b *testing.B) {
			v4, v6 := compile(parse())
			for b.Loop() {
				evaluators(v4, v6)
			}
		})
		// Evaluators compute what every query shares on first use, so
		// each round gets fresh ones, built outside the timer.
		b.Run(name+"/query50", func(b *testing.B) {
			v4, v6 := compile(parse())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				evs := evaluators(v4, v6)
				b.StartTimer()
				ask(evs)
			}
		})
		b.Run(name+"/all", func(b *testing.B) {
			for b.Loop() {
				ask(evaluators(compile(parse())))
			}
		})
	}
}

// BenchmarkNftText is BenchmarkNft's "all" for the text of a ruleset
// (`nft list ruleset`, an nftables.conf): read it with the built-in
// reader, compile both families, build both evaluators and answer the 50
// listeners' queries. The files are the *.nft in FWAUDIT_NFT_BENCH_DIR
// (scripts/bench-nft.sh -k DIR leaves them there) and the fixtures.
func BenchmarkNftText(b *testing.B) {
	files, err := filepath.Glob("../testdata/rules/*.nft")
	if err != nil {
		b.Fatal(err)
	}
	if dir := os.Getenv("FWAUDIT_NFT_BENCH_DIR"); dir != "" {
		more, _ := filepath.Glob(filepath.Join(dir, "*.nft"))
		files = append(files, more...)
	}
	qs := nftBenchQueries()
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseNftText(data, path, nil); err != nil {
			continue // needs nft itself (LoadNftText's fallback)
		}
		b.Run(filepath.Base(path), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				n, err := ParseNftText(data, path, nil)
				if err != nil {
					b.Fatal(err)
				}
				evs := map[Family]*Evaluator{
					IPv4: NewEvaluator(IPv4, []*Ruleset{n.Family(IPv4)}, Host{}),
					IPv6: NewEvaluator(IPv6, []*Ruleset{n.Family(IPv6)}, Host{}),
				}
				for _, q := range qs {
					evs[q.fam].Evaluate(q.q)
				}
			}
		})
	}
}

// BenchmarkAnalyzeNftText runs the rule analysis (both families) on the
// *.nft in FWAUDIT_NFT_BENCH_DIR (scripts/gennft -rules 10000 writes the
// one the report benchmark uses): with -cpuprofile or -memprofile it
// profiles what `fwaudit report` adds to a scan.
func BenchmarkAnalyzeNftText(b *testing.B) {
	dir := os.Getenv("FWAUDIT_NFT_BENCH_DIR")
	if dir == "" {
		b.Skip("FWAUDIT_NFT_BENCH_DIR names no directory of *.nft")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.nft"))
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		n, err := ParseNftText(data, path, nil)
		if err != nil {
			b.Fatal(err)
		}
		v4, v6 := n.Family(IPv4), n.Family(IPv6)
		b.Run(filepath.Base(path), func(b *testing.B) {
			for b.Loop() {
				Analyze(v4)
				Analyze(v6)
			}
		})
	}
}
