package greptimetest

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// This file compiles the expressions of the stand-in's SELECT against the
// table's columns into closures, evaluated per row, or per group when the
// query aggregates (sqlselect.go runs them). Output column names and planning
// errors follow DataFusion's, as GreptimeDB shows them (cited where used).

// typeNull is the type of a NULL literal (GreptimeDB's "Null" data type,
// src/datatypes/src/types/null_type.rs:36).
const typeNull greptimev1.ColumnDataType = -1

// planError is a DataFusion planning error as GreptimeDB answers it: 3000
// PlanQuery, "Failed to plan SQL: ..." (PlanSql, src/query/src/error.rs:151-152,
// :439-440, src/common/query/src/error.rs:269-286; for example
// tests/cases/standalone/common/error/incorrect_sql.result:10). The text after
// the prefix is DataFusion's where a GreptimeDB test shows it, else close to it.
func planError(format string, args ...any) *greptimeError {
	return newError(StatusPlanQuery, "Failed to plan SQL: "+format, args...)
}

// rowCtx is what an expression is evaluated on: a row, and in an aggregating
// query the rows of the row's group (row is then the group's first row, or
// nil for the one group of an empty table).
type rowCtx struct {
	row   map[string]any
	group []map[string]any
}

// cexpr is a compiled expression.
type cexpr struct {
	typ greptimev1.ColumnDataType
	ext *greptimev1.ColumnDataTypeExtension
	// name is how DataFusion displays the expression, columns qualified by
	// their table ("events.type"); it names output columns without an alias
	// and identifies GROUP BY expressions.
	name string
	// column is the column's name when the expression is a bare column.
	column string
	lit    *exprLiteral
	eval   func(rc *rowCtx) (any, error)
}

// source is the table of FROM.
type source struct {
	t *table // nil: no FROM
	// qual is what a column's qualifier may name: catalog, schema and table,
	// or the alias.
	qual    []string
	display string // the qualifier DataFusion shows: the table as written, or the alias
}

type compiler struct {
	src *source
	// groupKeys holds the names of the GROUP BY expressions of an
	// aggregating query; nil otherwise.
	groupKeys map[string]bool
}

// resolve finds the column a reference names.
func (src *source) resolve(parts []ident) (Column, *greptimeError) {
	name := parts[len(parts)-1].value
	if src.t != nil && src.qualifies(parts[:len(parts)-1]) {
		if c, ok := src.t.Column(name); ok {
			return c, nil
		}
	}
	// DataFusion's field-not-found error, e.g.
	// tests/cases/standalone/common/error/incorrect_sql.result:10, :72.
	if src.t == nil {
		return Column{}, planError("No field named %s.", joinIdents(parts))
	}
	valid := make([]string, len(src.t.Columns))
	for i, c := range src.t.Columns {
		valid[i] = src.display + "." + c.Name
	}
	return Column{}, planError("No field named %s. Valid fields are %s.", joinIdents(parts), strings.Join(valid, ", "))
}

// qualifies reports whether qual (possibly empty) names the source: it must
// be a suffix of catalog.schema.table (or the alias).
func (src *source) qualifies(qual []ident) bool {
	if len(qual) > len(src.qual) {
		return false
	}
	off := len(src.qual) - len(qual)
	for i, q := range qual {
		if src.qual[off+i] != q.value {
			return false
		}
	}
	return true
}

func isAggregate(name string) bool {
	switch name {
	case "count", "min", "max", "sum", "avg":
		return true
	}
	return false
}

// containsAgg reports whether e calls an aggregate function.
func containsAgg(e sqlExpr) bool {
	switch x := e.(type) {
	case exprFunc:
		if isAggregate(x.name) {
			return true
		}
		return slices.ContainsFunc(x.args, containsAgg)
	case exprBinary:
		return containsAgg(x.l) || containsAgg(x.r)
	case exprNot:
		return containsAgg(x.e)
	case exprIsNull:
		return containsAgg(x.e)
	case exprIn:
		return containsAgg(x.e) || slices.ContainsFunc(x.list, containsAgg)
	}
	return false
}

