package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
)

// The event catalog is a table with one row per (table, event type) the
// exporter has written, so dashboards can discover what exists. Each
// exporter instance upserts its own rows: they are keyed by table, type and
// collector, with the time the exporter started as their time index, in a
// non-append table that keeps the last row written.

// The catalog table's columns.
const (
	columnCatalogTable       = "table_name"
	columnCatalogCollector   = "collector"
	columnCatalogStartedAt   = "started_at"
	columnCatalogFirstSeen   = "first_seen"
	columnCatalogLastSeen    = "last_seen"
	columnCatalogEvents      = "events"
	columnCatalogPayloadKeys = "payload_keys"
)

// catalogAttempts bounds the tries of one catalog write; the next interval
// writes the same rows again anyway.
const catalogAttempts = 3

// catalogHints make a table that keeps the last row of each key
// (merge_mode last_row, src/mito2/src/region/options.rs:68-71; copied from
// the hints at src/operator/src/insert.rs:1262-1276): the catalog is
// rewritten every interval, and has no TTL so a long-running collector's
// rows do not expire under it.
const catalogHints = "append_mode=false, merge_mode=last_row"

type catalogKey struct{ database, table, eventType string }

type catalogEntry struct {
	firstSeen, lastSeen time.Time
	events              int64
	keys                map[string]bool // "body.<key>" and "attributes.<key>", bounded
}

// catalog counts what the exporter wrote and upserts it periodically.
type eventCatalog struct {
	cfg       EventCatalogConfig
	collector string // identifies this exporter instance
	startedAt time.Time

	mu      sync.Mutex
	entries map[catalogKey]*catalogEntry
	dirty   map[string]bool // databases whose rows changed since their last write

	stop context.CancelFunc // ends the periodic writes
	done sync.WaitGroup
}

func newEventCatalog(cfg EventCatalogConfig, collector string, now time.Time) *eventCatalog {
	return &eventCatalog{cfg: cfg, collector: collector, startedAt: now, entries: map[catalogKey]*catalogEntry{}, dirty: map[string]bool{}}
}

// observe records the events of a successful insert into database db.
func (c *eventCatalog) observe(db, table, eventType string, events []event, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := catalogKey{database: db, table: table, eventType: eventType}
	e := c.entries[key]
	if e == nil {
		e = &catalogEntry{firstSeen: now, keys: map[string]bool{}}
		c.entries[key] = e
	}
	e.lastSeen = now
	e.events += int64(len(events))
	c.dirty[db] = true
	for i := range events {
		if len(e.keys) >= c.cfg.MaxPayloadKeys {
			return
		}
		if body := events[i].lr.Body(); body.Type() == pcommon.ValueTypeMap {
			c.addKeys(e, "body.", body.Map())
		}
		c.addKeys(e, "attributes.", events[i].lr.Attributes())
	}
}

func (c *eventCatalog) addKeys(e *catalogEntry, prefix string, m pcommon.Map) {
	for k := range m.All() {
		if len(e.keys) >= c.cfg.MaxPayloadKeys {
			return
		}
		if !e.keys[prefix+k] {
			e.keys[prefix+k] = true
		}
	}
}

// requests are the catalog's rows as one insert per database whose rows
// changed since the last write: each database has a catalog of its own.
func (c *eventCatalog) requests(headers *requestHeaders) map[string]*greptimev1.GreptimeRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]*greptimev1.GreptimeRequest{}
	for db := range c.dirty {
		out[db] = c.request(db, headers.header(db))
	}
	clear(c.dirty)
	return out
}

