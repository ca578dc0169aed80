package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/report"
)

var scanFormats = []string{"table", "json"}

type scanOptions struct {
	app      *App
	in       inputOpts
	output   string
	layout   textLayout
	hostname string
}

func newScanCmd(app *App, runF func(context.Context, *scanOptions) error) *cobra.Command {
	opts := &scanOptions{app: app}
	c := &cobra.Command{
		Use:   "scan",
		Short: "List listening sockets, their services, and who can reach them",
		Long: `List every listening TCP socket and bound UDP socket with its process,
service and exposure, and the firewall's verdict for it per address family:

  open         accepted from more than half of the address space
  restricted   accepted only from some sources and/or on some interfaces
  blocked      accepted from nowhere
  conditional  depends on runtime state (rate limits, recent lists, ipsets)
               for every source; where it does for some only, the verdict
               says what is certain and adds "; conditional for SOURCES"
               (JSON: "doubtful")
  not-applicable  bound to loopback; the firewall does not matter
  unknown      the rules could not be read; the reason is given

The process names the service (prometheus on 9090 is prometheus); a name
that only the port suggests ends in "?" (service_by "port" in JSON).

A UDP socket on a port the kernel picked (net.ipv4.ip_local_port_range,
32768-60999 for saved ss/netstat output) for a program that is not a known
server (dig, host) is a client socket: shown as "(client)" ("client": true
in JSON). report raises no finding for it and counts it apart, and suggest
never opens it. A socket whose program is unknown is never taken for one.`,
		Example: `  sudo fwaudit scan
  sudo fwaudit scan -o json | jq '.sockets[] | select(.firewall.verdict=="open")'
  fwaudit scan --offline --sockets ss.txt --rules rules.v4 --rules6 rules.v6
  fwaudit scan --no-firewall            # sockets only, like ss -tunlp`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(opts.output, "output format", scanFormats); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return scanRun(c.Context(), opts)
		},
	}
	bindOutput(c, &opts.output, "table", scanFormats)
	opts.layout.bind(c)
	c.Flags().StringVar(&opts.hostname, "hostname", "", "host `NAME` to record in -o json (default: this host's name)")
	opts.in.bind(c, true)
	return c
}

func scanRun(ctx context.Context, opts *scanOptions) error {
	in, err := opts.in.load(ctx, opts.app, true)
	if err != nil {
		return err
	}
	doc := &report.ScanDoc{
		SchemaVersion: 1,
		Host:          hostOf(opts.app, in, &opts.in, opts.hostname, opts.output == "json"),
		Sockets:       report.Sockets(in.listeners, in.fw),
	}
	if in.fw != nil {
		doc.Firewall = &in.fwInfo
	}
	if opts.output == "json" {
		return doc.WriteJSON(opts.app.Stdout)
	}
	return doc.WriteTable(opts.app.Stdout, opts.layout.options(opts.app))
}

// hostOf names the audited host and says where the name came from:
// --hostname, the kernel (live), or "offline". Offline without --hostname,
// a hint names the flag when the name is shown (hint).
func hostOf(app *App, in *inputs, o *inputOpts, flag string, hint bool) report.Host {
	switch {
	case flag != "":
		return report.Host{Hostname: flag, Source: "hostname-flag"}
	case o.offline:
		if hint {
			app.hintf("--offline records the host as \"offline\": --hostname NAME names it")
		}
		return report.Host{Hostname: in.hostname, Source: "offline"}
	}
	return report.Host{Hostname: in.hostname, Source: "kernel"}
}
