package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Config defines the configuration of the greptime_events exporter.
type Config struct {
	// ClientConfig is the gRPC client of GreptimeDB's frontend: endpoint (default
	// "localhost:4001"), tls, compression, keepalive, headers, auth, balancer_name, ...
	ClientConfig configgrpc.ClientConfig `mapstructure:",squash"`
	// TimeoutConfig bounds one push attempt: all the insert calls of a push.
	// Default 5s.
	TimeoutConfig exporterhelper.TimeoutConfig `mapstructure:",squash"`
	// QueueConfig is the sending queue and its batcher, with the recorder's
	// buffer/flush semantics by default.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig retries the records of failed calls, by default as the
	// recorder does: three retries from 1666ms to 5s without jitter.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// Catalog is the GreptimeDB catalog of Database and of every tenant's
	// database. Empty: GreptimeDB's default catalog. When set, requests name
	// their database "<catalog>-<database>".
	Catalog string `mapstructure:"catalog"`
	// Database receives the events, and those of records that name no tenant.
	// Default "public".
	Database string `mapstructure:"database"`
	// Tenants writes each record into the database its tenant names, among
	// those allowed. Off unless configured.
	Tenants configoptional.Optional[TenantsConfig] `mapstructure:"tenants"`
	// Username for GreptimeDB basic authentication; empty sends no credentials.
	Username string `mapstructure:"username"`
	// Password for GreptimeDB basic authentication.
	Password configopaque.String `mapstructure:"password"`

	// Table receives the events of every type without a table of its own. Default "events".
	Table string `mapstructure:"table"`
	// TableOptions are applied by GreptimeDB when an insert creates a table.
	TableOptions `mapstructure:",squash"`

	// EventType says how a record's event type is found.
	EventType EventTypeConfig `mapstructure:"event_type"`
	// Payload chooses the parts of a record that go into the JSON payload.
	Payload PayloadConfig `mapstructure:"payload"`
	// PayloadEncoding is how the payload, and every JSON column, travels:
	// "jsonb" (default), JSONB the exporter encodes, as GreptimeDB's own
	// event recorder writes it; or "json", JSON text GreptimeDB parses for
	// every row. Both make the same column type.
	PayloadEncoding PayloadEncoding `mapstructure:"payload_encoding"`
	// Events configures event types by name: their table and extra columns.
	// The key "*" applies to every type not listed.
	Events map[string]EventConfig `mapstructure:"events"`
	// Filter keeps or drops records by event type.
	Filter FilterConfig `mapstructure:"filter"`
	// EventID adds an event_id tag to every event and makes its tables keep
	// one row per event, so retries and replays do not duplicate. Off by default.
	EventID EventIDConfig `mapstructure:"event_id"`
	// DeadLetter writes the events GreptimeDB rejects permanently into a
	// table of their own instead of dropping them. Off unless configured.
	DeadLetter configoptional.Optional[DeadLetterConfig] `mapstructure:"dead_letter"`
	// Catalog keeps a table listing the event types seen. Off unless configured.
	EventCatalog configoptional.Optional[EventCatalogConfig] `mapstructure:"event_catalog"`
	// MaxRequestBytes caps the size of one insert call: larger groups are
	// split into several calls, and a record larger on its own is
	// dead-lettered, or dropped and counted. Default 8 MiB, well under
	// GreptimeDB's 512 MiB gRPC message limit (factory.go).
	MaxRequestBytes int `mapstructure:"max_request_bytes"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// TableOptions are the table options sent as x-greptime-hints with every
// insert; GreptimeDB applies them when the insert creates the table.
type TableOptions struct {
	// TTL is how long GreptimeDB keeps the rows; 0 sends no ttl hint (the
	// database default applies). Default 2160h (90 days).
	TTL time.Duration `mapstructure:"ttl"`
	// AppendMode creates append-only tables. Default true.
	AppendMode bool `mapstructure:"append_mode"`
	// CompactionTimeWindow is the TWCS compaction window; 0 sends no hint.
	// Default 24h.
	CompactionTimeWindow time.Duration `mapstructure:"compaction_time_window"`
}

// EventIDConfig makes inserts idempotent: every event gets an event_id tag,
// and its table is created non-append (merge_mode last_row), so GreptimeDB
// keeps one row per (tags, timestamp) and a row written twice collapses.
type EventIDConfig struct {
	// Enabled adds the event_id column. Default false.
	Enabled bool `mapstructure:"enabled"`
	// Source is where the id comes from (e.g. attributes.event.id), in the
	// syntax of an extra column's source. Empty, or absent from a record: a
	// stable 128-bit hash of what identifies the record.
	Source string `mapstructure:"source"`
}

// TenantsConfig routes records to a database per tenant. A record whose
// tenant names no database goes to the exporter's database; one naming a
// database not allowed is dead-lettered into the exporter's database, or
// dropped and counted (reason "tenant_not_allowed") without a dead-letter
// table.
type TenantsConfig struct {
	// From is where a record's database is read: resource.<attribute>, or
	// metadata.<key> for the request's client metadata (the OTLP receiver's
	// include_metadata, e.g. metadata.x-tenant).
	From string `mapstructure:"from"`
	// Databases are the databases records may name.
	Databases []string `mapstructure:"databases"`
	// DatabasePattern is a regular expression the whole database name must
	// match, for tenants not listed in Databases.
	DatabasePattern string `mapstructure:"database_pattern"`
	// CreateDatabases creates an allowed tenant's database when GreptimeDB
	// has none, with CREATE DATABASE IF NOT EXISTS. Default false: the
	// records of a tenant without a database are dead-lettered into Database.
	CreateDatabases bool `mapstructure:"create_databases"`
}

// DeadLetterConfig is where rejected events go.
type DeadLetterConfig struct {
	// Table receives the rejected events. Default "events_rejected".
	Table string `mapstructure:"table"`
}

// EventCatalogConfig is the table of event types seen.
type EventCatalogConfig struct {
	// Table receives one row per (table, type) seen. Default "event_types".
	Table string `mapstructure:"table"`
	// Interval between two writes of the catalog. Default 1m.
	Interval time.Duration `mapstructure:"interval"`
	// MaxPayloadKeys bounds the payload keys kept per event type. Default 64.
	MaxPayloadKeys int `mapstructure:"max_payload_keys"`
}

// EventTypeConfig says how a record's event type is found: the record's
// EventName, else the first of Attributes present, else Default.
type EventTypeConfig struct {
	// Attributes are the record attributes tried in order, after the record's
	// EventName. Default ["otel.event.name", "event.name"].
	Attributes []string `mapstructure:"attributes"`
	// Default is the type of records that name none. Default "log".
	Default string `mapstructure:"default"`
}

// PayloadConfig chooses the parts of a record written into the JSON payload,
// each under its own key. Default body and attributes.
type PayloadConfig struct {
	// Body writes the record body under "body".
	Body bool `mapstructure:"body"`
	// Attributes writes the record attributes under "attributes".
	Attributes bool `mapstructure:"attributes"`
	// Resource writes the resource attributes under "resource".
	Resource bool `mapstructure:"resource"`
	// Scope writes the instrumentation scope's name, version and attributes under "scope".
	Scope bool `mapstructure:"scope"`
	// Severity writes the severity text and number under "severity".
	Severity bool `mapstructure:"severity"`
	// Trace writes the trace id, span id and trace flags under "trace": a
	// log record's, or a span event's span's.
	Trace bool `mapstructure:"trace"`
	// Span writes a span event's span under "span": its name, kind, status
	// code and, when set, status message and parent span id. Log records
	// have none.
	Span bool `mapstructure:"span"`
	// SpanAttributes adds the span's attributes to "span", under
	// "attributes". It needs Span.
	SpanAttributes bool `mapstructure:"span_attributes"`
}

// EventConfig configures one event type.
type EventConfig struct {
	// Table receives this type's events; empty uses the exporter's table.
	Table string `mapstructure:"table"`
	// Columns are extra columns written after type, payload and timestamp.
	Columns []ColumnConfig `mapstructure:"columns"`
	// TTL overrides the exporter's ttl for this type's table.
	TTL *time.Duration `mapstructure:"ttl"`
	// AppendMode overrides the exporter's append_mode for this type's table.
	AppendMode *bool `mapstructure:"append_mode"`
	// CompactionTimeWindow overrides the exporter's compaction_time_window.
	CompactionTimeWindow *time.Duration `mapstructure:"compaction_time_window"`
	// EventID overrides the exporter's event_id for this type.
	EventID *EventIDConfig `mapstructure:"event_id"`
}

// tablePolicy is how an event type's table is created and written: its
// options, and whether rows carry an event id.
type tablePolicy struct {
	TableOptions
	EventID EventIDConfig
}

// policyOf is the table policy of an event type's configuration: its own
// settings over the exporter's.
func (cfg *Config) policyOf(ec EventConfig) tablePolicy {
	p := tablePolicy{TableOptions: cfg.TableOptions, EventID: cfg.EventID}
	if ec.TTL != nil {
		p.TTL = *ec.TTL
	}
	if ec.AppendMode != nil {
		p.AppendMode = *ec.AppendMode
	}
	if ec.CompactionTimeWindow != nil {
		p.CompactionTimeWindow = *ec.CompactionTimeWindow
	}
	if ec.EventID != nil {
		p.EventID = *ec.EventID
	}
	return p
}

// tableOf is the table an event type's configuration writes to.
func (cfg *Config) tableOf(ec EventConfig) string {
	if ec.Table != "" {
		return ec.Table
	}
	return cfg.Table
}

// ColumnConfig is an extra column of an event type.
type ColumnConfig struct {
	// Name of the column.
	Name string `mapstructure:"name"`
	// Source is where the value comes from: attributes.<key>, resource.<key>,
	// body.<key>, body, scope.name, scope.version, severity_text,
	// severity_number, trace_id or span_id.
	Source string `mapstructure:"source"`
	// Type of the column: string (default), int64, float64, bool, timestamp or json.
	Type ColumnType `mapstructure:"type"`
	// SemanticType is tag (part of the primary key) or field (default).
	SemanticType string `mapstructure:"semantic_type"`
	// Expand writes one row per element when the source holds an array.
	// At most one column of a type may expand.
	Expand bool `mapstructure:"expand"`
}

// FilterConfig keeps or drops records by event type. A record is kept when
// Include is empty or lists its type, and Exclude does not list it.
type FilterConfig struct {
	// Include lists the only event types written; empty keeps all.
	Include []string `mapstructure:"include"`
	// Exclude lists event types never written.
	Exclude []string `mapstructure:"exclude"`
}

// PayloadEncoding is how JSON values travel to GreptimeDB.
type PayloadEncoding string

// The payload encodings.
const (
	PayloadEncodingJSONB PayloadEncoding = "jsonb"
	PayloadEncodingJSON  PayloadEncoding = "json"
)

// ColumnType is the type of an extra column.
type ColumnType string

// The types an extra column can have.
const (
	ColumnTypeString    ColumnType = "string"
	ColumnTypeInt64     ColumnType = "int64"
	ColumnTypeFloat64   ColumnType = "float64"
	ColumnTypeBool      ColumnType = "bool"
	ColumnTypeTimestamp ColumnType = "timestamp"
	ColumnTypeJSON      ColumnType = "json"
)

// knownColumnType reports whether t is a column type ("" is string).
func knownColumnType(t ColumnType) bool {
	switch t {
	case "", ColumnTypeString, ColumnTypeInt64, ColumnTypeFloat64, ColumnTypeBool, ColumnTypeTimestamp, ColumnTypeJSON:
		return true
	}
	return false
}

// minRequestBytes leaves room for a request's framing and a small event.
const minRequestBytes = 1024

// wildcardEventType configures every event type not listed in Events.
const wildcardEventType = "*"

// namePattern is GreptimeDB's rule for the names of catalogs, databases and
// the tables inserts create (NAME_PATTERN, src/common/base/src/regex_pattern.rs:18,
// checked at src/operator/src/statement/ddl.rs:485-490 for tables and
// :2150-2163 for catalogs and databases); column names are held to it too.
var namePattern = regexp.MustCompile(`^[a-zA-Z_:-][a-zA-Z0-9_:\-.@#]*$`)

// Validate checks the exporter's own options; the gRPC client, queue, retry
// and timeout settings validate themselves.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.ClientConfig.Endpoint == "" {
		errs = append(errs, errors.New(`"endpoint" must not be empty`))
	} else {
		errs = append(errs, validateEndpointPort(cfg.ClientConfig.Endpoint))
	}
	errs = append(errs, validateCompression(cfg.ClientConfig.Compression))
	errs = append(errs, validateCatalog(cfg.Catalog))
	errs = append(errs, validateDatabase("database", cfg.Database, cfg.Catalog))
	if tc := cfg.Tenants.Get(); tc != nil {
		errs = append(errs, tc.validate(cfg.QueueConfig, cfg.Catalog)...)
	}
	if cfg.Password != "" && cfg.Username == "" {
		errs = append(errs, errors.New(`"password" is set but "username" is empty`))
	}
	if cfg.Username != "" && cfg.Password == "" {
		// GreptimeDB's auth refuses a blank password with InvalidArguments
		// (src/auth/src/user_provider.rs:542-547): every insert would fail.
		errs = append(errs, errors.New(`"password" must not be empty when "username" is set: GreptimeDB refuses a blank password`))
	}
	if cfg.PayloadEncoding != PayloadEncodingJSONB && cfg.PayloadEncoding != PayloadEncodingJSON {
		errs = append(errs, fmt.Errorf(`"payload_encoding" %q is unknown (jsonb, json)`, cfg.PayloadEncoding))
	}
	if cfg.Payload.SpanAttributes && !cfg.Payload.Span {
		errs = append(errs, errors.New(`"payload::span_attributes" needs "payload::span": the attributes are written within the span`))
	}
	if cfg.MaxRequestBytes < minRequestBytes {
		errs = append(errs, fmt.Errorf(`"max_request_bytes" must be at least %d, got %d`, minRequestBytes, cfg.MaxRequestBytes))
	}
	errs = append(errs, validateTableName("table", cfg.Table))
	errs = append(errs, cfg.TableOptions.validate("")...)
	if cfg.EventType.Default == "" {
		errs = append(errs, errors.New(`"event_type::default" must not be empty`))
	}
	for i, attr := range cfg.EventType.Attributes {
		if attr == "" {
			errs = append(errs, fmt.Errorf(`"event_type::attributes[%d]" must not be empty`, i))
		}
	}
	errs = append(errs, cfg.EventID.validate("event_id")...)
	for eventType, ec := range cfg.Events {
		errs = append(errs, ec.validate(fmt.Sprintf("events::%s", eventType))...)
	}
	errs = append(errs, cfg.validateSharedTables()...)
	if dl := cfg.DeadLetter.Get(); dl != nil {
		errs = append(errs, validateTableName("dead_letter::table", dl.Table))
		if cfg.writesTo(dl.Table) {
			errs = append(errs, fmt.Errorf(`"dead_letter::table": %q also receives events; rejected events need a table of their own`, dl.Table))
		}
	}
	if cat := cfg.EventCatalog.Get(); cat != nil {
		errs = append(errs, validateTableName("event_catalog::table", cat.Table))
		if cfg.writesTo(cat.Table) || (cfg.DeadLetter.HasValue() && cfg.DeadLetter.Get().Table == cat.Table) {
			errs = append(errs, fmt.Errorf(`"event_catalog::table": %q is used for events; the catalog needs a table of its own`, cat.Table))
		}
		if cat.Interval <= 0 {
			errs = append(errs, fmt.Errorf(`"event_catalog::interval" must be positive, got %s`, cat.Interval))
		}
		if cat.MaxPayloadKeys < 0 {
			errs = append(errs, fmt.Errorf(`"event_catalog::max_payload_keys" must not be negative, got %d`, cat.MaxPayloadKeys))
		}
	}
	return errors.Join(errs...)
}