// request is the catalog's rows of database db as an insert; c.mu held.
func (c *eventCatalog) request(db string, header *greptimev1.RequestHeader) *greptimev1.GreptimeRequest {
	str := func(s string) *greptimev1.Value {
		return &greptimev1.Value{ValueData: &greptimev1.Value_StringValue{StringValue: strings.ToValidUTF8(s, "\uFFFD")}}
	}
	ts := func(t time.Time) *greptimev1.Value {
		return &greptimev1.Value{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: t.UnixNano()}}
	}
	keys := slices.SortedFunc(maps.Keys(c.entries), func(a, b catalogKey) int {
		return cmp.Or(cmp.Compare(a.table, b.table), cmp.Compare(a.eventType, b.eventType))
	})
	rows := make([]*greptimev1.Row, 0, len(keys))
	for _, k := range keys {
		if k.database != db {
			continue
		}
		e := c.entries[k]
		payloadKeys, _ := json.Marshal(slices.Sorted(maps.Keys(e.keys))) // strings only: cannot fail
		rows = append(rows, &greptimev1.Row{Values: []*greptimev1.Value{
			str(k.table), str(k.eventType), str(c.collector), ts(c.startedAt), ts(e.firstSeen), ts(e.lastSeen),
			{ValueData: &greptimev1.Value_I64Value{I64Value: e.events}},
			str(string(payloadKeys)),
		}})
	}
	schema := []*greptimev1.ColumnSchema{
		{ColumnName: columnCatalogTable, Datatype: greptimev1.ColumnDataType_STRING, SemanticType: greptimev1.SemanticType_TAG},
		{ColumnName: columnType, Datatype: greptimev1.ColumnDataType_STRING, SemanticType: greptimev1.SemanticType_TAG},
		{ColumnName: columnCatalogCollector, Datatype: greptimev1.ColumnDataType_STRING, SemanticType: greptimev1.SemanticType_TAG},
		{ColumnName: columnCatalogStartedAt, Datatype: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, SemanticType: greptimev1.SemanticType_TIMESTAMP},
		{ColumnName: columnCatalogFirstSeen, Datatype: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, SemanticType: greptimev1.SemanticType_FIELD},
		{ColumnName: columnCatalogLastSeen, Datatype: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, SemanticType: greptimev1.SemanticType_FIELD},
		{ColumnName: columnCatalogEvents, Datatype: greptimev1.ColumnDataType_INT64, SemanticType: greptimev1.SemanticType_FIELD},
		{ColumnName: columnCatalogPayloadKeys, Datatype: greptimev1.ColumnDataType_JSON, SemanticType: greptimev1.SemanticType_FIELD},
	}
	return &greptimev1.GreptimeRequest{
		Header: header,
		Request: &greptimev1.GreptimeRequest_RowInserts{RowInserts: &greptimev1.RowInsertRequests{Inserts: []*greptimev1.RowInsertRequest{{
			TableName: c.cfg.Table,
			Rows:      &greptimev1.Rows{Schema: schema, Rows: rows},
		}}}},
	}
}

// markDirty makes the next write of db's catalog write its rows again,
// after a failed write.
func (c *eventCatalog) markDirty(db string) {
	c.mu.Lock()
	c.dirty[db] = true
	c.mu.Unlock()
}

// startCatalog writes the catalog every interval, outside the sending queue,
// until stopCatalog.
// Each write's calls are bounded by the exporter's timeout (callBriefly);
// stopping cancels a write under way, which the last one makes good.
func (e *logsExporter) startCatalog() {
	c := e.eventCatalog
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.done.Go(func() {
		ticker := time.NewTicker(c.cfg.Interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				e.writeCatalog(ctx)
			}
		}
	})
}

// stopCatalog stops the periodic writes and writes the catalog a last time.
func (e *logsExporter) stopCatalog(ctx context.Context) {
	e.eventCatalog.stop()
	e.eventCatalog.done.Wait()
	e.writeCatalog(ctx)
}

// writeCatalog upserts the catalog with a small bounded retry; a failure is
// logged and the rows are written again at the next interval.
func (e *logsExporter) writeCatalog(ctx context.Context) {
	for db, req := range e.eventCatalog.requests(&e.headers) {
		_, err := e.callBriefly(ctx, catalogAttempts, catalogHints, req)
		if err == nil {
			e.logger.Debug("Wrote the event catalog", zap.String("database", db), zap.String("table", e.eventCatalog.cfg.Table))
			continue
		}
		e.eventCatalog.markDirty(db)
		e.telemetry.ExporterGreptimeEventsCatalogWriteFailures.Add(ctx, 1)
		e.logger.Warn("Could not write the event catalog; will try again at the next interval",
			zap.String("database", db), zap.String("table", e.eventCatalog.cfg.Table), zap.Error(err))
	}
}

// catalogCollector names this exporter instance in the catalog: the host
// and the component's id.
func catalogCollector(host, id string) string {
	if host == "" {
		return id
	}
	return fmt.Sprintf("%s/%s", host, id)
}
