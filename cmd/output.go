package cmd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// bindOutput gives a command that has formats its -o/--output FORMAT flag,
// with --format as a second name of the same flag, so that every command
// takes "-o json" and "--format json" alike.
func bindOutput(c *cobra.Command, p *string, def string, formats []string) {
	f := c.Flags()
	f.StringVarP(p, "output", "o", def, fmt.Sprintf("output `FORMAT`: %s; also spelled --format", orList(formats)))
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "format" {
			name = "output"
		}
		return pflag.NormalizedName(name)
	})
	completeValues(c, "output", formats)
}

// completeValues offers values to shell completion for a flag that takes
// one of a fixed list, and no file names.
func completeValues(c *cobra.Command, flag string, values []string) {
	if err := c.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)); err != nil {
		panic(err) // a flag registered twice, or not defined: a programming error
	}
}

// checkOutput is the usage error for a format the command does not write.
func checkOutput(got, what string, formats []string) error {
	if slices.Contains(formats, got) {
		return nil
	}
	return usageErrorf("unknown %s %q (want %s)", what, got, orList(formats))
}

// orList spells a list as "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// andList spells a list as "a, b and c".
func andList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