// validateSharedTables rejects event types that share a table but ask for
// different table options: GreptimeDB creates the table with the options of
// whichever insert comes first (src/operator/src/insert.rs:1262-1276) and
// later inserts only add columns (src/operator/src/insert.rs:619-640), so the
// other type's would be silently lost.
func (cfg *Config) validateSharedTables() []error {
	type user struct {
		key    string
		policy tablePolicy
	}
	// The exporter's own settings apply to unlisted types unless "*" is configured.
	users := map[string]user{}
	if _, ok := cfg.Events[wildcardEventType]; !ok {
		users[cfg.Table] = user{key: "the exporter's table", policy: cfg.policyOf(EventConfig{})}
	}
	var errs []error
	for _, eventType := range slices.Sorted(maps.Keys(cfg.Events)) {
		ec := cfg.Events[eventType]
		table, policy := cfg.tableOf(ec), cfg.policyOf(ec)
		key := fmt.Sprintf(`"events::%s"`, eventType)
		earlier, ok := users[table]
		if !ok {
			users[table] = user{key: key, policy: policy}
			continue
		}
		if earlier.policy != policy {
			errs = append(errs, fmt.Errorf("%s and %s write to table %q with different table options (%s vs %s); "+
				"the table would be created with whichever is inserted first",
				earlier.key, key, table, earlier.policy, policy))
		}
	}
	return errs
}

