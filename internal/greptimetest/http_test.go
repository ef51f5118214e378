package greptimetest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is the repository's root, from this package's directory.
const repoRoot = "../.."

// httpAnswer is an HTTP response: status, headers and the body decoded
// (numbers as json.Number).
type httpAnswer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func sqlRequest(t *testing.T, method, base, params string, form url.Values, header http.Header) httpAnswer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	u := "http://" + base + "/v1/sql"
	if params != "" {
		u += "?" + params
	}
	r, err := http.NewRequestWithContext(ctxT(t), method, u, body)
	require.NoError(t, err)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		r.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := httpAnswer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&a.body), string(raw))
	}
	return a
}

// postSQL sends sql as curl -d 'sql=...' does.
func postSQL(t *testing.T, s *Server, sql string, params string) httpAnswer {
	t.Helper()
	return sqlRequest(t, http.MethodPost, s.HTTPAddr(), params, url.Values{"sql": {sql}}, nil)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// records checks the shape of a greptimedb_v1 answer and returns its outputs.
func outputs(t *testing.T, a httpAnswer) []any {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.Equal(t, "greptimedb_v1", a.header.Get("x-greptime-format"))
	_, err := strconv.Atoi(a.header.Get("x-greptime-execution-time"))
	assert.NoError(t, err)
	assert.ElementsMatch(t, []string{"output", "execution_time_ms"}, keys(a.body), a.raw)
	_, err = a.body["execution_time_ms"].(json.Number).Int64()
	assert.NoError(t, err)
	return a.body["output"].([]any)
}

// records returns the column schemas (name:data_type), rows and total_rows
// of one records output, checking its fields.
func records(t *testing.T, out any) (cols []string, rows []any, total int64) {
	t.Helper()
	o := out.(map[string]any)
	require.Equal(t, []string{"records"}, keys(o))
	rec := o["records"].(map[string]any)
	require.ElementsMatch(t, []string{"schema", "rows", "total_rows"}, keys(rec))
	schema := rec["schema"].(map[string]any)
	require.Equal(t, []string{"column_schemas"}, keys(schema))
	for _, c := range schema["column_schemas"].([]any) {
		cm := c.(map[string]any)
		require.ElementsMatch(t, []string{"name", "data_type"}, keys(cm))
		cols = append(cols, cm["name"].(string)+":"+cm["data_type"].(string))
	}
	total, err := rec["total_rows"].(json.Number).Int64()
	require.NoError(t, err)
	return cols, rec["rows"].([]any), total
}

// errorAnswer checks an ErrorResponse and returns its code and message.
func errorAnswer(t *testing.T, a httpAnswer, status int) (int64, string) {
	t.Helper()
	require.Equal(t, status, a.status, a.raw)
	assert.ElementsMatch(t, []string{"code", "error", "execution_time_ms"}, keys(a.body), a.raw)
	code, err := a.body["code"].(json.Number).Int64()
	require.NoError(t, err)
	msg := a.body["error"].(string)
	assert.Equal(t, strconv.FormatInt(code, 10), a.header.Get("x-greptime-err-code"))
	assert.True(t, strings.HasPrefix(a.header.Get("x-greptime-err-msg"), "error: "), a.header.Get("x-greptime-err-msg"))
	assert.Contains(t, a.header.Get("x-greptime-err-msg"), ", execution_time_ms: ")
	return code, msg
}

func startHTTPServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.HTTPAddr = "127.0.0.1:0"
	s := startServer(t, cfg)
	require.NotEmpty(t, s.HTTPAddr())
	return s
}

