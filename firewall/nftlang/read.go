// Package nftlang reads nft's own language (the text of `nft list
// ruleset`, or an /etc/nftables.conf) into the very tree `nft -j list
// ruleset` would print for it: the decoded libnftables JSON array, made
// of map[string]any, []any, string, json.Number, bool and nil. It
// builds nothing else; the firewall package compiles that tree with the
// same front end that reads nft's JSON, so one compiler reads both.
//
// It knows a part of the language only: every construct it does not
// know, and every input where it cannot be sure the kernel would take
// what it took, ends in an error that wraps ErrUnsupported (at file:line),
// and the caller hands the text to nft itself instead. It never guesses.
package nftlang

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// ErrUnsupported: the text uses something this reader does not
// handle; nft itself must read it.
var ErrUnsupported = errors.New("nft text construct not handled by the built-in reader")

// textError is an error of the reader, at file:line.
type textError struct {
	file string
	line int
	msg  string
}

func (e *textError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
}

func (e *textError) Unwrap() error { return ErrUnsupported }

// Files reads the files an nft text includes.
type Files interface {
	ReadFile(path string) ([]byte, error)
	Glob(pattern string) ([]string, error)
}

// includeDir is where nft looks for an include's relative path.
const includeDir = "/etc"

type osFiles struct{}

func (osFiles) ReadFile(p string) ([]byte, error)     { return os.ReadFile(p) }
func (osFiles) Glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

// Tree is the text as the decoded `nft -j list ruleset` array. name is
// the file's path (includes are found relative to its directory) or a
// label such as "stdin"; files reads includes (nil: the host's files).
// The error wraps ErrUnsupported when the text must be read by nft
// instead.
func Tree(text []byte, name string, files Files) ([]any, error) {
	if files == nil {
		files = osFiles{}
	}
	p := &ntParser{files: files, defines: map[string][]ntok{}, sels: map[[2]string]map[string]any{}}
	toks, err := p.lexFile(text, name, 0)
	if err != nil {
		return nil, err
	}
	p.toks = toks
	if err := p.parseTop(); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return p.emit(), nil
}

// JSON is the text as `nft -j list ruleset` prints it.
func JSON(text []byte, name string, files Files) ([]byte, error) {
	doc, err := Tree(text, name, files)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(text) * 4)
	WriteJSON(&b, map[string]any{"nftables": doc})
	return b.Bytes(), nil
}

// token kinds
const (
	tkWord = iota
	tkString
	tkPunct // { } ; , ( ) | & : .
	tkOp    // == != < > <= >= =
	tkNL
	tkEOF
)

type ntok struct {
	kind int
	s    string
	file int32
	line int32
}

type ntParser struct {
	files   Files
	names   []string // files read, by index
	defines map[string][]ntok
	toks    []ntok
	pos     int
	depth   int
	tables  []*ntTable
	// chains named by jump/goto in the statement being read
	pendingRefs []ntok
	chainRefs   []ntRef // every jump/goto, checked at the end
	// sels holds one tree per payload field or meta key (see payload)
	sels map[[2]string]map[string]any
}

func (p *ntParser) errAt(t ntok, format string, args ...any) error {
	return &textError{file: p.names[t.file], line: int(t.line), msg: fmt.Sprintf(format, args...)}
}

