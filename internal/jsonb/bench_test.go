package jsonb

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
)

// benchPayload is a realistic event: a string body, eight attributes of
// mixed types, one of them a nested map, and a small resource.
func benchPayload() (body pcommon.Value, attrs, resource pcommon.Map) {
	body = pcommon.NewValueStr("user 4711 logged in from 10.0.0.7 after 2 failed attempts")
	attrs = pcommon.NewMap()
	attrs.PutStr("http.method", "POST")
	attrs.PutStr("http.route", "/api/v1/login")
	attrs.PutInt("http.status_code", 200)
	attrs.PutDouble("duration_ms", 12.375)
	attrs.PutBool("success", true)
	attrs.PutStr("user.id", "4711")
	attrs.PutInt("attempt", 3)
	client := attrs.PutEmptyMap("client")
	client.PutStr("address", "10.0.0.7")
	client.PutInt("port", 53422)
	client.PutStr("user_agent", "Mozilla/5.0 (X11; Linux x86_64)")
	resource = pcommon.NewMap()
	resource.PutStr("service.name", "auth")
	resource.PutStr("host.name", "auth-7f9c")
	return body, attrs, resource
}

// BenchmarkEncodePayload writes the payload object the exporter writes:
// jsonb from pdata, against jsonenc's text of it.
func BenchmarkEncodePayload(b *testing.B) {
	body, attrs, resource := benchPayload()
	b.Run("jsonb", func(b *testing.B) {
		var e Encoder
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			o := e.Object()
			o.PutValue("body", body)
			o.PutMap("attributes", attrs)
			o.PutMap("resource", resource)
			buf = o.AppendTo(buf[:0])
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("jsonenc", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf = append(buf[:0], `{"body":`...)
			buf = jsonenc.AppendValue(buf, body, 1)
			buf = append(buf, `,"attributes":`...)
			buf = jsonenc.AppendMap(buf, attrs, 1)
			buf = append(buf, `,"resource":`...)
			buf = jsonenc.AppendMap(buf, resource, 1)
			buf = append(buf, '}')
		}
		b.SetBytes(int64(len(buf)))
	})
}

// BenchmarkEncodeMap writes the attributes alone.
func BenchmarkEncodeMap(b *testing.B) {
	_, attrs, _ := benchPayload()
	b.Run("jsonb", func(b *testing.B) {
		var e Encoder
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf = e.AppendMap(buf[:0], attrs)
		}
	})
	b.Run("jsonenc", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf = jsonenc.AppendMap(buf[:0], attrs, 0)
		}
	})
}

// batchRecord is one log record of a batch, with what the exporter reads of
// it for the payload.
type batchRecord struct {
	body            pcommon.Value
	attrs, resource pcommon.Map
	scopeName       string
	scopeVersion    string
	severity        string
	severityNumber  int64
	traceID, spanID string // in hex
	flags           uint64
}

// batchKinds name the batches BenchmarkEncodeBatch writes.
var batchKinds = []string{"one shape", "four shapes", "shared first key", "unique keys"}