func TestHTTPSQL(t *testing.T) {
	s := startHTTPServer(t, Config{})
	fillEventTables(t, s)

	t.Run("records", func(t *testing.T) {
		a := postSQL(t, s, "SELECT timestamp, type, payload, json_to_string(payload) AS text, json_get_float(payload, 'body.latency_ms') AS ms, error_code FROM events_rejected, events WHERE 1 = 0", "")
		code, msg := errorAnswer(t, a, http.StatusBadRequest)
		assert.Equal(t, int64(StatusUnsupported), code)
		assert.Contains(t, msg, "more than one table")

		a = postSQL(t, s, "SELECT timestamp, type, payload, json_to_string(payload) AS text, json_get_float(payload, 'body.latency_ms') AS ms, json_get_bool(payload, 'attributes[\"login.success\"]') AS ok FROM events WHERE event_id IN ('e1', 'e3') ORDER BY timestamp", "")
		outs := outputs(t, a)
		require.Len(t, outs, 1)
		cols, rows, total := records(t, outs[0])
		assert.Equal(t, []string{"timestamp:TimestampNanosecond", "type:String", "payload:Json", "text:String", "ms:Float64", "ok:Boolean"}, cols)
		assert.Equal(t, int64(2), total)
		// Field by field, then the raw text of the rows: a JSON column is a
		// JSON value, not text (src/servers/src/http/result.rs:61-70).
		require.Len(t, rows, 2)
		row := rows[0].([]any)
		assert.Equal(t, json.Number(strconv.FormatInt(ts1, 10)), row[0])
		assert.Equal(t, "user.login", row[1])
		assert.Equal(t, map[string]any{
			"attributes": map[string]any{"client.address": "10.0.0.10", "login.success": true},
			"body":       map[string]any{"latency_ms": json.Number("12.5"), "method": "password", "user": "alice"},
		}, row[2])
		assert.Equal(t, `{"attributes":{"client.address":"10.0.0.10","login.success":true},"body":{"latency_ms":12.5,"method":"password","user":"alice"}}`, row[3])
		assert.Equal(t, json.Number("12.5"), row[4])
		assert.Equal(t, true, row[5])
		assert.Contains(t, a.raw, `"rows":[[1796012148000000000,"user.login",{"attributes":{"client.address":"10.0.0.10","login.success":true},"body":{"latency_ms":12.5,"method":"password","user":"alice"}},`)
		assert.Contains(t, a.raw, `[1796012150000000000,"order.placed",{"attributes":{"user.id":"u-alice"},"body":{"amount":42,"items":["book","pen"],"order_id":"o-1"}},"{\"attributes\":{\"user.id\":\"u-alice\"},\"body\":{\"amount\":42,\"items\":[\"book\",\"pen\"],\"order_id\":\"o-1\"}}",null,null]],"total_rows":2}}],"execution_time_ms":`)
	})

	t.Run("statements and several outputs", func(t *testing.T) {
		a := postSQL(t, s, "CREATE DATABASE IF NOT EXISTS public; SELECT count(*) FROM events;", "")
		outs := outputs(t, a)
		require.Len(t, outs, 2)
		assert.Equal(t, map[string]any{"affectedrows": json.Number("1")}, outs[0])
		cols, rows, total := records(t, outs[1])
		assert.Equal(t, []string{"count(*):Int64"}, cols)
		assert.Equal(t, []any{[]any{json.Number("6")}}, rows)
		assert.Equal(t, int64(1), total)
		assert.True(t, strings.HasPrefix(a.raw, `{"output":[{"affectedrows":1},{"records":{"schema":{"column_schemas":[{"name":"count(*)","data_type":"Int64"}]},"rows":[[6]],"total_rows":1}}],"execution_time_ms":`), a.raw)
	})

	t.Run("GET, db and limit", func(t *testing.T) {
		a := sqlRequest(t, http.MethodGet, s.HTTPAddr(), "db=greptime-public&limit=1&sql="+url.QueryEscape("SHOW TABLES"), nil, nil)
		cols, rows, total := records(t, outputs(t, a)[0])
		assert.Equal(t, []string{"Tables_in_public:String"}, cols)
		assert.Equal(t, []any{[]any{"event_types"}}, rows)
		assert.Equal(t, int64(1), total)

		// db in the form; the x-greptime-db-name header.
		require.NoError(t, s.Store().CreateDatabase("empty", false))
		a = sqlRequest(t, http.MethodPost, s.HTTPAddr(), "", url.Values{"sql": {"SHOW TABLES"}, "db": {"empty"}}, nil)
		cols, rows, _ = records(t, outputs(t, a)[0])
		assert.Equal(t, []string{"Tables_in_empty:String"}, cols)
		assert.Empty(t, rows)
		assert.Contains(t, a.raw, `"rows":[]`)
		a = sqlRequest(t, http.MethodPost, s.HTTPAddr(), "", url.Values{"sql": {"SHOW TABLES"}}, http.Header{"X-Greptime-Db-Name": {"empty"}})
		cols, _, _ = records(t, outputs(t, a)[0])
		assert.Equal(t, []string{"Tables_in_empty:String"}, cols)
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			params string
			form   url.Values
			status int
			code   StatusCode
			msg    string
		}{
			{"", url.Values{"sql": {"SELECT * FROM nosuch"}}, http.StatusBadRequest, StatusTableNotFound, "Failed to plan SQL: Table not found: greptime.public.nosuch"},
			{"", url.Values{"sql": {"SELECT count(*) FROM events; SELECT nosuch FROM events"}}, http.StatusBadRequest, StatusPlanQuery, "No field named nosuch."},
			{"db=nosuch", url.Values{"sql": {"SHOW TABLES"}}, http.StatusBadRequest, StatusDatabaseNotFound, "Database not found: nosuch"},
			{"db=other-public", url.Values{"sql": {"SHOW TABLES"}}, http.StatusBadRequest, StatusDatabaseNotFound, "Database not found: other-public"},
			{"", url.Values{"db": {"public"}}, http.StatusBadRequest, StatusInvalidArguments, "sql parameter is required."},
			{"", url.Values{"sql": {"CREATE DATABASE '㊙️'"}}, http.StatusInternalServerError, StatusUnexpected, "Invalid database name: ㊙️"},
			{"", url.Values{"sql": {"DELETE FROM events"}}, http.StatusBadRequest, StatusUnsupported, "greptimetest: the stand-in does not support DELETE statements"},
			{"format=csv", url.Values{"sql": {"SHOW TABLES"}}, http.StatusBadRequest, StatusUnsupported, "format=csv"},
		} {
			a := sqlRequest(t, http.MethodPost, s.HTTPAddr(), tc.params, tc.form, nil)
			code, msg := errorAnswer(t, a, tc.status)
			assert.Equal(t, int64(tc.code), code, a.raw)
			assert.Contains(t, msg, tc.msg)
		}
		// A non-ASCII message is escaped in x-greptime-err-msg (src/common/error/src/lib.rs:37-45).
		a := postSQL(t, s, "CREATE DATABASE 'é'", "")
		assert.Equal(t, `error: Unexpected, violated: Invalid database name: \xc3\xa9, execution_time_ms: `+a.body["execution_time_ms"].(json.Number).String(), a.header.Get("x-greptime-err-msg"))

		// axum's Form wants a form body.
		r, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, "http://"+s.HTTPAddr()+"/v1/sql", strings.NewReader(`{"sql":"SHOW TABLES"}`))
		require.NoError(t, err)
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)

		for path, want := range map[string]int{"/v1/other": http.StatusNotFound, "/health": http.StatusOK, "/v1/health": http.StatusOK} {
			resp, err := http.Get("http://" + s.HTTPAddr() + path)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			assert.Equal(t, want, resp.StatusCode, path)
			if want == http.StatusOK {
				assert.Equal(t, "{}", string(body))
			}
		}
		resp, err = http.Post("http://"+s.HTTPAddr()+"/v1/sql", "", nil)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
		r, err = http.NewRequestWithContext(ctxT(t), http.MethodPut, "http://"+s.HTTPAddr()+"/v1/sql?sql=x", nil)
		require.NoError(t, err)
		resp, err = http.DefaultClient.Do(r)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
}

