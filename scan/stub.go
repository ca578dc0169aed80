package scan

// The agreed API while the implementation is written; functions move to
// their own files and this file is deleted.

import (
	"context"
	"errors"
	"io"
)

var errTODO = errors.New("not implemented")

// ParseError is a syntax error in saved ss/netstat output.
type ParseError struct {
	Source string
	Line   int
	Text   string
	Msg    string
}

func (e *ParseError) Error() string { return e.Source + ": " + e.Msg }

// ParseText reads saved `ss -tunlp` (any flag order, with or without -p or a
// header) or `netstat -tunlp` output. name is used in errors.
func ParseText(r io.Reader, name string) ([]Listener, error) { return nil, errTODO }

// Options for a live scan.
type Options struct{}

// Live lists the host's listeners. Warnings are for the user (stderr), once
// each; err is set only when nothing could be listed.
func Live(ctx context.Context, opts Options) (ls []Listener, warnings []string, err error) {
	return nil, nil, errTODO
}

// Established lists established TCP connections (for lockout checks).
func Established(ctx context.Context) ([]Conn, error) { return nil, errTODO }

// Service is one entry of the built-in catalog.
type Service struct {
	Name        string
	Proto       string // "tcp", "udp"
	Port        uint16
	Sensitive   bool // databases, caches, admin interfaces
	Cleartext   bool // plain-text protocols
	Description string
}

// Catalog returns every entry, sorted by port then proto.
func Catalog() []Service { return nil }

// LookupService finds a service by canonical name.
func LookupService(name string) (Service, bool) { return Service{}, false }

// Identify names the service behind a socket: by process name first (sshd
// on 5622 is ssh), then by port and proto.
func Identify(proto string, port uint16, process string) (Service, bool) { return Service{}, false }

// ExposureOf classifies a bind address (and bound device).
func ExposureOf(addr string, device string) Exposure { return ExposurePublic }