// compile compiles e. With group set, e is evaluated once per group: it
// may call aggregates, and a column outside them must be (part of) a GROUP
// BY expression.
func (c *compiler) compile(e sqlExpr, group bool) (*cexpr, *greptimeError) {
	f, isFunc := e.(exprFunc)
	switch {
	case group && isFunc && isAggregate(f.name):
		return c.aggregate(f)
	case group && !containsAgg(e):
		ce, gerr := c.compile(e, false)
		if gerr != nil {
			return nil, gerr
		}
		if ce.lit != nil || c.groupKeys[ce.name] {
			return ce, nil
		}
		if _, isCol := e.(exprColumn); isCol {
			// DataFusion refuses it while planning the projection.
			return nil, planError("Error during planning: Column %s must appear in the GROUP BY clause or must be part of an aggregate function", ce.name)
		}
		// Compile the parts: one of them is the culprit.
	case !group && isFunc && isAggregate(f.name):
		return nil, planError("Error during planning: aggregate function %s() is not allowed here", f.name)
	}

	switch x := e.(type) {
	case exprColumn:
		col, gerr := c.src.resolve(x.parts)
		if gerr != nil {
			return nil, gerr
		}
		name := col.Name
		return &cexpr{typ: col.Type, ext: col.Extension, name: c.src.display + "." + name, column: name,
			eval: func(rc *rowCtx) (any, error) { return rc.row[name], nil }}, nil
	case exprLiteral:
		return literal(x), nil
	case exprFunc:
		args := make([]*cexpr, len(x.args))
		for i, a := range x.args {
			ca, gerr := c.compile(a, group)
			if gerr != nil {
				return nil, gerr
			}
			args[i] = ca
		}
		return scalarFunction(x, args)
	case exprBinary:
		l, gerr := c.compile(x.l, group)
		if gerr != nil {
			return nil, gerr
		}
		r, gerr := c.compile(x.r, group)
		if gerr != nil {
			return nil, gerr
		}
		switch x.op {
		case "AND", "OR":
			return logical(x.op, l, r)
		case "LIKE", "NOT LIKE":
			return like(x.op, l, r)
		}
		return comparison(x.op, l, r)
	case exprNot:
		inner, gerr := c.compile(x.e, group)
		if gerr != nil {
			return nil, gerr
		}
		if gerr := wantBool(inner); gerr != nil {
			return nil, gerr
		}
		return &cexpr{typ: greptimev1.ColumnDataType_BOOLEAN, name: "NOT " + inner.name, eval: func(rc *rowCtx) (any, error) {
			v, err := inner.eval(rc)
			if b, ok := v.(bool); ok {
				return !b, err
			}
			return nil, err
		}}, nil
	case exprIsNull:
		inner, gerr := c.compile(x.e, group)
		if gerr != nil {
			return nil, gerr
		}
		name := inner.name + " IS NULL"
		if x.not {
			name = inner.name + " IS NOT NULL"
		}
		return &cexpr{typ: greptimev1.ColumnDataType_BOOLEAN, name: name, eval: func(rc *rowCtx) (any, error) {
			v, err := inner.eval(rc)
			return (v == nil) != x.not, err
		}}, nil
	case exprIn:
		return c.in(x, group)
	}
	return nil, standinUnsupported("the expression %T", e)
}

func literal(x exprLiteral) *cexpr {
	ce := &cexpr{lit: &x, eval: func(*rowCtx) (any, error) { return x.v, nil }}
	// DataFusion's ScalarValue display: Utf8("a"), Int64(1), NULL.
	switch v := x.v.(type) {
	case nil:
		ce.typ, ce.name = typeNull, "NULL"
	case bool:
		ce.typ, ce.name = greptimev1.ColumnDataType_BOOLEAN, fmt.Sprintf("Boolean(%t)", v)
	case int64:
		ce.typ, ce.name = greptimev1.ColumnDataType_INT64, fmt.Sprintf("Int64(%d)", v)
	case uint64:
		ce.typ, ce.name = greptimev1.ColumnDataType_UINT64, fmt.Sprintf("UInt64(%d)", v)
	case float64:
		ce.typ, ce.name = greptimev1.ColumnDataType_FLOAT64, "Float64("+strconv.FormatFloat(v, 'f', -1, 64)+")"
	case string:
		ce.typ, ce.name = greptimev1.ColumnDataType_STRING, `Utf8("`+v+`")`
	}
	return ce
}

