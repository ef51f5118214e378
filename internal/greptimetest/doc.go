// Package greptimetest is a GreptimeDB-protocol gRPC server for tests and local
// demos. It listens on a real port and serves greptime.v1.GreptimeDatabase/Handle
// with the generated greptime-proto types. It is not a stub: it decodes real
// requests and applies GreptimeDB's row-insert rules, read from GreptimeDB's
// source (v1.3; paths below are in the GreptimeDB repository, and the code
// cites the lines it follows):
//
//   - compression: identity, gzip and zstd accepted; any other grpc-encoding
//     refused with tonic's Unimplemented before the request is read
//     (src/servers/src/grpc/builder.rs:64-65; see compression.go);
//   - requests up to 512 MiB (src/servers/src/grpc.rs:149, src/common/grpc/src/channel_manager.rs:39), larger
//     ones refused with tonic's OutOfRange (but see the compressed size below);
//   - hints from x-greptime-hints, or without it the legacy x-greptime-hint-<key>
//     headers (src/servers/src/hint_headers.rs:19-38, src/session/src/hints.rs:35-43);
//     read_preference must parse (src/servers/src/grpc/greptime_handler.rs:231-243),
//     reserved keys dropped (src/session/src/hints.rs:27-32);
//   - dbname split into catalog and schema at the first '-' (src/common/catalog/src/lib.rs:63-81),
//     else the header's catalog and schema, lowercased (src/servers/src/grpc/greptime_handler.rs:196-222);
//   - basic auth from RequestHeader.authorization only, in the static user
//     provider's order and with its codes and messages (src/servers/src/grpc/context_auth.rs:126-162,
//     src/auth/src/user_provider.rs:523-570);
//   - request checks before anything is changed: JSON column values parsed
//     (src/operator/src/req_convert/common.rs:40-106), inserts without rows dropped
//     (src/operator/src/insert.rs:266-271), every row as long as its schema
//     (src/operator/src/insert.rs:1215-1234);
//   - tables planned for the whole request first (src/operator/src/insert.rs:620-666):
//     a missing table is created from its insert's schema (exactly one
//     TIMESTAMP time index, NOT NULL; TAG columns as the primary key;
//     src/common/grpc-expr/src/util.rs:99-191, src/operator/src/expr_helper.rs:429-529)
//     with the hints as options (src/operator/src/insert.rs:1237-1277), validated
//     (src/table/src/requests.rs:181-229, src/mito2/src/region/options.rs:126-131),
//     under GreptimeDB's NAME_PATTERN (src/common/base/src/regex_pattern.rs:18), in a
//     database that must exist (src/operator/src/statement/ddl.rs:442-457);
//     an existing table gets the insert's new columns, nullable, new tags
//     joining the primary key (src/common/grpc-expr/src/util.rs:196-238); then
//     the creates and the alters run one by one, and what ran before a failure stays
//     (src/operator/src/insert.rs:701-715);
//   - auto_create_table=false: a missing table fails the request and no table
//     is altered (src/operator/src/insert.rs:579-612);
//   - region writes checked and applied each on its own
//     (src/operator/src/insert.rs:389-457, src/datanode/src/region_server.rs:516-561):
//     value kinds, column types and semantic types, unknown columns, a null or
//     missing time index (src/mito2/src/request.rs:91-142, :181-269, :435-473);
//     a failing insert does not undo the others, and the call answers with the
//     first failing insert's error;
//   - two inserts for one new table in one request: each plans a create from
//     its own schema, the first creates the table, the second finds it
//     ("if not exists", src/common/grpc-expr/src/util.rs:186,
//     src/operator/src/statement/ddl.rs:459-472), so its extra columns are
//     unknown to the region and that insert fails;
//   - a ttl=instant table stores nothing (src/table/src/metadata.rs:1353-1358,
//     src/operator/src/req_convert/insert/row_to_region.rs:61-62);
//   - non-append tables keep one row per (primary key, time index): merge_mode
//     last_row (the default) keeps the last row, last_non_null merges fields;
//     append_mode=true tables keep every row (src/mito2/src/region/options.rs:64-75, :162-170).
//
// Errors carry GreptimeDB's gRPC code (status_to_tonic_code,
// src/common/error/src/status_code.rs:300-343), message (masked as "Internal
// error: <code>" for Unknown and Internal, src/common/error/src/ext.rs:143-147)
// and trailers x-greptime-err-code and x-greptime-err-retry-hint
// (src/common/error/src/status_code.rs:273-293), the hint being the one GreptimeDB
// sends with the error that typically carries the code (StatusCode.RetryHint).
//
// The server records what it stored and every call, and can inject faults:
// FailNext, FailNextWith, FailNextStatus (fail as GreptimeDB fails with a
// status code), SetLatency, SetAnswerDelay, RejectTable, RejectTableStatus,
// DropConnections. Servers can share a Store, as the frontends of one
// GreptimeDB cluster share its datanodes (StartCluster).
//
// Known differences from GreptimeDB:
//
//   - The frontend option auto_create_table = false (Config.DisableAutoCreateTable;
//     src/frontend/src/frontend.rs:45-51, src/operator/src/insert.rs:496-515) is
//     modelled for row inserts; the system tables GreptimeDB creates itself
//     whatever the setting (src/operator/src/insert.rs:586-590, :648-657) are not.
//   - Permissions: Config.DatabaseAccess answers a user's insert into a
//     database not listed for it with 7005 AccessDenied, as a user provider's
//     authorize may (src/auth/src/user_provider.rs:53-66); GreptimeDB's bundled
//     providers allow every database (src/auth/src/user_provider/static_user_provider.rs:78-86).
//     Read-only and write-only users ("name:ReadOnly=password",
//     src/auth/src/user_info.rs:47-54), whose writes the DefaultPermissionChecker
//     refuses with 7006 PermissionDenied (src/auth/src/permission.rs:195-204,
//     :334-349; src/frontend/src/instance/grpc.rs:74-88), are not modelled:
//     FailNextStatus(n, StatusPermissionDenied) answers as one would be answered.
//   - The write-bytes limiter (Config.MaxInFlightWriteBytes) refuses a request
//     larger than its whole limit, at once, as GreptimeDB's does
//     (src/common/memory-manager/src/manager.rs:139-145); requests do not share
//     its budget or wait for one another, so its timeout (6001 "Timeout
//     waiting for memory quota", manager.rs:197-218) does not happen by
//     itself, nor does the datanode's full write buffer (5000
//     StorageUnavailable, src/mito2/src/error.rs:582-586): inject them with
//     FailNextStatus.
//   - JSON: text in a JSON column is parsed as GreptimeDB parses it, with the
//     jsonb crate's parse_value at the version GreptimeDB pins, 0.4.4
//     (Cargo.toml:172, Cargo.lock; src/operator/src/req_convert/common.rs:40-52),
//     by internal/jsonb, a Go writing of that format; JSONB a client sends (a
//     Binary column with the JSON extension, the same column type,
//     src/api/src/helper.rs:104-123) GreptimeDB stores unchecked and fails
//     on only when it is read, where the stand-in decodes it and refuses
//     what does not decode (1004 "greptimetest: malformed JSONB ..."), so
//     that a test fails at once. Table.Rows hold a JSON value as
//     encoding/json decodes its text (every number a float64, ±Inf beyond
//     its range), where GreptimeDB keeps the JSONB (integers as i64/u64).
//     A JSON2 column (SQL JSON2, GreptimeDB 1.2's native JSON type) can be
//     created, in append mode only (src/operator/src/statement/ddl.rs:2441-2456),
//     and refuses every JSON or JSONB value at the region's type check, as
//     GreptimeDB does for a greptime-proto v0.15.0 client, which has no
//     JsonValue; its type prints approximately.
//   - Dump prints a SHOW CREATE TABLE-like schema, not GreptimeDB's. Options are
//     printed as the hints sent them, every key quoted: 'ttl' = '90d'. GreptimeDB
//     parses ttl into a TimeToLive (src/table/src/requests.rs:202-211) and
//     prints it with humantime's Display (src/common/time/src/ttl.rs:117-125,
//     src/query/src/sql/show_create_table.rs:61-62): ttl = '2months 29days 2h 52m 48s'
//     for 90d (humantime's months are 30.44 days), with keys quoted only where
//     needed ('compaction.type' = 'twcs', ttl = '30s').
//   - Region writes of one request are applied one after the other under one
//     lock, not concurrently; when several fail, the first in request order
//     answers. GreptimeDB's frontend waits for every datanode's answer
//     (try_join_all over spawned tasks, src/operator/src/insert.rs:434-445)
//     and returns the first error in peer order, the order of a HashMap of
//     peers (group_requests_by_peer, :459-490; the sum at :446-450), not in
//     time order; within one datanode the first region write to fail in time
//     answers (try_join_all, src/datanode/src/region_server.rs:547).
//     Every table has one region (region number 0): no partitioning.
//   - Only row inserts and SQL (a QueryRequest's sql, one statement that
//     answers affected rows: src/frontend/src/instance/grpc.rs:108-123,
//     src/servers/src/grpc/database.rs:62-77) through Handle are served.
//     Other request kinds (deletes, column inserts, DDL requests;
//     src/frontend/src/instance/grpc.rs:91-) answer 1001 Unsupported (gRPC
//     Unimplemented) with a stand-in message, and HandleRequests is not
//     implemented. The physical_table hint, which sends the write through the
//     metric engine (src/frontend/src/instance/grpc.rs:92-99,
//     src/operator/src/insert.rs:304-346), is refused with Unsupported.
//     greptime.semantic.* hints (src/operator/src/insert.rs:1248-1253,
//     src/table/src/requests/semantic.rs:224-226) are not turned into options, and nothing is mirrored to flownodes
//     (src/operator/src/insert.rs:416-424).
//   - Compression: zstd is decompressed only when a zstd compressor is
//     registered in the binary (configgrpc registers one; cmd/greptime-standin
//     imports it). An encoding registered nowhere in the binary is refused by
//     grpc-go before the server sees the call: Unimplemented as well, but with
//     grpc-go's message, and no Call is recorded.
//   - Messages of region-level errors reproduce GreptimeDB's wording but render
//     its internal type names approximately; region-option errors (append_mode,
//     merge_mode, compaction window) have the right code, approximate text. The
//     default messages of injected faults are those of the error that
//     typically carries each code, with made-up sizes and names where
//     GreptimeDB would fill in its own.
//   - The size limit is checked on the decoded request. tonic 0.14.2, the
//     version in GreptimeDB's Cargo.lock (Cargo.lock:15422-15424), checks it
//     on the message as sent, compressed when compressed
//     (tonic/src/codec/decode.rs:185-195 at v0.14.2), and leaves the decoded
//     size unbounded: a gzip or zstd request small on the wire but over the
//     limit decoded is accepted by GreptimeDB and refused here.
//   - A call is always run to its end, as a standalone GreptimeDB runs it on
//     its own runtime (src/frontend/src/server.rs:230-235,
//     src/servers/src/grpc/greptime_handler.rs:123-141). A cluster's frontend
//     has no such runtime: a call the client cancels or lets time out is
//     dropped there (src/servers/src/grpc/database.rs:83-94), and only the
//     region writes already sent carry on (src/operator/src/insert.rs:434).
//     StartCluster's frontends finish the call as a standalone would; what
//     was applied is stored either way.
//   - Count-only mode (Config.CountOnly) checks only the header and counts
//     rows; see count.go.
//   - SQL (Store.ExecSQL; GreptimeDB's HTTP API when Config.HTTPAddr is set,
//     POST or GET /v1/sql answered in the greptimedb_v1 format; sql.go,
//     http.go) is a subset, parsed by the stand-in's own small parser;
//     anything else fails with 1001 Unsupported and a message naming the
//     stand-in. It runs SHOW DATABASES, SHOW TABLES [FROM db] (both with
//     LIKE), SHOW CREATE TABLE, CREATE DATABASE [IF NOT EXISTS] (no WITH
//     options), CREATE TABLE and ALTER TABLE ... ADD COLUMN (below), and
//     SELECT over one table ([[catalog.]schema.]table [AS t]) or none:
//     columns, *, literals, count(*) and count, min, max, sum, avg,
//     json_to_string and json_get_string, _int, _float, _bool, with aliases;
//     WHERE with = != <> < > <= >=, AND, OR, NOT, [NOT] IN (list), IS [NOT]
//     NULL, [NOT] LIKE; GROUP BY (columns, expressions, aliases, positions),
//     HAVING, ORDER BY (output names, positions, expressions; ASC, DESC,
//     NULLS FIRST/LAST), LIMIT, OFFSET; several statements separated by ';'.
//     Not: joins, subqueries, UNION, DISTINCT, arithmetic, CASE and CAST,
//     other functions, other statements (INSERT, DELETE, other DDL, TQL,
//     EXPLAIN, USE). Over gRPC a statement that answers rows is refused
//     with Unimplemented, as GreptimeDB's Handle refuses it (above).
//     Where it runs a query: a literal compared with a column is cast to the
//     column's type (a string to a timestamp, in UTC, or to a number),
//     other type mixes are refused; planning errors carry DataFusion's code,
//     their text is close to its, not always the same; rows come in the order
//     they were stored and groups in order of first appearance (GreptimeDB's
//     order without ORDER BY is its scan's); JSON paths are keys joined by
//     '.' or ':', ["key"] and [index], no wildcards or filters; json_get_int
//     reads an integral number as an integer, the store keeping every number
//     as a float64 (above). SHOW DATABASES lists information_schema, which has
//     no tables here, but not greptime_private, which GreptimeDB creates at
//     startup (src/common/meta/src/key.rs:651-669), and public has no numbers
//     table (src/catalog/src/kvbackend/manager.rs:614); SHOW CREATE TABLE
//     prints Dump's schema (above). The HTTP API answers greptimedb_v1 only
//     (other formats are refused), serves /v1/sql and the health checks and
//     nothing else, speaks plain HTTP (Config.TLS is for gRPC), reads no
//     timezone header and sets no body limit (GreptimeDB's is 64 MiB,
//     src/servers/src/http.rs:158); its basic auth follows GreptimeDB's, the
//     text of a base64 error approximated.
//   - DDL (sqlddl.go) is the SQL the exporter logs for an operator when
//     GreptimeDB will not create or alter its tables: CREATE TABLE [IF NOT
//     EXISTS] [[catalog.]schema.]name (column type [NULL | NOT NULL]
//     [PRIMARY KEY] [TIME INDEX], ..., TIME INDEX (column), PRIMARY KEY
//     (columns)) [ENGINE=mito] [WITH (key = value, ...)], and ALTER TABLE
//     name ADD [COLUMN] [IF NOT EXISTS] column type [NULL] [PRIMARY KEY]
//     [, ADD ...]; both answer 0 affected rows, over HTTP and gRPC
//     (src/operator/src/statement.rs:325-328,
//     src/operator/src/statement/ddl.rs:1855-1857, :1935).
//     Column types: STRING, TEXT, VARCHAR, CHAR, JSON (JSONB, as an insert's
//     JSON column: src/sql/src/statements.rs:273, src/operator/src/req_convert/common.rs:74-94),
//     TIMESTAMP(0|3|6|9), TIMESTAMP (milliseconds, src/sql/src/statements.rs:251-262),
//     GreptimeDB's timestamp aliases, DATETIME, BIGINT/INT64 and the other
//     integer types signed and unsigned, DOUBLE/FLOAT64, FLOAT/FLOAT32,
//     BOOLEAN/BOOL, BINARY/VARBINARY/BLOB/BYTEA, DATE. Identifiers quoted or
//     not, unquoted ones lowercased (src/sql/src/parser.rs:323-329), an
//     unquoted keyword refused as a CREATE TABLE column name
//     (src/sql/src/parsers/create_parser.rs:680-693; the keyword list is
//     sqlparser 0.61.0's plus ALIGN, GreptimeDB's fork may differ). Table
//     options, keys quoted or not, lowercased, checked as the SQL path checks
//     them (src/sql/src/parsers/utils.rs:415-436, src/table/src/requests.rs:131-229,
//     the region's options), are those an insert's hints can set plus
//     compaction.type and compaction.override. As in GreptimeDB, a table
//     created with compaction.type also gets compaction.override = 'true'
//     (src/operator/src/expr_helper.rs:224-226), which a table created by an
//     insert with the compaction window hint has not, and SHOW CREATE TABLE
//     prints it; compaction.twcs.time_window without compaction.type fails
//     (src/mito2/src/region/options.rs:522-554), where the hint sets the type
//     itself. Otherwise a table is stored as an insert creates it, and a new
//     column added as an insert adds it (a PRIMARY KEY column a new tag of
//     the primary key), after GreptimeDB's checks in its order, failing with
//     its codes and messages (every quoted identifier rendered in double
//     quotes; region-option texts approximate, as above). Refused as
//     unsupported: DEFAULT, COMMENT, index declarations (SKIPPING, FULLTEXT,
//     INVERTED, VECTOR), PARTITION ON, engines other than mito, CREATE TABLE
//     ... LIKE, CREATE EXTERNAL TABLE, other table options (memtable.*,
//     compaction.twcs.trigger_file_num and the like, storage credentials,
//     semantic options), the types DECIMAL, VECTOR, TIME, INTERVAL, JSON2 and
//     the like, TIMESTAMP WITH TIME ZONE, ADD COLUMN ... FIRST | AFTER, ADD
//     of a constraint, other ALTER operations, ALTER DATABASE. Database
//     options, which CREATE TABLE inherits (src/operator/src/statement/ddl.rs:279-302),
//     do not exist here. DDL in information_schema fails as in GreptimeDB;
//     the system tables of greptime_private are not modelled. Option values
//     are kept as written (see Dump above for ttl).
package greptimetest
