// Package greptimetest is a GreptimeDB-protocol gRPC server for tests and local
// demos. It listens on a real port and serves greptime.v1.GreptimeDatabase/Handle
// with the generated greptime-proto types. It is not a stub: it decodes real
// requests and applies GreptimeDB's row-insert rules, taken from the GreptimeDB
// source (the GreptimeDB function each check follows is named in the comments):
//
//   - hints from the x-greptime-hints metadata (or the legacy
//     x-greptime-hint-<key> headers); read_preference and auto_create_table checked;
//   - JSON column values parsed before anything else; requests without rows dropped;
//     every row as long as its schema;
//   - basic auth from RequestHeader.authorization (never the gRPC "authorization"
//     metadata), with GreptimeDB's codes and messages;
//   - a missing table auto-created from the first insert's schema: exactly one
//     TIMESTAMP column (the time index, NOT NULL), TAG columns as the primary key,
//     table name checked against GreptimeDB's NAME_PATTERN, options from the hints
//     (ttl, append_mode, merge_mode, compaction.twcs.time_window, ...) validated;
//     an unknown database is reported when the table would be created;
//   - later inserts may add columns (nullable, new tags join the primary key) but
//     never change a column's type or semantic type; value kinds must match the
//     column type; the time index must be present and non-null;
//   - non-append tables keep one row per (primary key, time index): merge_mode
//     last_row (the default) keeps the last row, last_non_null merges fields;
//     append_mode=true tables keep every row.
//
// Errors carry GreptimeDB's gRPC code, message and trailers
// (x-greptime-err-code, x-greptime-err-retry-hint). The server records what it
// stored and every call, and can inject faults (FailNext, FailNextWith,
// SetLatency, RejectTable, DropConnections).
//
// Known differences from GreptimeDB:
//
//   - A request is all-or-nothing here: when any check fails, no table is created
//     or altered and no row is stored. GreptimeDB keeps the tables it created or
//     altered before the failure, and writes the regions of different tables
//     concurrently, so rows of other tables in the same request may be stored.
//   - Two inserts into the same new table within one request: here the second
//     one adds its extra columns; GreptimeDB would reject them as unknown columns.
//   - Only row inserts through Handle are served; other request kinds answer
//     Unimplemented (StatusCode 1001), HandleRequests is not implemented, and the
//     physical_table (metric engine) hint is refused. greptime.semantic.* hints
//     are not turned into options.
//   - Messages of region-level errors reproduce GreptimeDB's wording but render
//     its internal type names approximately; region-option errors (append_mode,
//     merge_mode, compaction window) have the right code, approximate text.
package greptimetest