// writesTo reports whether events may be written to table.
func (cfg *Config) writesTo(table string) bool {
	if table == cfg.Table {
		return true
	}
	for _, ec := range cfg.Events {
		if ec.Table == table {
			return true
		}
	}
	return false
}

func (p tablePolicy) String() string {
	s := p.options().Hints()
	if p.EventID.Enabled {
		s += ", event_id"
	}
	return s
}

// options are the policy as the mapping takes it.
func (p tablePolicy) options() mapping.Options {
	return mapping.Options{
		TTL:                  p.TTL,
		AppendMode:           p.AppendMode,
		CompactionTimeWindow: p.CompactionTimeWindow,
		EventID:              p.EventID.Enabled,
		EventIDSource:        p.EventID.Source,
	}
}

func (c EventIDConfig) validate(key string) []error {
	if c.Source == "" {
		return nil
	}
	if !c.Enabled {
		return []error{fmt.Errorf(`"%s::source" is set but "%s::enabled" is false`, key, key)}
	}
	if err := mapping.CheckSource(c.Source); err != nil {
		return []error{fmt.Errorf(`"%s::source": %w`, key, err)}
	}
	return nil
}

func (o TableOptions) validate(prefix string) []error {
	var errs []error
	if o.TTL < 0 {
		errs = append(errs, fmt.Errorf(`"%sttl" must not be negative, got %s`, prefix, o.TTL))
	}
	if o.CompactionTimeWindow < 0 {
		errs = append(errs, fmt.Errorf(`"%scompaction_time_window" must not be negative, got %s`, prefix, o.CompactionTimeWindow))
	}
	return errs
}

