package cmd

import "testing"

// TestVersionFlag checks that --version prints what the version command
// prints: the version set at build time (-X …/cmd.version).
func TestVersionFlag(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "1.2.3-test"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		t.Run(args[0], func(t *testing.T) {
			stdout, stderr, code := run(t, nil, args...)
			if code != exitOK || stdout != "fwaudit 1.2.3-test\n" || stderr != "" {
				t.Errorf("fwaudit %s: exit %d, stdout %q, stderr %q; want exit 0, stdout %q, no stderr",
					args[0], code, stdout, stderr, "fwaudit 1.2.3-test\n")
			}
		})
	}
	t.Run("-v is not --version", func(t *testing.T) {
		stdout, _, code := run(t, nil, "-v")
		if code != exitUsage || stdout != "" {
			t.Errorf("fwaudit -v: exit %d, stdout %q; want a usage error", code, stdout)
		}
	})
}
