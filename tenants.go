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
}

func newTenants(cfg *Config) *tenants {
	tc := cfg.Tenants.Get()
	if tc == nil {
		return nil
	}
	src, _ := parseTenantSource(tc.From) // validated
	t := &tenants{src: src, allowed: toSet(tc.Databases), fallback: cfg.Database}
	if tc.DatabasePattern != "" {
		t.pattern = regexp.MustCompile(`^(?:` + tc.DatabasePattern + `)$`) // validated
	}
	return t
}

// database is the database of a record whose tenant is name: the
// exporter's database when it names none, and ok false when it names one
// that is not allowed, or that GreptimeDB would read as another
// (validateDatabase).
func (t *tenants) database(name string) (db string, ok bool) {
	if name == "" {
		return t.fallback, true
	}
	if !t.allowed[name] && (t.pattern == nil || !t.pattern.MatchString(name)) {
		return name, false
	}
	if validateDatabase("tenant", name) != nil {
		return name, false
	}
	return name, true
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
	auth *greptimev1.AuthHeader
	mu   sync.RWMutex
	byDB map[string][]byte
}

func (h *requestHeaders) get(db string) []byte {
	h.mu.RLock()
	b, ok := h.byDB[db]
	h.mu.RUnlock()
	if ok {
		return b
	}
	b = wire.EncodeHeader(&greptimev1.RequestHeader{Dbname: db, Authorization: h.auth})
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.byDB) >= maxDatabases {
		clear(h.byDB)
	}
	h.byDB[db] = b
	return b
}
