package e2e

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// TestPerTypeTables runs examples/per-type-tables.yaml: user.login events go
// to user_logins with typed columns, order.placed events to orders with one
// row per item, debug.heartbeat is filtered out, and every other type stays
// in events with the service as a tag. Each event must land exactly where the
// example says, with its column values.
func TestPerTypeTables(t *testing.T) {
	t.Parallel()
	srv := startStandIn(t)
	col := startCollector(t, launch{config: "per-type-tables.yaml", greptimeDB: srv.Addr()})
	sent := events.Mix("pertype", 70, time.Now())
	send(t, events.GRPC, col.grpcAddr, sent)

	want := expectedPerType(sent)
	for table, rows := range want {
		waitForRows(t, standInReader(srv), table, len(rows), 30*time.Second)
	}
	col.stop(t)

	if got := srv.Tables("public"); !slices.Equal(got, []string{"events", "orders", "user_logins"}) {
		t.Errorf("tables %v, want [events orders user_logins]", got)
	}
	checkSchema(t, srv, "user_logins", []string{"type", "user_id"}, map[string]greptimev1.ColumnDataType{
		"user_id": greptimev1.ColumnDataType_STRING, "success": greptimev1.ColumnDataType_BOOLEAN, "latency_ms": greptimev1.ColumnDataType_FLOAT64,
	})
	checkSchema(t, srv, "orders", []string{"type"}, map[string]greptimev1.ColumnDataType{
		"order_id": greptimev1.ColumnDataType_STRING, "total": greptimev1.ColumnDataType_FLOAT64, "item": greptimev1.ColumnDataType_JSON,
	})
	checkSchema(t, srv, "events", []string{"type", "service"}, map[string]greptimev1.ColumnDataType{
		"service": greptimev1.ColumnDataType_STRING,
	})
	for table, rows := range want {
		tbl, _ := srv.Table("public", table)
		checkRows(t, table, tbl.Rows, rows)
	}
}

// perTypeRow is a row the per-type example must store: its event, and the
// extra columns' values as the stand-in decodes them.
type perTypeRow struct {
	event events.Event
	extra map[string]any
}

// expectedPerType spells out, table by table, the rows examples/per-type-tables.yaml makes of sent.
func expectedPerType(sent []events.Event) map[string][]perTypeRow {
	want := map[string][]perTypeRow{}
	for _, e := range sent {
		switch e.Type {
		case "user.login":
			want["user_logins"] = append(want["user_logins"], perTypeRow{e, map[string]any{
				"user_id":    e.Attributes["user.id"],
				"success":    e.Attributes["login.success"],
				"latency_ms": e.BodyField("latency_ms"),
			}})
		case "order.placed":
			for _, item := range e.BodyField("items").([]any) {
				want["orders"] = append(want["orders"], perTypeRow{e, map[string]any{
					"order_id": e.Attributes["order.id"],
					"total":    e.BodyField("total"),
					"item":     decodeJSON(item),
				}})
			}
		case "debug.heartbeat": // filter.exclude
		default:
			want["events"] = append(want["events"], perTypeRow{e, map[string]any{"service": events.ServiceName}})
		}
	}
	return want
}

// checkSchema checks a table's primary key and the types of its extra columns.
func checkSchema(t *testing.T, srv *greptimetest.Server, table string, primaryKey []string, types map[string]greptimev1.ColumnDataType) {
	t.Helper()
	tbl, ok := srv.Table("public", table)
	if !ok {
		t.Errorf("table %q was not created", table)
		return
	}
	if !slices.Equal(tbl.PrimaryKey, primaryKey) {
		t.Errorf("%s: primary key %v, want %v", table, tbl.PrimaryKey, primaryKey)
	}
	for name, typ := range types {
		c, ok := tbl.Column(name)
		if !ok {
			t.Errorf("%s: no column %q", table, name)
			continue
		}
		if c.Type != typ {
			t.Errorf("%s.%s: type %s, want %s", table, name, c.Type, typ)
		}
	}
}

// checkRows compares a table's rows with the expected ones, event by event:
// batches may arrive in any order, but the rows of one event (the items of an
// expanded array) keep theirs.
func checkRows(t *testing.T, table string, got []map[string]any, want []perTypeRow) {
	t.Helper()
	gotByID := map[string][]map[string]any{}
	for _, row := range got {
		gotByID[rowEventID(row)] = append(gotByID[rowEventID(row)], row)
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", table, len(got), len(want))
	}
	for _, w := range want {
		rows := gotByID[w.event.ID]
		if len(rows) == 0 {
			t.Errorf("%s: no row for %s; want one (or more) with %v", table, w.event.ID, w.extra)
			continue
		}
		gotByID[w.event.ID] = rows[1:]
		checkRow(t, table, rows[0], w)
	}
	for id, rows := range gotByID {
		if len(rows) > 0 {
			t.Errorf("%s: %d unexpected row(s) for event %q: %v", table, len(rows), id, rows)
		}
	}
}

// checkRow compares one stored row with the row its event must make.
func checkRow(t *testing.T, table string, row map[string]any, w perTypeRow) {
	t.Helper()
	if row["type"] != w.event.Type {
		t.Errorf("%s (%s): type %v, want %q", table, w.event.ID, row["type"], w.event.Type)
	}
	if row["timestamp"] != w.event.Time.UnixNano() {
		t.Errorf("%s (%s): timestamp %v, want %d", table, w.event.ID, row["timestamp"], w.event.Time.UnixNano())
	}
	checkPerTypePayload(t, table, row["payload"], w.event)
	for col, v := range w.extra {
		if !reflect.DeepEqual(row[col], v) {
			t.Errorf("%s (%s): %s = %#v, want %#v", table, w.event.ID, col, row[col], v)
		}
	}
}

// checkPerTypePayload checks a payload of the per-type example: body and
// attributes as sent, plus the resource with the service name.
func checkPerTypePayload(t *testing.T, table string, payload any, e events.Event) {
	t.Helper()
	p, _ := payload.(map[string]any)
	want := e.Payload()
	for _, part := range []string{"body", "attributes"} {
		if !reflect.DeepEqual(p[part], want[part]) {
			t.Errorf("%s (%s): payload.%s = %v, want %v", table, e.ID, part, p[part], want[part])
		}
	}
	res, _ := p["resource"].(map[string]any)
	if res["service.name"] != events.ServiceName {
		t.Errorf("%s (%s): payload.resource = %v, want service.name %q", table, e.ID, p["resource"], events.ServiceName)
	}
}

func rowEventID(row map[string]any) string {
	p, _ := row["payload"].(map[string]any)
	attrs, _ := p["attributes"].(map[string]any)
	id, _ := attrs[events.IDKey].(string)
	return id
}

// decodeJSON returns v as encoding/json decodes its encoding, as the stand-in stores JSON values.
func decodeJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
