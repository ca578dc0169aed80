// Command gen-man writes a section 1 man page for fwaudit and for every
// command under it (fwaudit-scan.1, fwaudit-completion-bash.1, …) into a
// directory, from the cobra commands that parse fwaudit's command line:
//
//	go run ./scripts/gen-man DIR
//
// The pages' date is SOURCE_DATE_EPOCH when set (reproducible builds), else
// today. The version they name is the one linked in with -ldflags, as for
// fwaudit itself. It is a program of its own, not an fwaudit command, so
// that the fwaudit binary does not carry the man page writer and its
// Markdown parser.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra/doc"

	"github.com/fwaudit/fwaudit/cmd"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen-man DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Getenv("SOURCE_DATE_EPOCH")); err != nil {
		fmt.Fprintf(os.Stderr, "gen-man: error: %v\n", err)
		os.Exit(1)
	}
}

func run(dir, epoch string) error {
	date := time.Now().UTC()
	if epoch != "" {
		n, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970", epoch)
		}
		date = time.Unix(n, 0).UTC()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root := cmd.CommandTree()
	root.DisableAutoGenTag = true
	hdr := &doc.GenManHeader{
		Section: "1",
		Date:    &date,
		Source:  "fwaudit " + cmd.Version(),
		Manual:  "fwaudit manual",
	}
	if err := doc.GenManTree(root, hdr, dir); err != nil {
		return fmt.Errorf("writing man pages to %s: %w", dir, err)
	}
	return nil
}