// TestHTTPAuth: with users, /v1/sql needs basic credentials, refused as
// GreptimeDB refuses them: 401 and its codes and messages.
func TestHTTPAuth(t *testing.T) {
	s := startHTTPServer(t, Config{Users: map[string]string{"greptime_user": "secret"}})
	basic := func(cred string) http.Header {
		return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(cred))}}
	}
	show := url.Values{"sql": {"SHOW DATABASES"}}

	a := sqlRequest(t, http.MethodPost, s.HTTPAddr(), "", show, basic("greptime_user:secret"))
	outputs(t, a)
	a = sqlRequest(t, http.MethodPost, s.HTTPAddr(), "", show, http.Header{"X-Greptime-Auth": basic("greptime_user:secret")["Authorization"]})
	outputs(t, a)

	for _, tc := range []struct {
		header http.Header
		code   StatusCode
		msg    string
	}{
		{nil, StatusAuthHeaderNotFound, "Not found http or grpc authorization header"},
		{basic("greptime_user:wrong"), StatusUserPasswordMismatch, "Username and password does not match, username: greptime_user"},
		{basic("nobody:secret"), StatusUserNotFound, "User not found, username: nobody"},
		{basic("greptime_user:"), StatusInvalidArguments, "Illegal param: blank password"},
		{basic("greptime_user"), StatusInvalidAuthHeader, "Invalid http authorization header"},
		{http.Header{"Authorization": {"Basic !!!!"}}, StatusInvalidAuthHeader, "Invalid base64 value: Invalid symbol 33, offset 0."},
		{http.Header{"Authorization": {"Token abc"}}, StatusInvalidAuthHeader, "Unsupported http auth scheme, name: token"},
		{http.Header{"Authorization": {"Basic"}}, StatusInvalidAuthHeader, "Invalid http authorization header"},
		{http.Header{"Authorization": {"Bearer abc"}}, StatusUserPasswordMismatch, "Unsupported authentication method: bearer token"},
	} {
		a := sqlRequest(t, http.MethodPost, s.HTTPAddr(), "", show, tc.header)
		code, msg := errorAnswer(t, a, http.StatusUnauthorized)
		assert.Equal(t, int64(tc.code), code, tc.header)
		assert.Equal(t, tc.msg, msg)
		assert.Equal(t, json.Number("0"), a.body["execution_time_ms"])
	}
	// Auth comes before routing; /health and /v1/health need none.
	for path, want := range map[string]int{"/v1/other": http.StatusUnauthorized, "/health": http.StatusOK, "/v1/health": http.StatusOK} {
		resp, err := http.Get("http://" + s.HTTPAddr() + path)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, path)
	}
}

