package suggest

import (
	"strings"
	"unicode/utf8"
)

// maxIptComment is the longest comment the xt comment match takes: its
// buffer is XT_MAX_COMMENT_LEN (256) bytes including the terminating NUL
// (iptables-extensions(8), comment).
const maxIptComment = 255

// maxNftComment is nft's limit for a rule comment
// (NFTNL_UDATA_COMMENT_MAXLEN, 128 bytes).
const maxNftComment = 128

// limitBytes cuts s to at most n bytes without splitting a UTF-8 sequence.
func limitBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// saveQuote quotes a string argument the way iptables-save does
// (xtables_save_string): bare when it is only letters, digits, '_' and
// '-', else in double quotes with '"', '\' and '\” backslash-escaped.
// iptables-restore reads both back to the same bytes.
func saveQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == "" {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' || r == '\'' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// shellQuote makes s one bash word: bare when it cannot mean anything to
// the shell, else single-quoted with every ' written as '\”. Nothing
// inside single quotes is expanded ($(...), backticks, $VAR, globs).
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,/:=+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// nftQuote makes s an nft quoted string. nft's scanner has no escapes in
// quoted strings, so a double quote becomes a single one; the length is
// capped to nft's comment limit.
func nftQuote(s string) string {
	s = strings.ReplaceAll(s, `"`, "'")
	s = strings.ReplaceAll(s, `\`, "/")
	return `"` + limitBytes(s, maxNftComment) + `"`
}

// isStringArg reports whether the argument after opt is free text that
// iptables-save quotes.
func isStringArg(opt string) bool {
	return opt == "--comment" || opt == "--log-prefix"
}
