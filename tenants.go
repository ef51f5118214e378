package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// A database per tenant: GreptimeDB keeps tenants apart in databases, so a
// record's tenant, read from its resource or from the request's client
// metadata, chooses the database its events are written to. Only the
// databases the config allows can be named.

// tenants decides the database of a record's tenant.
type tenants struct {
	home    string // the exporter's database, for records without a tenant
	catalog string // the catalog option
	// on is false without tenants: every record goes home.
	on      bool
	src     tenantSource
	allowed map[string]bool
	pattern *regexp.Regexp // the whole name must match; nil without one
	// create makes the exporter create a tenant's database that does not
	// exist (tenants::create_databases).
	create bool
	// atHome is the DatabaseOf of an exporter without tenants, made once.
	atHome mapping.DatabaseOf
}

func newTenants(cfg *Config) *tenants {
	t := &tenants{home: cfg.Database, catalog: cfg.Catalog}
	t.atHome = func(pcommon.Resource) (string, bool) { return t.home, true }
	tc := cfg.Tenants.Get()
	if tc == nil {
		return t
	}
	t.on, t.create = true, tc.CreateDatabases
	t.src, _ = parseTenantSource(tc.From) // validated
	t.allowed = make(map[string]bool, len(tc.Databases))
	for _, db := range tc.Databases {
		t.allowed[db] = true
	}
	if tc.DatabasePattern != "" {
		t.pattern = regexp.MustCompile(`^(?:` + tc.DatabasePattern + `)$`) // validated
	}
	return t
}

// databaseOf says where the records of a request go: the database of each
// resource's tenant, or of the request's, as client metadata names it.
func (t *tenants) databaseOf(ctx context.Context) mapping.DatabaseOf {
	switch {
	case !t.on:
		return t.atHome
	case t.src.kind == tenantFromMetadata:
		db, ok := t.database(t.fromMetadata(ctx))
		return func(pcommon.Resource) (string, bool) { return db, ok }
	default:
		return t.ofResource
	}
}

// ofResource is the database of a resource's tenant attribute.
func (t *tenants) ofResource(res pcommon.Resource) (string, bool) {
	name := ""
	if v, ok := res.Attributes().Get(t.src.key); ok {
		name = v.AsString()
	}
	return t.database(name)
}

// database is the database of a record whose tenant is name: the
// exporter's database when it names none, and ok false when it names one
// that is not allowed.
//
// A tenant names its database in any case: GreptimeDB folds an unquoted
// name to lower case when it creates a database (CREATE DATABASE Acme makes
// acme: src/sql/src/parser.rs:323-329, called at
// src/sql/src/parsers/create_parser.rs:215), but matches a request's dbname
// as sent, so the exporter lowers the name before it is allowed and sent.
// A name outside GreptimeDB's rule for database names can name no
// database, and is not allowed: NAME_PATTERN
// (src/common/base/src/regex_pattern.rs:18), checked by CREATE DATABASE
// (src/operator/src/statement/ddl.rs:2158-2163). The pattern is ASCII, so
// this also keeps invalid UTF-8 out of the request header. GreptimeDB v1.3.
func (t *tenants) database(name string) (db string, ok bool) {
	if name == "" {
		return t.home, true
	}
	if !namePattern.MatchString(name) {
		return name, false
	}
	name = strings.ToLower(name) // ASCII: returns name itself unless it has upper case
	if !t.allowed[name] && (t.pattern == nil || !t.pattern.MatchString(name)) {
		return name, false
	}
	if splitsIntoCatalog(name, t.catalog) { // namePattern held above
		return name, false
	}
	return name, true
}

// fromMetadata is the tenant in the request's client metadata, when that is
// where tenants come from; "" otherwise.
func (t *tenants) fromMetadata(ctx context.Context) string {
	if !t.on || t.src.kind != tenantFromMetadata {
		return ""
	}
	if vs := client.FromContext(ctx).Metadata.Get(t.src.key); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// creates reports whether the exporter creates database db when it is
// missing: a tenant's, with tenants::create_databases.
func (t *tenants) creates(db string) bool {
	return t.create && db != t.home
}

// createDatabase creates database db, a tenant's, with CREATE DATABASE IF
// NOT EXISTS over GreptimeDB's SQL path. The statement runs in the catalog
// of the request's dbname, the exporter's database's
// (src/operator/src/statement/ddl.rs:2150). db is lower case and within
// GreptimeDB's name pattern (database), so it needs no escaping between the
// quotes, which keep '-', '.', ':', '@' and '#' in it.
func (t *tenants) createDatabase(ctx context.Context, c *caller, db string) (callFailure, error) {
	return c.query(ctx, t.home, createDatabaseSQL(db))
}

func createDatabaseSQL(db string) string {
	return `CREATE DATABASE IF NOT EXISTS "` + db + `"`
}