// lexFile splits one file into tokens, splicing in the files it includes
// and expanding defines as they come.
func (p *ntParser) lexFile(text []byte, name string, nest int) ([]ntok, error) {
	if nest > 16 {
		return nil, &textError{file: name, line: 1, msg: "includes nested too deep"}
	}
	if !utf8.Valid(text) || bytes.IndexByte(text, 0) >= 0 {
		return nil, &textError{file: name, line: 1, msg: "not UTF-8 text"}
	}
	fi := int32(len(p.names))
	p.names = append(p.names, name)
	out := make([]ntok, 0, len(text)/4+16) // about one token per four bytes
	line := int32(1)
	s := string(text)
	i := 0
	emit := func(kind int, v string) {
		out = append(out, ntok{kind: kind, s: v, file: fi, line: line})
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\n':
			emit(tkNL, "")
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			line++
			i += 2
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			if i == len(s) {
				// nft refuses a comment that the input's end cuts off
				return nil, &textError{file: name, line: int(line), msg: "comment without a line end"}
			}
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 || strings.IndexByte(s[i+1:i+1+j], '\n') >= 0 {
				return nil, &textError{file: name, line: int(line), msg: "unterminated string"}
			}
			emit(tkString, s[i+1:i+1+j])
			i += j + 2
		case strings.IndexByte("{};,()|&", c) >= 0:
			emit(tkPunct, s[i:i+1])
			i++
		case c == '!' || c == '=' || c == '<' || c == '>':
			j := i
			for j < len(s) && strings.IndexByte("!=<>", s[j]) >= 0 {
				j++
			}
			op := s[i:j]
			switch op {
			case "==", "!=", "<", ">", "<=", ">=", "=":
			default:
				return nil, &textError{file: name, line: int(line), msg: "operator " + op + " not handled"}
			}
			emit(tkOp, op)
			i = j
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n#\"{};,()|&!=<>", s[j]) < 0 {
				if s[j] == '\\' {
					return nil, &textError{file: name, line: int(line), msg: "backslash not handled"}
				}
				j++
			}
			w := s[i:j]
			i = j
			switch {
			case w == ":" || w == ".":
				emit(tkPunct, w)
			case strings.HasSuffix(w, ":") && !strings.HasSuffix(w, "::"):
				emit(tkWord, w[:len(w)-1])
				emit(tkPunct, ":")
			default:
				emit(tkWord, w)
			}
		}
	}
	emit(tkNL, "eof") // the input's end, marked
	return p.preprocess(out, name, nest)
}

// preprocess handles include, define, redefine and undefine, and expands
// $variables, in one pass over a file's tokens.
func (p *ntParser) preprocess(in []ntok, name string, nest int) ([]ntok, error) {
	out := make([]ntok, 0, len(in))
	lineStart := true
	for i := 0; i < len(in); i++ {
		t := in[i]
		if lineStart && t.kind == tkWord {
			switch t.s {
			case "include":
				if i+1 >= len(in) || in[i+1].kind != tkString {
					return nil, p.errAt(t, "include wants a quoted file name")
				}
				toks, err := p.include(in[i+1], name, nest)
				if err != nil {
					return nil, err
				}
				out = append(out, toks...)
				i++
				continue
			case "define", "redefine":
				if i+3 >= len(in) || in[i+1].kind != tkWord || in[i+2].kind != tkOp || in[i+2].s != "=" {
					return nil, p.errAt(t, "define not understood")
				}
				vname := in[i+1].s
				if _, dup := p.defines[vname]; dup && t.s == "define" {
					return nil, p.errAt(t, "variable %s defined twice", vname)
				}
				j := i + 3
				var val []ntok
				depth := 0
				for ; j < len(in); j++ {
					x := in[j]
					if depth == 0 && (x.kind == tkNL || (x.kind == tkPunct && x.s == ";")) {
						break
					}
					if x.kind == tkPunct && x.s == "{" {
						depth++
					}
					if x.kind == tkPunct && x.s == "}" {
						depth--
					}
					if x.kind == tkNL {
						continue
					}
					if x.kind == tkWord && strings.HasPrefix(x.s, "$") {
						v, ok := p.defines[x.s[1:]]
						if !ok {
							return nil, p.errAt(x, "undefined variable %s", x.s)
						}
						val = append(val, v...)
						continue
					}
					val = append(val, x)
				}
				if j >= len(in) || (in[j].kind == tkNL && in[j].s == "eof") {
					return nil, p.errAt(t, "define %s: nft wants a line end after it", vname)
				}
				if len(val) == 0 || depth != 0 {
					return nil, p.errAt(t, "define %s not understood", vname)
				}
				p.defines[vname] = val
				i = j - 1
				continue
			case "undefine":
				if i+1 >= len(in) || in[i+1].kind != tkWord {
					return nil, p.errAt(t, "undefine not understood")
				}
				if _, ok := p.defines[in[i+1].s]; !ok {
					return nil, p.errAt(t, "undefined variable %s", in[i+1].s)
				}
				delete(p.defines, in[i+1].s)
				i++
				continue
			}
		}
		if t.kind == tkWord && strings.HasPrefix(t.s, "$") {
			v, ok := p.defines[t.s[1:]]
			if !ok {
				return nil, p.errAt(t, "undefined variable %s", t.s)
			}
			for _, x := range v {
				x.file, x.line = t.file, t.line
				out = append(out, x)
			}
			lineStart = false
			continue
		}
		out = append(out, t)
		lineStart = t.kind == tkNL || (t.kind == tkPunct && (t.s == ";" || t.s == "{" || t.s == "}"))
	}
	return out, nil
}

