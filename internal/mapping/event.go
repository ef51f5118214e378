package mapping

import (
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Event is a record of a batch on its way to a row: a log record, or a span
// event with its span; its resource and scope, with their positions in the
// batch (so that the failed part of a batch can be rebuilt); and its
// timestamp. A dead letter carries its Rejection, a row of the event
// catalog its CatalogRow.
type Event struct {
	resource pcommon.Resource
	scope    pcommon.InstrumentationScope
	lr       plog.LogRecord   // a log record's event; zero for a span event
	span     ptrace.Span      // a span event's span; zero for a log record's
	se       ptrace.SpanEvent // a span event; zero for a log record's
	// ri, si and pi are the positions in the batch of its resource, scope
	// and span (a span event's).
	ri, si, pi int
	// Timestamp is the event's time, in nanoseconds since the epoch.
	Timestamp int64
	// Rejection is set on a dead letter: why it is one.
	Rejection *Rejection
	// Catalog is set on a row of the event catalog.
	Catalog *CatalogRow
}

// IsSpanEvent reports whether the event is a span event, not a log record.
func (ev *Event) IsSpanEvent() bool { return ev.se != ptrace.SpanEvent{} }

// Attributes are the record's attributes: a log record's, or a span event's.
func (ev *Event) Attributes() pcommon.Map {
	if ev.IsSpanEvent() {
		return ev.se.Attributes()
	}
	return ev.lr.Attributes()
}

// Body is a log record's body; a span event has none.
func (ev *Event) Body() pcommon.Value {
	if ev.IsSpanEvent() {
		return emptyBody
	}
	return ev.lr.Body()
}

// emptyBody is the body of every span event; it is only read.
var emptyBody = pcommon.NewValueEmpty()

// Group is the events of one (database, event type): they become one
// insert into their layout's table, or several where they exceed a request.
type Group struct {
	Database string
	Type     string
	Layout   *Layout
	Events   []Event
}

// Rejection is why an event is dead-lettered: what its dead-letter row
// holds besides the event's type, payload and timestamp.
type Rejection struct {
	Database string // the database the event was meant for; "" for a tenant not allowed
	Table    string // the table it was meant for
	Code     int    // GreptimeDB's status code; 0 when GreptimeDB gave none
	GRPCCode string // "" when GreptimeDB never saw the event
	Message  string
	// Payload, when set, replaces the event's payload: a too-large record's.
	Payload []byte
}

// read reads a dead-letter column; nothing from nil.
func (r *Rejection) read(kind sourceKind) value {
	if r == nil {
		return value{}
	}
	switch kind {
	case sourceTargetDatabase:
		return stringValue(r.Database)
	case sourceTargetTable:
		return stringValue(r.Table)
	case sourceErrorCode:
		if r.Code != 0 {
			return value{kind: valueInt, i: int64(r.Code)}
		}
	case sourceGRPCCode:
		return stringValue(r.GRPCCode)
	case sourceErrorMessage:
		return stringValue(truncateUTF8(r.Message, maxErrorMessage))
	}
	return value{}
}

// maxErrorMessage keeps a long server message (it may quote the offending
// value) from growing every dead-letter row.
const maxErrorMessage = 1024

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CatalogRow is a row of the event catalog: what one exporter wrote of one
// event type into one table.
type CatalogRow struct {
	Table, Type, Collector string
	FirstSeen, LastSeen    time.Time
	Events                 int64
	PayloadKeys            []string
}

// read reads an event catalog column; nothing from nil.
func (c *CatalogRow) read(kind sourceKind) value {
	if c == nil {
		return value{}
	}
	switch kind {
	case sourceCatalogTable:
		return stringValue(c.Table)
	case sourceCatalogType:
		return stringValue(c.Type)
	case sourceCatalogCollector:
		return stringValue(c.Collector)
	case sourceCatalogFirstSeen:
		return value{kind: valueTime, i: c.FirstSeen.UnixNano()}
	case sourceCatalogLastSeen:
		return value{kind: valueTime, i: c.LastSeen.UnixNano()}
	case sourceCatalogEvents:
		return value{kind: valueInt, i: c.Events}
	case sourceCatalogPayloadKeys:
		return value{kind: valueKeys, keys: c.PayloadKeys}
	}
	return value{}
}

// AppendLogs copies the log records of events, which src holds, into dst,
// keeping their resource and scope, so that the part of a batch that
// failed can go back for a retry. Records without a timestamp keep the one
// they were given, so that a retry writes the same timestamp (and event id).
func AppendLogs(dst, src plog.Logs, events []Event) {
	var (
		rl             plog.ResourceLogs
		sl             plog.ScopeLogs
		lastRI, lastSI = -1, -1
	)
	for _, ev := range events {
		if ev.ri != lastRI {
			from := src.ResourceLogs().At(ev.ri)
			rl = dst.ResourceLogs().AppendEmpty()
			from.Resource().CopyTo(rl.Resource())
			rl.SetSchemaUrl(from.SchemaUrl())
			lastRI, lastSI = ev.ri, -1
		}
		if ev.si != lastSI {
			from := src.ResourceLogs().At(ev.ri).ScopeLogs().At(ev.si)
			sl = rl.ScopeLogs().AppendEmpty()
			from.Scope().CopyTo(sl.Scope())
			sl.SetSchemaUrl(from.SchemaUrl())
			lastSI = ev.si
		}
		lr := sl.LogRecords().AppendEmpty()
		ev.lr.CopyTo(lr)
		if lr.Timestamp() == 0 && lr.ObservedTimestamp() == 0 {
			lr.SetObservedTimestamp(pcommon.Timestamp(ev.Timestamp))
		}
	}
}

// AppendTraces copies the span events of events, which src holds, into
// dst, each in a copy of its span that holds only the span events given,
// keeping their resource and scope, so that the part of a batch that
// failed can go back for a retry. Span events without a timestamp are given
// the one they were written with, so that a retry writes the same
// timestamp (and event id).
func AppendTraces(dst, src ptrace.Traces, events []Event) {
	var (
		rs                     ptrace.ResourceSpans
		ss                     ptrace.ScopeSpans
		span                   ptrace.Span
		lastRI, lastSI, lastPI = -1, -1, -1
	)
	for _, ev := range events {
		if ev.ri != lastRI {
			from := src.ResourceSpans().At(ev.ri)
			rs = dst.ResourceSpans().AppendEmpty()
			from.Resource().CopyTo(rs.Resource())
			rs.SetSchemaUrl(from.SchemaUrl())
			lastRI, lastSI = ev.ri, -1
		}
		if ev.si != lastSI {
			from := src.ResourceSpans().At(ev.ri).ScopeSpans().At(ev.si)
			ss = rs.ScopeSpans().AppendEmpty()
			from.Scope().CopyTo(ss.Scope())
			ss.SetSchemaUrl(from.SchemaUrl())
			lastSI, lastPI = ev.si, -1
		}
		if ev.pi != lastPI {
			span = ss.Spans().AppendEmpty()
			copySpanWithoutEvents(ev.span, span)
			lastPI = ev.pi
		}
		se := span.Events().AppendEmpty()
		ev.se.CopyTo(se)
		if se.Timestamp() == 0 {
			se.SetTimestamp(pcommon.Timestamp(ev.Timestamp))
		}
	}
}

// copySpanWithoutEvents copies everything of from but its events to to.
// (The retry path is rare: copying the events and dropping them keeps it
// right whatever fields a span gains.)
func copySpanWithoutEvents(from, to ptrace.Span) {
	from.CopyTo(to)
	to.Events().RemoveIf(func(ptrace.SpanEvent) bool { return true })
}
