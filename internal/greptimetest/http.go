package greptimetest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// This file serves GreptimeDB's HTTP SQL API (Config.HTTPAddr): POST or GET
// /v1/sql (src/servers/src/http.rs:1299-1301, nested under /v1 at :640-650),
// answered in the default greptimedb_v1 format, and the health endpoints.
// The routes, parameters, response shapes and status codes are GreptimeDB's,
// cited where they are written.

// DefaultHTTPAddr is GreptimeDB's default HTTP address
// (HttpOptions::default, src/servers/src/http.rs:267-270).
const DefaultHTTPAddr = "127.0.0.1:4000"

// GreptimeDB's HTTP headers (src/servers/src/http/header.rs:41-45,
// src/common/error/src/lib.rs:34-50, src/servers/src/http.rs:163).
const (
	headerFormat        = "x-greptime-format"
	headerExecutionTime = "x-greptime-execution-time"
	headerDBName        = "x-greptime-db-name"
	headerAuth          = "x-greptime-auth"
)

// httpAPI is the HTTP listener of a Server.
type httpAPI struct {
	srv  *http.Server
	lis  net.Listener
	done chan struct{}
}

// startHTTP serves the HTTP API on addr; "" serves none.
func (s *Server) startHTTP(addr string) error {
	if addr == "" {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("greptimetest: listen %s (HTTP): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/sql", s.handleSQL)
	// src/servers/src/http.rs:933-945, src/servers/src/http/handler.rs:726-732.
	for _, path := range []string{"/health", "/v1/health", "/ready"} {
		mux.HandleFunc(path, handleHealth)
	}
	h := &httpAPI{
		srv:  &http.Server{Handler: s.httpAuth(mux), ReadHeaderTimeout: 10 * time.Second},
		lis:  l,
		done: make(chan struct{}),
	}
	go func() {
		defer close(h.done)
		_ = h.srv.Serve(l) // returns when stopHTTP shuts it down
	}()
	s.http = h
	return nil
}

// stopHTTP stops the HTTP listener, lets running requests finish (they do
// not wait on anything) and waits for it.
func (s *Server) stopHTTP() {
	if s.http == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.http.srv.Shutdown(ctx); err != nil {
		_ = s.http.srv.Close()
	}
	<-s.http.done
}

// HTTPAddr returns the address the HTTP API listens on (host:port), "" when
// Config.HTTPAddr was empty. Stop stops the HTTP API with the rest.
func (s *Server) HTTPAddr() string {
	if s.http == nil {
		return ""
	}
	return s.http.lis.Addr().String()
}

func handleHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		methodNotAllowed(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}

// methodNotAllowed answers as axum's router does a route without the method.
func methodNotAllowed(w http.ResponseWriter) {
	w.Header().Set("Allow", "GET,HEAD,POST")
	w.WriteHeader(http.StatusMethodNotAllowed)
}

// publicPaths need no credentials (PUBLIC_API_PREFIX, src/servers/src/http.rs:167-172).
var publicPaths = []string{"/v1/influxdb/ping", "/v1/influxdb/health", "/v1/health", "/v1/splunk/services/collector/health"}

// httpAuth checks credentials before any route, as GreptimeDB's auth layer
// (src/servers/src/http.rs:1056-1060, check_http_auth,
// src/servers/src/http/authorize.rs:58-170): only with users configured,
// only for paths under /v1/ (need_auth, :388-398). A refused request is
// answered 401 whatever the code (err_response, :186-188).
func (s *Server) httpAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.users) == 0 || !strings.HasPrefix(r.URL.Path, "/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		for _, p := range publicPaths {
			if strings.HasPrefix(r.URL.Path, p) {
				next.ServeHTTP(w, r)
				return
			}
		}
		if gerr := s.httpCredentials(r); gerr != nil {
			writeHTTPError(w, gerr, 0, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// httpCredentials checks a request's credentials: x-greptime-auth, else
// Authorization (auth_header, src/servers/src/http/authorize.rs:362-372),
// "Basic base64(user:password)" (:307-322, decode_basic :374-386), then the
// user provider's check, the same as for gRPC (authenticate in auth.go;
// src/auth/src/user_provider.rs:523-570). Messages are GreptimeDB's
// (src/servers/src/error.rs:351-392, codes :801-806).
func (s *Server) httpCredentials(r *http.Request) *greptimeError {
	value, found := r.Header[http.CanonicalHeaderKey(headerAuth)]
	if !found {
		value, found = r.Header["Authorization"]
	}
	if !found || len(value) == 0 {
		return newError(StatusAuthHeaderNotFound, "Not found http or grpc authorization header")
	}
	header := value[0]
	// A bearer token goes to the user provider, which the static one refuses
	// (src/servers/src/http/authorize.rs:87-110, :344-360; src/auth/src/user_provider.rs:82-92,
	// src/auth/src/error.rs:92-93, :115).
	if scheme, token, ok := strings.Cut(header, " "); ok && strings.EqualFold(scheme, "bearer") && strings.TrimLeft(token, " ") != "" {
		return newError(StatusUserPasswordMismatch, "Unsupported authentication method: bearer token")
	}
	for i := 0; i < len(header); i++ {
		if c := header[i]; (c < 0x20 || c > 0x7e) && c != '\t' {
			return newError(StatusInvalidAuthHeader, "Invalid visibility ASCII chars: failed to convert header to a str")
		}
	}
	scheme, credential, ok := strings.Cut(header, " ")
	if !ok || strings.Contains(credential, " ") {
		return newError(StatusInvalidAuthHeader, "Invalid http authorization header")
	}
	if strings.ToLower(scheme) != "basic" {
		return newError(StatusInvalidAuthHeader, "Unsupported http auth scheme, name: %s", strings.ToLower(scheme))
	}
	decoded, err := base64.StdEncoding.DecodeString(credential)
	if err != nil {
		return newError(StatusInvalidAuthHeader, "Invalid base64 value: %s", base64Problem(credential, err))
	}
	if !utf8.Valid(decoded) {
		return newError(StatusInvalidAuthHeader, "Invalid utf-8 value: invalid utf-8 sequence")
	}
	user, password, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return newError(StatusInvalidAuthHeader, "Invalid http authorization header")
	}
	return s.authenticate(&greptimev1.RequestHeader{Authorization: &greptimev1.AuthHeader{
		AuthScheme: &greptimev1.AuthHeader_Basic{Basic: &greptimev1.Basic{Username: user, Password: password}},
	}})
}

// base64Problem approximates the base64 crate's DecodeError display.
func base64Problem(s string, err error) string {
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) {
		if i := int(corrupt); i < len(s) && !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", rune(s[i])) {
			return fmt.Sprintf("Invalid symbol %d, offset %d.", s[i], i)
		}
		if len(s)%4 != 0 {
			return fmt.Sprintf("Invalid input length: %d", len(s))
		}
	}
	return "Invalid padding"
}