// include reads the files an include names, where nft finds them: an
// absolute path as it is, any other path under nft's include directory
// (/etc: `include "nftables.d/*.nft"` is /etc/nftables.d/*.nft), but
// "./" and "../" from the directory nft was started in, which this
// reader cannot know (nft must read those). A glob may match nothing.
func (p *ntParser) include(t ntok, from string, nest int) ([]ntok, error) {
	path := t.s
	switch {
	case filepath.IsAbs(path):
	case strings.HasPrefix(path, "./") || strings.HasPrefix(path, "../"):
		return nil, p.errAt(t, "include %q relative to the directory nft runs in not handled", path)
	default:
		path = filepath.Join(includeDir, path)
	}
	var paths []string
	if strings.ContainsAny(path, "*?[") {
		m, err := p.files.Glob(path)
		if err != nil {
			return nil, p.errAt(t, "include %q: %v", t.s, err)
		}
		sort.Strings(m)
		paths = m
	} else {
		paths = []string{path}
	}
	var out []ntok
	for _, f := range paths {
		b, err := p.files.ReadFile(f)
		if err != nil {
			return nil, p.errAt(t, "include %q: %v", t.s, err)
		}
		toks, err := p.lexFile(b, f, nest+1)
		if err != nil {
			return nil, err
		}
		// the included file's end of input is not the end of ours
		toks = toks[:len(toks)-1]
		out = append(out, toks...)
		out = append(out, ntok{kind: tkNL, file: t.file, line: t.line})
	}
	return out, nil
}

// the ruleset being built

type ntTable struct {
	family, name string
	comment      string
	sets         []*ntSet
	setByName    map[string]*ntSet
	chains       []*ntChain
	chainByName  map[string]*ntChain
}

type ntChain struct {
	name     string
	decl     ntok
	base     bool
	typ      string
	hook     string
	prio     int
	policy   string
	devs     []string
	comment  string
	rules    []*ntRule
	refs     []string // chains this one jumps to
	restrict []ntRestrict
}

// ntRestrict: a statement the kernel accepts only on some hooks (or
// only in a nat chain).
type ntRestrict struct {
	tok   ntok
	what  string
	hooks []string
	nat   bool
}

type ntRule struct {
	expr    []any
	comment string
}

type ntSet struct {
	name     string
	isMap    bool
	keyTypes []string // one per part of a concatenation
	dataType string
	flags    []string
	ivals    []*ntElem // an interval set's elements, sorted
	plain    []*ntElem // other sets' elements, in order
	extra    map[string]any
	decl     ntok
}

func (p *ntParser) peek() ntok {
	if p.pos >= len(p.toks) {
		return ntok{kind: tkEOF}
	}
	return p.toks[p.pos]
}

