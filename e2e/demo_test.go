package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDemo runs the demo as `make demo` does, against the stand-in: it must
// say that it uses a stand-in, print the table with the recorder's options
// and the SQL, and exit 0 because every event arrived. When the collector
// drops a type, the demo must name the missing events and exit 1.
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
	}{
		{
			name: "every event arrives",
			want: []string{
				"in-memory STAND-IN",
				"'ttl' = '90d'",
				"type=user.login: 8",
				"SELECT type, count(*) FROM events GROUP BY type ORDER BY type;",
				"SHOW CREATE TABLE events;",
				"OK: all 28 events arrived exactly once, each with its type, payload and timestamp.",
			},
		},
		{
			name:     "a type is filtered out",
			args:     []string{"-set", "exporters::greptime_events::filter::exclude=[cache.evicted]", "-timeout", "7s"},
			wantExit: 1,
			want:     []string{"gave up waiting after 7s", "FAILED: 4 problems:", "-0004 (cache.evicted): missing"},
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
			if t.Failed() {
				t.Logf("demo %v:\n%s", args, out)
			}
		})
	}
}
