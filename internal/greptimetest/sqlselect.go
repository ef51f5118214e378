package greptimetest

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// This file runs a SELECT: the table of FROM, the select list, WHERE,
// GROUP BY and HAVING, ORDER BY, LIMIT and OFFSET, over expressions
// compiled by sqleval.go.

// outItem is a select-list item after * is expanded.
type outItem struct {
	expr  sqlExpr
	alias *ident
}

type sortKey struct {
	out        int    // output column, or -1
	expr       *cexpr // when out is -1
	desc       bool
	nullsFirst bool
}

// execSelect runs s; st.mu held.
func (st *Store) execSelect(catalog, schema string, s *selectStmt) (Result, *greptimeError) {
	src, gerr := st.source(catalog, schema, s)
	if gerr != nil {
		return Result{}, gerr
	}
	c := &compiler{src: src}
	var items []outItem
	for _, it := range s.items {
		if !it.star {
			items = append(items, outItem{expr: it.expr, alias: it.alias})
			continue
		}
		if src.t == nil {
			return Result{}, planError("Error during planning: SELECT * with no tables specified is not valid")
		}
		if len(it.qual) > 0 && !src.qualifies(it.qual) {
			return Result{}, planError("Error during planning: Invalid qualifier %s", joinIdents(it.qual))
		}
		for _, col := range src.t.Columns {
			items = append(items, outItem{expr: exprColumn{parts: []ident{{value: col.Name, quoted: true}}}})
		}
	}

	aggregating := len(s.groupBy) > 0 || s.having != nil
	for _, it := range items {
		aggregating = aggregating || containsAgg(it.expr)
	}
	for _, o := range s.orderBy {
		aggregating = aggregating || containsAgg(o.expr)
	}

	var where *cexpr
	if s.where != nil {
		if containsAgg(s.where) {
			return Result{}, planError("Error during planning: Aggregate functions are not allowed in the WHERE clause")
		}
		if where, gerr = c.compile(s.where, false); gerr != nil {
			return Result{}, gerr
		}
		if gerr := wantBool(where); gerr != nil {
			return Result{}, gerr
		}
	}

	// GROUP BY: an output position, a select alias that is not a column of
	// the table, or an expression (DataFusion resolves aliases and positions
	// in GROUP BY and HAVING, input columns first).
	var groups []*cexpr
	if aggregating {
		c.groupKeys = map[string]bool{}
		for _, g := range s.groupBy {
			g, gerr = c.resolveAlias(g, items, true)
			if gerr != nil {
				return Result{}, gerr
			}
			if containsAgg(g) {
				return Result{}, planError("Error during planning: Aggregate functions are not allowed in the GROUP BY clause")
			}
			cg, gerr := c.compile(g, false)
			if gerr != nil {
				return Result{}, gerr
			}
			groups = append(groups, cg)
			c.groupKeys[cg.name] = true
		}
	}

	outs := make([]*cexpr, len(items))
	cols := make([]ResultColumn, len(items))
	for i, it := range items {
		ce, gerr := c.compile(it.expr, aggregating)
		if gerr != nil {
			return Result{}, gerr
		}
		outs[i] = ce
		name := ce.name
		switch {
		case it.alias != nil:
			name = it.alias.value
		case ce.column != "":
			name = ce.column
		}
		cols[i] = resultColumn(name, ce.typ, ce.ext)
	}

	var having *cexpr
	if s.having != nil {
		h, gerr := c.resolveAlias(s.having, items, false)
		if gerr != nil {
			return Result{}, gerr
		}
		if having, gerr = c.compile(h, true); gerr != nil {
			return Result{}, gerr
		}
		if gerr := wantBool(having); gerr != nil {
			return Result{}, gerr
		}
	}

	keys, gerr := c.sortKeys(s.orderBy, cols, outs, aggregating)
	if gerr != nil {
		return Result{}, gerr
	}

	// Run: filter, group, project.
	var input []map[string]any
	if src.t != nil {
		for _, row := range src.t.Rows {
			if where != nil {
				v, err := where.eval(&rowCtx{row: row})
				if err != nil {
					return Result{}, execError(err)
				}
				if b, _ := v.(bool); !b {
					continue
				}
			}
			input = append(input, row)
		}
	} else {
		input = []map[string]any{{}}
	}
	var contexts []rowCtx
	if aggregating {
		contexts, gerr = groupRows(input, groups)
		if gerr != nil {
			return Result{}, gerr
		}
	} else {
		for _, row := range input {
			contexts = append(contexts, rowCtx{row: row})
		}
	}
	type outRow struct{ vals, keys []any }
	var rows []outRow
	for i := range contexts {
		rc := &contexts[i]
		if having != nil {
			v, err := having.eval(rc)
			if err != nil {
				return Result{}, execError(err)
			}
			if b, _ := v.(bool); !b {
				continue
			}
		}
		r := outRow{vals: make([]any, len(outs)), keys: make([]any, len(keys))}
		for j, ce := range outs {
			v, err := ce.eval(rc)
			if err != nil {
				return Result{}, execError(err)
			}
			r.vals[j] = v
		}
		for j, k := range keys {
			if k.out >= 0 {
				r.keys[j] = r.vals[k.out]
				continue
			}
			v, err := k.expr.eval(rc)
			if err != nil {
				return Result{}, execError(err)
			}
			r.keys[j] = v
		}
		rows = append(rows, r)
	}

	slices.SortStableFunc(rows, func(a, b outRow) int {
		for j, k := range keys {
			x, y := a.keys[j], b.keys[j]
			var c int
			switch {
			case x == nil && y == nil:
			case x == nil:
				c = 1
				if k.nullsFirst {
					c = -1
				}
				return c
			case y == nil:
				c = -1
				if k.nullsFirst {
					c = 1
				}
				return c
			default:
				c = compareValues(x, y)
				if k.desc {
					c = -c
				}
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	rows = rows[min(int64(len(rows)), s.offset):]
	if s.limit != nil && int64(len(rows)) > *s.limit {
		rows = rows[:*s.limit]
	}
	res := Result{Columns: cols, Rows: make([][]any, len(rows))}
	for i, r := range rows {
		for j := range r.vals {
			r.vals[j] = deepCopy(r.vals[j])
		}
		res.Rows[i] = r.vals
	}
	return res, nil
}

// execError is a failure while evaluating (a corrupt stored value).
func execError(err error) *greptimeError {
	return newError(StatusEngineExecuteQuery, "Failed to execute query: %v", err)
}

// source resolves FROM: [[catalog.]schema.]table, looked up in the current
// database by default. A missing table is GreptimeDB's 4001 "Failed to plan
// SQL: Table not found: catalog.schema.table"
// (tests/cases/standalone/common/create/upper_case_table_name.result:19,
// src/catalog/src/error.rs:155).
func (st *Store) source(catalog, schema string, s *selectStmt) (*source, *greptimeError) {
	if s.from == nil {
		return &source{}, nil
	}
	parts := s.from
	name := parts[len(parts)-1].value
	switch len(parts) {
	case 2:
		schema = parts[0].value
	case 3:
		catalog, schema = parts[0].value, parts[1].value
	}
	t := st.schema(catalog, schema)[name]
	if t == nil {
		return nil, newError(StatusTableNotFound, "Failed to plan SQL: Table not found: %s.%s.%s", catalog, schema, name)
	}
	src := &source{t: t, qual: []string{catalog, schema, name}, display: joinIdents(parts)}
	if s.alias != nil {
		src.qual, src.display = []string{s.alias.value}, s.alias.value
	}
	return src, nil
}

// resolveAlias replaces, in e, an unqualified name that is not a column of
// the table by the select item it aliases; positional is set for GROUP BY,
// where a number is an output position.
func (c *compiler) resolveAlias(e sqlExpr, items []outItem, positional bool) (sqlExpr, *greptimeError) {
	switch x := e.(type) {
	case exprLiteral:
		if n, ok := x.v.(int64); ok && positional {
			if n < 1 || n > int64(len(items)) {
				return nil, planError("Error during planning: Cannot find column with position %d in SELECT clause. Valid columns: 1 to %d", n, len(items))
			}
			return items[n-1].expr, nil
		}
	case exprColumn:
		if len(x.parts) != 1 {
			return e, nil
		}
		if c.src.t != nil {
			if _, ok := c.src.t.Column(x.parts[0].value); ok {
				return e, nil
			}
		}
		for _, it := range items {
			if it.alias != nil && it.alias.value == x.parts[0].value {
				return it.expr, nil
			}
		}
	case exprFunc:
		out := x
		out.args = make([]sqlExpr, len(x.args))
		for i, a := range x.args {
			r, gerr := c.resolveAlias(a, items, false)
			if gerr != nil {
				return nil, gerr
			}
			out.args[i] = r
		}
		return out, nil
	case exprBinary:
		l, gerr := c.resolveAlias(x.l, items, false)
		if gerr != nil {
			return nil, gerr
		}
		r, gerr := c.resolveAlias(x.r, items, false)
		return exprBinary{op: x.op, l: l, r: r}, gerr
	case exprNot:
		inner, gerr := c.resolveAlias(x.e, items, false)
		return exprNot{e: inner}, gerr
	case exprIsNull:
		inner, gerr := c.resolveAlias(x.e, items, false)
		return exprIsNull{e: inner, not: x.not}, gerr
	}
	return e, nil
}

// sortKeys resolves ORDER BY: an output position, an output column's name
// (alias or derived name), else an expression over the table's columns.
// Nulls sort last ascending and first descending unless NULLS FIRST or LAST
// says otherwise (DataFusion's default,
// tests/cases/standalone/common/order/nulls_first_last.result:11-19).
func (c *compiler) sortKeys(order []orderItem, cols []ResultColumn, outs []*cexpr, aggregating bool) ([]sortKey, *greptimeError) {
	var keys []sortKey
	for _, o := range order {
		k := sortKey{out: -1, desc: o.desc, nullsFirst: o.desc}
		if o.nullsFirst != nil {
			k.nullsFirst = *o.nullsFirst
		}
		switch x := o.expr.(type) {
		case exprLiteral:
			if n, ok := x.v.(int64); ok {
				if n < 1 || n > int64(len(cols)) {
					return nil, planError("Error during planning: Order by column out of bounds, specified: %d, max: %d", n, len(cols))
				}
				k.out = int(n - 1)
			}
		case exprColumn:
			if len(x.parts) == 1 {
				for i, col := range cols {
					if col.Name == x.parts[0].value {
						k.out = i
						break
					}
				}
			}
		}
		if k.out < 0 {
			ce, gerr := c.compile(o.expr, aggregating)
			if gerr != nil {
				return nil, gerr
			}
			for i, out := range outs {
				if out.name == ce.name {
					k.out = i
				}
			}
			k.expr = ce
		}
		typ := cols[max(k.out, 0)].Type
		if k.out < 0 {
			typ = k.expr.typ
		}
		if kindOf(typ) == kindJSON {
			return nil, standinUnsupported("ORDER BY a JSON value")
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// groupRows splits rows into groups of equal GROUP BY values, in order of
// first appearance; without GROUP BY all rows are one group, even none.
func groupRows(rows []map[string]any, groups []*cexpr) ([]rowCtx, *greptimeError) {
	if len(groups) == 0 {
		rc := rowCtx{group: rows}
		if len(rows) > 0 {
			rc.row = rows[0]
		}
		return []rowCtx{rc}, nil
	}
	index := map[string]int{}
	var out []rowCtx
	var b strings.Builder
	for _, row := range rows {
		b.Reset()
		for _, g := range groups {
			v, err := g.eval(&rowCtx{row: row})
			if err != nil {
				return nil, execError(err)
			}
			switch x := v.(type) {
			case map[string]any, []any:
				fmt.Fprintf(&b, "json:%s\x00", jsonText(x))
			case float64:
				if x == 0 {
					x = 0 // -0 groups with 0
				}
				if math.IsNaN(x) {
					b.WriteString("NaN\x00")
					continue
				}
				fmt.Fprintf(&b, "%T:%v\x00", x, x)
			default:
				fmt.Fprintf(&b, "%T:%v\x00", v, v)
			}
		}
		key := b.String()
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, rowCtx{row: row})
		}
		out[i].group = append(out[i].group, row)
	}
	return out, nil
}