func (p *ntParser) next() ntok {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

func (p *ntParser) last() ntok {
	if p.pos > 0 && p.pos-1 < len(p.toks) {
		return p.toks[p.pos-1]
	}
	if len(p.toks) > 0 {
		return p.toks[len(p.toks)-1]
	}
	return ntok{}
}

func (p *ntParser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tkPunct && t.s == s
}

func (p *ntParser) isWord(s string) bool {
	t := p.peek()
	return t.kind == tkWord && t.s == s
}

func (p *ntParser) expectPunct(s string) error {
	t := p.next()
	if t.kind != tkPunct || t.s != s {
		return p.errAt(t, "expected %q, found %s", s, tokText(t))
	}
	return nil
}

func (p *ntParser) word() (ntok, error) {
	t := p.next()
	if t.kind != tkWord {
		return t, p.errAt(t, "expected a word, found %s", tokText(t))
	}
	return t, nil
}

// name is an identifier or a quoted string.
func (p *ntParser) name() (ntok, error) {
	t := p.next()
	if t.kind != tkWord {
		// nft takes a quoted name in some places only
		return t, p.errAt(t, "expected a name, found %s", tokText(t))
	}
	if t.kind == tkWord && (!isIdent(t.s) || ntKeywords[t.s]) {
		return t, p.errAt(t, "name %q not handled (nft may take it for a keyword)", t.s)
	}
	return t, nil
}

// ntKeywords are words of nft's language that nft does not take as an
// unquoted name (a conservative list: some of them it would).
var ntKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`accept drop reject jump goto return continue counter log limit ip ip6
		inet arp bridge netdev tcp udp udplite sctp dccp th icmp icmpv6 icmpx igmp meta ct fib dnat snat
		masquerade redirect fwd dup queue tproxy notrack synproxy quota meter comment table chain set map
		rule type hook priority policy device devices flags elements element add update delete insert
		flush create include define redefine undefine mark iif oif iifname oifname vmap to with handle
		position index timeout expires size typeof ruleset describe list reset rename flowtable monitor
		export import secmark ah esp comp vlan ether numgen jhash symhash hash osf socket rt exthdr ipsec
		level prefix group random persistent fully-random over burst rate packets bytes state status
		direction l4proto nfproto saddr daddr sport dport protocol nexthdr length ttl dscp ecn sequence
		dynamic constant interval auto-merge gc-interval and or xor lshift rshift not exists missing
		missing dport sport last counters quotas limits helper helpers cgroup skuid skgid pkttype
		priority meta nftrace rtclassid ibrname obrname cpu iifgroup oifgroup ipsec sdif sdifname
		original reply label zone event expectation ct_state ct_status verdict`) {
		m[w] = true
	}
	return m
}()

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.' || c == '/'):
		default:
			return false
		}
	}
	return true
}

func tokText(t ntok) string {
	switch t.kind {
	case tkNL:
		return "end of line"
	case tkEOF:
		return "end of input"
	case tkString:
		return fmt.Sprintf("%q", t.s)
	}
	return fmt.Sprintf("%q", t.s)
}

// skipNL skips line ends.
func (p *ntParser) skipNL() {
	for p.peek().kind == tkNL {
		p.next()
	}
}

// inBlock skips the blank lines and semicolons between the statements
// of a { } block; false once it has read the block's closing brace.
func (p *ntParser) inBlock() bool {
	for {
		p.skipNL()
		if !p.isPunct(";") {
			break
		}
		p.next()
	}
	if p.isPunct("}") {
		p.next()
		return false
	}
	return true
}

// endStmt ends a statement: a line end or ';'; '}' or the input's end
// only where allowed.
func (p *ntParser) endStmt(closeOK bool) error {
	t := p.peek()
	switch {
	case t.kind == tkNL, t.kind == tkPunct && t.s == ";":
		p.next()
		return nil
	case t.kind == tkEOF:
		return nil
	case closeOK && t.kind == tkPunct && t.s == "}":
		return nil
	}
	return p.errAt(t, "expected a line end or ';', found %s", tokText(t))
}

var nftFamilies = map[string]bool{"ip": true, "ip6": true, "inet": true, "arp": true, "bridge": true, "netdev": true}

// family reads an optional family name (ip when none).
func (p *ntParser) family() string {
	t := p.peek()
	if t.kind == tkWord && nftFamilies[t.s] {
		// "table ip" alone would name a table "ip": look one further
		if p.pos+1 < len(p.toks) {
			n := p.toks[p.pos+1]
			if n.kind == tkWord || n.kind == tkString {
				p.next()
				return t.s
			}
		}
	}
	return "ip"
}