// benchBatch makes a batch of n records as the exporter receives it: built
// with plog, then marshaled and unmarshaled, so that every record's keys and
// values are strings of their own, as read off the wire. The records of
// "one shape" all have the attributes of benchPayload (values vary); those
// of "four shapes" cycle through four event types with different keys;
// those of "shared first key" alternate between two event types whose
// attributes have the same count and first key; those of "unique keys"
// have one key of their own each, so that their attributes never repeat a
// key sequence.
func benchBatch(tb testing.TB, kind string, n int) []batchRecord {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	res := rl.Resource().Attributes()
	res.PutStr("service.name", "auth")
	res.PutStr("service.version", "1.4.2")
	res.PutStr("host.name", "auth-7f9c")
	res.PutStr("k8s.pod.name", "auth-7f9c-x2k8v")
	res.PutStr("k8s.namespace.name", "prod")
	res.PutStr("deployment.environment", "production")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("github.com/acme/auth/login")
	sl.Scope().SetVersion("0.9.0")
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetSeverityText("INFO")
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetTraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(i)})
		lr.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, byte(i)})
		lr.SetFlags(1)
		a := lr.Attributes()
		shape := 0
		switch kind {
		case "four shapes":
			shape = i % 4
		case "shared first key":
			shape = 1 + 2*(i%2) // 1 and 3, cut to 6 attributes
		}
		switch shape {
		case 0:
			lr.Body().SetStr(fmt.Sprintf("user %d logged in from 10.0.%d.%d after %d failed attempts", 4000+i, i/256, i%256, i%4))
			a.PutStr("http.method", [...]string{"POST", "GET"}[i%2])
			a.PutStr("http.route", "/api/v1/login")
			a.PutInt("http.status_code", int64([...]int{200, 401, 500}[i%3]))
			a.PutDouble("duration_ms", float64(i%97)+0.375)
			a.PutBool("success", i%3 == 0)
			a.PutStr("user.id", strconv.Itoa(4000+i))
			a.PutInt("attempt", int64(i%4))
			client := a.PutEmptyMap("client")
			client.PutStr("address", fmt.Sprintf("10.0.%d.%d", i/256, i%256))
			client.PutInt("port", int64(40000+i))
			client.PutStr("user_agent", "Mozilla/5.0 (X11; Linux x86_64)")
			if kind == "unique keys" {
				a.PutStr("request."+strconv.Itoa(i), "x")
			}
		case 1:
			lr.Body().SetStr("order placed")
			a.PutStr("event.name", "order.placed")
			a.PutStr("order.id", fmt.Sprintf("o-%06d", i))
			a.PutDouble("order.total", float64(i)*1.25)
			a.PutInt("order.items", int64(i%9+1))
			a.PutStr("currency", "EUR")
			a.PutStr("customer.tier", "gold")
		case 2:
			b := lr.Body().SetEmptyMap()
			b.PutStr("message", "cache miss")
			b.PutStr("cache", "sessions")
			b.PutInt("size", int64(i))
			a.PutStr("event.name", "cache.miss")
			a.PutStr("cache.key", fmt.Sprintf("session:%d", i))
			a.PutInt("cache.ttl_s", 300)
		case 3:
			lr.Body().SetStr(fmt.Sprintf("payment %d declined", i))
			a.PutStr("event.name", "payment.declined")
			a.PutStr("payment.id", fmt.Sprintf("p-%d", i))
			a.PutStr("payment.reason", "insufficient_funds")
			a.PutDouble("payment.amount", float64(i)+0.99)
			a.PutBool("payment.retry", i%2 == 0)
			a.PutStr("card.brand", "visa")
			if kind != "shared first key" {
				a.PutStr("card.country", "DE")
				a.PutInt("risk.score", int64(i%100))
			}
		}
	}
	var m plog.ProtoMarshaler
	data, err := m.MarshalLogs(logs)
	if err != nil {
		tb.Fatal(err)
	}
	var u plog.ProtoUnmarshaler
	if logs, err = u.UnmarshalLogs(data); err != nil {
		tb.Fatal(err)
	}
	rl = logs.ResourceLogs().At(0)
	sl = rl.ScopeLogs().At(0)
	recs := make([]batchRecord, n)
	for i := range recs {
		lr := sl.LogRecords().At(i)
		tid, sid := lr.TraceID(), lr.SpanID()
		recs[i] = batchRecord{
			body: lr.Body(), attrs: lr.Attributes(), resource: rl.Resource().Attributes(),
			scopeName: sl.Scope().Name(), scopeVersion: sl.Scope().Version(),
			severity: lr.SeverityText(), severityNumber: int64(lr.SeverityNumber()),
			traceID: hex.EncodeToString(tid[:]), spanID: hex.EncodeToString(sid[:]), flags: uint64(lr.Flags()),
		}
	}
	return recs
}