func (ec EventConfig) validate(key string) []error {
	var errs []error
	if ec.Table != "" {
		errs = append(errs, validateTableName(key+"::table", ec.Table))
	}
	var opts TableOptions
	if ec.TTL != nil {
		opts.TTL = *ec.TTL
	}
	if ec.CompactionTimeWindow != nil {
		opts.CompactionTimeWindow = *ec.CompactionTimeWindow
	}
	errs = append(errs, opts.validate(key+"::")...)
	if ec.EventID != nil {
		errs = append(errs, ec.EventID.validate(key+"::event_id")...)
	}
	seen := map[string]bool{}
	expanded := ""
	for i, col := range ec.Columns {
		colKey := fmt.Sprintf("%s::columns[%d]", key, i)
		switch {
		case col.Name == "":
			errs = append(errs, fmt.Errorf(`"%s::name" must not be empty`, colKey))
		case !namePattern.MatchString(col.Name):
			errs = append(errs, fmt.Errorf(`"%s::name" %q is not a valid GreptimeDB column name (letters, digits, and _:-.@#, not starting with a digit, '.', '@' or '#')`, colKey, col.Name))
		case mapping.IsBaseColumn(col.Name):
			errs = append(errs, fmt.Errorf(`"%s::name" %q is a base column of event tables (%s)`, colKey, col.Name, mapping.BaseColumns))
		case seen[col.Name]:
			errs = append(errs, fmt.Errorf(`"%s::name" %q is used by another column of this event type`, colKey, col.Name))
		}
		seen[col.Name] = true
		if err := mapping.CheckSource(col.Source); err != nil {
			errs = append(errs, fmt.Errorf(`"%s::source": %w`, colKey, err))
		}
		if !knownColumnType(col.Type) {
			errs = append(errs, fmt.Errorf(`"%s::type" %q is unknown (%s)`, colKey, col.Type, mapping.ColumnTypes))
		}
		if st := col.SemanticType; st != "" && st != "tag" && st != "field" {
			errs = append(errs, fmt.Errorf(`"%s::semantic_type" %q is unknown (tag, field)`, colKey, st))
		}
		if col.Expand {
			if expanded != "" {
				errs = append(errs, fmt.Errorf(`"%s::expand": only one column may expand, %q already does`, colKey, expanded))
			}
			expanded = col.Name
		}
	}
	return errs
}

