// Command fwaudit audits which listening services the firewall lets in and
// suggests a hardened ruleset. The commands live in package cmd.
package main

import (
	"os"

	"github.com/fwaudit/fwaudit/cmd"
)

func main() { os.Exit(cmd.Main()) }
