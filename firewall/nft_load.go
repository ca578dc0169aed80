package firewall

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
)

// LoadNftText reads nft's own language (the text of `nft list ruleset`,
// or an /etc/nftables.conf) with the built-in reader (ParseNftText) and,
// where that does not handle the text, by loading it into a throwaway network
// namespace and listing it back as JSON: nft is the only complete reader
// of its language (defines, includes, symbolic priorities). It needs
// unshare(1) and nft(8), and root or unprivileged user namespaces.
// Rules are then named by their position in their chain ("rule 3"),
// since the namespace's handles mean nothing to the reader of the file.
func LoadNftText(ctx context.Context, r Runner, text []byte, name string) (*NftRuleset, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, &ParseError{Source: name, Line: 1, Msg: "empty input: no nft ruleset"}
	}
	// the built-in reader first (nft_text_parse.go); nft itself reads
	// what that one does not handle, and reports the errors
	if n, err := ParseNftText(text, name, nil); err == nil {
		return n, nil
	}
	f, err := os.CreateTemp("", "fwaudit-*.nft")
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(text); err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	args := []string{"--net"}
	if os.Geteuid() != 0 {
		args = []string{"--user", "--map-root-user", "--net"}
	}
	args = append(args, "sh", "-c", `nft -f "$1" && exec nft -j list ruleset`, "sh", f.Name())
	out, err := r.Run(ctx, "unshare", args...)
	if err != nil {
		msg := err.Error()
		if ce, ok := err.(*CmdError); ok && ce.Stderr != "" {
			msg = strings.ReplaceAll(ce.Stderr, f.Name(), name)
		}
		return nil, fmt.Errorf("reading %s as nft text (loaded into a throwaway network namespace to list it as JSON; use `nft -j list ruleset` output instead where that cannot be done): %s", name, msg)
	}
	n, err := ParseNftJSON(bytes.NewReader(out), name)
	if err != nil {
		return nil, err
	}
	n.positions = true
	return n, nil
}
