// Package events is the mix of events that the demo and the end-to-end tests
// send through the collector, what each must look like once stored, and the
// OTLP sender that emits them with the OpenTelemetry Go SDK.
package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// Attribute keys the events carry.
const (
	// IDKey is the attribute holding an event's ID: stored rows are matched to
	// events through payload.attributes["event.id"].
	IDKey = "event.id"
	// NameKey is the attribute that names the event type when the record's
	// EventName is empty (the exporter's default event_type.attributes).
	NameKey = "event.name"
	// DefaultType is the type the exporter gives a record that names none.
	DefaultType = "log"
)

// ServiceName is the service.name resource attribute of everything Send emits.
const ServiceName = "demo-shop"

// Naming says where a record carries its event type.
type Naming int

const (
	// ByEventName sets the record's EventName, as the OpenTelemetry events API does.
	ByEventName Naming = iota
	// ByAttribute sets the "event.name" attribute, as older SDKs and log bridges do.
	ByAttribute
	// Unnamed sets neither: the exporter stores the record with DefaultType.
	Unnamed
)

// Event is one event as a sender emits it: an OpenTelemetry log record.
// Bodies and attribute values are JSON-like: string, bool, int, int64,
// float64, []any and map[string]any.
type Event struct {
	// ID is unique within a run and travels in the IDKey attribute.
	ID string
	// Type is the event type the exporter must store (DefaultType for Unnamed events).
	Type string
	// Naming is where the record carries Type.
	Naming Naming
	// Scope is the instrumentation scope (logger) name.
	Scope string
	// Body is the record body: a map for structured events, a string for plain logs.
	Body any
	// Attributes are the record attributes other than IDKey and NameKey.
	Attributes map[string]any
	// Time is the record's timestamp.
	Time time.Time
}

// RecordAttributes returns every attribute the record carries: Attributes,
// the ID and, for ByAttribute events, the type.
func (e Event) RecordAttributes() map[string]any {
	attrs := make(map[string]any, len(e.Attributes)+2)
	for k, v := range e.Attributes {
		attrs[k] = v
	}
	attrs[IDKey] = e.ID
	if e.Naming == ByAttribute {
		attrs[NameKey] = e.Type
	}
	return attrs
}

// Payload returns the payload the exporter must store with its default
// configuration (body and attributes), as encoding/json decodes it.
func (e Event) Payload() map[string]any {
	return jsonValue(map[string]any{"body": e.Body, "attributes": e.RecordAttributes()}).(map[string]any)
}

// BodyField returns a key of a map body, nil if the body has no such key.
func (e Event) BodyField(key string) any {
	if m, ok := e.Body.(map[string]any); ok {
		return m[key]
	}
	return nil
}

// jsonValue returns v as encoding/json decodes its encoding (numbers become
// float64). It panics on a value that is not JSON-like: the kinds below are.
func jsonValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("events: %v is not JSON-like: %v", v, err))
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// Mix returns n events of the kinds a small shop emits, cycling through
// logins, orders, deploys, cache evictions, failed logins, heartbeats and a
// plain access log. IDs are idPrefix-0001, idPrefix-0002, ...; timestamps
// start at start and are 1ms apart.
func Mix(idPrefix string, n int, start time.Time) []Event {
	out := make([]Event, n)
	for i := range out {
		e := kinds[i%len(kinds)](i)
		e.ID = fmt.Sprintf("%s-%04d", idPrefix, i+1)
		e.Time = start.Add(time.Duration(i) * time.Millisecond)
		out[i] = e
	}
	return out
}

// Count returns how many events there are of each type.
func Count(evs []Event) map[string]int {
	counts := map[string]int{}
	for _, e := range evs {
		counts[e.Type]++
	}
	return counts
}

var (
	users    = []string{"alice", "bob", "carol", "dave", "erin"}
	services = []string{"checkout", "payments", "search"}
	skus     = []string{"SKU-BOOK-42", "SKU-MUG-7", "SKU-TEE-M", "SKU-CAP-1"}
)

// kinds build one event each, varied by i. IDs and timestamps are set by Mix.
var kinds = []func(i int) Event{
	func(i int) Event {
		user := users[i%len(users)]
		return Event{
			Type: "user.login", Naming: ByEventName, Scope: "auth",
			Body:       map[string]any{"user": user, "method": "password", "latency_ms": 12.5 + float64(i%7)},
			Attributes: map[string]any{"user.id": "u-" + user, "login.success": true, "client.address": fmt.Sprintf("10.0.0.%d", 10+i%20)},
		}
	},
	func(i int) Event {
		items := []any{map[string]any{"sku": skus[i%len(skus)], "qty": 1 + i%3}}
		if i%2 == 0 {
			items = append(items, map[string]any{"sku": skus[(i+1)%len(skus)], "qty": 1})
		}
		return Event{
			Type: "order.placed", Naming: ByAttribute, Scope: "shop",
			Body:       map[string]any{"order_id": fmt.Sprintf("o-%05d", 1000+i), "total": 19.9 + float64(i%10)*5, "currency": "EUR", "items": items},
			Attributes: map[string]any{"order.id": fmt.Sprintf("o-%05d", 1000+i), "customer.tier": []string{"free", "pro"}[i%2]},
		}
	},
	func(i int) Event {
		return Event{
			Type: "deploy.finished", Naming: ByEventName, Scope: "ci",
			Body:       map[string]any{"service": services[i%len(services)], "version": fmt.Sprintf("v1.%d.0", i%9), "duration_s": 60 + i%120, "status": "ok"},
			Attributes: map[string]any{"deployment.environment": "production", "vcs.revision": fmt.Sprintf("%07x", 0xabc000+i)},
		}
	},
	func(i int) Event {
		return Event{
			Type: "cache.evicted", Naming: ByAttribute, Scope: "cache",
			Body:       map[string]any{"key": fmt.Sprintf("session:%d", 5000+i), "reason": []string{"ttl", "size"}[i%2], "size_bytes": 512 * (1 + i%8)},
			Attributes: map[string]any{"cache.name": "sessions", "cache.hit_ratio": 0.93},
		}
	},
	func(i int) Event {
		user := users[(i+2)%len(users)]
		return Event{
			Type: "user.login", Naming: ByAttribute, Scope: "auth",
			Body:       map[string]any{"user": user, "method": "totp", "latency_ms": 80.25, "error": "invalid code"},
			Attributes: map[string]any{"user.id": "u-" + user, "login.success": false, "client.address": "203.0.113.7"},
		}
	},
	func(i int) Event {
		return Event{
			Type: "debug.heartbeat", Naming: ByEventName, Scope: "agent",
			Body:       map[string]any{"uptime_s": int64(3600 + i)},
			Attributes: map[string]any{"host.name": "web-1"},
		}
	},
	func(i int) Event {
		return Event{
			Type: DefaultType, Naming: Unnamed, Scope: "http",
			Body:       fmt.Sprintf("GET /api/products/%d 200 %dms", i, 3+i%40),
			Attributes: map[string]any{"http.route": "/api/products/{id}", "http.response.status_code": 200},
		}
	},
}
