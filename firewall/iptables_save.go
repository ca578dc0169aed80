package firewall

import (
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseError is a syntax error in a save file.
type ParseError struct {
	Source string // file name or command
	Line   int
	Text   string // the raw line
	Msg    string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s line %d: %s", e.Source, e.Line, e.Msg)
}

// quoteMax bounds how much of the offending input an error message quotes
// (in characters as printed): a binary file has "lines" of thousands of
// bytes. A message from the rule compiler, which quotes a word itself, may
// be a little longer.
const quoteMax, messageMax = 72, 120

// clipped is a piece of the input (or a message quoting it) that an error
// prints: %q and %s print at most max characters of it, then "..." and its
// length.
type clipped struct {
	s   string
	max int
}

func (c clipped) Format(f fmt.State, verb rune) {
	if verb != 'q' && !printable(c.s) {
		verb = 'q' // never a raw control character on a terminal
	}
	n, end := 0, len(c.s)
	for i := 0; i < len(c.s); {
		r, size := utf8.DecodeRuneInString(c.s[i:])
		w := size
		if verb == 'q' {
			if r == utf8.RuneError && size == 1 {
				w = 4 // \xNN
			} else {
				w = len(strconv.QuoteRune(r)) - 2
			}
		}
		if n+w > c.max {
			end = i
			break
		}
		n += w
		i += size
	}
	out := c.s[:end]
	if verb == 'q' {
		out = strconv.Quote(out)
	} else if end < len(c.s) && openQuote(out) {
		out += `"` // a message cut inside a word it quotes
	}
	if end < len(c.s) {
		out += fmt.Sprintf("... (%d bytes)", len(c.s))
	}
	io.WriteString(f, out)
}

// clip is s on one line and cut at 80 bytes, for a message that quotes
// what it did not understand.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// ParseSave parses iptables-save or ip6tables-save output (with or without
// -c counters), or an iptables-restore file such as ufw's before.rules.
// name is used in errors and as the Ruleset's Source.
//
// Options and match modules it does not know are kept on the rule
// (Rule.Unknown) rather than rejected: the evaluator makes any verdict that
// depends on them conditional. Errors are kept for what iptables-restore
// itself could not read: a rule outside a table, an undeclared chain, a
// malformed address, port, counter or quote, a missing COMMIT, a line
// ending in a carriage return.
func ParseSave(r io.Reader, name string, fam Family) (*Ruleset, error) {
	rs, _, err := ParseSaveInfo(r, name, fam)
	return rs, err
}

// SaveInfo is what a save file says about itself beyond its rules.
type SaveInfo struct {
	// Undeclared names the built-in chains ("filter INPUT"), in file
	// order, of the tables the file loads whose policy it never sets (no
	// ":INPUT DROP [0:0]" or "-P INPUT DROP" line). iptables-save always
	// writes every policy, so such a file is a restore fragment (ufw's
	// before.rules is one). Restoring it leaves the chain's policy as the
	// host had it with iptables-legacy, and sets ACCEPT with iptables-nft
	// 1.8.9 (both seen in a namespace): the file alone does not say. The
	// Ruleset gives such a chain ACCEPT; the caller decides how to qualify
	// verdicts (fwaudit makes those that accept someone conditional).
	Undeclared []string
	// Unshown are iptables-nft-save's notes on tables it could not show
	// ("# Table `filter' is incompatible, use 'nft' tool."): the file
	// lacks rules the kernel has.
	Unshown []string
}

// Fragment reports whether the file leaves some built-in chain's policy
// unset.
func (i SaveInfo) Fragment() bool { return len(i.Undeclared) > 0 }

// ParseSaveInfo is ParseSave that also reports what the file leaves unsaid.
func ParseSaveInfo(r io.Reader, name string, fam Family) (*Ruleset, SaveInfo, error) {
	p := saveParser{rs: &Ruleset{Family: fam, Source: name}, name: name, fam: fam, undeclared: map[string][]string{}}
	// one string for the whole input: rule texts are slices of it
	var sb strings.Builder
	if st, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			sb.Grow(int(fi.Size()) + 1)
		}
	} else if l, ok := r.(interface{ Len() int }); ok {
		sb.Grow(l.Len() + 1)
	}
	if _, err := io.Copy(&sb, r); err != nil {
		return nil, SaveInfo{}, fmt.Errorf("reading %s: %w", name, err)
	}
	text := sb.String()
	p.lines = strings.Count(text, "\n") + 1
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		p.line++
		if err := p.parseLine(line); err != nil {
			return nil, SaveInfo{}, err
		}
	}
	if p.table != nil {
		return nil, SaveInfo{}, &ParseError{Source: name, Line: p.line, Text: "", Msg: fmt.Sprintf("table %q has no COMMIT", clipped{p.table.Name, quoteMax})}
	}
	info := SaveInfo{Unshown: p.unshown}
	for _, t := range p.rs.Tables {
		info.Undeclared = append(info.Undeclared, p.undeclared[t.Name]...)
	}
	return p.rs, info, nil
}

