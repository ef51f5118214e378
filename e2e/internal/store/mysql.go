package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mysqlTimeLayout parses timestamps as GreptimeDB's MySQL protocol renders
// them, in the session time zone and with a fraction of up to 9 digits (it
// renders microseconds: finer digits do not reach MySQL clients).
const mysqlTimeLayout = "2006-01-02 15:04:05.999999999"

// plainName matches table names that need no quoting in SQL.
var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// MySQL reads from a GreptimeDB through its MySQL protocol endpoint (port 4002 by default).
type MySQL struct {
	db *sql.DB
}

// OpenMySQL connects to the GreptimeDB MySQL endpoint at addr (host:port) and
// database, without credentials (a GreptimeDB without a user provider), with
// the session time zone UTC. It checks the connection before it returns.
func OpenMySQL(ctx context.Context, addr, database string) (*MySQL, error) {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", addr, database
	cfg.Params = map[string]string{"time_zone": "'+00:00'"} // sent as SET time_zone = '+00:00'
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: MySQL %s: %w", addr, err)
	}
	db := sql.OpenDB(connector)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: connect to GreptimeDB over MySQL at %s: %w", addr, err), db.Close())
	}
	return &MySQL{db: db}, nil
}

// Close closes the connections.
func (m *MySQL) Close() error { return m.db.Close() }

// Rows returns every row of table (SELECT type, json_to_string(payload), timestamp).
func (m *MySQL) Rows(ctx context.Context, table string) ([]Row, error) {
	if err := checkName(table); err != nil {
		return nil, err
	}
	rows, err := m.db.QueryContext(ctx, "SELECT type, json_to_string(payload), timestamp FROM "+table) //nolint:gosec // G202: table passed checkName
	if isTableNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", table, err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var payload, ts string
		if err := rows.Scan(&r.Type, &payload, &ts); err != nil {
			return nil, fmt.Errorf("store: read %s: %w", table, err)
		}
		if err := json.Unmarshal([]byte(payload), &r.Payload); err != nil {
			return nil, fmt.Errorf("store: %s: payload %q is not a JSON object: %w", table, payload, err)
		}
		if r.Timestamp, err = time.Parse(mysqlTimeLayout, ts); err != nil {
			return nil, fmt.Errorf("store: %s: timestamp %q: %w", table, ts, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read %s: %w", table, err)
	}
	return out, nil
}

// CountByType runs SELECT type, count(*) FROM table GROUP BY type.
func (m *MySQL) CountByType(ctx context.Context, table string) (map[string]int, error) {
	if err := checkName(table); err != nil {
		return nil, err
	}
	rows, err := m.db.QueryContext(ctx, "SELECT type, count(*) FROM "+table+" GROUP BY type") //nolint:gosec // G202: table passed checkName
	if err != nil {
		return nil, fmt.Errorf("store: count %s by type: %w", table, err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			return nil, fmt.Errorf("store: count %s by type: %w", table, err)
		}
		counts[typ] = n
	}
	return counts, rows.Err()
}

// ShowCreateTable returns the CREATE TABLE statement GreptimeDB reports for table.
func (m *MySQL) ShowCreateTable(ctx context.Context, table string) (string, error) {
	if err := checkName(table); err != nil {
		return "", err
	}
	var name, stmt string
	if err := m.db.QueryRowContext(ctx, "SHOW CREATE TABLE "+table).Scan(&name, &stmt); err != nil {
		return "", fmt.Errorf("store: SHOW CREATE TABLE %s: %w", table, err)
	}
	return stmt, nil
}

// Query runs a statement and returns its column names and rows as text, for printing.
func (m *MySQL) Query(ctx context.Context, query string) (columns []string, rows [][]string, err error) {
	rs, err := m.db.QueryContext(ctx, query)
	if err != nil {
		return nil, nil, fmt.Errorf("store: %s: %w", query, err)
	}
	defer rs.Close()
	if columns, err = rs.Columns(); err != nil {
		return nil, nil, fmt.Errorf("store: %s: %w", query, err)
	}
	for rs.Next() {
		vals := make([]sql.NullString, len(columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, nil, fmt.Errorf("store: %s: %w", query, err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		rows = append(rows, row)
	}
	return columns, rows, rs.Err()
}

// checkName accepts the table names that may be spliced into SQL text unquoted.
func checkName(table string) error {
	if !plainName.MatchString(table) {
		return fmt.Errorf("store: table name %q needs quoting; use letters, digits and _", table)
	}
	return nil
}

// IsTableNotFound reports whether err, from Query, is GreptimeDB's answer
// for a missing table: an opt-in table (the dead-letter table, say) exists
// only once the exporter wrote to it.
func IsTableNotFound(err error) bool { return isTableNotFound(err) }

// isTableNotFound reports whether err is GreptimeDB's answer for a missing
// table ("Table not found: greptime.public.events"), which the MySQL protocol
// carries only as a message.
func isTableNotFound(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "table not found")
}