// kind groups the column types that compare with one another.
type kind int

const (
	kindOther kind = iota
	kindNull
	kindBool
	kindNumber
	kindString
	kindTimestamp
	kindJSON
	kindBinary
)

func kindOf(dt greptimev1.ColumnDataType) kind {
	switch dt {
	case typeNull:
		return kindNull
	case greptimev1.ColumnDataType_BOOLEAN:
		return kindBool
	case greptimev1.ColumnDataType_INT8, greptimev1.ColumnDataType_INT16, greptimev1.ColumnDataType_INT32, greptimev1.ColumnDataType_INT64,
		greptimev1.ColumnDataType_UINT8, greptimev1.ColumnDataType_UINT16, greptimev1.ColumnDataType_UINT32, greptimev1.ColumnDataType_UINT64,
		greptimev1.ColumnDataType_FLOAT32, greptimev1.ColumnDataType_FLOAT64:
		return kindNumber
	case greptimev1.ColumnDataType_STRING:
		return kindString
	case greptimev1.ColumnDataType_TIMESTAMP_SECOND, greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND,
		greptimev1.ColumnDataType_TIMESTAMP_MICROSECOND, greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND,
		greptimev1.ColumnDataType_DATETIME:
		return kindTimestamp
	case greptimev1.ColumnDataType_JSON:
		return kindJSON
	case greptimev1.ColumnDataType_BINARY:
		return kindBinary
	}
	return kindOther
}

// timestampUnit is the length of one unit of a timestamp type, in nanoseconds
// (DATETIME is GreptimeDB's TimestampMicrosecond, src/api/src/helper.rs:144).
func timestampUnit(dt greptimev1.ColumnDataType) int64 {
	switch dt {
	case greptimev1.ColumnDataType_TIMESTAMP_SECOND:
		return int64(time.Second)
	case greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND:
		return int64(time.Millisecond)
	case greptimev1.ColumnDataType_TIMESTAMP_MICROSECOND, greptimev1.ColumnDataType_DATETIME:
		return int64(time.Microsecond)
	}
	return 1
}

// coerce turns literal lit into a value comparable with an expression of
// type to, as DataFusion's type coercion casts a literal to the column's
// type: a string to a timestamp or a number, a number to a string.
func coerce(lit *cexpr, to *cexpr) (*cexpr, *greptimeError) {
	v := lit.lit.v
	if v == nil {
		return lit, nil
	}
	var out any
	switch kindOf(to.typ) {
	case kindTimestamp:
		switch x := v.(type) {
		case string:
			ns, err := parseTimestampLiteral(x)
			if err != nil {
				return nil, planError("Error during planning: Cannot cast string '%s' to value of %s type", x, dataTypeName(to.typ, nil))
			}
			out = ns / timestampUnit(to.typ)
		case int64:
			out = x
		default:
			return lit, nil
		}
	case kindNumber:
		s, ok := v.(string)
		if !ok {
			return lit, nil
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return nil, planError("Error during planning: Cannot cast string '%s' to value of %s type", s, dataTypeName(to.typ, nil))
		}
		out = parseNumber(s)
	case kindString:
		switch v.(type) {
		case int64, uint64, float64:
			out = fmt.Sprint(v)
		default:
			return lit, nil
		}
	case kindBool:
		s, ok := v.(string)
		if !ok {
			return lit, nil
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, planError("Error during planning: Cannot cast string '%s' to value of Boolean type", s)
		}
		out = b
	default:
		return lit, nil
	}
	ce := *lit
	ce.typ, ce.ext = to.typ, to.ext
	ce.eval = func(*rowCtx) (any, error) { return out, nil }
	return &ce, nil
}

