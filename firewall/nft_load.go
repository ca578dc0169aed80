package firewall

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/fwaudit/fwaudit/firewall/nftlang"
)

// ErrNftTextUnsupported: the text uses something the built-in reader
// (package nftlang) does not handle; nft itself must read it.
var ErrNftTextUnsupported = nftlang.ErrUnsupported

// NftTextFiles reads the files an nft text includes.
type NftTextFiles = nftlang.Files

// ParseNftText reads nft text into a ruleset without running nft. name is
// the file's path (includes are found relative to its directory) or a
// label such as "stdin". The error wraps ErrNftTextUnsupported when the
// text must be read by nft instead.
func ParseNftText(text []byte, name string, files NftTextFiles) (*NftRuleset, error) {
	doc, err := nftlang.Tree(text, name, files)
	if err != nil {
		return nil, err
	}
	// the tree is what decoding nft -j output gives: build from it
	// directly, with the JSON front end's own checks
	objs := make([]map[string]any, len(doc))
	for i, o := range doc {
		m, ok := o.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: object %d of the reading is not an object", name, i)
		}
		objs[i] = m
	}
	n, err := nftFromDoc(objs, name)
	if err != nil {
		return nil, err
	}
	n.positions = true
	return n, nil
}

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
	// the built-in reader first (package nftlang); nft itself reads
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