type saveParser struct {
	rs     *Ruleset
	name   string
	fam    Family
	line   int
	lines  int // in the whole input
	table  *Table
	chains map[string]*Chain
	// declared: the built-in chains of the open table given a policy;
	// undeclared: by table, those its last section left without one
	declared   map[string]bool
	undeclared map[string][]string
	unshown    []string
	tok        tokenizer
	slab       []Rule // rules are allocated in blocks
	arena      []rng  // and single-range address sets too
}

// newRule returns a zero Rule from the current block; nothing else ever
// writes to the block before, so it needs no clearing.
func (p *saveParser) newRule() *Rule {
	if len(p.slab) == 0 {
		p.slab = make([]Rule, 256)
	}
	r := &p.slab[0]
	p.slab = p.slab[1:]
	return r
}

func printable(s string) bool {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

// openQuote: s ends inside a Go-quoted string.
func openQuote(s string) bool {
	open := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && open:
			i++
		case s[i] == '"':
			open = !open
		}
	}
	return open
}

// errorf makes a ParseError; string arguments are pieces of the input and
// are clipped, as is the message of an error argument.
func (p *saveParser) errorf(text, format string, args ...any) error {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = clipped{v, quoteMax}
		case error:
			args[i] = clipped{v.Error(), messageMax}
		}
	}
	return &ParseError{Source: p.name, Line: p.line, Text: text, Msg: fmt.Sprintf(format, args...)}
}

