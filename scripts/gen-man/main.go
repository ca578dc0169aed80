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
//
// Beyond what --help says, every page has EXIT STATUS (the "Exit codes"
// paragraph of the command's help, moved there, or the codes every
// command shares), ENVIRONMENT and FILES (pages.go), and SEE ALSO names
// the tools fwaudit reads the firewall with. Lists indented in the help
// text keep their indentation, and options without a default show none.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
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
	exits := map[string]string{} // page name: its exit codes, from the help
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		long, exit := splitExitCodes(c.Long)
		c.Long = keepIndented(long)
		exits[pageName(c)] = exit
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				walk(sub)
			}
		}
	}
	walk(root)
	hdr := &doc.GenManHeader{
		Section: "1",
		Date:    &date,
		Source:  "fwaudit " + cmd.Version(),
		Manual:  "fwaudit manual",
	}
	if err := doc.GenManTree(root, hdr, dir); err != nil {
		return fmt.Errorf("writing man pages to %s: %w", dir, err)
	}
	pages, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil {
		return err
	}
	for _, p := range pages {
		name := strings.TrimSuffix(filepath.Base(p), ".1")
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out, err := finish(string(b), name, exits[name])
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// pageName is the page GenManTree writes for c: "fwaudit-completion-bash".
func pageName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-")
}

// splitExitCodes takes the "Exit codes" paragraph out of a help text: the
// man page says it under EXIT STATUS.
func splitExitCodes(long string) (rest, exit string) {
	paras := strings.Split(long, "\n\n")
	var keep []string
	for _, p := range paras {
		if strings.HasPrefix(p, "Exit codes") && exit == "" {
			exit = p
			continue
		}
		keep = append(keep, p)
	}
	return strings.Join(keep, "\n\n"), exit
}

// keepIndented makes each run of indented lines a Markdown code block, so
// that the man page keeps them as they are (a list of verdicts or exit
// codes) instead of filling them into the paragraph above.
func keepIndented(long string) string {
	lines := strings.Split(long, "\n")
	var out []string
	in := false
	for _, l := range lines {
		indented := strings.HasPrefix(l, " ") && strings.TrimSpace(l) != ""
		switch {
		case indented && !in:
			if len(out) > 0 && out[len(out)-1] != "" {
				out = append(out, "")
			}
			in = true
		case !indented && in && strings.TrimSpace(l) != "":
			out = append(out, "")
			in = false
		case strings.TrimSpace(l) == "":
			in = false
		}
		if indented {
			l = "    " + l
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

var (
	// an option without a default: `\fB--hostname\fP=""`
	emptyDefault = regexp.MustCompile(`(\\fP)=""`)
	// "  0  nothing changed" in an exit codes list
	exitLine = regexp.MustCompile(`^\s+(\d+)\s+(.*)$`)
)

// finish adds EXIT STATUS, ENVIRONMENT and FILES before SEE ALSO, and the
// related tools to SEE ALSO.
func finish(page, name, exit string) (string, error) {
	page = emptyDefault.ReplaceAllString(page, "$1")
	i := strings.Index(page, ".SH SEE ALSO\n")
	if i < 0 {
		return "", fmt.Errorf("no SEE ALSO section")
	}
	var b strings.Builder
	b.WriteString(page[:i])
	b.WriteString(".SH EXIT STATUS\n")
	b.WriteString(exitStatus(exit))
	b.WriteString("\n.SH ENVIRONMENT\n")
	writeItems(&b, environment(name))
	b.WriteString("\n.SH FILES\n")
	writeItems(&b, files(name))
	b.WriteString("\n")
	see := strings.TrimRight(page[i:], "\n")
	b.WriteString(see)
	for _, ref := range seeAlso(name) {
		b.WriteString(", \\fB" + ref + "\\fP")
	}
	b.WriteString("\n")
	return b.String(), nil
}

// exitStatus is the exit codes as a tagged list: each "N  text" line of
// the help's list a .TP entry, its more indented lines part of the text; a
// paragraph in prose ("Exit codes: 0 …; 1 …") as it is.
func exitStatus(exit string) string {
	if exit == "" {
		exit = "Exit codes:\n  0  success\n  1  error: something could not be read, run or written (said on stderr)\n  2  usage: a flag or argument is wrong"
	}
	lines := strings.Split(exit, "\n")
	var b strings.Builder
	head := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(lines[0]), ":"))
	list := false
	for _, l := range lines[1:] {
		if exitLine.MatchString(l) {
			list = true
		}
	}
	if !list {
		b.WriteString(roff(strings.Join(strings.Fields(exit), " ")) + "\n")
		return b.String()
	}
	if head != "Exit codes" {
		b.WriteString(roff(head+":") + "\n")
	}
	for _, l := range lines[1:] {
		if m := exitLine.FindStringSubmatch(l); m != nil && len(l)-len(strings.TrimLeft(l, " ")) <= 2 {
			b.WriteString(".TP\n.B " + m[1] + "\n" + roff(m[2]) + "\n")
			continue
		}
		b.WriteString(roff(strings.TrimSpace(l)) + "\n")
	}
	return b.String()
}

type item struct{ name, text string }

func writeItems(b *strings.Builder, items []item) {
	for _, it := range items {
		b.WriteString(".TP\n.B " + roff(it.name) + "\n" + roff(it.text) + "\n")
	}
}

// roff escapes text for a line of a man page: backslashes, and a leading
// dot or quote that would make it a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
