package cmd

import (
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// valueName is what help prints after a flag's name: pflag takes the first
// back-quoted word of the usage string, else the flag's type.
var valueName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// TestFlagValueNames checks that every flag taking a value names it in
// capitals (--rules FILE, --ssh-from CIDR), never by its Go type (string)
// or by a back-quoted word that was meant as emphasis.
func TestFlagValueNames(t *testing.T) {
	root := newRootCmd(&App{})
	var cmds []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		cmds = append(cmds, c)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	n := 0
	for _, c := range cmds {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			t.Run(c.Name()+"/--"+f.Name, func(t *testing.T) {
				name, usage := pflag.UnquoteUsage(f)
				if strings.Contains(usage, "`") {
					t.Errorf("usage %q keeps a back-quote: only the value name may be quoted", usage)
				}
				if f.Value.Type() == "bool" {
					if name != "" {
						t.Errorf("boolean flag has value name %q", name)
					}
					return
				}
				n++
				if !valueName.MatchString(name) {
					t.Errorf("value name %q (usage %q): want a capitalised placeholder such as FILE", name, f.Usage)
				}
			})
		})
	}
	if n < 10 {
		t.Fatalf("checked only %d flags with values: the walk missed commands", n)
	}
}