// TestHTTPStop: Stop closes the HTTP listener too.
func TestHTTPStop(t *testing.T) {
	s, err := Start(Config{HTTPAddr: "127.0.0.1:0"})
	require.NoError(t, err)
	addr := s.HTTPAddr()
	outputs(t, postSQL(t, s, "SHOW TABLES", ""))
	s.Stop()
	s.Stop()
	c, err := net.Dial("tcp", addr)
	if err == nil {
		_ = c.Close()
	}
	require.Error(t, err)

	s, err = Start(Config{})
	require.NoError(t, err)
	assert.Empty(t, s.HTTPAddr())
	s.Stop()

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	_, err = Start(Config{HTTPAddr: taken.Addr().String()})
	require.ErrorContains(t, err, "(HTTP)")
}

// sqlFence finds the ```sql blocks of a Markdown file.
var sqlFence = regexp.MustCompile("(?ms)^```sql\\s*\\n(.*?)^```")

// documentedQueries returns the statements of every ```sql block of
// README.md and docs/*.md, split at ';'.
func documentedQueries(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	require.NoError(t, err)
	files = append([]string{filepath.Join(repoRoot, "README.md")}, files...)
	var out []string
	for _, f := range files {
		text, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range sqlFence.FindAllStringSubmatch(string(text), -1) {
			for _, stmt := range strings.Split(m[1], ";") {
				if onlyComments(stmt) {
					continue
				}
				out = append(out, strings.TrimSpace(stmt)+";")
			}
		}
	}
	return out
}