// validateEndpointPort refuses an endpoint whose port no server can have:
// not a number, or outside 1-65535. gRPC would only fail at each dial. A
// target with a scheme other than dns (unix:, passthrough: ...) is gRPC's
// to read, and so is an address without a port.
func validateEndpointPort(endpoint string) error {
	addr := endpoint
	if scheme, rest, ok := strings.Cut(endpoint, "://"); ok {
		if scheme != "dns" {
			return nil
		}
		addr = rest[strings.IndexByte(rest, '/')+1:] // dns://[authority]/host:port
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil // no port: gRPC's default
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf(`"endpoint" %q: the port must be a number from 1 to 65535, got %q`, endpoint, port)
	}
	return nil
}

// validateCompression allows what GreptimeDB's gRPC services decompress:
// gzip and zstd (src/servers/src/grpc/builder.rs:64-65). tonic answers any
// other grpc-encoding, such as configgrpc's snappy, with Unimplemented.
func validateCompression(c configcompression.Type) error {
	switch c {
	case "", "none", configcompression.TypeGzip, configcompression.TypeZstd:
		return nil
	}
	return fmt.Errorf(`"compression" %q is not accepted by GreptimeDB, whose gRPC service decompresses only gzip and zstd: every insert would fail with Unimplemented; use "gzip", "zstd" or "none"`, c)
}

