package firewall

// This file holds the agreed API while the real implementation is written;
// each function moves to its own file (iptables_save.go, eval.go, live.go,
// analyze.go) and this file is deleted.

import (
	"context"
	"errors"
	"io"
)

var errTODO = errors.New("not implemented")

type matchSet struct{}

// ParseError is a syntax error in a save file.
type ParseError struct {
	Source string // file name or command
	Line   int
	Text   string // the raw line
	Msg    string
}

func (e *ParseError) Error() string { return e.Source + ": " + e.Msg }

// ParseSave parses iptables-save or ip6tables-save output (with or without
// -c counters). name is used in errors and as the Ruleset's Source.
func ParseSave(r io.Reader, name string, fam Family) (*Ruleset, error) { return nil, errTODO }

// Evaluator answers queries for one family; every ruleset given applies to
// every packet (iptables-legacy and iptables-nft both loaded).
type Evaluator struct{}

func NewEvaluator(fam Family, rulesets []*Ruleset, host Host) *Evaluator { return &Evaluator{} }

// Evaluate returns who can open a NEW connection to q.
func (e *Evaluator) Evaluate(q Query) Result { return Result{Verdict: Unknown} }

// Decide walks one packet through the rules, recording every step.
func (e *Evaluator) Decide(p Packet) Decision { return Decision{} }

// Runner runs a command; the real one is ExecRunner.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// Live is what could be read of the live host's rules.
type Live struct {
	V4, V6     []*Ruleset // one per backend holding rules (legacy, nft)
	Err4, Err6 error      // why a family could not be read (nil when read)
	Warnings   []string
}

// LoadLive reads the live rules of both families through r.
func LoadLive(ctx context.Context, r Runner) Live { return Live{Err4: errTODO, Err6: errTODO} }

// Issue is a rule that can never change the outcome.
type Issue struct {
	Kind string // "duplicate" or "shadowed"
	Rule *Rule
	By   *Rule // the earlier rule that makes it dead (duplicate: the first copy)
}

// Analyze finds duplicate and shadowed rules in the filter table's INPUT
// path of rs.
func Analyze(rs *Ruleset) []Issue { return nil }
