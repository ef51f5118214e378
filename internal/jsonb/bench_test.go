package jsonb

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

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
