package scan

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkParseText(b *testing.B) {
	for _, name := range []string{"corpus-ss-wide-header-quirk.txt", "corpus-ss-tulpen-ubuntu1804-docker.txt", "corpus-netstat-lnp-procnames-with-spaces.txt"} {
		data, err := os.ReadFile(filepath.Join(sockets, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseText(bytes.NewReader(data), name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWalkProc walks this host's /proc both ways (run it inside a
// loaded namespace, e.g. under scripts/loadgen, for meaningful numbers).
func BenchmarkWalkProc(b *testing.B) {
	want := map[uint32]struct{}{1: {}}
	b.Run("fs.FS", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := walkProc(context.Background(), os.DirFS("/proc"), want); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hostProc", func(b *testing.B) {
		b.ReportAllocs()
		h := newHostProc("/proc")
		for b.Loop() {
			if _, _, err := h.walkSockets(context.Background(), want); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkLive(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Live(context.Background(), Options{}); err != nil {
			b.Skip(err)
		}
	}
}

func BenchmarkParseDiag(b *testing.B) {
	c, err := openDiag()
	if err != nil {
		b.Skip(err)
	}
	defer c.close()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.dump(2, 6, 1<<tcpListen, &sockList{}); err != nil {
			b.Fatal(err)
		}
	}
}