func (p *saveParser) parseLine(raw string) error {
	line := strings.TrimSpace(raw)
	if strings.HasSuffix(raw, "\r") && !strings.HasPrefix(line, "#") {
		// both iptables-restore backends refuse it ("table name 'filter\r'
		// invalid", "Bad argument", "Invalid target name"), comments aside
		return p.errorf(raw, "line ends in a carriage return (CRLF line ends): iptables-restore refuses it; convert the file to LF line ends (dos2unix)")
	}
	switch {
	case strings.HasPrefix(line, "# Table `") && strings.Contains(line, "incompatible"):
		p.unshown = append(p.unshown, fmt.Sprintf("line %d: %s", p.line, clipped{strings.TrimSpace(line[1:]), messageMax}))
		return nil
	case line == "" || line[0] == '#':
		return nil
	case line[0] == '*':
		if p.table != nil {
			return p.errorf(raw, "table %q starts before table %q is committed", line[1:], p.table.Name)
		}
		name := strings.TrimSpace(line[1:])
		if name == "" || strings.ContainsAny(name, " \t") {
			return p.errorf(raw, "bad table name %q", line)
		}
		if _, ok := builtinChains[name]; !ok {
			// both restore backends refuse a table the kernel lacks
			return p.errorf(raw, "unknown table %q (iptables has filter, nat, mangle, raw and security)", name)
		}
		// iptables-restore flushes each table it is given (without
		// --noflush), so a table named twice keeps only its last section
		// (both backends, seen in a namespace)
		p.rs.Tables = slices.DeleteFunc(p.rs.Tables, func(t *Table) bool { return t.Name == name })
		p.table = p.rs.table(name)
		p.chains, p.declared = map[string]*Chain{}, map[string]bool{}
		for _, c := range p.table.Chains {
			p.chains[c.Name] = c
		}
		return nil
	case line == "COMMIT":
		if p.table == nil {
			return p.errorf(raw, "COMMIT outside a table")
		}
		var missing []string
		for _, c := range builtinChains[p.table.Name] {
			// a nat chain's policy is ACCEPT whatever the host set:
			// iptables refuses DROP there ("The "nat" table is not
			// intended for filtering, the use of DROP is therefore
			// inhibited"), so leaving it out (as iptables-save of kernels
			// before 2.6.36 does for nat INPUT, which they lack) says
			// nothing about what gets in
			if !p.declared[c] && p.table.Name != "nat" {
				missing = append(missing, p.table.Name+" "+c)
			}
		}
		p.undeclared[p.table.Name] = missing
		p.table, p.chains, p.declared = nil, nil, nil
		return nil
	}
	if p.table == nil {
		return p.errorf(raw, "%q outside a table (no *filter line before it)", firstWord(line))
	}
	if line[0] == ':' {
		return p.parseChain(raw, line)
	}
	text := line
	var counters bool
	if line[0] == '[' {
		end := strings.IndexByte(line, ']')
		if end < 0 || !validCounters(line[1:end]) {
			return p.errorf(raw, "bad counters %q", firstWord(line))
		}
		text = strings.TrimSpace(line[end+1:])
		counters = true
	}
	toks, err := p.tok.split(text)
	if err != nil {
		return p.errorf(raw, "%v", err)
	}
	if len(toks) == 0 {
		return p.errorf(raw, "counters without a rule")
	}
	switch toks[0].s {
	case "-A", "--append", "-I", "--insert":
		return p.parseRule(raw, text, toks, counters)
	case "-N", "--new-chain":
		if len(toks) != 2 {
			return p.errorf(raw, "-N needs one chain name")
		}
		if err := chainNameError(toks[1].s); err != "" {
			return p.errorf(raw, "%s", err)
		}
		p.chain(toks[1].s, "")
		return nil
	case "-P", "--policy":
		if len(toks) != 3 {
			return p.errorf(raw, "-P needs a chain and a policy")
		}
		c, ok := p.chains[toks[1].s]
		if !ok || !isBuiltin(p.table.Name, c.Name) {
			return p.errorf(raw, "no built-in chain %q in table %s", toks[1].s, p.table.Name)
		}
		c.Policy = toks[2].s
		p.declared[c.Name] = true
		return nil
	case "-F", "--flush":
		return p.flush(raw, toks)
	case "-X", "--delete-chain":
		return p.deleteChain(raw, toks)
	case "-Z", "--zero":
		return nil // counters only
	}
	return p.errorf(raw, "unknown command %q", toks[0].s)
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

func validCounters(s string) bool {
	a, b, ok := strings.Cut(s, ":")
	return ok && isDigits(a) && isDigits(b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseChain reads ":NAME POLICY [pkts:bytes]".
// maxChainName is the longest chain name the kernel takes
// (XT_EXTENSION_MAXNAMELEN 29, less its NUL): iptables-restore refuses
// longer ones, so a file holding one was never loaded as it reads.
const maxChainName = 28

func chainNameError(name string) string {
	if len(name) > maxChainName {
		return fmt.Sprintf("chain name %q is %d characters; the kernel takes at most %d", clip(name), len(name), maxChainName)
	}
	return ""
}

func (p *saveParser) parseChain(raw, line string) error {
	f := strings.Fields(line[1:])
	if len(f) < 2 || len(f) > 3 {
		return p.errorf(raw, "bad chain line %q", line)
	}
	if len(f) == 3 && (!strings.HasPrefix(f[2], "[") || !strings.HasSuffix(f[2], "]") || !validCounters(f[2][1:len(f[2])-1])) {
		return p.errorf(raw, "bad counters %q", f[2])
	}
	name, pol := f[0], f[1]
	if err := chainNameError(name); err != "" {
		return p.errorf(raw, "%s", err)
	}
	if pol == "-" {
		pol = ""
	} else if pol != "ACCEPT" && pol != "DROP" {
		return p.errorf(raw, "bad policy %q for chain %s", pol, name)
	}
	if pol != "" && !isBuiltin(p.table.Name, name) {
		// iptables-restore refuses a policy on a user chain
		return p.errorf(raw, "policy %s on user chain %q", pol, name)
	}
	c := p.chain(name, pol)
	if pol != "" {
		c.Policy = pol
		p.declared[name] = true
	}
	return nil
}

func (p *saveParser) chain(name, pol string) *Chain {
	if c, ok := p.chains[name]; ok {
		return c
	}
	c := &Chain{Name: name, Policy: pol}
	if isBuiltin(p.table.Name, name) && pol == "" {
		c.Policy = "ACCEPT"
	}
	p.table.Chains = append(p.table.Chains, c)
	p.chains[name] = c
	return c
}

func (p *saveParser) parseRule(raw, text string, toks []token, counters bool) error {
	if len(toks) < 2 {
		return p.errorf(raw, "%s without a chain", toks[0].s)
	}
	cname := toks[1].s
	c, ok := p.chains[cname]
	if !ok {
		if !isBuiltin(p.table.Name, cname) {
			return p.errorf(raw, "chain %q is not declared in table %s", cname, p.table.Name)
		}
		c = p.chain(cname, "ACCEPT")
	}
	rest := toks[2:]
	insert := toks[0].s == "-I" || toks[0].s == "--insert"
	pos := 0
	if insert && len(rest) > 0 && isDigits(rest[0].s) {
		// base 0 as iptables' strtoul: "010" is 8 (a number out of range
		// or unread inserts first, below)
		n, _ := strconv.ParseInt(rest[0].s, 0, 0)
		pos = int(n)
		rest = rest[1:]
	}
	r := p.newRule()
	// field by field: the rule is fresh from the slab, already zero, and
	// writing the whole 256-byte struct cost a quarter of parsing a rule
	r.Table, r.Chain, r.Line, r.Text = p.table.Name, cname, p.line, text
	if err := compileRule(r, rest, p.fam, &p.arena); err != nil {
		return p.errorf(raw, "%v", err)
	}
	if insert {
		if pos < 1 || pos > len(c.Rules)+1 {
			pos = 1
		}
		c.Rules = append(c.Rules, nil)
		copy(c.Rules[pos:], c.Rules[pos-1:])
		c.Rules[pos-1] = r
		return nil
	}
	if n := len(c.Rules); n == cap(c.Rules) && n >= 1024 {
		// a long chain doubles, or grows by the lines left: append's
		// growth by a quarter would copy the pointers of a
		// 100,000-rule chain a dozen times over
		c.Rules = slices.Grow(c.Rules, min(n, p.lines-p.line+1))
	}
	c.Rules = append(c.Rules, r)
	return nil
}

// table returns the named table, made with its built-in chains when the
// ruleset has none of that name yet.
func (rs *Ruleset) table(name string) *Table {
	if t := rs.Table(name); t != nil {
		return t
	}
	t := &Table{Name: name}
	for _, c := range builtinChains[name] {
		t.Chains = append(t.Chains, &Chain{Name: c, Policy: "ACCEPT"})
	}
	rs.Tables = append(rs.Tables, t)
	return t
}

// Table returns the named table, or nil.
func (rs *Ruleset) Table(name string) *Table {
	for _, t := range rs.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Chain returns the named chain, or nil.
func (t *Table) Chain(name string) *Chain {
	if t == nil {
		return nil
	}
	for _, c := range t.Chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// RuleCount is the number of rules in all tables.
func (rs *Ruleset) RuleCount() int {
	n := 0
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			n += len(c.Rules)
		}
	}
	return n
}

type tokenizer struct{ buf []token }

// split cuts a rule line into words the way iptables-restore does:
// whitespace separates, double quotes group, and a backslash inside quotes
// escapes the next character (iptables-save writes --comment "\"").
func (t *tokenizer) split(s string) ([]token, error) {
	out := t.buf[:0]
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '"' || s[i] == '\'' {
			q := s[i]
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && q == '"' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if c == q {
					closed = true
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated quote")
			}
			out = append(out, token{s: b.String(), quoted: true})
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		out = append(out, token{s: s[i:j]})
		i = j
	}
	t.buf = out[:0]
	// the caller keeps the tokens only while compiling one rule
	return out, nil
}

// flush empties one chain, as "-F chain" does in an iptables-restore file.
// A bare "-F" is refused: iptables-legacy-restore flushes the table there,
// iptables-nft-restore 1.8.9 leaves it as it is (both seen in a namespace),
// so which rules remain depends on the backend.
func (p *saveParser) flush(raw string, toks []token) error {
	switch len(toks) {
	case 1:
		return p.errorf(raw, "-F without a chain: iptables-legacy and iptables-nft restore it differently; name the chain")
	case 2:
		c, ok := p.chains[toks[1].s]
		if !ok {
			return p.errorf(raw, "-F: no chain %q in table %s", toks[1].s, p.table.Name)
		}
		c.Rules = nil
		return nil
	}
	return p.errorf(raw, "-F takes at most one chain name")
}

// deleteChain removes one user chain, or every user chain of the table, as
// "-X [chain]" does. Like the kernel (and both restore backends) it refuses
// built-in chains, chains that still hold rules and chains a rule still
// jumps to: the whole restore then fails.
func (p *saveParser) deleteChain(raw string, toks []token) error {
	if len(toks) > 2 {
		return p.errorf(raw, "-X takes at most one chain name")
	}
	doomed := map[string]bool{}
	if len(toks) == 2 {
		name := toks[1].s
		c, ok := p.chains[name]
		if !ok || isBuiltin(p.table.Name, name) {
			return p.errorf(raw, "-X: no user chain %q in table %s", name, p.table.Name)
		}
		doomed[c.Name] = true
	} else {
		for _, c := range p.table.Chains {
			if !isBuiltin(p.table.Name, c.Name) {
				doomed[c.Name] = true
			}
		}
	}
	for _, c := range p.table.Chains {
		if doomed[c.Name] && len(c.Rules) > 0 {
			return p.errorf(raw, "-X: chain %q is not empty (flush it with -F %s first)", c.Name, c.Name)
		}
		for _, r := range c.Rules {
			if doomed[r.Target] {
				return p.errorf(raw, "-X: chain %q is still referenced by line %d", r.Target, r.Line)
			}
		}
	}
	kept := p.table.Chains[:0]
	for _, c := range p.table.Chains {
		if doomed[c.Name] {
			delete(p.chains, c.Name)
			continue
		}
		kept = append(kept, c)
	}
	p.table.Chains = kept
	return nil
}