func (p *ntParser) table(fam, name string) *ntTable {
	for _, t := range p.tables {
		if t.family == fam && t.name == name {
			return t
		}
	}
	t := &ntTable{family: fam, name: name, setByName: map[string]*ntSet{}, chainByName: map[string]*ntChain{}}
	p.tables = append(p.tables, t)
	return t
}

func (p *ntParser) findTable(fam, name string) *ntTable {
	for _, t := range p.tables {
		if t.family == fam && t.name == name {
			return t
		}
	}
	return nil
}

func (p *ntParser) parseTop() error {
	for {
		p.skipNL()
		for p.isPunct(";") {
			p.next()
			p.skipNL()
		}
		t := p.peek()
		if t.kind == tkEOF {
			return nil
		}
		if t.kind != tkWord {
			return p.errAt(t, "unexpected %s", tokText(t))
		}
		p.next()
		var err error
		switch t.s {
		case "table":
			err = p.tableCmd(t, false)
		case "add", "create", "insert", "flush", "delete":
			err = p.command(t)
		default:
			err = p.errAt(t, "command %q not handled", t.s)
		}
		if err != nil {
			return err
		}
		if err := p.endStmt(false); err != nil {
			return err
		}
	}
}

// tableCmd reads "table [family] name [{ ... }]".
func (p *ntParser) tableCmd(kw ntok, create bool) error {
	fam := p.family()
	nt, err := p.name()
	if err != nil {
		return err
	}
	if create && p.findTable(fam, nt.s) != nil {
		return p.errAt(kw, "create table: table %s %s exists", fam, nt.s)
	}
	tb := p.table(fam, nt.s)
	if !p.isPunct("{") {
		return nil
	}
	p.next()
	for {
		if !p.inBlock() {
			return nil
		}
		w, err := p.word()
		if err != nil {
			return err
		}
		switch w.s {
		case "chain":
			n, err := p.name()
			if err != nil {
				return err
			}
			if err := p.chainDecl(tb, n, false); err != nil {
				return err
			}
		case "set", "map":
			n, err := p.name()
			if err != nil {
				return err
			}
			if err := p.setDecl(tb, n, w.s == "map", false); err != nil {
				return err
			}
		case "comment":
			c := p.next()
			if c.kind != tkString {
				return p.errAt(c, "comment wants a quoted string")
			}
			tb.comment = c.s
		default:
			return p.errAt(w, "%q in a table not handled", w.s)
		}
		// nft wants a line end or ';' after each, even before '}'
		if err := p.endStmt(false); err != nil {
			return err
		}
	}
}

// command reads add/create/insert/flush/delete commands.
func (p *ntParser) command(kw ntok) error {
	obj, err := p.word()
	if err != nil {
		return err
	}
	if kw.s == "flush" && obj.s == "ruleset" {
		if p.peek().kind == tkWord && nftFamilies[p.peek().s] {
			return p.errAt(obj, "flush ruleset of one family not handled")
		}
		p.tables = nil
		return nil
	}
	switch kw.s + " " + obj.s {
	case "add table", "create table":
		return p.tableCmd(kw, kw.s == "create")
	case "delete table":
		fam := p.family()
		n, err := p.name()
		if err != nil {
			return err
		}
		for i, t := range p.tables {
			if t.family == fam && t.name == n.s {
				p.tables = append(p.tables[:i:i], p.tables[i+1:]...)
				return nil
			}
		}
		return p.errAt(kw, "delete table: no table %s %s", fam, n.s)
	case "add chain", "create chain", "flush chain":
		tb, n, err := p.tableAndName(kw)
		if err != nil {
			return err
		}
		if kw.s == "flush" {
			c := tb.chainByName[n.s]
			if c == nil {
				return p.errAt(kw, "flush chain: no chain %s", n.s)
			}
			c.rules = nil
			return nil
		}
		return p.chainDecl(tb, n, kw.s == "create")
	case "add set", "create set", "add map", "create map":
		tb, n, err := p.tableAndName(kw)
		if err != nil {
			return err
		}
		return p.setDecl(tb, n, obj.s == "map", kw.s == "create")
	case "add element":
		tb, n, err := p.tableAndName(kw)
		if err != nil {
			return err
		}
		s := tb.setByName[n.s]
		if s == nil {
			return p.errAt(n, "no set %s in table %s %s", n.s, tb.family, tb.name)
		}
		return p.setElements(tb, s, kw)
	case "add rule", "insert rule":
		tb, n, err := p.tableAndName(kw)
		if err != nil {
			return err
		}
		c := tb.chainByName[n.s]
		if c == nil {
			return p.errAt(n, "no chain %s in table %s %s", n.s, tb.family, tb.name)
		}
		r, err := p.rule(tb, c)
		if err != nil {
			return err
		}
		if kw.s == "insert" {
			c.rules = append([]*ntRule{r}, c.rules...)
		} else {
			c.rules = append(c.rules, r)
		}
		return nil
	}
	return p.errAt(kw, "%s %s not handled", kw.s, obj.s)
}