// sqlParams are the parameters of the sql handler (SqlQuery,
// src/servers/src/http/handler.rs:60-81), from the query string and from the
// form body; the query string's win (:126, :140-146).
type sqlParams struct{ query, form url.Values }

func (p sqlParams) get(key string) (string, bool) {
	if v, ok := p.query[key]; ok && len(v) > 0 {
		return v[0], true
	}
	if v, ok := p.form[key]; ok && len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// handleSQL is GreptimeDB's sql handler (src/servers/src/http/handler.rs:115-194).
func (s *Server) handleSQL(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	elapsed := func() int64 { return time.Since(start).Milliseconds() }
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		methodNotAllowed(w)
		return
	}
	params := sqlParams{query: r.URL.Query()}
	if r.Method == http.MethodPost {
		// axum's Form takes a POST body only as a form (the handler's
		// Form(form_params), src/servers/src/http/handler.rs:122).
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnsupportedMediaType)
			_, _ = w.Write([]byte("Form requests must have `Content-Type: application/x-www-form-urlencoded`"))
			return
		}
		if err := r.ParseForm(); err != nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, "Failed to deserialize form body: %v", err)
			return
		}
		params.form = r.PostForm
	}
	limit := -1
	if v, ok := params.query["limit"]; ok && len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, "Failed to deserialize query string: limit: invalid digit found in string")
			return
		}
		limit = n
	}

	// The database: db from the query or the form (handler.rs:126-130), else
	// the x-greptime-db-name header, else public
	// (extract_catalog_and_schema, src/servers/src/http/authorize.rs:190-208).
	db, ok := params.get("db")
	if !ok {
		if db = r.Header.Get(headerDBName); db == "" {
			db = "public"
		}
	}
	catalog, schema := parseDBName(db)

	query, ok := params.get("sql")
	if !ok {
		// src/servers/src/http/handler.rs:159-164.
		writeHTTPError(w, newError(StatusInvalidArguments, "sql parameter is required."), elapsed(), 0)
		return
	}
	if format, ok := params.get("format"); ok {
		// An unknown format falls back to greptimedb_v1 (handler.rs:141-146,
		// ResponseFormat::parse, src/servers/src/http.rs:408-421).
		switch strings.ToLower(format) {
		case "arrow", "csv", "csvwithnames", "csvwithnamesandtypes", "table", "influxdb_v1", "json", "null":
			writeHTTPError(w, standinUnsupported("format=%s (it answers in greptimedb_v1 only)", format), elapsed(), 0)
			return
		}
	}
	// validate_schema (src/servers/src/http/handler.rs:765-787).
	if !s.store.hasSchema(catalog, schema) {
		writeHTTPError(w, newError(StatusDatabaseNotFound, "Database not found: %s", dbString(catalog, schema)), elapsed(), 0)
		return
	}
	results, err := s.store.ExecSQL(db, query)
	if err != nil {
		// The first error answers for the whole request; the results before
		// it are not shown (from_output, src/servers/src/http/handler.rs:530-590).
		var gerr *greptimeError
		if !errors.As(err, &gerr) {
			gerr = newError(StatusInternal, "%v", err)
		}
		writeHTTPError(w, gerr, elapsed(), 0)
		return
	}
	body, err := greptimedbV1Body(results, limit, elapsed())
	if err != nil {
		writeHTTPError(w, newError(StatusUnexpected, "Unexpected, violated: %v", err), elapsed(), 0)
		return
	}
	// GreptimedbV1Response::into_response (src/servers/src/http/result/greptime_result_v1.rs:72-96).
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(headerFormat, "greptimedb_v1")
	w.Header().Set(headerExecutionTime, strconv.FormatInt(elapsed(), 10))
	_, _ = w.Write(body) //nolint:gosec // G705: a JSON body for API clients, served as application/json
}