// defaultCatalog is GreptimeDB's default catalog (DEFAULT_CATALOG_NAME,
// src/common/catalog/src/consts.rs:21, "greptime" unless a build sets
// another: src/common/catalog/build.rs:17-18).
const defaultCatalog = "greptime"

// validateCatalog checks the catalog option: a name GreptimeDB can hold,
// without a '-', at which it would split the dbname "<catalog>-<database>"
// (src/common/catalog/src/lib.rs:74-80).
func validateCatalog(catalog string) error {
	if catalog == "" {
		return nil
	}
	if !namePattern.MatchString(catalog) || strings.Contains(catalog, "-") {
		return fmt.Errorf(`"catalog" %q is not a GreptimeDB catalog name (letters, digits, and _:.@#, not starting with a digit, '.', '@' or '#', no '-')`, catalog)
	}
	return nil
}

// validateDatabase refuses a database name GreptimeDB cannot hold, or would
// read otherwise than written. Without the catalog option the dbname is the
// name itself, which GreptimeDB splits at its first '-' into catalog and
// schema (src/common/catalog/src/lib.rs:74-80): "otel-events" names schema
// "events" of a catalog "otel". The schema otel-events of the default
// catalog is written "greptime-otel-events", or set as the database with
// the catalog option; with it, any name is the schema of that catalog.
func validateDatabase(key, db, catalog string) error {
	if db == "" {
		return fmt.Errorf(`%q must not be empty`, key)
	}
	if !namePattern.MatchString(db) {
		return fmt.Errorf(`%q %q is not a GreptimeDB database name (letters, digits, and _:-.@#, not starting with a digit, '.', '@' or '#')`, key, db)
	}
	if !splitsIntoCatalog(db, catalog) {
		return nil
	}
	cat, schema, _ := strings.Cut(db, "-")
	return fmt.Errorf(`%q %q would be read by GreptimeDB as catalog %q, schema %q, because it splits a database name at the first '-'; `+
		`for the database %q of the default catalog write %q, or set "catalog: %s" and "database: %s"`, key, db, cat, schema, db, defaultCatalog+"-"+db, cat, schema)
}

