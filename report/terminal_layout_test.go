package report

import (
	"math/rand"
	"strings"
	"testing"
)

// TestWrap: every line fits, none has spaces at its ends, and the words
// come back in order (after commas a line may break without a space).
func TestWrap(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"-A", "INPUT", "10.0.0.0/8,192.168.0.0/16,172.16.0.0/12", "--reject-with", "icmp-port-unreachable", "é", "ünïcödé", "ＷＩＤＥ", strings.Repeat("x", 90)}
	for i := range 500 {
		var parts []string
		for range rng.Intn(30) + 1 {
			parts = append(parts, words[rng.Intn(len(words))])
		}
		in := strings.Join(parts, " ")
		width := rng.Intn(80) + 2
		lines := Wrap(in, width)
		for _, l := range lines {
			if textWidth(l) > width {
				t.Fatalf("case %d: line %q is wider than %d", i, l, width)
			}
			if l != strings.TrimSpace(l) || l == "" {
				t.Fatalf("case %d: line %q has spaces at an end or is empty", i, l)
			}
		}
		if got, want := strings.Join(lines, ""), strings.ReplaceAll(in, " ", ""); strings.ReplaceAll(got, " ", "") != want {
			t.Fatalf("case %d: words lost or reordered:\n%q\n%q", i, in, lines)
		}
	}
	if got := Wrap("a b", 0); len(got) != 1 || got[0] != "a b" {
		t.Errorf("width 0 wrapped: %q", got)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 19990: "19,990", 1234567: "1,234,567", -4012: "-4,012"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestTextTable: columns line up, the last one wraps behind the gutter,
// and the others are shortened when the last would be too narrow.
func TestTextTable(t *testing.T) {
	tests := []struct {
		name string
		o    TextOptions
		rows [][]string
		want string
	}{
		{"fits", TextOptions{Width: 80}, [][]string{{"A", "BB", "C"}, {"aaa", "", "c c"}},
			"A    BB  C\naaa      c c\n"},
		{"wraps the last column", TextOptions{Width: 34, UTF8: true}, [][]string{{"tcp", "open except 1.2.3.4/32,5.6.7.8/32 and more"}},
			"tcp  open except 1.2.3.4/32,\n│    5.6.7.8/32 and more\n"},
		{"wide", TextOptions{Width: 10, Wide: true}, [][]string{{"tcp", "a long last cell"}},
			"tcp  a long last cell\n"},
		{"shortens others", TextOptions{Width: 36}, [][]string{{"a-very-long-process-name", "x", "some words here to show"}},
			"a-very-long~  x  some words here to\n|                show\n"},
		{"empty first cell", TextOptions{}, [][]string{{"", "b"}}, "-  b\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteColumns(&b, tc.o, nil, tc.rows); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}
