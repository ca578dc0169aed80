package scan

import (
	"context"
	"errors"
)

var errTODO = errors.New("not implemented")

// Options for a live scan.
type Options struct{}

// Live lists the host's listeners. Warnings are for the user (stderr), once
// each; err is set only when nothing could be listed.
func Live(ctx context.Context, opts Options) (ls []Listener, warnings []string, err error) {
	return nil, nil, errTODO
}

// Established lists established TCP connections (for lockout checks).
func Established(ctx context.Context) ([]Conn, error) { return nil, errTODO }