func (p *ntParser) tableAndName(kw ntok) (*ntTable, ntok, error) {
	fam := p.family()
	tn, err := p.name()
	if err != nil {
		return nil, tn, err
	}
	tb := p.findTable(fam, tn.s)
	if tb == nil {
		return nil, tn, p.errAt(tn, "no table %s %s", fam, tn.s)
	}
	n, err := p.name()
	return tb, n, err
}

// standard priorities by name, per family
func prioName(fam, hook, name string) (int, bool) {
	if fam == "bridge" {
		switch name {
		case "dstnat":
			return -300, hook == "prerouting"
		case "filter":
			return -200, true
		case "out":
			return 100, hook == "output"
		case "srcnat":
			return 300, hook == "postrouting"
		}
		return 0, false
	}
	switch name {
	case "raw":
		return -300, true
	case "mangle":
		return -150, true
	case "dstnat":
		return -100, hook == "prerouting"
	case "filter":
		return 0, true
	case "security":
		return 50, true
	case "srcnat":
		return 100, hook == "postrouting"
	}
	return 0, false
}

// chainDecl reads "chain name [{ ... }]" after the name.
func (p *ntParser) chainDecl(tb *ntTable, n ntok, create bool) error {
	c := tb.chainByName[n.s]
	if c != nil && create {
		return p.errAt(n, "create chain: chain %s exists", n.s)
	}
	if c == nil {
		c = &ntChain{name: n.s, decl: n}
		tb.chainByName[n.s] = c
		tb.chains = append(tb.chains, c)
	}
	if !p.isPunct("{") {
		return nil
	}
	p.next()
	for {
		if !p.inBlock() {
			return nil
		}
		t := p.peek()
		switch {
		case t.kind == tkWord && t.s == "type":
			p.next()
			if err := p.chainType(tb, c, t); err != nil {
				return err
			}
		case t.kind == tkWord && t.s == "policy":
			p.next()
			w, err := p.word()
			if err != nil {
				return err
			}
			if w.s != "accept" && w.s != "drop" {
				return p.errAt(w, "policy %q not handled", w.s)
			}
			if !c.base {
				return p.errAt(w, "policy on a chain without a hook")
			}
			c.policy = w.s
		case t.kind == tkWord && t.s == "comment" && p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == tkString &&
			p.pos+2 < len(p.toks) && (p.toks[p.pos+2].kind == tkNL || p.toks[p.pos+2].s == ";"):
			p.next()
			c.comment = p.next().s
		default:
			r, err := p.rule(tb, c)
			if err != nil {
				return err
			}
			c.rules = append(c.rules, r)
		}
		if err := p.endStmt(false); err != nil {
			return err
		}
	}
}

var chainHooks = map[string]map[string]bool{
	"filter": {"prerouting": true, "input": true, "forward": true, "output": true, "postrouting": true},
	"nat":    {"prerouting": true, "input": true, "output": true, "postrouting": true},
	"route":  {"output": true},
}

