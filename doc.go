// Package greptimeeventsexporter exports OpenTelemetry log records as events
// into GreptimeDB event tables, as grouped gRPC row inserts.
package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"
