package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pipeline"
	"go.uber.org/zap"

	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
)

// The event catalog is a table with one row per (table, event type) the
// exporter has written, so that dashboards can discover what exists. Each
// exporter instance upserts its own rows: they are keyed by table, type and
// collector, with the time the exporter started as their time index, in a
// non-append table that keeps the last row written.

// eventCatalog counts what the exporter wrote and upserts it periodically.
type eventCatalog struct {
	cfg       EventCatalogConfig
	collector string // identifies this exporter instance
	startedAt time.Time
	layout    *mapping.Layout
	caller    *caller
	metrics   *metrics
	logger    *zap.Logger

	mu      sync.Mutex
	entries map[catalogKey]*catalogEntry // at most maxCatalogEntries
	full    bool                         // an entry was refused: logged once
	dirty   map[string]bool              // databases whose rows changed since their last write
	writer  mapping.Writer               // used by one write at a time, under writing
	writing sync.Mutex

	stop context.CancelFunc // ends the periodic writes
	done sync.WaitGroup
}

type catalogKey struct{ database, table, eventType string }

type catalogEntry struct {
	firstSeen, lastSeen time.Time
	events              int64
	keys                map[string]bool // "body.<key>" and "attributes.<key>", bounded
}

// newEventCatalog is the exporter's event catalog, nil without one.
func newEventCatalog(cfg *Config, collector string, c *caller, m *metrics, logger *zap.Logger, now time.Time) (*eventCatalog, error) {
	cc := cfg.EventCatalog.Get()
	if cc == nil {
		return nil, nil
	}
	l, err := mapping.CatalogLayout(cc.Table, encodingOf(cfg))
	if err != nil {
		return nil, err
	}
	return &eventCatalog{
		cfg: *cc, collector: collector, startedAt: now, layout: l, caller: c, metrics: m, logger: logger,
		entries: map[catalogKey]*catalogEntry{}, dirty: map[string]bool{},
	}, nil
}

// catalogCollector names this exporter instance in the catalog: the host
// and the component's id, and for the instance of a traces pipeline
// "/traces" (a component in both pipelines is two instances, each with its
// own counts).
func catalogCollector(host, id string, signal pipeline.Signal) string {
	name := id
	if host != "" {
		name = host + "/" + id
	}
	if signal == pipeline.SignalTraces {
		name += "/traces"
	}
	return name
}

// maxCatalogEntries bounds the catalog's (database, table, type) entries:
// types come from the records, and a sender that makes up names would
// otherwise grow the catalog for the life of the process.
const maxCatalogEntries = 10_000

// observe records the events of a successful insert.
func (c *eventCatalog) observe(in mapping.Insert, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := catalogKey{database: in.Group.Database, table: in.Group.Layout.Table(), eventType: in.Group.Type}
	e := c.entries[key]
	if e == nil {
		if len(c.entries) >= maxCatalogEntries {
			if !c.full {
				c.full = true
				c.logger.Warn("The event catalog holds as many event types as it may; types seen from now on are written but not catalogued",
					zap.Int("max_entries", maxCatalogEntries), zap.String("type", key.eventType), zap.String("table", key.table))
			}
			return
		}
		e = &catalogEntry{firstSeen: now, keys: map[string]bool{}}
		c.entries[key] = e
	}
	e.lastSeen = now
	e.events += int64(len(in.Events))
	c.dirty[key.database] = true
	for i := range in.Events {
		if len(e.keys) >= c.cfg.MaxPayloadKeys {
			return
		}
		if body := in.Events[i].Body(); body.Type() == pcommon.ValueTypeMap {
			c.addKeys(e, "body.", body.Map())
		}
		c.addKeys(e, "attributes.", in.Events[i].Attributes())
	}
}

func (c *eventCatalog) addKeys(e *catalogEntry, prefix string, m pcommon.Map) {
	for k := range m.All() {
		if len(e.keys) >= c.cfg.MaxPayloadKeys {
			return
		}
		if !e.keys[prefix+k] { // a lookup of the joined key allocates nothing; storing it does
			e.keys[prefix+k] = true
		}
	}
}

// rowsToWrite takes the catalog's rows of each database whose rows changed
// since the last write, as events of the catalog layout.
func (c *eventCatalog) rowsToWrite() map[string]*mapping.Group {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]*mapping.Group{}
	for db := range c.dirty {
		out[db] = &mapping.Group{Database: db, Layout: c.layout}
	}
	clear(c.dirty)
	for _, k := range slices.SortedFunc(maps.Keys(c.entries), compareCatalogKeys) {
		g := out[k.database]
		if g == nil {
			continue
		}
		e := c.entries[k]
		g.Events = append(g.Events, mapping.Event{Timestamp: c.startedAt.UnixNano(), Catalog: &mapping.CatalogRow{
			Table: k.table, Type: k.eventType, Collector: c.collector,
			FirstSeen: e.firstSeen, LastSeen: e.lastSeen, Events: e.events,
			PayloadKeys: slices.Sorted(maps.Keys(e.keys)),
		}})
	}
	return out
}

func compareCatalogKeys(a, b catalogKey) int {
	return cmp.Or(cmp.Compare(a.table, b.table), cmp.Compare(a.eventType, b.eventType))
}

// markDirty makes the next write of db's catalog write its rows again,
// after a failed write.
func (c *eventCatalog) markDirty(db string) {
	c.mu.Lock()
	c.dirty[db] = true
	c.mu.Unlock()
}

// start writes the catalog every interval, outside the sending queue,
// until stop. Each write's calls are bounded by the exporter's timeout;
// stopping cancels a write under way, which the last one makes good.
func (c *eventCatalog) start() {
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
				c.write(ctx)
			}
		}
	})
}

// shutdown stops the periodic writes and writes the catalog a last time.
func (c *eventCatalog) shutdown(ctx context.Context) {
	if c.stop != nil {
		c.stop()
		c.done.Wait()
	}
	c.write(ctx)
}

// write upserts the catalog, each database's rows with the bounded retry
// of the exporter's own writes; a failure is logged, and the rows written
// again at the next interval.
func (c *eventCatalog) write(ctx context.Context) {
	c.writing.Lock()
	defer c.writing.Unlock()
	for db, g := range c.rowsToWrite() {
		if err := c.writeRows(ctx, db, g); err != nil {
			c.markDirty(db)
			c.metrics.catalogWriteFailed(ctx)
			c.logger.Warn("Could not write the event catalog; will try again at the next interval",
				zap.String("database", db), zap.String("table", c.layout.Table()), zap.Error(err))
			continue
		}
		c.logger.Debug("Wrote the event catalog", zap.String("database", db), zap.String("table", c.layout.Table()))
	}
}

func (c *eventCatalog) writeRows(ctx context.Context, db string, g *mapping.Group) error {
	header, err := c.caller.header(db)
	if err != nil {
		return err
	}
	c.writer.Start()
	requests, tooLarge := c.writer.Pack([]*mapping.Group{g}, header, c.caller.requestLimit())
	failed := false
	defer func() { c.writer.Finish(!failed) }()
	for _, r := range tooLarge {
		err = r.Err // a catalog row is small: not with max_request_bytes at least 1024
	}
	for _, inserts := range requests {
		if werr := c.caller.writeBriefly(ctx, db, inserts, c.layout.Hints()); werr != nil {
			failed, err = true, werr
		}
	}
	return err
}