// parseTimestampLiteral parses a timestamp string as DataFusion casts one,
// in UTC (GreptimeDB's default time zone): RFC 3339, or "YYYY-MM-DD[ HH:MM:SS[.fff]]".
func parseTimestampLiteral(s string) (int64, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixNano(), nil
		}
	}
	return 0, fmt.Errorf("cannot parse %q as a timestamp", s)
}

// comparable returns l and r made comparable, with any literal coerced to
// the other side's type, or refuses them.
func comparable(op string, l, r *cexpr) (*cexpr, *cexpr, *greptimeError) {
	var gerr *greptimeError
	if l.lit != nil && r.lit == nil {
		l, gerr = coerce(l, r)
	} else if r.lit != nil && l.lit == nil {
		r, gerr = coerce(r, l)
	}
	if gerr != nil {
		return nil, nil, gerr
	}
	kl, kr := kindOf(l.typ), kindOf(r.typ)
	switch {
	case kl == kindNull || kr == kindNull:
	case kl == kindJSON || kr == kindJSON:
		return nil, nil, standinUnsupported("comparing JSON values (%s %s %s)", l.name, op, r.name)
	case kl != kr || kl == kindOther:
		return nil, nil, standinUnsupported("comparing %s with %s (%s %s %s)",
			dataTypeName(l.typ, l.ext), dataTypeName(r.typ, r.ext), l.name, op, r.name)
	case kl == kindTimestamp && l.lit == nil && r.lit == nil && timestampUnit(l.typ) != timestampUnit(r.typ):
		l, r = scaled(l), scaled(r)
	}
	return l, r, nil
}

// scaled evaluates a timestamp in nanoseconds.
func scaled(ce *cexpr) *cexpr {
	unit, inner := timestampUnit(ce.typ), ce.eval
	out := *ce
	out.typ = greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND
	out.eval = func(rc *rowCtx) (any, error) {
		v, err := inner(rc)
		if n, ok := v.(int64); ok {
			return n * unit, err
		}
		return v, err
	}
	return &out
}

func comparison(op string, l, r *cexpr) (*cexpr, *greptimeError) {
	l, r, gerr := comparable(op, l, r)
	if gerr != nil {
		return nil, gerr
	}
	return &cexpr{typ: greptimev1.ColumnDataType_BOOLEAN, name: l.name + " " + op + " " + r.name, eval: func(rc *rowCtx) (any, error) {
		a, err := l.eval(rc)
		if err != nil {
			return nil, err
		}
		b, err := r.eval(rc)
		if err != nil || a == nil || b == nil {
			return nil, err
		}
		c := compareValues(a, b)
		switch op {
		case "=":
			return c == 0, nil
		case "!=":
			return c != 0, nil
		case "<":
			return c < 0, nil
		case ">":
			return c > 0, nil
		case "<=":
			return c <= 0, nil
		}
		return c >= 0, nil
	}}, nil
}