// chainType reads "type T hook H [device D] priority P" (after "type").
func (p *ntParser) chainType(tb *ntTable, c *ntChain, kw ntok) error {
	typ, err := p.word()
	if err != nil {
		return err
	}
	if hw, err := p.word(); err != nil || hw.s != "hook" {
		return p.errAt(hw, "chain type wants a hook")
	}
	hook, err := p.word()
	if err != nil {
		return err
	}
	var devs []string
	if p.isWord("device") || p.isWord("devices") {
		p.next()
		if p.peek().kind == tkOp && p.peek().s == "=" {
			p.next()
		}
		if p.isPunct("{") {
			p.next()
			for {
				p.skipNL()
				d := p.next()
				if d.kind != tkString && d.kind != tkWord {
					return p.errAt(d, "device name wanted")
				}
				devs = append(devs, d.s)
				p.skipNL()
				if p.isPunct(",") {
					p.next()
					continue
				}
				if err := p.expectPunct("}"); err != nil {
					return err
				}
				break
			}
		} else {
			d := p.next()
			if d.kind != tkString && d.kind != tkWord {
				return p.errAt(d, "device name wanted")
			}
			devs = []string{d.s}
		}
	}
	switch tb.family {
	case "ip", "ip6", "inet":
		ok := chainHooks[typ.s][hook.s]
		if typ.s == "route" && tb.family == "inet" {
			ok = false
		}
		if hook.s == "ingress" && tb.family == "inet" && typ.s == "filter" && len(devs) > 0 {
			ok = true
		}
		if !ok || (len(devs) > 0 && hook.s != "ingress") {
			return p.errAt(typ, "chain type %s hook %s not handled in family %s", typ.s, hook.s, tb.family)
		}
	case "netdev":
		if typ.s != "filter" || hook.s != "ingress" || len(devs) == 0 {
			return p.errAt(typ, "netdev chain type %s hook %s not handled", typ.s, hook.s)
		}
	default:
		if typ.s != "filter" || !chainHooks["filter"][hook.s] && !(tb.family == "arp" && hook.s == "input") {
			return p.errAt(typ, "chain type %s hook %s not handled in family %s", typ.s, hook.s, tb.family)
		}
	}
	if pw, err := p.word(); err != nil || pw.s != "priority" {
		return p.errAt(pw, "chain type wants a priority")
	}
	prio, err := p.priority(tb.family, hook.s)
	if err != nil {
		return err
	}
	if c.base && (c.typ != typ.s || c.hook != hook.s || c.prio != prio) {
		return p.errAt(kw, "chain %s declared again with another type, hook or priority", c.name)
	}
	if !c.base && len(c.rules) > 0 {
		return p.errAt(kw, "chain %s gets a hook after it has rules", c.name)
	}
	c.base, c.typ, c.hook, c.prio, c.devs = true, typ.s, hook.s, prio, devs
	if c.policy == "" {
		c.policy = "accept"
	}
	return nil
}

// priority reads a number, or a standard name with an optional +/- N.
func (p *ntParser) priority(fam, hook string) (int, error) {
	t := p.next()
	if t.kind != tkWord {
		return 0, p.errAt(t, "priority wanted")
	}
	if n, ok := smallInt(t.s, true); ok {
		return n, nil
	}
	base, ok := prioName(fam, hook, t.s)
	if !ok {
		return 0, p.errAt(t, "priority %q not handled for hook %s in family %s", t.s, hook, fam)
	}
	if p.isWord("+") || p.isWord("-") {
		sign := p.next().s
		nt := p.next()
		n, ok := smallInt(nt.s, false)
		if nt.kind != tkWord || !ok {
			return 0, p.errAt(nt, "priority offset wanted")
		}
		if sign == "-" {
			n = -n
		}
		base += n
	}
	return base, nil
}

