package cmd

import (
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/fwaudit/fwaudit/report"
)

// textLayout says how wide text output may be and what it may draw with.
//
// The width is COLUMNS when it is set to a positive number (so that
// COLUMNS=80 fwaudit report -o table fits 80 columns whatever the
// terminal), else the terminal's width (TIOCGWINSZ) when stdout is a
// terminal, else unlimited: a pipe or file gets whole lines, with long
// lists still counted. --wide prints everything on one line.
//
// Box-drawing characters are used only when the locale is UTF-8: the
// first of LC_ALL, LC_CTYPE and LANG that is set names the character set,
// as setlocale(3) reads them.
type textLayout struct {
	wide bool
}

func (l *textLayout) bind(c *cobra.Command) {
	c.Flags().BoolVar(&l.wide, "wide", false, "print every cell in full, one line per row, whatever the terminal's width")
}

func (l *textLayout) options(app *App) report.TextOptions {
	return report.TextOptions{Width: termWidth(app), Wide: l.wide, UTF8: utf8Locale(app.Getenv)}
}

// termWidth is COLUMNS, or the width of the terminal on stdout, or 0.
func termWidth(app *App) int {
	if n, err := strconv.Atoi(strings.TrimSpace(app.Getenv("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	return ttyWidth(app.Stdout)
}

// ttyWidth asks the terminal behind w for its width; 0 when w is not a
// terminal.
func ttyWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 0
	}
	return int(ws.Col)
}

// utf8Locale: the locale's character set is UTF-8.
func utf8Locale(getenv func(string) string) bool {
	for _, name := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		v := getenv(name)
		if v == "" {
			continue
		}
		_, cs, _ := strings.Cut(v, ".")
		cs, _, _ = strings.Cut(cs, "@")
		cs = strings.ToLower(strings.ReplaceAll(cs, "-", ""))
		return cs == "utf8"
	}
	return false
}