// hasSchema reports whether GreptimeDB's is_valid_schema would accept the
// database: one of the store's, or information_schema.
func (st *Store) hasSchema(catalog, schema string) bool {
	if schema == informationSchema {
		return true
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	_, ok := st.dbs[dbKey{catalog, schema}]
	return ok
}

// greptimedbV1Body writes results as GreptimedbV1Response
// (src/servers/src/http/result/greptime_result_v1.rs:29-39):
//
//	{"output":[OUTPUT,...],"execution_time_ms":N}
//
// where OUTPUT is GreptimeQueryOutput, its variants' names lowercased
// (src/servers/src/http.rs:387-392): {"affectedrows":N} for a statement, and
// for a query HttpRecordsOutput (src/servers/src/http.rs:283-336)
//
//	{"records":{"schema":{"column_schemas":[{"name":"...","data_type":"..."},...]},"rows":[[...],...],"total_rows":N}}
//
// limit >= 0 keeps that many rows of each query, and total_rows says that
// many (process_with_limit, src/servers/src/http.rs:517-534).
func greptimedbV1Body(results []Result, limit int, elapsedMS int64) ([]byte, error) {
	b := []byte(`{"output":[`)
	for i, r := range results {
		if i > 0 {
			b = append(b, ',')
		}
		if !r.IsQuery() {
			b = append(b, `{"affectedrows":`...)
			b = strconv.AppendInt(b, int64(r.AffectedRows), 10)
			b = append(b, '}')
			continue
		}
		b = append(b, `{"records":{"schema":{"column_schemas":[`...)
		for j, c := range r.Columns {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendSerdeString(b, c.Name)
			b = append(b, `,"data_type":`...)
			b = appendSerdeString(b, c.DataType)
			b = append(b, '}')
		}
		b = append(b, `]},"rows":[`...)
		rows := r.Rows
		if limit >= 0 && len(rows) > limit {
			rows = rows[:limit]
		}
		for j, row := range rows {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			for k, v := range row {
				if k > 0 {
					b = append(b, ',')
				}
				var err error
				if b, err = appendHTTPValue(b, r.Columns[k], v); err != nil {
					return nil, err
				}
			}
			b = append(b, ']')
		}
		b = append(b, `],"total_rows":`...)
		b = strconv.AppendInt(b, int64(len(rows)), 10)
		b = append(b, `}}`...)
	}
	b = append(b, `],"execution_time_ms":`...)
	b = strconv.AppendInt(b, elapsedMS, 10)
	return append(b, '}'), nil
}

// appendHTTPValue writes one value as GreptimeDB's HttpOutputWriter does
// (src/servers/src/http/result.rs:101-255, with Value to serde_json at
// src/datatypes/src/value.rs:885-935): null; booleans; numbers, a float as
// serde_json prints an f64 and null when not finite; strings; timestamps,
// times and dates as their integer value in their own unit; binary as an
// array of byte values (src/common/base/src/bytes.rs:20-21); a JSON column as
// renderJSONColumn renders it.
func appendHTTPValue(b []byte, c ResultColumn, v any) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	if c.DataType == "Json" {
		text, err := renderJSONColumn(v)
		if err != nil {
			return nil, err
		}
		return append(b, text...), nil
	}
	switch x := v.(type) {
	case bool:
		return strconv.AppendBool(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...), nil
		}
		return append(b, formatRyu(x)...), nil
	case string:
		return appendSerdeString(b, x), nil
	case []byte:
		b = append(b, '[')
		for i, c := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(c), 10)
		}
		return append(b, ']'), nil
	}
	return appendSerdeString(b, fmt.Sprint(v)), nil
}

