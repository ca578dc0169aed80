package firewall

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sources says where each family's rules come from: a file (Rules,
// Rules6: iptables-save output; Nft: nft -j list ruleset output or nft's
// own language, holding both families), the live host, or nowhere
// (Offline). A file named "-" is standard input.
type Sources struct {
	Rules, Rules6, Nft string
	Offline            bool
	// Open opens a named input for reading and says how messages name it
	// ("-" is "stdin"); its error is the one to show.
	Open func(name string) (r io.ReadCloser, display string, err error)
	// Runner runs the commands that read live rules and nft's language;
	// nil: ExecRunner.
	Runner Runner
}

func (s Sources) runner() Runner {
	if s.Runner != nil {
		return s.Runner
	}
	return ExecRunner{}
}

// ReadsLive reports whether some family's rules come from the live host.
// A Nft file holds both families, so with it nothing is read live.
func (s Sources) ReadsLive() bool {
	return !s.Offline && s.Nft == "" && (s.Rules == "" || s.Rules6 == "")
}

// Load reads each family from its file, the live host, or nowhere; a
// family that cannot be read has no rules and a reason (FamilyRules.Why), and
// is judged unknown. host is the host the rules run on. Warnings are for
// the user; err is a file that could not be read or parsed.
func Load(ctx context.Context, src Sources, host Host) (*Loaded, []string, error) {
	l := &Loaded{Host: host}
	var warnings []string
	var live Live
	if src.ReadsLive() {
		live = LoadLive(ctx, src.runner())
		warnings = append(warnings, live.Warnings...)
		l.Nft = live.Nft
	}
	if src.Nft != "" {
		n, name, err := src.loadNftFile(ctx)
		if err != nil {
			return nil, nil, err
		}
		l.Nft = n
		for _, s := range n.Skipped {
			warnings = append(warnings, fmt.Sprintf("%s: table %s is not an IP family table: not evaluated", name, s))
		}
	}
	var notes [2]fileNotes
	for i, f := range []struct {
		fam     Family
		file    string
		live    []*Ruleset
		liveErr error
		unseen  []string
	}{{IPv4, src.Rules, live.V4, live.Err4, live.Unseen4}, {IPv6, src.Rules6, live.V6, live.Err6, live.Unseen6}} {
		r := l.Of(f.fam)
		var err error
		r.Sets, r.Why, notes[i], err = src.rulesetsFor(f.fam, f.file, f.live, f.liveErr, l.Nft)
		if err != nil {
			return nil, nil, err
		}
		// Native nftables tables the iptables view cannot show still
		// filter live traffic: only the live rules of a family are
		// subject to them. A restore fragment leaves policies to the
		// host: like unseen tables, they may drop what the file accepts.
		if r.Sets != nil {
			if f.file == "" && src.ReadsLive() {
				r.Unseen = f.unseen
			}
			r.Unseen = append(r.Unseen, notes[i].unseen...)
		}
	}
	if l.Nft != nil {
		l.Nft = l.Nft.Outline() // compiled: the rules' text is no longer needed
	}
	warnings = append(append(warnings, notes[0].warnings...), notes[1].warnings...)
	warnings = append(warnings, unknownOptionWarnings(l.V4.Sets)...)
	warnings = append(warnings, unknownOptionWarnings(l.V6.Sets)...)
	// built here, where the caller reads the rules beside its other
	// work (listing sockets): every verdict asks them
	l.Evaluator(IPv4, "")
	l.Evaluator(IPv6, "")
	return l, warnings, nil
}

// fileNotes is what a rules file leaves unsaid: warnings for stderr, and
// reasons a verdict that accepts someone is only conditional.
type fileNotes struct {
	warnings []string
	unseen   []string
}

// inputPolicy: a built-in chain ("filter INPUT") whose policy a packet for
// a local socket meets.
func inputPolicy(chain string) bool {
	return strings.HasSuffix(chain, " INPUT") || strings.HasSuffix(chain, " PREROUTING")
}