// smallInt reads a decimal integer of at most 9 digits.
func smallInt(s string, signed bool) (int, bool) {
	neg := false
	if signed && strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// check refuses what the kernel would refuse and this reader cannot
// judge otherwise: jumps to chains that do not exist or to base chains,
// loops, and statements on hooks or in chain types that do not allow
// them.
func (p *ntParser) check() error {
	for _, r := range p.chainRefs {
		if p.findTable(r.tb.family, r.tb.name) != r.tb {
			continue // the table was deleted
		}
		c := r.tb.chainByName[r.tok.s]
		if c == nil {
			return p.errAt(r.tok, "jump to chain %s, which does not exist", r.tok.s)
		}
		if c.base {
			return p.errAt(r.tok, "jump to base chain %s", r.tok.s)
		}
	}
	for _, tb := range p.tables {
		for _, c := range tb.chains {
			if !c.base {
				continue
			}
			state := map[*ntChain]int{} // 1 on the path, 2 done
			var walk func(x *ntChain, depth int) error
			walk = func(x *ntChain, depth int) error {
				if depth > 16 {
					return p.errAt(x.decl, "jumps nested deeper than 16 from chain %s", c.name)
				}
				if state[x] == 1 {
					return p.errAt(x.decl, "jump loop through chain %s", x.name)
				}
				if state[x] == 2 {
					return nil
				}
				state[x] = 1
				for _, rs := range x.restrict {
					if rs.nat && c.typ != "nat" || !slices.Contains(rs.hooks, c.hook) {
						return p.errAt(rs.tok, "%s in a chain reached from %s chain %s (hook %s) not handled", rs.what, c.typ, c.name, c.hook)
					}
				}
				for _, n := range x.refs {
					if y := tb.chainByName[n]; y != nil {
						if err := walk(y, depth+1); err != nil {
							return err
						}
					}
				}
				state[x] = 2
				return nil
			}
			if err := walk(c, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// emit lists the ruleset as `nft -j list ruleset` does: per table, the
// table, its sets and maps, its chains, then each chain's rules.
func (p *ntParser) emit() []any {
	n := 0
	for _, tb := range p.tables {
		n += 1 + len(tb.sets) + len(tb.chains)
		for _, c := range tb.chains {
			n += len(c.rules)
		}
	}
	out := make([]any, 0, n+1)
	out = append(out, map[string]any{"metainfo": map[string]any{"json_schema_version": jnum(1)}})
	for _, tb := range p.tables {
		// (nft 1.0.6 lists no table comment in JSON)
		t := map[string]any{"family": tb.family, "name": tb.name}
		out = append(out, map[string]any{"table": t})
		for _, s := range tb.sets {
			o := map[string]any{"family": tb.family, "name": s.name, "table": tb.name}
			if len(s.keyTypes) == 1 {
				o["type"] = s.keyTypes[0]
			} else {
				tys := make([]any, len(s.keyTypes))
				for i, ty := range s.keyTypes {
					tys[i] = ty
				}
				o["type"] = tys
			}
			if s.isMap {
				o["map"] = s.dataType
			}
			var flags []any
			for _, f := range s.flags {
				if f != "dynamic" {
					flags = append(flags, f)
				}
			}
			if len(flags) > 0 {
				o["flags"] = flags
			}
			for k, v := range s.extra {
				if k != "auto-merge" {
					o[k] = v
				}
			}
			es := s.plain
			if es == nil {
				es = s.ivals
			}
			if len(es) > 0 {
				elem := make([]any, len(es))
				for i, e := range es {
					elem[i] = e.json(s.isMap)
				}
				o["elem"] = elem
			}
			kind := "set"
			if s.isMap {
				kind = "map"
			}
			out = append(out, map[string]any{kind: o})
		}
		for _, c := range tb.chains {
			o := map[string]any{"family": tb.family, "table": tb.name, "name": c.name}
			if c.base {
				o["type"], o["hook"], o["prio"], o["policy"] = c.typ, c.hook, jnum(c.prio), c.policy
				if len(c.devs) == 1 {
					o["dev"] = c.devs[0]
				} else if len(c.devs) > 1 {
					devs := make([]any, len(c.devs))
					for i, d := range c.devs {
						devs[i] = d
					}
					o["dev"] = devs
				}
			}
			if c.comment != "" {
				o["comment"] = c.comment
			}
			out = append(out, map[string]any{"chain": o})
		}
		for _, c := range tb.chains {
			for _, r := range c.rules {
				o := map[string]any{"family": tb.family, "table": tb.name, "chain": c.name, "expr": r.expr}
				if r.comment != "" {
					o["comment"] = r.comment
				}
				out = append(out, map[string]any{"rule": o})
			}
		}
	}
	return out
}
