package cmd

import (
	"errors"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/apply"
)

// TestApplyUsage: flag combinations apply would ignore or cannot honour
// are usage errors (exit 2) before anything is read or changed.
func TestApplyUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"apply", "--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"apply", "--format", "iptables"}, `unknown format "iptables" (want restore or nft)`},
		{[]string{"apply", "--confirm", "--persist"}, "--persist does not go with it"},
		{[]string{"apply", "--confirm", "rules.v4"}, "--confirm takes no FILE arguments"},
		{[]string{"apply", "--allow", "redis", "rules.v4"}, "--allow shapes the suggestion"},
		{[]string{"apply", "--allow", "nonsense=x"}, "--allow:"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := run(t, nil, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

// TestApplyExitCodes: each outcome has its documented exit code.
func TestApplyExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{&apply.Refusal{Reason: "x"}, exitRefused},
		{&apply.NotConfirmed{Dir: "d"}, exitNotConfirmed},
		{&apply.RollbackError{Dir: "d", Err: errors.New("x")}, exitRollbackFailed},
		{errors.Join(errors.New("loading"), &apply.RollbackError{Dir: "d", Err: errors.New("x")}), exitRollbackFailed},
		{errors.New("other"), exitError},
	} {
		err := applyErr(tc.err)
		code := exitError
		var ee *exitErr
		if errors.As(err, &ee) {
			code = ee.code
		}
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.err, code, tc.code)
		}
	}
}