// appendBatchJSONB writes r's payload as the exporter's JSONB path does
// (appendPayloadJSONB in internal/mapping).
func appendBatchJSONB(e *Encoder, dst []byte, r *batchRecord) []byte {
	o := e.Object()
	o.PutValue("body", r.body)
	o.PutMap("attributes", r.attrs)
	o.PutMap("resource", r.resource)
	sc := o.PutObject("scope")
	sc.PutStr("name", r.scopeName)
	sc.PutStr("version", r.scopeVersion)
	sev := o.PutObject("severity")
	sev.PutStr("text", r.severity)
	sev.PutInt("number", r.severityNumber)
	tr := o.PutObject("trace")
	tr.PutStr("trace_id", r.traceID)
	tr.PutStr("span_id", r.spanID)
	tr.PutUint("flags", r.flags)
	return o.AppendTo(dst)
}

// appendBatchText writes r's payload as the exporter's text path does
// (AppendPayload in internal/mapping).
func appendBatchText(b []byte, r *batchRecord) []byte {
	b = append(b, `{"body":`...)
	b = jsonenc.AppendValue(b, r.body, 1)
	b = append(b, `,"attributes":`...)
	b = jsonenc.AppendMap(b, r.attrs, 1)
	b = append(b, `,"resource":`...)
	b = jsonenc.AppendMap(b, r.resource, 1)
	b = append(b, `,"scope":{"name":`...)
	b = jsonenc.AppendString(b, r.scopeName)
	b = append(b, `,"version":`...)
	b = jsonenc.AppendString(b, r.scopeVersion)
	b = append(b, `},"severity":{"text":`...)
	b = jsonenc.AppendString(b, r.severity)
	b = append(b, `,"number":`...)
	b = strconv.AppendInt(b, r.severityNumber, 10)
	b = append(b, `},"trace":{"trace_id":"`...)
	b = append(b, r.traceID...)
	b = append(b, `","span_id":"`...)
	b = append(b, r.spanID...)
	b = append(b, `","flags":`...)
	b = strconv.AppendUint(b, r.flags, 10)
	return append(b, "}}"...)
}

// BenchmarkEncodeBatch writes the payloads of a batch's records one after
// another, as the exporter does: an op is one record. Records of one shape
// repeat their keys, where the Encoder's shape cache pays; "unique keys"
// is the worst case, where the attributes of every record miss it.
func BenchmarkEncodeBatch(b *testing.B) {
	for _, kind := range batchKinds {
		recs := benchBatch(b, kind, 512)
		b.Run(kind+"/jsonb", func(b *testing.B) {
			var e Encoder
			var buf []byte
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				buf = appendBatchJSONB(&e, buf[:0], &recs[i%len(recs)])
				i++
			}
		})
		b.Run(kind+"/jsonenc", func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				buf = appendBatchText(buf[:0], &recs[i%len(recs)])
				i++
			}
		})
	}
}

// TestBenchBatch checks the batch benchmark writes what it should: the
// JSONB of each record is GreptimeDB's parse of its text.
func TestBenchBatch(t *testing.T) {
	var e Encoder
	for _, kind := range batchKinds {
		for i, r := range benchBatch(t, kind, 16) {
			want := parseText(t, appendBatchText(nil, &r))
			if got := appendBatchJSONB(&e, nil, &r); !bytes.Equal(got, want) {
				t.Fatalf("%s, record %d:\n got % x\nwant % x", kind, i, got, want)
			}
		}
	}
}

// BenchmarkParsePayload is what GreptimeDB did per row for a payload sent as
// JSON text, in this package's port of it: jsonb::parse_value of the text,
// then to_vec (src/operator/src/req_convert/common.rs:40-52 in GreptimeDB).
// With the payload sent as JSONB it does none of it. The crate, in Rust,
// need not cost what this port costs; the figure is the order of the work
// moved, not GreptimeDB's own time.
func BenchmarkParsePayload(b *testing.B) {
	body, attrs, resource := benchPayload()
	text := append([]byte(`{"body":`), jsonenc.AppendValue(nil, body, 1)...)
	text = append(append(text, `,"attributes":`...), jsonenc.AppendMap(nil, attrs, 1)...)
	text = append(append(text, `,"resource":`...), jsonenc.AppendMap(nil, resource, 1)...)
	text = append(text, '}')
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