// compareValues orders two non-null values of comparable kinds.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y)
		}
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpOrdered(x, y)
		case uint64:
			if x < 0 {
				return -1
			}
			return cmpOrdered(uint64(x), y)
		}
	case uint64:
		switch y := b.(type) {
		case uint64:
			return cmpOrdered(x, y)
		case int64:
			return -compareValues(y, x)
		}
	}
	fa, okA := toFloat(a)
	fb, okB := toFloat(b)
	if okA && okB {
		return cmpOrdered(fa, fb)
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func cmpOrdered[T int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func wantBool(ce *cexpr) *greptimeError {
	if k := kindOf(ce.typ); k != kindBool && k != kindNull {
		return planError("Error during planning: Cannot infer common argument type for logical boolean operation %s", ce.name)
	}
	return nil
}

// logical is AND or OR, with SQL's three-valued logic.
func logical(op string, l, r *cexpr) (*cexpr, *greptimeError) {
	if gerr := wantBool(l); gerr != nil {
		return nil, gerr
	}
	if gerr := wantBool(r); gerr != nil {
		return nil, gerr
	}
	and := op == "AND"
	return &cexpr{typ: greptimev1.ColumnDataType_BOOLEAN, name: l.name + " " + op + " " + r.name, eval: func(rc *rowCtx) (any, error) {
		a, err := l.eval(rc)
		if err != nil {
			return nil, err
		}
		if b, ok := a.(bool); ok && b != and {
			return b, nil // false AND x, true OR x
		}
		b, err := r.eval(rc)
		if err != nil {
			return nil, err
		}
		if bb, ok := b.(bool); ok && bb != and {
			return bb, nil
		}
		if a == nil || b == nil {
			return nil, nil
		}
		return and, nil
	}}, nil
}

// like is [NOT] LIKE with % and _ and \ as the escape character.
func like(op string, l, r *cexpr) (*cexpr, *greptimeError) {
	if kindOf(l.typ) != kindString || kindOf(r.typ) != kindString {
		return nil, standinUnsupported("%s on %s and %s", op, dataTypeName(l.typ, l.ext), dataTypeName(r.typ, r.ext))
	}
	not := op == "NOT LIKE"
	return &cexpr{typ: greptimev1.ColumnDataType_BOOLEAN, name: l.name + " " + op + " " + r.name, eval: func(rc *rowCtx) (any, error) {
		a, err := l.eval(rc)
		if err != nil {
			return nil, err
		}
		b, err := r.eval(rc)
		if err != nil || a == nil || b == nil {
			return nil, err
		}
		return likeMatch([]rune(a.(string)), []rune(b.(string))) != not, nil
	}}, nil
}

// likeMatch matches s against a LIKE pattern: % any run, _ any one
// character, \ escaping the next; greedy with one backtrack point, so linear
// per pattern segment rather than exponential.
func likeMatch(s, p []rune) bool {
	const anyOne, anyRun = -1, -2
	pat := make([]rune, 0, len(p))
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '%':
			pat = append(pat, anyRun)
		case p[i] == '_':
			pat = append(pat, anyOne)
		case p[i] == '\\' && i+1 < len(p):
			i++
			pat = append(pat, p[i])
		default:
			pat = append(pat, p[i])
		}
	}
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(pat) && (pat[pi] == anyOne || pat[pi] == s[si]):
			si, pi = si+1, pi+1
		case pi < len(pat) && pat[pi] == anyRun:
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == anyRun {
		pi++
	}
	return pi == len(pat)
}

func (c *compiler) in(x exprIn, group bool) (*cexpr, *greptimeError) {
	e, gerr := c.compile(x.e, group)
	if gerr != nil {
		return nil, gerr
	}
	list := make([]*cexpr, len(x.list))
	names := make([]string, len(x.list))
	for i, item := range x.list {
		ci, gerr := c.compile(item, group)
		if gerr != nil {
			return nil, gerr
		}
		if _, list[i], gerr = comparable("IN", e, ci); gerr != nil {
			return nil, gerr
		}
		names[i] = ci.name
	}
	// A timestamp list item of another unit is scaled; scale e alike.
	probe := e
	if kindOf(e.typ) == kindTimestamp && slices.ContainsFunc(list, func(ci *cexpr) bool { return ci.lit == nil && ci.typ != e.typ }) {
		probe = scaled(e)
	}
	name := fmt.Sprintf("%s IN ([%s])", e.name, strings.Join(names, ", "))
	if x.not {
		name = fmt.Sprintf("%s NOT IN ([%s])", e.name, strings.Join(names, ", "))
	}
	return &cexpr{typ: greptimev1.ColumnDataType_BOOLEAN, name: name, eval: func(rc *rowCtx) (any, error) {
		v, err := probe.eval(rc)
		if err != nil || v == nil {
			return nil, err
		}
		sawNull := false
		for _, ci := range list {
			w, err := ci.eval(rc)
			if err != nil {
				return nil, err
			}
			if w == nil {
				sawNull = true
				continue
			}
			if compareValues(v, w) == 0 {
				return !x.not, nil
			}
		}
		if sawNull {
			return nil, nil
		}
		return x.not, nil
	}}, nil
}

