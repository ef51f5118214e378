package greptimetest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// This file is the stand-in's SQL front end: a tokenizer and a
// recursive-descent parser for the subset ExecSQL runs (see doc.go). It
// follows GreptimeDB's dialect where the subset meets it: `"` and `` ` ``
// quote identifiers (src/sql/src/dialect.rs:36-39), identifier characters
// (src/sql/src/dialect.rs:22-33), unquoted identifiers lowercased
// (src/sql/src/parser.rs:323-329), empty statements between semicolons skipped
// (src/sql/src/parser.rs:81-98). What it cannot parse it refuses with
// StatusUnsupported and a message naming the stand-in.

type tokKind int

const (
	tokEOF    tokKind = iota
	tokWord           // an unquoted identifier or keyword, as written
	tokQuoted         // a "quoted" or `quoted` identifier, unescaped
	tokString         // a 'string' literal, unescaped
	tokNumber         // a number literal, as written
	tokOp             // punctuation and operators
)

type sqlToken struct {
	kind      tokKind
	text      string
	line, col int
}

// String renders the token as sqlparser shows it in errors.
func (t sqlToken) String() string {
	switch t.kind {
	case tokEOF:
		return "EOF"
	case tokQuoted:
		return `"` + t.text + `"`
	case tokString:
		return "'" + t.text + "'"
	}
	return t.text
}

func (t sqlToken) at() string { return fmt.Sprintf("at Line: %d, Column: %d", t.line, t.col) }

// is reports whether t is the keyword kw (case-insensitive) or the operator kw.
func (t sqlToken) is(kw string) bool {
	switch t.kind {
	case tokWord:
		return strings.EqualFold(t.text, kw)
	case tokOp:
		return t.text == kw
	}
	return false
}

// syntaxError is GreptimeDB's answer to SQL its parser rejects: 2000
// InvalidSyntax, "Invalid SQL syntax: sql parser error: ..." (Syntax,
// src/sql/src/error.rs:58-62, :357-362, rendered by output_msg,
// src/common/error/src/ext.rs:148-157).
func syntaxError(format string, args ...any) *greptimeError {
	return newError(StatusInvalidSyntax, "Invalid SQL syntax: sql parser error: "+format, args...)
}

// unsupportedKeyword is GreptimeDB's refusal of a statement at the token t:
// 1001, "SQL statement is not supported, keyword: t" (src/sql/src/parser.rs:289-291,
// src/sql/src/error.rs:36-37), also what it answers for a token after a
// complete statement (src/sql/src/parser.rs:91-93).
func unsupportedKeyword(t any) *greptimeError {
	return newError(StatusUnsupported, "SQL statement is not supported, keyword: %s", t)
}

// standinUnsupported refuses SQL that GreptimeDB may well run but the
// stand-in does not: 1001 Unsupported, the code GreptimeDB gives statements
// it does not support (src/sql/src/error.rs:36-37, :356).
func standinUnsupported(format string, args ...any) *greptimeError {
	return newError(StatusUnsupported, "greptimetest: the stand-in does not support "+format+
		"; it runs SELECT (one table, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT), SHOW DATABASES, SHOW TABLES, SHOW CREATE TABLE, CREATE DATABASE, CREATE TABLE and ALTER TABLE ... ADD COLUMN",
		args...)
}

