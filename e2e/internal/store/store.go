// Package store reads stored events back, from the in-memory GreptimeDB
// stand-in (internal/greptimetest) or from a real GreptimeDB over the MySQL
// protocol, as rows of the three base columns every event table has.
package store

import (
	"context"
	"fmt"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// Row is one stored event: the base columns of an event table.
type Row struct {
	// Type is the type column.
	Type string
	// Payload is the payload column's JSON, decoded by encoding/json.
	Payload map[string]any
	// Timestamp is the timestamp column (the time index).
	Timestamp time.Time
}

// Reader reads the rows of an event table.
type Reader interface {
	// Rows returns every row of table; no rows (and no error) if it does not exist yet.
	Rows(ctx context.Context, table string) ([]Row, error)
}

// StandIn reads from an in-memory stand-in server.
type StandIn struct {
	// Server is the stand-in.
	Server *greptimetest.Server
	// Database is the database the exporter writes to ("" means "public").
	Database string
}

// Rows returns the rows of table as the stand-in stores them.
func (s StandIn) Rows(_ context.Context, table string) ([]Row, error) {
	t, ok := s.Server.Table(s.Database, table)
	if !ok {
		return nil, nil
	}
	rows := make([]Row, len(t.Rows))
	for i, r := range t.Rows {
		row, err := standInRow(r)
		if err != nil {
			return nil, fmt.Errorf("store: table %q row %d: %w", table, i, err)
		}
		rows[i] = row
	}
	return rows, nil
}

// standInRow converts a stand-in row (values as greptimetest.DecodeValue gives them).
func standInRow(r map[string]any) (Row, error) {
	typ, ok := r["type"].(string)
	if !ok {
		return Row{}, fmt.Errorf("type is %T %v, want a string", r["type"], r["type"])
	}
	payload, ok := r["payload"].(map[string]any)
	if !ok {
		return Row{}, fmt.Errorf("payload is %T %v, want a JSON object", r["payload"], r["payload"])
	}
	ns, ok := r["timestamp"].(int64)
	if !ok {
		return Row{}, fmt.Errorf("timestamp is %T %v, want nanoseconds", r["timestamp"], r["timestamp"])
	}
	return Row{Type: typ, Payload: payload, Timestamp: time.Unix(0, ns).UTC()}, nil
}
