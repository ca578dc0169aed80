package cmd

import (
	"context"
	"io"
	"strings"
	"testing"
)

// BenchmarkScanLive runs `fwaudit scan -o json` (and with --no-firewall)
// against the running host, in process, for CPU and allocation profiles
// of the live scan. Run it inside a network namespace holding a socket
// load (scripts/loadgen) as root:
//
//	go test -c -o /tmp/cmd.test ./cmd
//	ip netns exec NS /tmp/cmd.test -test.run '^$' -test.bench ScanLive -test.cpuprofile cpu.out
func BenchmarkScanLive(b *testing.B) {
	for _, args := range [][]string{{"scan", "-o", "json"}, {"scan", "-o", "json", "--no-firewall"}} {
		b.Run(strings.Join(args[1:], " "), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var errb strings.Builder
				app := &App{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &errb, Getenv: func(string) string { return "" }}
				if code := app.Run(context.Background(), args); code != exitOK {
					b.Fatalf("exit %d: %s", code, errb.String())
				}
			}
		})
	}
}
