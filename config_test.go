package greptimeeventsexporter

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/greptime-events/greptimeeventsexporter/internal/metadata"
)

func TestUnmarshalDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig()
	require.NoError(t, confmap.New().Unmarshal(cfg))
	assert.Equal(t, NewFactory().CreateDefaultConfig(), cfg)
	require.NoError(t, confmap.Validate(cfg))
}

// TestLoadConfig loads each valid configuration of testdata/config.yaml.
func TestLoadConfig(t *testing.T) {
	cm := loadTestdataConfig(t)
	tests := []struct {
		id   component.ID
		want *Config
	}{
		{id: component.NewID(metadata.Type), want: defaultConfig()},
		{id: component.NewIDWithName(metadata.Type, "full"), want: fullConfig()},
		{id: component.NewIDWithName(metadata.Type, "no_queue"), want: noQueueConfig()},
		{id: component.NewIDWithName(metadata.Type, "database_in_default_catalog"), want: defaultCatalogDatabaseConfig()},
		{id: component.NewIDWithName(metadata.Type, "tenants"), want: tenantsConfig()},
		{id: component.NewIDWithName(metadata.Type, "table_policy"), want: tablePolicyConfig()},
		{id: component.NewIDWithName(metadata.Type, "catalog"), want: catalogConfig()},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg, err := unmarshalAndValidate(t, cm, tt.id)
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

// TestLoadConfigErrors loads each configuration of testdata/config.yaml
// that is refused, when unmarshaled or validated, and checks the error.
func TestLoadConfigErrors(t *testing.T) {
	cm := loadTestdataConfig(t)
	tests := []struct {
		id      component.ID
		wantErr string
	}{
		{id: component.NewIDWithName(metadata.Type, "tenants_without_databases"), wantErr: `"tenants" needs "databases" or "database_pattern": records may name only the databases allowed`},
		{id: component.NewIDWithName(metadata.Type, "tenants_bad_from"), wantErr: `"tenants::from": "attributes.tenant" is unknown (resource.<attribute>, metadata.<key>)`},
		{id: component.NewIDWithName(metadata.Type, "tenants_metadata_without_partition"), wantErr: `"tenants::from" "metadata.x-tenant": add "x-tenant" to "sending_queue::batch::partition::metadata_keys", or batches mix the records of several tenants`},
		{id: component.NewIDWithName(metadata.Type, "tenants_bad_pattern"), wantErr: `"tenants::database_pattern": error parsing regexp`},
		{id: component.NewIDWithName(metadata.Type, "tenants_database_with_dash"), wantErr: `"tenants::databases[0]" "team-a" would be read by GreptimeDB as catalog "team", schema "a"`},
		{id: component.NewIDWithName(metadata.Type, "shared_table_conflict"), wantErr: `"events::deploy" and "events::rollback" write to table "ops" with different table options (ttl=30d, append_mode=true, compaction.twcs.time_window=1d vs ttl=90d, append_mode=true, compaction.twcs.time_window=1d)`},
		{id: component.NewIDWithName(metadata.Type, "type_changes_default_table"), wantErr: `the exporter's table and "events::deploy" write to table "events" with different table options`},
		{id: component.NewIDWithName(metadata.Type, "bad_event_id_source"), wantErr: `"event_id::source": "attributes" is unknown`},
		{id: component.NewIDWithName(metadata.Type, "event_id_source_not_enabled"), wantErr: `"events::deploy::event_id::source" is set but "events::deploy::event_id::enabled" is false`},
		{id: component.NewIDWithName(metadata.Type, "dead_letter_is_an_event_table"), wantErr: `"dead_letter::table": "events" also receives events`},
		{id: component.NewIDWithName(metadata.Type, "event_catalog_bad_interval"), wantErr: `"event_catalog::interval" must be positive, got 0s`},
		{id: component.NewIDWithName(metadata.Type, "empty_endpoint"), wantErr: `"endpoint" must not be empty`},
		{id: component.NewIDWithName(metadata.Type, "empty_database"), wantErr: `"database" must not be empty`},
		{id: component.NewIDWithName(metadata.Type, "password_without_username"), wantErr: `"password" is set but "username" is empty`},
		{id: component.NewIDWithName(metadata.Type, "bad_table"), wantErr: `"table": "1events" is not a valid GreptimeDB table name`},
		{id: component.NewIDWithName(metadata.Type, "bad_type_table"), wantErr: `"events::deploy::table": "events rejected" is not a valid GreptimeDB table name`},
		{id: component.NewIDWithName(metadata.Type, "negative_ttl"), wantErr: `"ttl" must not be negative, got -1h0m0s`},
		{id: component.NewIDWithName(metadata.Type, "negative_compaction_time_window"), wantErr: `"compaction_time_window" must not be negative, got -24h0m0s`},
		{id: component.NewIDWithName(metadata.Type, "empty_default_type"), wantErr: `"event_type::default" must not be empty`},
		{id: component.NewIDWithName(metadata.Type, "bad_column_name"), wantErr: `"events::deploy::columns[0]::name" "@user" is not a valid GreptimeDB column name`},
		{id: component.NewIDWithName(metadata.Type, "reserved_column"), wantErr: `"events::deploy::columns[0]::name" "timestamp" is a base column of event tables`},
		{id: component.NewIDWithName(metadata.Type, "duplicate_column"), wantErr: `"events::deploy::columns[1]::name" "user" is used by another column of this event type`},
		{id: component.NewIDWithName(metadata.Type, "unknown_source"), wantErr: `"events::deploy::columns[0]::source": "span.user" is unknown`},
		{id: component.NewIDWithName(metadata.Type, "unknown_type"), wantErr: `"events::deploy::columns[0]::type" "varchar" is unknown`},
		{id: component.NewIDWithName(metadata.Type, "unknown_semantic_type"), wantErr: `"events::deploy::columns[0]::semantic_type" "timestamp" is unknown (tag, field)`},
		{id: component.NewIDWithName(metadata.Type, "two_expand"), wantErr: `"events::deploy::columns[1]::expand": only one column may expand, "host" already does`},
		{id: component.NewIDWithName(metadata.Type, "unknown_key"), wantErr: `has invalid keys: tabel`},
		{id: component.NewIDWithName(metadata.Type, "snappy_compression"), wantErr: `"compression" "snappy" is not accepted by GreptimeDB, whose gRPC service decompresses only gzip and zstd: every insert would fail with Unimplemented; use "gzip", "zstd" or "none"`},
		{id: component.NewIDWithName(metadata.Type, "username_without_password"), wantErr: `"password" must not be empty when "username" is set: GreptimeDB refuses a blank password`},
		{id: component.NewIDWithName(metadata.Type, "database_with_dash"), wantErr: `"database" "otel-events" would be read by GreptimeDB as catalog "otel", schema "events", because it splits a database name at the first '-'; for the database "otel-events" of the default catalog write "greptime-otel-events", or set "catalog: otel" and "database: events"`},
		{id: component.NewIDWithName(metadata.Type, "catalog_with_dash"), wantErr: `"catalog" "otel-prod" is not a GreptimeDB catalog name`},
		{id: component.NewIDWithName(metadata.Type, "database_name_greptimedb_refuses"), wantErr: `"database" "1events" is not a GreptimeDB database name`},
		{id: component.NewIDWithName(metadata.Type, "tenants_database_in_upper_case"), wantErr: `"tenants::databases[0]" "Acme": write it "acme"; GreptimeDB creates databases in lower case (CREATE DATABASE Acme makes acme), and tenants are matched in lower case`},
		{id: component.NewIDWithName(metadata.Type, "small_max_request_bytes"), wantErr: `"max_request_bytes" must be at least 1024, got 100`},
		{id: component.NewIDWithName(metadata.Type, "span_attributes_without_span"), wantErr: `"payload::span_attributes" needs "payload::span"`},
		{id: component.NewIDWithName(metadata.Type, "endpoint_port_out_of_range"), wantErr: `"endpoint" "localhost:99999": the port must be a number from 1 to 65535, got "99999"`},
		{id: component.NewIDWithName(metadata.Type, "endpoint_port_not_a_number"), wantErr: `"endpoint" "dns:///greptimedb-frontend:grpc": the port must be a number from 1 to 65535, got "grpc"`},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			_, err := unmarshalAndValidate(t, cm, tt.id)
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// loadTestdataConfig loads testdata/config.yaml.
func loadTestdataConfig(t *testing.T) *confmap.Conf {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	return cm
}

// unmarshalAndValidate unmarshals the section id of cm over the default
// config and, if that succeeds, validates it.
func unmarshalAndValidate(t *testing.T, cm *confmap.Conf, id component.ID) (component.Config, error) {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	err = sub.Unmarshal(cfg)
	if err == nil {
		err = confmap.Validate(cfg)
	}
	return cfg, err
}

// fullConfig is section full: the client, the table and its options, event
// types and their columns, the payload, the filter, the queue and retries,
// set away from their defaults.
func fullConfig() *Config {
	full := defaultConfig()
	full.ClientConfig.Endpoint = "greptimedb.example.com:4001"
	full.ClientConfig.TLS.Insecure = true
	full.ClientConfig.Compression = configcompression.TypeZstd
	full.ClientConfig.Headers = configopaque.MapList{{Name: "x-proxy-token", Value: "secret-proxy-token"}}
	full.ClientConfig.BalancerName = "pick_first"
	full.TimeoutConfig.Timeout = 3 * time.Second
	full.Database = "observability"
	full.Username = "exporter"
	full.Password = "s3cret"
	full.Table = "app_events"
	full.TableOptions = TableOptions{TTL: 720 * time.Hour, AppendMode: false, CompactionTimeWindow: 2 * time.Hour}
	full.EventType = EventTypeConfig{Attributes: []string{"event.name", "event.type"}, Default: "unknown"}
	full.Payload = PayloadConfig{Body: true, Resource: true, Scope: true, Severity: true, Trace: true, Span: true, SpanAttributes: true}
	full.Events = map[string]EventConfig{
		"user.login": {Table: "logins", Columns: []ColumnConfig{
			{Name: "user_id", Source: "attributes.user.id", Type: ColumnTypeString, SemanticType: "tag"},
			{Name: "latency_ms", Source: "body.latency_ms", Type: ColumnTypeFloat64},
		}},
		"order.placed": {Columns: []ColumnConfig{
			{Name: "item", Source: "body.items", Type: ColumnTypeJSON, Expand: true},
		}},
		"*": {Columns: []ColumnConfig{
			{Name: "service", Source: "resource.service.name", SemanticType: "tag"},
		}},
	}
	full.MaxRequestBytes = 1 << 20
	full.Filter = FilterConfig{Include: []string{"user.login", "order.placed", "deploy"}, Exclude: []string{"debug"}}
	queue := full.QueueConfig.Get()
	queue.QueueSize = 5000
	queue.Batch.Get().MinSize = 500
	queue.Batch.Get().FlushTimeout = time.Second
	full.RetryConfig.InitialInterval = time.Second
	full.RetryConfig.MaxInterval = 10 * time.Second
	full.RetryConfig.MaxElapsedTime = time.Minute
	return full
}

// noQueueConfig is section no_queue: no sending queue and no retries.
func noQueueConfig() *Config {
	noQueue := defaultConfig()
	noQueue.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	noQueue.RetryConfig.Enabled = false
	return noQueue
}

// defaultCatalogDatabaseConfig is section database_in_default_catalog:
// database otel-events of the default catalog, written greptime-otel-events.
func defaultCatalogDatabaseConfig() *Config {
	defaultCatalogDB := defaultConfig()
	defaultCatalogDB.Database = "greptime-otel-events"
	return defaultCatalogDB
}

// tenantsConfig is section tenants: tenants from request metadata, with
// batches partitioned by it.
func tenantsConfig() *Config {
	tenants := defaultConfig()
	tenants.Tenants = configoptional.Some(TenantsConfig{From: "metadata.x-tenant", Databases: []string{"team_a", "team_b"}, DatabasePattern: "tenant_[0-9]+"})
	tenants.QueueConfig.Get().Batch.Get().Partition.MetadataKeys = []string{"x-tenant"}
	return tenants
}

// tablePolicyConfig is section table_policy: event ids, table options and
// event ids per event type, the dead-letter table and the event catalog.
func tablePolicyConfig() *Config {
	policy := defaultConfig()
	policy.EventID = EventIDConfig{Enabled: true}
	yearTTL, week, day := 8760*time.Hour, 168*time.Hour, 24*time.Hour
	appendOff := false
	policy.Events = map[string]EventConfig{
		"audit.login": {Table: "audit", TTL: &yearTTL, AppendMode: &appendOff, CompactionTimeWindow: &week,
			EventID: &EventIDConfig{Enabled: true, Source: "attributes.event.id"}},
		"debug.trace": {Table: "debug", TTL: &day, EventID: &EventIDConfig{Enabled: false}},
	}
	policy.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	policy.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: 30 * time.Second, MaxPayloadKeys: 64})
	return policy
}

// catalogConfig is section catalog: catalog otel, its database
// events-2026, and tenants that create their databases.
func catalogConfig() *Config {
	withCatalog := defaultConfig()
	withCatalog.Catalog = "otel"
	withCatalog.Database = "events-2026"
	withCatalog.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", Databases: []string{"team-a"}, CreateDatabases: true})
	return withCatalog
}

func TestValidateJoinsEveryProblem(t *testing.T) {
	cfg := defaultConfig()
	cfg.ClientConfig.Endpoint = ""
	cfg.Table = ""
	cfg.TTL = -time.Second
	err := cfg.Validate()
	require.Error(t, err)
	assert.ErrorContains(t, err, `"endpoint" must not be empty`)
	assert.ErrorContains(t, err, `"table" must not be empty`)
	assert.ErrorContains(t, err, `"ttl" must not be negative`)
}

func TestPasswordIsOpaque(t *testing.T) {
	cfg := defaultConfig()
	cfg.Username = "exporter"
	cfg.Password = "s3cret"
	cfg.ClientConfig.Headers.Set("x-proxy-token", "proxy-s3cret")
	out := confmap.New()
	require.NoError(t, out.Marshal(cfg))
	assert.Equal(t, "[REDACTED]", out.Get("password"))
	printed := fmt.Sprintf("%+v %v %v", cfg, *cfg, out.ToStringMap())
	assert.NotContains(t, printed, "s3cret")
	assert.NotContains(t, printed, "proxy-s3cret")
}

func TestEndpointPort(t *testing.T) {
	for _, ok := range []string{"localhost:4001", "[::1]:4001", "dns:///greptimedb-frontend.svc:4001", "dns://8.8.8.8/greptimedb:4001",
		"unix:///run/greptimedb.sock", "greptimedb.example.com", "10.0.0.7:65535"} {
		assert.NoError(t, validateEndpointPort(ok), ok)
	}
	for _, bad := range []string{"localhost:99999", "localhost:0", "10.0.0.7:-1", "localhost:grpc", "dns:///greptimedb:70000"} {
		assert.ErrorContains(t, validateEndpointPort(bad), "the port must be a number from 1 to 65535", bad)
	}
}

// TestOptionalSectionsCanBeTurnedOff: dead_letter, event_catalog and
// tenants take "enabled: false", which keeps a section written out but off.
func TestOptionalSectionsCanBeTurnedOff(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, "optional_sections_off").String())
	require.NoError(t, err)
	cfg := defaultConfig()
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.False(t, cfg.DeadLetter.HasValue())
	assert.False(t, cfg.EventCatalog.HasValue())
	assert.False(t, cfg.Tenants.HasValue())
}
