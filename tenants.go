package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"go.opentelemetry.io/collector/client"

	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// A database per tenant: GreptimeDB keeps tenants apart in databases, so a
// record's tenant, read from its resource or from the request's client
// metadata, chooses the database its events are written to. Only the
// databases the config allows can be named.

// tenantSourceKind says where a record's tenant is read.
type tenantSourceKind uint8

const (
	tenantFromResource tenantSourceKind = iota // a resource attribute
	tenantFromMetadata                         // the request's client metadata
)

type tenantSource struct {
	kind tenantSourceKind
	key  string
}

func parseTenantSource(s string) (tenantSource, error) {
	prefix, key, _ := strings.Cut(s, ".")
	switch {
	case key == "":
	case prefix == "resource":
		return tenantSource{kind: tenantFromResource, key: key}, nil
	case prefix == "metadata":
		return tenantSource{kind: tenantFromMetadata, key: key}, nil
	}
	if s == "" {
		return tenantSource{}, errors.New("must not be empty")
	}
	return tenantSource{}, fmt.Errorf("%q is unknown (resource.<attribute>, metadata.<key>)", s)
}

// tenants decides the database of a record's tenant.
type tenants struct {
	src      tenantSource
	allowed  map[string]bool
	pattern  *regexp.Regexp // the whole name must match; nil without one
	fallback string         // the exporter's database, for records without a tenant
	catalog  string         // the exporter's catalog option
	// create makes the exporter create a tenant's database that does not
	// exist (tenants::create_databases).
	create bool
}

func newTenants(cfg *Config) *tenants {
	tc := cfg.Tenants.Get()
	if tc == nil {
		return nil
	}
	src, _ := parseTenantSource(tc.From) // validated
	t := &tenants{src: src, allowed: toSet(tc.Databases), fallback: cfg.Database, catalog: cfg.Catalog, create: tc.CreateDatabases}
	if tc.DatabasePattern != "" {
		t.pattern = regexp.MustCompile(`^(?:` + tc.DatabasePattern + `)$`) // validated
	}
	return t
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
// this also keeps invalid UTF-8 out of the request header.
func (t *tenants) database(name string) (db string, ok bool) {
	if name == "" {
		return t.fallback, true
	}
	if !namePattern.MatchString(name) {
		return name, false
	}
	name = strings.ToLower(name) // ASCII: returns name itself unless it has upper case
	if !t.allowed[name] && (t.pattern == nil || !t.pattern.MatchString(name)) {
		return name, false
	}
	if validateDatabase("tenant", name, t.catalog) != nil {
		return name, false
	}
	return name, true
}

// creates reports whether the exporter creates database db when it is
// missing: a tenant's, with tenants::create_databases.
func (t *tenants) creates(db string) bool {
	return t != nil && t.create && db != t.fallback
}

// fromMetadata is the tenant in the request's client metadata, when that is
// where tenants come from; "" otherwise.
func (t *tenants) fromMetadata(ctx context.Context) string {
	if t == nil || t.src.kind != tenantFromMetadata {
		return ""
	}
	if vs := client.FromContext(ctx).Metadata.Get(t.src.key); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// errTenantNotAllowed is the reason of a record whose tenant names a
// database the config does not allow.
var errTenantNotAllowed = errors.New("the record's tenant names a database that tenants::databases and tenants::database_pattern do not allow")

// maxDatabases bounds the per-database state the exporter keeps (request
// headers, written layouts) when a pattern allows any number of tenants.
const maxDatabases = 10_000

// requestHeaders are the request headers of each database, in wire form,
// made on first use.
type requestHeaders struct {
	auth    *greptimev1.AuthHeader
	catalog string // the catalog option
	mu      sync.RWMutex
	byDB    map[string][]byte
}

// dbname is how a request names database db: "<catalog>-<db>" with the
// catalog option, as GreptimeDB splits a dbname at its first '-'
// (src/common/catalog/src/lib.rs:74-80), else db itself, in the default
// catalog.
func (h *requestHeaders) dbname(db string) string {
	if h.catalog == "" {
		return db
	}
	return h.catalog + "-" + db
}

// header is the request header of database db.
func (h *requestHeaders) header(db string) *greptimev1.RequestHeader {
	return &greptimev1.RequestHeader{Dbname: h.dbname(db), Authorization: h.auth}
}

// get is the request header of database db in wire form. It fails only on a
// name that is not valid UTF-8, which tenants keep out.
func (h *requestHeaders) get(db string) ([]byte, error) {
	h.mu.RLock()
	b, ok := h.byDB[db]
	h.mu.RUnlock()
	if ok {
		return b, nil
	}
	b, err := wire.EncodeHeader(h.header(db))
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.byDB) >= maxDatabases {
		clear(h.byDB)
	}
	h.byDB[db] = b
	return b, nil
}