// scalarFunction builds the JSON functions the stand-in knows
// (GreptimeDB's json_to_string and json_get_*,
// src/common/function/src/scalars/json/json_to_string.rs,
// src/common/function/src/scalars/json/json_get.rs).
func scalarFunction(f exprFunc, args []*cexpr) (*cexpr, *greptimeError) {
	names := make([]string, len(args))
	for i, a := range args {
		names[i] = a.name
	}
	name := f.name + "(" + strings.Join(names, ",") + ")"
	switch f.name {
	case "json_to_string":
		if len(args) != 1 || args[0].typ != greptimev1.ColumnDataType_JSON {
			// Its signature takes one binary (JSON) argument
			// (src/common/function/src/scalars/json/json_to_string.rs:32-44).
			return nil, planError("Error during planning: Function 'json_to_string' expects 1 JSON argument, got %s", argTypes(args))
		}
		arg := args[0]
		return &cexpr{typ: greptimev1.ColumnDataType_STRING, name: name, eval: func(rc *rowCtx) (any, error) {
			v, err := arg.eval(rc)
			if err != nil || v == nil {
				return nil, err
			}
			tree, err := jsonTree(v)
			if err != nil {
				return nil, err
			}
			return jsonText(tree), nil
		}}, nil
	case "json_get_string", "json_get_int", "json_get_float", "json_get_bool":
		if len(args) != 2 {
			// src/common/function/src/scalars/json/json_get.rs:379-382 (a third argument only comes from a rewritten cast).
			return nil, newError(StatusEngineExecuteQuery, "json_get expects 2 or 3 arguments, got %d", len(args))
		}
		if args[0].typ != greptimev1.ColumnDataType_JSON {
			// src/common/function/src/scalars/json/json_get.rs:423-425.
			return nil, newError(StatusEngineExecuteQuery, "Execution error: JSON_GET not supported argument type %s", dataTypeName(args[0].typ, args[0].ext))
		}
		p, ok := args[1].lit.valueIfLiteral().(string)
		if !ok {
			// src/common/function/src/scalars/json/json_get.rs:387-399.
			return nil, newError(StatusEngineExecuteQuery, `Execution error: json_get expects a string literal "path" argument, got %s`, args[1].name)
		}
		path, gerr := parseJSONPath(p)
		if gerr != nil {
			return nil, gerr
		}
		typ, conv := jsonGetter(f.name)
		arg := args[0]
		return &cexpr{typ: typ, name: name, eval: func(rc *rowCtx) (any, error) {
			v, err := arg.eval(rc)
			if err != nil || v == nil {
				return nil, err
			}
			tree, err := jsonTree(v)
			if err != nil {
				return nil, err
			}
			got, found := jsonGet(tree, path)
			if !found {
				return nil, nil
			}
			return conv(got), nil
		}}, nil
	}
	return nil, standinUnsupported("the function %s()", f.name)
}

func (l *exprLiteral) valueIfLiteral() any {
	if l == nil {
		return nil
	}
	return l.v
}

// jsonGetter is the result type and conversion of a json_get_* function
// (Utf8View is GreptimeDB's String; src/common/function/src/scalars/json/json_get.rs:104-106, :149-151, :194-196, :239-241).
func jsonGetter(name string) (greptimev1.ColumnDataType, func(any) any) {
	switch name {
	case "json_get_int":
		return greptimev1.ColumnDataType_INT64, func(v any) any {
			if n, ok := jsonToInt(v); ok {
				return n
			}
			return nil
		}
	case "json_get_float":
		return greptimev1.ColumnDataType_FLOAT64, func(v any) any {
			if f, ok := jsonToFloat(v); ok {
				return f
			}
			return nil
		}
	case "json_get_bool":
		return greptimev1.ColumnDataType_BOOLEAN, func(v any) any {
			if b, ok := jsonToBool(v); ok {
				return b
			}
			return nil
		}
	}
	return greptimev1.ColumnDataType_STRING, func(v any) any {
		if s, ok := jsonToString(v); ok {
			return s
		}
		return nil
	}
}

func argTypes(args []*cexpr) string {
	types := make([]string, len(args))
	for i, a := range args {
		types[i] = dataTypeName(a.typ, a.ext)
	}
	return "(" + strings.Join(types, ", ") + ")"
}

