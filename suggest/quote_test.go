package suggest

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSaveQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ping", "ping"},
		{"abc_-9", "abc_-9"},
		{"ssh (sshd)", `"ssh (sshd)"`},
		{"", `""`},
		// As iptables-save 1.8.9 printed this comment in a namespace.
		{"a'b\"c\\d $(x) `y` #z", `"a\'b\"c\\d $(x) ` + "`y`" + ` #z"`},
	} {
		if got := saveQuote(c.in); got != c.want {
			t.Errorf("saveQuote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"-A", "-A"},
		{"127.0.0.0/8", "127.0.0.0/8"},
		{"RELATED,ESTABLISHED", "RELATED,ESTABLISHED"},
		{"!", "'!'"},
		{"ssh (sshd)", "'ssh (sshd)'"},
		{"$(reboot)", "'$(reboot)'"},
		{"it's", `'it'\''s'`},
		{"", "''"},
	} {
		if got := shellQuote(c.in); got != c.want {
			t.Errorf("shellQuote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestCommentLimits(t *testing.T) {
	p, _, err := Build(hostileHost, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.steps() {
		for _, a := range append(st.v4, st.v6...) {
			for i := 1; i < len(a); i++ {
				if a[i-1] != "--comment" {
					continue
				}
				if len(a[i]) > maxIptComment || !utf8.ValidString(a[i]) || strings.ContainsAny(a[i], "\n\r\x00") {
					t.Errorf("comment of %d bytes, valid UTF-8 %v: %q", len(a[i]), utf8.ValidString(a[i]), a[i])
				}
			}
		}
	}
	for _, l := range nftRules(p.Rules) {
		_, c, ok := strings.Cut(l, " comment ")
		if !ok {
			t.Errorf("nft rule without comment: %s", l)
			continue
		}
		if len(c) > maxNftComment+2 || strings.Count(c, `"`) != 2 || !utf8.ValidString(c) {
			t.Errorf("nft comment of %d bytes: %s", len(c), c)
		}
	}
	if got := limitBytes("aé", 2); got != "a" {
		t.Errorf("limitBytes split a UTF-8 sequence: %q", got)
	}
}
