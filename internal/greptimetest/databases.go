package greptimetest

import (
	"errors"
	"sort"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Names of GreptimeDB's system schemas. information_schema exists in every
// catalog without being created (the system catalog's schema_names,
// src/catalog/src/kvbackend/manager.rs:593-604); pg_catalog only for the
// Postgres protocol. CREATE DATABASE treats both as existing
// (is_reserved_schema_name, src/catalog/src/lib.rs:123-129).
const (
	informationSchema = "information_schema"
	pgCatalog         = "pg_catalog"
)

// CreateDatabase creates database (schema) name in catalog "greptime", as
// GreptimeDB's CREATE DATABASE does (StatementExecutor::create_database,
// src/operator/src/statement/ddl.rs:2143-2195): the name must match
// GreptimeDB's NAME_PATTERN (src/common/base/src/regex_pattern.rs:18), else
// 1002 Unexpected "Unexpected, violated: Invalid database name: <name>"
// (src/operator/src/statement/ddl.rs:2158-2163, src/operator/src/error.rs:88-89, :1031);
// an existing database, information_schema and pg_catalog included
// (src/operator/src/statement/ddl.rs:2173-2179), is an error without
// ifNotExists, 1004 InvalidArguments "Schema <name> already exists"
// (src/operator/src/statement/ddl.rs:2194, src/operator/src/error.rs:327-328, :955),
// and is left alone with it.
//
// name is the schema name as it is, not a dbname: no "catalog-" prefix is
// split off, and it is not lowercased (the SQL parser lowercases an unquoted
// name before this, src/sql/src/parsers/create_parser.rs:215,
// src/sql/src/parser.rs:323-329). Tables can be written to the new database
// at once, over gRPC and SQL.
func (st *Store) CreateDatabase(name string, ifNotExists bool) error {
	if gerr := st.createDatabase(defaultCatalog, name, ifNotExists); gerr != nil {
		return gerr
	}
	return nil
}

// createDatabase creates schema name in catalog, the current catalog of the
// statement (src/operator/src/statement/ddl.rs:2150).
func (st *Store) createDatabase(catalog, name string, ifNotExists bool) *greptimeError {
	if !tableNamePattern.MatchString(name) {
		return newError(StatusUnexpected, "Unexpected, violated: Invalid database name: %s", name)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.dbs[dbKey{catalog, name}]; ok || name == informationSchema || name == pgCatalog {
		if ifNotExists {
			return nil
		}
		return newError(StatusInvalidArguments, "Schema %s already exists", name)
	}
	st.dbs[dbKey{catalog, name}] = map[string]*table{}
	return nil
}

// Databases returns the names of the store's databases as dbnames (a
// schema of catalog "greptime", else "<catalog>-<schema>"), sorted.
// GreptimeDB's information_schema is not among them (SHOW DATABASES lists
// it; see ExecSQL).
func (st *Store) Databases() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]string, 0, len(st.dbs))
	for k := range st.dbs {
		out = append(out, dbString(k.catalog, k.schema))
	}
	sort.Strings(out)
	return out
}

// ErrorStatus returns the GreptimeDB status code of an error ExecSQL or
// CreateDatabase returned.
func ErrorStatus(err error) (StatusCode, bool) {
	var gerr *greptimeError
	if errors.As(err, &gerr) && gerr.code != StatusSuccess {
		return gerr.code, true
	}
	return 0, false
}
