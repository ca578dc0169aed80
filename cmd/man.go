package cmd

import (
	"os"

	"github.com/spf13/cobra"
)

// CommandTree is fwaudit's complete command tree, as a command line sees
// it (with the help and completion commands cobra adds when it executes
// one), for generating documentation: scripts/gen-man writes the man pages
// from it, so they cannot drift from --help. The generator lives outside
// this package so that fwaudit itself does not link the man page writer.
func CommandTree() *cobra.Command {
	root := newRootCmd(&App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	return root
}
