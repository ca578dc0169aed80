package cmd

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/scan"
)

// liveCompletionBudget bounds the live socket listing shell completion
// does to offer listening ports: past it, only the catalog is offered.
const liveCompletionBudget = 500 * time.Millisecond

// completeSpecs offers values for --allow and --deny: the ports that
// listen (from --sockets FILE when given, else the live host unless
// --offline), then every service name of the catalog. Each carries a
// description the shells that show them (zsh, fish) print beside it.
// After "=" (--allow ssh=CIDR) nothing is offered.
func completeSpecs(c *cobra.Command, flags ...string) {
	fn := func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if strings.Contains(toComplete, "=") {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		seen := map[string]bool{}
		ls := completionListeners(c)
		sort.SliceStable(ls, func(i, j int) bool {
			if ls[i].Port != ls[j].Port {
				return ls[i].Port < ls[j].Port
			}
			return ls[i].Proto < ls[j].Proto
		})
		for _, l := range ls {
			spec := fmt.Sprintf("%d/%s", l.Port, l.Proto)
			if seen[spec] {
				continue
			}
			seen[spec] = true
			what := "listening"
			if l.Process != "" {
				what += ": " + l.Process
			}
			out = append(out, spec+"\t"+what)
		}
		names := map[string]scan.Service{}
		for _, s := range scan.Catalog() {
			if _, ok := names[s.Name]; !ok {
				names[s.Name] = s
			}
		}
		var sorted []string
		for n := range names {
			sorted = append(sorted, n)
		}
		sort.Strings(sorted)
		for _, n := range sorted {
			s := names[n]
			out = append(out, fmt.Sprintf("%s\t%d/%s %s", n, s.Port, s.Proto, s.Description))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	for _, f := range flags {
		if err := c.RegisterFlagCompletionFunc(f, fn); err != nil {
			panic(err) // a flag registered twice, or not defined: a programming error
		}
	}
}

// completionListeners lists what listens, cheaply: the --sockets file
// already on the command line, else the live host within a short budget;
// nothing with --offline or on any error (completion never complains).
func completionListeners(c *cobra.Command) []scan.Listener {
	flag := func(name string) string {
		if f := c.Flags().Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	if file := flag("sockets"); file != "" && file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return nil
		}
		defer fh.Close()
		ls, _ := scan.ParseText(fh, file)
		return ls
	}
	if flag("offline") == "true" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveCompletionBudget)
	defer cancel()
	ls, _, err := scan.Live(ctx, scan.Options{})
	if err != nil {
		return nil
	}
	return ls
}