// writeHTTPError answers gerr as ErrorResponse
// (src/servers/src/http/result/error_result.rs:25-30, :78-96):
// {"code":N,"error":"...","execution_time_ms":N} with x-greptime-err-code and
// x-greptime-err-msg ("error: <msg>, execution_time_ms: <n>", non-ASCII bytes
// escaped, src/common/error/src/lib.rs:34-50), and the HTTP status of the
// code (status_code_to_http_status, src/servers/src/error.rs:933-984) unless
// status is set.
func writeHTTPError(w http.ResponseWriter, gerr *greptimeError, elapsedMS int64, status int) {
	if status == 0 {
		status = httpStatus(gerr.code)
	}
	code := strconv.FormatUint(uint64(gerr.code), 10)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(HeaderErrCode, code)
	w.Header().Set(HeaderErrMsg, escapeHeader(fmt.Sprintf("error: %s, execution_time_ms: %d", gerr.msg, elapsedMS)))
	w.WriteHeader(status)
	b := []byte(`{"code":` + code + `,"error":`)
	b = appendSerdeString(b, gerr.msg)
	b = append(b, `,"execution_time_ms":`...)
	b = strconv.AppendInt(b, elapsedMS, 10)
	_, _ = w.Write(append(b, '}')) //nolint:gosec // G705: a JSON body for API clients, served as application/json
}

// escapeHeader escapes a header value GreptimeDB's HeaderValue::from_str
// would refuse byte by byte, as Rust's ascii::escape_default does.
func escapeHeader(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 || c > 0x7e) && c != '\t' {
			ok = false
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\\', c == '\'', c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// httpStatus is status_code_to_http_status (src/servers/src/error.rs:933-984).
func httpStatus(c StatusCode) int {
	switch c {
	case StatusSuccess:
		return http.StatusOK
	case StatusCancelled, StatusDeadlineExceeded:
		return http.StatusGatewayTimeout
	case StatusUnsupported, StatusInvalidArguments, StatusInvalidSyntax, StatusRequestOutdated,
		StatusRegionAlreadyExists, StatusTableColumnExists, StatusTableAlreadyExists, StatusRegionNotFound,
		StatusDatabaseNotFound, StatusTableNotFound, StatusTableColumnNotFound, StatusPlanQuery,
		StatusDatabaseAlreadyExists, StatusTriggerAlreadyExists, StatusTriggerNotFound, StatusFlowNotFound,
		StatusFlowAlreadyExists:
		return http.StatusBadRequest
	case StatusAuthHeaderNotFound, StatusInvalidAuthHeader, StatusUserNotFound, StatusUnsupportedPasswordType,
		StatusUserPasswordMismatch, StatusRegionReadonly:
		return http.StatusUnauthorized
	case StatusPermissionDenied, StatusAccessDenied:
		return http.StatusForbidden
	case StatusRateLimited:
		return http.StatusTooManyRequests
	case StatusRegionNotReady, StatusTableUnavailable, StatusRegionBusy, StatusStorageUnavailable, StatusExternal, StatusSuspended:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
