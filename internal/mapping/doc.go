// Package mapping turns OpenTelemetry records into GreptimeDB row inserts,
// as GreptimeDB's event recorder builds its row inserts from events
// (build_row_inserts_request): a record becomes an event (a type, a JSON
// payload, a timestamp and extra columns), events are grouped by (database,
// type), and each group is written as a RowInsertRequest into protobuf wire
// bytes, in requests of at most a given size.
//
// Its API is small: Compile a Spec (the exporter's configuration, as plain
// data) into a Mapping; GroupLogs a batch with a Grouper; Pack the groups
// with a Writer. Dead letters and the event catalog are layouts of their
// own (DeadLetterLayout, CatalogLayout), written by the same Writer from
// the events' Rejection or CatalogRow.
//
// It does no I/O and keeps no clock: the time comes in as an argument, and
// the caller logs and counts. It knows nothing of the exporter above it,
// of gRPC calls, or of tenants, which come in as a DatabaseOf.
package mapping
