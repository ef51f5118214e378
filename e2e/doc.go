// Package e2e holds the end-to-end tests of the greptime_events exporter:
// the otelcol-greptime-events distribution runs as a real process with the
// configurations in examples/, fed by real OTLP senders (the OpenTelemetry Go
// SDK over gRPC and HTTP, contrib's telemetrygen), writing to the in-memory
// GreptimeDB stand-in or, when GREPTIMEDB_ENDPOINT and GREPTIMEDB_MYSQL are
// set, to a real GreptimeDB.
//
// The module is separate from the exporter's so that the exporter does not
// depend on what only these tests need. Run them with `make test`, which
// builds the collector and telemetrygen once and passes their paths in
// OTELCOL_BIN and TELEMETRYGEN_BIN; without those, TestMain builds them.
package e2e
