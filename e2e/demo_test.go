package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDemo runs the demo as `make demo` does, against the stand-in: it must
// say that it uses a stand-in, print the table with the recorder's options,
// the event catalog (a row per type with its count, times and payload keys),
// an empty dead-letter table and the SQL, and exit 0 because every event
// arrived. When the collector drops a type, the demo must name the missing
// events and exit 1, and the catalog must not list the type.
func TestDemo(t *testing.T) {
	demo := filepath.Join(t.TempDir(), "demo")
	if err := run(exec.Command("go", "build", "-o", demo, "./cmd/demo")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantExit int
		want     []string
		// wantLines and notLines match whole lines of the output.
		wantLines, notLines []*regexp.Regexp
	}{
		{
			name: "every event arrives",
			want: []string{
				"in-memory STAND-IN",
				"'ttl' = '90d'",
				"type=user.login: 8",
				"SELECT type, count(*) FROM events GROUP BY type ORDER BY type;",
				"SHOW CREATE TABLE events;",
				"--set exporters::greptime_events::event_catalog::table=event_types",
				"--set exporters::greptime_events::dead_letter::table=events_rejected",
				`The event catalog (table "event_types", written every 1s and at shutdown)`,
				`The dead-letter table ("events_rejected"`,
				"  0 rejected events",
				"FROM event_types GROUP BY table_name, type ORDER BY events DESC;",
				"SELECT collector, payload_keys FROM event_types WHERE type = 'user.login';",
				"FROM events_rejected GROUP BY target_table, type, error_code, error_message;",
				"OK: all 28 events arrived exactly once, each with its type, payload and timestamp.",
				"OK: both span events arrived exactly once; the span without events wrote nothing.",
			},
			wantLines: []*regexp.Regexp{
				// table_name, type, events, first_seen, last_seen, payload_keys
				catalogLine("user.login", 8, "attributes.client.address attributes.event.id attributes.event.name attributes.login.success attributes.user.id body.error body.latency_ms body.method body.user"),
				catalogLine("cache.evicted", 4, "attributes.cache.hit_ratio attributes.cache.name attributes.event.id attributes.event.name body.key body.reason body.size_bytes"),
				catalogLine("log", 4, "attributes.event.id attributes.http.response.status_code attributes.http.route"),
				// The traces pipeline's exporter, in a section of its own.
				regexp.MustCompile(`(?m)^  collector .+/greptime_events/traces, started `),
				catalogLine("exception", 1, "attributes.event.id attributes.exception.message attributes.exception.type"),
				catalogLine("message", 1, "attributes.event.id attributes.rpc.message.id attributes.rpc.message.type"),
			},
		},
		{
			name:     "a type is filtered out",
			args:     []string{"-set", "exporters::greptime_events::filter::exclude=[cache.evicted]", "-timeout", "7s"},
			wantExit: 1,
			want:     []string{"gave up waiting after 7s", "FAILED: 4 problems:", "-0004 (cache.evicted): missing", "  0 rejected events"},
			// The catalog counts what was written: no filtered type.
			wantLines: []*regexp.Regexp{catalogLine("user.login", 8, `.+`)},
			notLines:  []*regexp.Regexp{catalogLine("cache.evicted", 4, `.*`)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"-collector", otelcolBin, "-config", example("collector.yaml"), "-events", "28"}, tc.args...)
			cmd := exec.CommandContext(t.Context(), demo, args...)
			cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
				return strings.HasPrefix(kv, "GREPTIMEDB_") // the stand-in, whatever the caller set
			})
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			switch {
			case err == nil && tc.wantExit != 0:
				t.Errorf("the demo exited 0, want %d", tc.wantExit)
			case errors.As(err, &exit) && exit.ExitCode() != tc.wantExit:
				t.Errorf("the demo exited %d, want %d", exit.ExitCode(), tc.wantExit)
			case err != nil && !errors.As(err, &exit):
				t.Fatalf("run the demo: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("the demo's output has no %q", w)
				}
			}
			for _, re := range tc.wantLines {
				if !re.Match(out) {
					t.Errorf("the demo's output has no line matching %s", re)
				}
			}
			for _, re := range tc.notLines {
				if line := re.Find(out); line != nil {
					t.Errorf("the demo's output has the line %q", line)
				}
			}
			if t.Failed() {
				t.Logf("demo %v:\n%s", args, out)
			}
		})
	}
}

// catalogLine matches the demo's catalog row of an event type in table events:
// table_name, type, events, first_seen, last_seen and payload_keys (a regexp).
func catalogLine(eventType string, events int, payloadKeys string) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`(?m)^  events +%s +%d +\d\d:\d\d:\d\d\.\d{3} +\d\d:\d\d:\d\d\.\d{3} +%s$`,
		regexp.QuoteMeta(eventType), events, payloadKeys))
}