func onlyComments(stmt string) bool {
	for _, line := range strings.Split(stmt, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "--") {
			return false
		}
	}
	return true
}

// TestDocumentedQueries runs every SQL statement README.md and docs/*.md
// show, over the HTTP API, against tables of the shapes they describe.
func TestDocumentedQueries(t *testing.T) {
	queries := documentedQueries(t)
	require.GreaterOrEqual(t, len(queries), 5, "the docs' SQL blocks were not found")
	s := startHTTPServer(t, Config{})
	fillEventTables(t, s)
	for _, q := range queries {
		a := postSQL(t, s, q, "")
		if !assert.Equal(t, http.StatusOK, a.status, "%s\n%s", q, a.raw) {
			continue
		}
		outs := outputs(t, a)
		require.Len(t, outs, 1)
		_, rows, _ := records(t, outs[0])
		assert.NotEmpty(t, rows, "%s: no rows from tables of the shapes it describes", q)
	}
}

// demoQueries returns the queries the demo prints (e2e/cmd/demo/sql.go),
// evaluated from the demo's source: its string constants and the
// concatenations of eventQueries, catalogQueries and deadLetterQueries.
func demoQueries(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(repoRoot, "e2e", "cmd", "demo")
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	consts := map[string]string{}
	var lists []*ast.CompositeLit
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok || len(vs.Values) != len(vs.Names) {
					continue
				}
				for i, n := range vs.Names {
					switch n.Name {
					case "eventQueries", "catalogQueries", "deadLetterQueries":
						lists = append(lists, vs.Values[i].(*ast.CompositeLit))
					default:
						if s, ok := constString(vs.Values[i], consts); ok && gd.Tok == token.CONST {
							consts[n.Name] = s
						}
					}
				}
			}
		}
	}
	require.Len(t, lists, 3)
	var out []string
	for _, l := range lists {
		for _, e := range l.Elts {
			s, ok := constString(e, consts)
			require.True(t, ok, "cannot evaluate %#v", e)
			out = append(out, s)
		}
	}
	return out
}

// constString evaluates string literals, constants and their concatenation.
func constString(e ast.Expr, consts map[string]string) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind == token.STRING {
			s, err := strconv.Unquote(x.Value)
			return s, err == nil
		}
	case *ast.Ident:
		s, ok := consts[x.Name]
		return s, ok
	case *ast.BinaryExpr:
		if x.Op == token.ADD {
			l, okL := constString(x.X, consts)
			r, okR := constString(x.Y, consts)
			return l + r, okL && okR
		}
	case *ast.ParenExpr:
		return constString(x.X, consts)
	}
	return "", false
}

// TestDemoQueries runs the queries the demo prints, over the HTTP API.
func TestDemoQueries(t *testing.T) {
	queries := demoQueries(t)
	require.Len(t, queries, 9)
	s := startHTTPServer(t, Config{})
	fillEventTables(t, s)
	addSpanEvent(t, s)
	for _, q := range queries {
		a := postSQL(t, s, q, "")
		if !assert.Equal(t, http.StatusOK, a.status, "%s\n%s", q, a.raw) {
			continue
		}
		_, rows, _ := records(t, outputs(t, a)[0])
		assert.NotEmpty(t, rows, q)
	}
}

// TestExecSQLPrefixes: every prefix of the queries the docs and the demo
// show parses to a result or an error with a status code, never a panic.
func TestExecSQLPrefixes(t *testing.T) {
	s := startServer(t, Config{})
	fillEventTables(t, s)
	queries := append(documentedQueries(t), demoQueries(t)...)
	for _, q := range queries {
		for i := range len(q) + 1 {
			_, err := s.Store().ExecSQL("public", q[:i])
			if err != nil {
				_, ok := ErrorStatus(err)
				require.True(t, ok, "%q: %v", q[:i], err)
			}
		}
	}
}