// aggregate compiles count, min, max, sum or avg over a group's rows.
// Result types are DataFusion's: count Int64, min and max their argument's
// type, sum Int64 for signed, UInt64 for unsigned and Float64 for float
// arguments, avg Float64.
func (c *compiler) aggregate(f exprFunc) (*cexpr, *greptimeError) {
	if f.star {
		if f.name != "count" {
			return nil, planError("Error during planning: %s(*) is not supported", f.name)
		}
		return &cexpr{typ: greptimev1.ColumnDataType_INT64, name: "count(*)", eval: func(rc *rowCtx) (any, error) {
			return int64(len(rc.group)), nil
		}}, nil
	}
	if len(f.args) != 1 {
		return nil, planError("Error during planning: %s expects 1 argument, got %d", f.name, len(f.args))
	}
	if containsAgg(f.args[0]) {
		return nil, planError("Error during planning: aggregate function calls cannot be nested")
	}
	arg, gerr := c.compile(f.args[0], false)
	if gerr != nil {
		return nil, gerr
	}
	name := f.name + "(" + arg.name + ")"
	values := func(rc *rowCtx) ([]any, error) {
		var out []any
		for _, row := range rc.group {
			v, err := arg.eval(&rowCtx{row: row})
			if err != nil {
				return nil, err
			}
			if v != nil {
				out = append(out, v)
			}
		}
		return out, nil
	}
	k := kindOf(arg.typ)
	switch f.name {
	case "count":
		return &cexpr{typ: greptimev1.ColumnDataType_INT64, name: name, eval: func(rc *rowCtx) (any, error) {
			vs, err := values(rc)
			return int64(len(vs)), err
		}}, nil
	case "min", "max":
		if k == kindJSON || k == kindOther {
			return nil, standinUnsupported("%s() of %s values", f.name, dataTypeName(arg.typ, arg.ext))
		}
		sign := 1
		if f.name == "max" {
			sign = -1
		}
		return &cexpr{typ: arg.typ, ext: arg.ext, name: name, eval: func(rc *rowCtx) (any, error) {
			vs, err := values(rc)
			var best any
			for _, v := range vs {
				if best == nil || sign*compareValues(v, best) < 0 {
					best = v
				}
			}
			return best, err
		}}, nil
	}
	if k != kindNumber {
		// Shortened from DataFusion's, e.g. tests/cases/standalone/common/types/timestamp/timestamp.result.
		return nil, planError("Error during planning: No function matches the given name and argument types '%s(%s)'. You might need to add explicit type casts.",
			f.name, dataTypeName(arg.typ, arg.ext))
	}
	typ := greptimev1.ColumnDataType_FLOAT64
	if f.name == "sum" {
		switch arg.typ {
		case greptimev1.ColumnDataType_INT8, greptimev1.ColumnDataType_INT16, greptimev1.ColumnDataType_INT32, greptimev1.ColumnDataType_INT64:
			typ = greptimev1.ColumnDataType_INT64
		case greptimev1.ColumnDataType_UINT8, greptimev1.ColumnDataType_UINT16, greptimev1.ColumnDataType_UINT32, greptimev1.ColumnDataType_UINT64:
			typ = greptimev1.ColumnDataType_UINT64
		}
	}
	avg := f.name == "avg"
	return &cexpr{typ: typ, name: name, eval: func(rc *rowCtx) (any, error) {
		vs, err := values(rc)
		if err != nil || len(vs) == 0 {
			return nil, err
		}
		var si int64
		var su uint64
		var sf float64
		for _, v := range vs {
			switch x := v.(type) {
			case int64:
				si += x
				sf += float64(x)
			case uint64:
				su += x
				sf += float64(x)
			case float64:
				sf += x
			}
		}
		switch {
		case avg:
			return sf / float64(len(vs)), nil
		case typ == greptimev1.ColumnDataType_INT64:
			return si, nil
		case typ == greptimev1.ColumnDataType_UINT64:
			return su, nil
		}
		return sf, nil
	}}, nil
}