// notesOf says what a parsed rules file does not say: nothing at all (an
// empty file: every port open, which may not be what was meant), or the
// policies of a restore fragment.
func notesOf(rs *Ruleset, info SaveInfo) fileNotes {
	var n fileNotes
	for _, u := range info.Unshown {
		n.warnings = append(n.warnings, fmt.Sprintf("%s %s: its rules are not in the file; verdicts that accept someone are conditional", rs.Source, u))
		n.unseen = append(n.unseen, fmt.Sprintf("%s %s", rs.Source, u))
	}
	if len(rs.Tables) == 0 && len(info.Unshown) == 0 {
		n.warnings = append(n.warnings, fmt.Sprintf("%s holds no rules (no *table section): read as a host without %s rules, where every port is open", rs.Source, rs.Family))
		return n
	}
	var input []string
	for _, c := range info.Undeclared {
		if inputPolicy(c) {
			input = append(input, c)
		}
	}
	if len(input) > 0 {
		n.warnings = append(n.warnings, fmt.Sprintf("%s is a restore fragment: it sets no policy for %s, which stays as the host has it; verdicts that accept someone are conditional",
			rs.Source, strings.Join(input, ", ")))
		n.unseen = append(n.unseen, fmt.Sprintf("%s is a restore fragment: the policy of %s is not in it", rs.Source, strings.Join(input, ", ")))
	}
	return n
}

// rulesetsFor reads one family's rules: its file (with the Nft file's tables
// of the family beside it), the Nft file alone, the live host's, or none.
func (src Sources) rulesetsFor(fam Family, file string, live []*Ruleset, liveErr error, nft *NftRuleset) ([]*Ruleset, string, fileNotes, error) {
	flag := map[Family]string{IPv4: "--rules", IPv6: "--rules6"}[fam] // printed
	var native []*Ruleset
	if src.Nft != "" {
		native = []*Ruleset{nft.Family(fam)}
	}
	switch {
	case file == "" && src.Nft != "":
		return native, "", fileNotes{}, nil
	case file != "":
		var rs *Ruleset
		var info SaveInfo
		err := src.readSource(file, func(r io.Reader, name string) error {
			var err error
			rs, info, err = ParseSaveInfo(r, name, fam)
			return err
		})
		if err != nil {
			return nil, "", fileNotes{}, err
		}
		return append([]*Ruleset{rs}, native...), "", notesOf(rs, info), nil
	case src.Offline:
		return nil, fmt.Sprintf("%s rules not provided (--offline without %s)", fam, flag), fileNotes{}, nil
	case liveErr != nil:
		return nil, liveErr.Error(), fileNotes{}, nil
	case live == nil:
		// Read, and nothing there: an empty ruleset accepts everything.
		return []*Ruleset{{Family: fam, Source: "live (no tables loaded)"}}, "", fileNotes{}, nil
	}
	return live, "", fileNotes{}, nil
}

// readSource opens a named input and hands it to parse with its display name.
func (src Sources) readSource(file string, parse func(io.Reader, string) error) error {
	r, name, err := src.Open(file)
	if err != nil {
		return err
	}
	defer r.Close()
	return parse(r, name)
}

// loadNftFile reads the Nft file: libnftables JSON when it starts with
// "{", else nft's own language.
func (src Sources) loadNftFile(ctx context.Context) (*NftRuleset, string, error) {
	var b []byte
	var name string
	err := src.readSource(src.Nft, func(r io.Reader, display string) error {
		var err error
		name = display
		if b, err = io.ReadAll(r); err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		n, err := ParseNftJSON(bytes.NewReader(b), name)
		return n, name, err
	}
	n, err := LoadNftText(ctx, src.runner(), b, name)
	return n, name, err
}

// unknownOptionWarnings names the rules holding options the evaluator does
// not understand (verdicts that depend on them are conditional), the first
// few by line and then a count.
func unknownOptionWarnings(sets []*Ruleset) []string {
	const most = 3
	var out []string
	for _, rs := range sets {
		n := 0
		for _, t := range rs.Tables {
			for _, c := range t.Chains {
				for _, r := range c.Rules {
					if len(r.Unknown()) == 0 {
						continue
					}
					if r.Part() > 1 {
						continue // one nft rule split per set element: said once
					}
					if n < most {
						where := fmt.Sprintf("%s line %d", rs.Source, r.Line)
						if r.Native {
							where = r.Where()
						}
						out = append(out, fmt.Sprintf("%s: not understood: %s (verdicts that depend on this rule are conditional)",
							where, PrintableText(strings.Join(r.Unknown(), " "))))
					}
					n++
				}
			}
		}
		if n > most {
			out = append(out, fmt.Sprintf("%s: %d more rules with options not understood", rs.Source, n-most))
		}
	}
	return out
}

// PrintableText is s, or s quoted when it holds a character a terminal
// would act on (an escape sequence in a rules file).
func PrintableText(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !strconv.IsPrint(r) { // RuneError: a byte that is not UTF-8
			return strconv.Quote(s)
		}
	}
	return s
}