// tokenize splits sql into tokens; comments (-- to end of line, /* */) are skipped.
func tokenize(sql string) ([]sqlToken, *greptimeError) {
	var toks []sqlToken
	line, col := 1, 1
	i := 0
	advance := func(n int) {
		for _, r := range sql[i : i+n] {
			if r == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		i += n
	}
	for i < len(sql) {
		r, size := utf8.DecodeRuneInString(sql[i:])
		start := sqlToken{line: line, col: col}
		switch {
		case unicode.IsSpace(r):
			advance(size)
		case strings.HasPrefix(sql[i:], "--"):
			n := strings.IndexByte(sql[i:], '\n')
			if n < 0 {
				n = len(sql) - i
			}
			advance(n)
		case strings.HasPrefix(sql[i:], "/*"):
			n := strings.Index(sql[i+2:], "*/")
			if n < 0 {
				return nil, syntaxError("Unexpected EOF while in a multi-line comment %s", start.at())
			}
			advance(n + 4)
		case r == '\'' || r == '"' || r == '`':
			text, n, ok := quoted(sql[i:], byte(r))
			if !ok {
				if r == '\'' {
					return nil, syntaxError("Unterminated string literal %s", start.at())
				}
				return nil, syntaxError("Expected close delimiter '%c' before EOF.", r)
			}
			start.kind, start.text = tokQuoted, text
			if r == '\'' {
				start.kind = tokString
			}
			toks = append(toks, start)
			advance(n)
		case r >= '0' && r <= '9' || r == '.' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9':
			n := numberLen(sql[i:])
			start.kind, start.text = tokNumber, sql[i:i+n]
			toks = append(toks, start)
			advance(n)
		case isIdentStart(r):
			n := size
			for n < len(sql) {
				r2, s2 := utf8.DecodeRuneInString(sql[i+n:])
				if !isIdentPart(r2) {
					break
				}
				n += s2
			}
			start.kind, start.text = tokWord, sql[i:i+n]
			toks = append(toks, start)
			advance(n)
		default:
			op := sql[i : i+size]
			for _, two := range []string{"<=", ">=", "<>", "!=", "=="} {
				if strings.HasPrefix(sql[i:], two) {
					op = two
				}
			}
			start.kind, start.text = tokOp, op
			toks = append(toks, start)
			advance(len(op))
		}
	}
	return append(toks, sqlToken{kind: tokEOF, line: line, col: col}), nil
}

// GreptimeDbDialect's identifier characters (src/sql/src/dialect.rs:22-33).
func isIdentStart(r rune) bool { return unicode.IsLetter(r) || r == '_' || r == '#' || r == '@' }

func isIdentPart(r rune) bool {
	return unicode.IsLetter(r) || r >= '0' && r <= '9' || r == '@' || r == '$' || r == '#' || r == '_'
}

// quoted reads a literal or identifier delimited by q at the start of s, a
// doubled q standing for one; it returns the text, the length read and
// whether it was terminated.
func quoted(s string, q byte) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != q {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == q {
			b.WriteByte(q)
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}

func numberLen(s string) int {
	n := 0
	digits := func() {
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
	}
	digits()
	if n < len(s) && s[n] == '.' {
		n++
		digits()
	}
	if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		m := n + 1
		if m < len(s) && (s[m] == '+' || s[m] == '-') {
			m++
		}
		if m < len(s) && s[m] >= '0' && s[m] <= '9' {
			n = m
			digits()
		}
	}
	return n
}

// ---- syntax tree ----

// ident is an identifier; value is canonical (an unquoted one lowercased).
type ident struct {
	value  string
	quoted bool
}

func identOf(t sqlToken) ident {
	if t.kind == tokQuoted || t.kind == tokString {
		return ident{value: t.text, quoted: true}
	}
	return ident{value: strings.ToLower(t.text)}
}

type sqlStmt interface{ stmtName() string }

type showDatabasesStmt struct{ like *string }

type showTablesStmt struct {
	db   *ident
	like *string
}

type showCreateTableStmt struct{ table []ident }

type createDatabaseStmt struct {
	name        ident
	ifNotExists bool
}

type selectStmt struct {
	items   []selectItem
	from    []ident // nil: no FROM
	alias   *ident
	where   sqlExpr
	groupBy []sqlExpr
	having  sqlExpr
	orderBy []orderItem
	limit   *int64
	offset  int64
}

type selectItem struct {
	star  bool
	qual  []ident // t.* (star only)
	expr  sqlExpr
	alias *ident
}

type orderItem struct {
	expr       sqlExpr
	desc       bool
	nullsFirst *bool
}

func (showDatabasesStmt) stmtName() string   { return "SHOW DATABASES" }
func (showTablesStmt) stmtName() string      { return "SHOW TABLES" }
func (showCreateTableStmt) stmtName() string { return "SHOW CREATE TABLE" }
func (createDatabaseStmt) stmtName() string  { return "CREATE DATABASE" }
func (selectStmt) stmtName() string          { return "SELECT" }

type sqlExpr interface{ exprNode() }

type exprColumn struct{ parts []ident }

// exprLiteral is nil, bool, int64, uint64, float64 or string.
type exprLiteral struct{ v any }

type exprFunc struct {
	name string // lowercased
	star bool   // count(*)
	args []sqlExpr
}

// exprBinary is a comparison (= != < > <= >=), AND, OR or [NOT] LIKE.
type exprBinary struct {
	op   string
	l, r sqlExpr
}

type exprNot struct{ e sqlExpr }

type exprIn struct {
	e    sqlExpr
	list []sqlExpr
	not  bool
}

type exprIsNull struct {
	e   sqlExpr
	not bool
}

func (exprColumn) exprNode()  {}
func (exprLiteral) exprNode() {}
func (exprFunc) exprNode()    {}
func (exprBinary) exprNode()  {}
func (exprNot) exprNode()     {}
func (exprIn) exprNode()      {}
func (exprIsNull) exprNode()  {}

// ---- parser ----

type sqlParser struct {
	toks []sqlToken
	pos  int
	// depth counts the parentheses and NOTs open, terms the operands read:
	// both bounded, so that no SQL can exhaust the stack of the parser or of
	// the evaluation, which recurse per level and per operand.
	depth, terms int
}

// Bounds of the stand-in's expressions, far beyond any query of the docs or
// the tests.
const (
	maxExprDepth = 64
	maxExprTerms = 4096
)

// enter opens a nesting level (a parenthesis, a NOT), refused past
// maxExprDepth; the caller leaves it with p.depth--.
func (p *sqlParser) enter() *greptimeError {
	p.depth++
	if p.depth > maxExprDepth {
		return standinUnsupported("expressions nested more than %d deep", maxExprDepth)
	}
	return nil
}

// parseSQL parses the statements of sql as GreptimeDB's
// ParserContext::create_with_dialect (src/sql/src/parser.rs:71-103): empty
// statements are skipped, and no statement at all is GreptimeDB's
// "empty statements" (src/frontend/src/instance.rs:764-770, src/frontend/src/error.rs:88-89, :374).
func parseSQL(sql string) ([]sqlStmt, *greptimeError) {
	toks, gerr := tokenize(sql)
	if gerr != nil {
		return nil, gerr
	}
	p := &sqlParser{toks: toks}
	var stmts []sqlStmt
	for {
		for p.accept(";") {
		}
		if p.peek().kind == tokEOF {
			break
		}
		s, gerr := p.statement()
		if gerr != nil {
			return nil, gerr
		}
		stmts = append(stmts, s)
		if t := p.peek(); t.kind != tokEOF && !t.is(";") {
			return nil, standinUnsupported("%s here (%s, after a complete %s statement)", t, t.at(), s.stmtName())
		}
	}
	if len(stmts) == 0 {
		return nil, newError(StatusInvalidArguments, "Invalid SQL, error: empty statements")
	}
	return stmts, nil
}

func (p *sqlParser) peek() sqlToken { return p.toks[p.pos] }

func (p *sqlParser) peekAt(n int) sqlToken {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *sqlParser) next() sqlToken {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// unread gives back t, the token next returned.
func (p *sqlParser) unread(t sqlToken) {
	if t.kind != tokEOF {
		p.pos--
	}
}

// accept consumes the next token if it is kw (keyword or operator).
func (p *sqlParser) accept(kw string) bool {
	if p.peek().is(kw) {
		p.next()
		return true
	}
	return false
}

// unexpected refuses the next token where the subset wanted something else.
func (p *sqlParser) unexpected(want string) *greptimeError {
	t := p.peek()
	return standinUnsupported("this SQL: expected %s, found: %s %s", want, t, t.at())
}

func (p *sqlParser) expect(kw string) *greptimeError {
	if p.accept(kw) {
		return nil
	}
	return p.unexpected(kw)
}

// statementKeywords are the statements GreptimeDB parses
// (ParserContext::parse_statement, src/sql/src/parser.rs:140-210) that the
// stand-in does not run.
var statementKeywords = map[string]bool{
	"EXPLAIN": true, "DELETE": true, "DESCRIBE": true, "DESC": true, "INSERT": true, "REPLACE": true,
	"VALUES": true, "WITH": true, "DROP": true, "COPY": true, "TRUNCATE": true,
	"COMMENT": true, "SET": true, "ADMIN": true, "DECLARE": true, "FETCH": true, "CLOSE": true,
	"USE": true, "TQL": true, "KILL": true, "ANALYZE": true,
}

func (p *sqlParser) statement() (sqlStmt, *greptimeError) {
	t := p.peek()
	switch {
	case t.is("SELECT"):
		p.next()
		return p.selectStmt()
	case t.is("SHOW"):
		p.next()
		return p.showStmt()
	case t.is("CREATE"):
		p.next()
		return p.createStmt()
	case t.is("ALTER"):
		p.next()
		return p.alterStmt()
	case t.kind == tokWord && statementKeywords[strings.ToUpper(t.text)]:
		return nil, standinUnsupported("%s statements", strings.ToUpper(t.text))
	case t.is("("):
		return nil, standinUnsupported("parenthesized queries")
	}
	return nil, unsupportedKeyword(t)
}

// showStmt parses what follows SHOW (ParserContext::parse_show,
// src/sql/src/parsers/show_parser.rs:38-140).
func (p *sqlParser) showStmt() (sqlStmt, *greptimeError) {
	switch {
	case p.accept("DATABASES"), p.accept("SCHEMAS"):
		like, gerr := p.showLike()
		return showDatabasesStmt{like: like}, gerr
	case p.accept("TABLES"):
		s := showTablesStmt{}
		// SHOW TABLES [FROM | IN db] (src/sql/src/parsers/show_parser.rs:465-491).
		if p.accept("FROM") || p.accept("IN") {
			t := p.next()
			if t.kind != tokWord && t.kind != tokQuoted {
				p.unread(t)
				return nil, p.unexpected("a database name")
			}
			db := identOf(t)
			s.db = &db
		}
		like, gerr := p.showLike()
		s.like = like
		return s, gerr
	case p.peek().is("CREATE") && p.peekAt(1).is("TABLE"):
		p.pos += 2
		name, gerr := p.objectName()
		return showCreateTableStmt{table: name}, gerr
	}
	return nil, standinUnsupported("SHOW %s", p.peek())
}

// showLike parses an optional LIKE 'pattern'; WHERE is not supported.
func (p *sqlParser) showLike() (*string, *greptimeError) {
	if p.peek().is("WHERE") {
		return nil, standinUnsupported("SHOW ... WHERE")
	}
	if !p.accept("LIKE") {
		return nil, nil
	}
	t := p.next()
	if t.kind != tokString {
		p.unread(t)
		return nil, p.unexpected("a string after LIKE")
	}
	return &t.text, nil
}

// createStmt parses CREATE {DATABASE | SCHEMA} [IF NOT EXISTS] name
// (src/sql/src/parsers/create_parser.rs:89, :207-243) and CREATE TABLE (sqlddl.go).
func (p *sqlParser) createStmt() (sqlStmt, *greptimeError) {
	if p.accept("TABLE") {
		return p.createTableStmt()
	}
	if !p.accept("DATABASE") && !p.accept("SCHEMA") {
		return nil, standinUnsupported("CREATE %s", p.peek())
	}
	s := createDatabaseStmt{}
	var gerr *greptimeError
	if s.ifNotExists, gerr = p.ifNotExists(); gerr != nil {
		return nil, gerr
	}
	t := p.next()
	if t.kind != tokWord && t.kind != tokQuoted && t.kind != tokString {
		// src/sql/src/parsers/create_parser.rs:211-214, over sqlparser's error.
		return nil, newError(StatusInvalidSyntax,
			"Unexpected token while parsing SQL statement, expected: 'a database name', found: %s: sql parser error: Expected: identifier, found: %s %s", t, t, t.at())
	}
	s.name = identOf(t)
	if p.peek().is("WITH") {
		return nil, standinUnsupported("database options (CREATE DATABASE ... WITH)")
	}
	return s, p.statementEnd()
}

// objectName parses name[.name[.name]].
func (p *sqlParser) objectName() ([]ident, *greptimeError) {
	var parts []ident
	for {
		t := p.next()
		if t.kind != tokWord && t.kind != tokQuoted {
			p.unread(t)
			return nil, p.unexpected("a table name")
		}
		parts = append(parts, identOf(t))
		if !p.accept(".") {
			break
		}
	}
	if len(parts) > 3 {
		return nil, standinUnsupported("the name %s", joinIdents(parts))
	}
	return parts, nil
}

func joinIdents(parts []ident) string {
	s := make([]string, len(parts))
	for i, id := range parts {
		s[i] = id.value
	}
	return strings.Join(s, ".")
}

// clauseWords end a select list or an expression; they are never taken as a
// bare alias.
var clauseWords = map[string]bool{
	"FROM": true, "WHERE": true, "GROUP": true, "HAVING": true, "ORDER": true, "LIMIT": true,
	"OFFSET": true, "UNION": true, "EXCEPT": true, "INTERSECT": true, "JOIN": true, "INNER": true,
	"LEFT": true, "RIGHT": true, "FULL": true, "CROSS": true, "NATURAL": true, "ON": true,
	"USING": true, "AND": true, "OR": true, "NOT": true, "IN": true, "IS": true, "LIKE": true,
	"ILIKE": true, "BETWEEN": true, "AS": true, "ASC": true, "DESC": true, "NULLS": true,
	"SELECT": true, "WINDOW": true, "QUALIFY": true, "ALIGN": true, "FILL": true, "BY": true,
	"RANGE": true, "CASE": true, "WHEN": true, "THEN": true, "ELSE": true, "END": true,
	"DISTINCT": true, "ALL": true, "NULL": true, "TRUE": true, "FALSE": true, "INTERVAL": true,
	"EXISTS": true, "OVER": true, "FILTER": true, "LATERAL": true, "TABLESAMPLE": true,
}

func (p *sqlParser) selectStmt() (sqlStmt, *greptimeError) {
	s := &selectStmt{}
	if p.peek().is("DISTINCT") {
		return nil, standinUnsupported("SELECT DISTINCT")
	}
	p.accept("ALL")
	for {
		it, gerr := p.selectItem()
		if gerr != nil {
			return nil, gerr
		}
		s.items = append(s.items, it)
		if !p.accept(",") {
			break
		}
	}
	if p.accept("FROM") {
		name, gerr := p.objectName()
		if gerr != nil {
			return nil, gerr
		}
		s.from = name
		if p.peek().is("(") {
			return nil, standinUnsupported("table functions")
		}
		if a, ok, gerr := p.alias(); gerr != nil {
			return nil, gerr
		} else if ok {
			s.alias = &a
		}
		if p.peek().is(",") {
			return nil, standinUnsupported("more than one table in FROM")
		}
	}
	var gerr *greptimeError
	if p.accept("WHERE") {
		if s.where, gerr = p.expr(); gerr != nil {
			return nil, gerr
		}
	}
	if p.accept("GROUP") {
		if gerr := p.expect("BY"); gerr != nil {
			return nil, gerr
		}
		if s.groupBy, gerr = p.exprList(); gerr != nil {
			return nil, gerr
		}
	}
	if p.accept("HAVING") {
		if s.having, gerr = p.expr(); gerr != nil {
			return nil, gerr
		}
	}
	if p.accept("ORDER") {
		if gerr := p.expect("BY"); gerr != nil {
			return nil, gerr
		}
		for {
			it := orderItem{}
			if it.expr, gerr = p.expr(); gerr != nil {
				return nil, gerr
			}
			if p.accept("DESC") {
				it.desc = true
			} else {
				p.accept("ASC")
			}
			if p.accept("NULLS") {
				first := p.accept("FIRST")
				if !first && !p.accept("LAST") {
					return nil, p.unexpected("FIRST or LAST")
				}
				it.nullsFirst = &first
			}
			s.orderBy = append(s.orderBy, it)
			if !p.accept(",") {
				break
			}
		}
	}
	if p.accept("LIMIT") {
		n, gerr := p.count("LIMIT")
		if gerr != nil {
			return nil, gerr
		}
		s.limit = &n
	}
	if p.accept("OFFSET") {
		if s.offset, gerr = p.count("OFFSET"); gerr != nil {
			return nil, gerr
		}
	}
	return s, nil
}

// count parses the non-negative integer of LIMIT or OFFSET.
func (p *sqlParser) count(clause string) (int64, *greptimeError) {
	t := p.next()
	n, err := strconv.ParseInt(t.text, 10, 64)
	if t.kind != tokNumber || err != nil || n < 0 {
		p.unread(t)
		return 0, p.unexpected("a non-negative integer after " + clause)
	}
	return n, nil
}

func (p *sqlParser) selectItem() (selectItem, *greptimeError) {
	if p.accept("*") {
		return selectItem{star: true}, nil
	}
	// t.* and db.t.*
	for n := 1; n <= 3; n++ {
		if p.peekAt(2*n-1).is(".") && p.peekAt(2*n).is("*") {
			var qual []ident
			for i := 0; i < n; i++ {
				t := p.peekAt(2 * i)
				if t.kind != tokWord && t.kind != tokQuoted {
					break
				}
				qual = append(qual, identOf(t))
			}
			if len(qual) == n {
				p.pos += 2*n + 1
				return selectItem{star: true, qual: qual}, nil
			}
		}
	}
	e, gerr := p.expr()
	if gerr != nil {
		return selectItem{}, gerr
	}
	it := selectItem{expr: e}
	if a, ok, gerr := p.alias(); gerr != nil {
		return it, gerr
	} else if ok {
		it.alias = &a
	}
	return it, nil
}

// alias parses [AS] alias.
func (p *sqlParser) alias() (ident, bool, *greptimeError) {
	if p.accept("AS") {
		t := p.next()
		if t.kind != tokWord && t.kind != tokQuoted {
			p.unread(t)
			return ident{}, false, p.unexpected("an alias after AS")
		}
		return identOf(t), true, nil
	}
	t := p.peek()
	if t.kind == tokQuoted || t.kind == tokWord && !clauseWords[strings.ToUpper(t.text)] {
		p.next()
		return identOf(t), true, nil
	}
	return ident{}, false, nil
}

func (p *sqlParser) exprList() ([]sqlExpr, *greptimeError) {
	var out []sqlExpr
	for {
		e, gerr := p.expr()
		if gerr != nil {
			return nil, gerr
		}
		out = append(out, e)
		if !p.accept(",") {
			return out, nil
		}
	}
}

// expr parses an expression: OR of ANDs of [NOT] comparisons.
func (p *sqlParser) expr() (sqlExpr, *greptimeError) {
	l, gerr := p.andExpr()
	for gerr == nil && p.accept("OR") {
		var r sqlExpr
		if r, gerr = p.andExpr(); gerr == nil {
			l = exprBinary{op: "OR", l: l, r: r}
		}
	}
	return l, gerr
}

func (p *sqlParser) andExpr() (sqlExpr, *greptimeError) {
	l, gerr := p.notExpr()
	for gerr == nil && p.accept("AND") {
		var r sqlExpr
		if r, gerr = p.notExpr(); gerr == nil {
			l = exprBinary{op: "AND", l: l, r: r}
		}
	}
	return l, gerr
}

func (p *sqlParser) notExpr() (sqlExpr, *greptimeError) {
	if p.accept("NOT") {
		if gerr := p.enter(); gerr != nil {
			return nil, gerr
		}
		defer func() { p.depth-- }()
		e, gerr := p.notExpr()
		return exprNot{e: e}, gerr
	}
	return p.comparison()
}

var comparisonOps = map[string]string{"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}

func (p *sqlParser) comparison() (sqlExpr, *greptimeError) {
	l, gerr := p.primary()
	if gerr != nil {
		return nil, gerr
	}
	t := p.peek()
	if op, ok := comparisonOps[t.text]; ok && t.kind == tokOp {
		p.next()
		r, gerr := p.primary()
		return exprBinary{op: op, l: l, r: r}, gerr
	}
	switch {
	case t.is("IS"):
		p.next()
		not := p.accept("NOT")
		if gerr := p.expect("NULL"); gerr != nil {
			return nil, gerr
		}
		return exprIsNull{e: l, not: not}, nil
	case t.is("NOT") && (p.peekAt(1).is("IN") || p.peekAt(1).is("LIKE")):
		p.next()
		if p.accept("LIKE") {
			r, gerr := p.primary()
			return exprBinary{op: "NOT LIKE", l: l, r: r}, gerr
		}
		p.next()
		return p.inList(l, true)
	case t.is("IN"):
		p.next()
		return p.inList(l, false)
	case t.is("LIKE"):
		p.next()
		r, gerr := p.primary()
		return exprBinary{op: "LIKE", l: l, r: r}, gerr
	case t.kind == tokOp && strings.Contains(unsupportedOps, t.text), t.is("BETWEEN"), t.is("ILIKE"):
		return nil, standinUnsupported("the operator %s (%s)", t, t.at())
	}
	return l, nil
}

func (p *sqlParser) inList(e sqlExpr, not bool) (sqlExpr, *greptimeError) {
	if gerr := p.expect("("); gerr != nil {
		return nil, gerr
	}
	if p.peek().is("SELECT") {
		return nil, standinUnsupported("subqueries")
	}
	list, gerr := p.exprList()
	if gerr != nil {
		return nil, gerr
	}
	if gerr := p.expect(")"); gerr != nil {
		return nil, gerr
	}
	return exprIn{e: e, list: list, not: not}, nil
}

func (p *sqlParser) primary() (sqlExpr, *greptimeError) {
	if p.terms++; p.terms > maxExprTerms {
		return nil, standinUnsupported("expressions of more than %d terms", maxExprTerms)
	}
	t := p.next()
	switch t.kind {
	case tokNumber:
		return exprLiteral{v: parseNumber(t.text)}, nil
	case tokString:
		return exprLiteral{v: t.text}, nil
	case tokOp:
		switch t.text {
		case "(":
			if p.peek().is("SELECT") {
				return nil, standinUnsupported("subqueries")
			}
			if gerr := p.enter(); gerr != nil {
				return nil, gerr
			}
			defer func() { p.depth-- }()
			e, gerr := p.expr()
			if gerr != nil {
				return nil, gerr
			}
			return e, p.expect(")")
		case "-":
			if n := p.peek(); n.kind == tokNumber {
				p.next()
				return exprLiteral{v: negate(parseNumber(n.text))}, nil
			}
		}
	case tokWord:
		switch {
		case t.is("NULL"):
			return exprLiteral{}, nil
		case t.is("TRUE"), t.is("FALSE"):
			return exprLiteral{v: t.is("TRUE")}, nil
		case t.is("CASE"), t.is("CAST"), t.is("INTERVAL"), t.is("EXISTS"):
			return nil, standinUnsupported("%s expressions", strings.ToUpper(t.text))
		}
		if n := p.peek(); n.kind == tokString {
			return nil, standinUnsupported("typed literals (%s %s)", t, n)
		}
		fallthrough
	case tokQuoted:
		if p.peek().is("(") {
			return p.function(t)
		}
		parts := []ident{identOf(t)}
		for p.peek().is(".") {
			p.next()
			n := p.next()
			if n.kind != tokWord && n.kind != tokQuoted {
				p.unread(n)
				return nil, p.unexpected("a column name")
			}
			parts = append(parts, identOf(n))
		}
		if len(parts) > 4 {
			return nil, standinUnsupported("the column %s", joinIdents(parts))
		}
		return exprColumn{parts: parts}, nil
	}
	p.unread(t)
	return nil, p.unexpected("an expression")
}

func (p *sqlParser) function(name sqlToken) (sqlExpr, *greptimeError) {
	p.next() // (
	f := exprFunc{name: strings.ToLower(name.text)}
	if p.peek().is("DISTINCT") {
		return nil, standinUnsupported("DISTINCT in %s()", f.name)
	}
	switch {
	case p.accept("*"):
		f.star = true
	case p.peek().is(")"):
	default:
		args, gerr := p.exprList()
		if gerr != nil {
			return nil, gerr
		}
		f.args = args
	}
	if gerr := p.expect(")"); gerr != nil {
		return nil, gerr
	}
	if p.peek().is("OVER") || p.peek().is("FILTER") {
		return nil, standinUnsupported("%s (%s)", strings.ToUpper(p.peek().text), p.peek().at())
	}
	return f, nil
}

// parseNumber returns an int64 if text is an integer that fits, a uint64 if it
// fits that, else a float64, as sqlparser's numbers become DataFusion's
// Int64, UInt64 or Float64 literals.
func parseNumber(text string) any {
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n
	}
	if n, err := strconv.ParseUint(text, 10, 64); err == nil {
		return n
	}
	f, _ := strconv.ParseFloat(text, 64)
	return f
}

func negate(v any) any {
	switch x := v.(type) {
	case int64:
		return -x
	case uint64:
		if x == 1<<63 {
			return int64(math.MinInt64)
		}
		return -float64(x)
	case float64:
		return -x
	}
	return v
}

// unsupportedOps are the operator tokens the stand-in's SQL does not evaluate.
const unsupportedOps = "+-*/%|:["