// splitsIntoCatalog reports whether GreptimeDB would read db, sent without
// a catalog, as a schema of another catalog than the default: it splits a
// dbname at its first '-' (src/common/catalog/src/lib.rs:63-81).
func splitsIntoCatalog(db, catalog string) bool {
	if catalog != "" {
		return false
	}
	cat, schema, found := strings.Cut(db, "-")
	return found && (cat != defaultCatalog || schema == "")
}

// tenantSourceKind says where a record's tenant is read.
type tenantSourceKind uint8

const (
	tenantFromResource tenantSourceKind = iota // a resource attribute
	tenantFromMetadata                         // the request's client metadata
)

// tenantSource is a parsed TenantsConfig.From.
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

func (tc TenantsConfig) validate(queue configoptional.Optional[exporterhelper.QueueBatchConfig], catalog string) []error {
	var errs []error
	src, err := parseTenantSource(tc.From)
	if err != nil {
		errs = append(errs, fmt.Errorf(`"tenants::from": %w`, err))
	}
	if len(tc.Databases) == 0 && tc.DatabasePattern == "" {
		errs = append(errs, errors.New(`"tenants" needs "databases" or "database_pattern": records may name only the databases allowed`))
	}
	for i, db := range tc.Databases {
		key := fmt.Sprintf("tenants::databases[%d]", i)
		if err := validateDatabase(key, db, catalog); err != nil {
			errs = append(errs, err)
		} else if lower := strings.ToLower(db); lower != db {
			// Tenants are lowered before they are matched (tenants.database).
			errs = append(errs, fmt.Errorf(`%q %q: write it %q; GreptimeDB creates databases in lower case (CREATE DATABASE %s makes %s), and tenants are matched in lower case`, key, db, lower, db, lower))
		}
	}
	if tc.DatabasePattern != "" {
		if _, err := regexp.Compile(tc.DatabasePattern); err != nil {
			errs = append(errs, fmt.Errorf(`"tenants::database_pattern": %w`, err))
		}
	}
	// Batches merge the requests of several clients unless partitioned by
	// the key: the merged request would carry no tenant.
	if src.kind == tenantFromMetadata {
		if q := queue.Get(); q != nil && q.Batch.HasValue() && !slices.ContainsFunc(q.Batch.Get().Partition.MetadataKeys,
			func(k string) bool { return strings.EqualFold(k, src.key) }) {
			errs = append(errs, fmt.Errorf(`"tenants::from" %q: add %q to "sending_queue::batch::partition::metadata_keys", or batches mix the records of several tenants`, tc.From, src.key))
		}
	}
	return errs
}

func validateTableName(key, name string) error {
	if name == "" {
		return fmt.Errorf(`%q must not be empty`, key)
	}
	if !namePattern.MatchString(name) {
		return fmt.Errorf(`%q: %q is not a valid GreptimeDB table name (letters, digits, and _:-.@#, not starting with a digit, '.', '@' or '#')`, key, name)
	}
	return nil
}
