package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/otelcol"
)

// TestExamplesValidate runs `otelcol-greptime-events validate` on every file
// in examples/, as they are shipped.
func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob(example("*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("examples/ has %d configurations %v, want at least collector.yaml, per-type-tables.yaml and persistent-queue.yaml", len(files), files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			if out, err := otelcol.Validate(otelcolBin, []string{f}, nil); err != nil {
				t.Errorf("validate %s: %v\n%s", f, err, out)
			}
		})
	}
}

// TestValidateRejectsBrokenConfig breaks one field of an example at a time:
// validate must fail and its message must name the field and the problem.
func TestValidateRejectsBrokenConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		configs []string
		set     []string
		want    []string // all must appear in the output
	}{
		{
			name:    "negative ttl",
			configs: []string{example("collector.yaml")},
			set:     []string{"exporters::greptime_events::ttl=-1h"},
			want:    []string{`exporters::greptime_events: "ttl" must not be negative`},
		},
		{
			name:    "empty endpoint",
			configs: []string{example("collector.yaml")},
			set:     []string{"exporters::greptime_events::endpoint="},
			want:    []string{`exporters::greptime_events: "endpoint" must not be empty`},
		},
		{
			name:    "endpoint port out of range",
			configs: []string{example("collector.yaml")},
			set:     []string{"exporters::greptime_events::endpoint=localhost:99999"},
			want:    []string{`exporters::greptime_events: "endpoint" "localhost:99999": the port must be a number from 1 to 65535, got "99999"`},
		},
		{
			name:    "misspelled option",
			configs: []string{example("collector.yaml")},
			set:     []string{"exporters::greptime_events::tabel=events"},
			want:    []string{`"greptime_events"`, "invalid keys: tabel"},
		},
		{
			name: "column with an unknown source and semantic type",
			configs: []string{
				example("per-type-tables.yaml"),
				"yaml:exporters::greptime_events::events::user.login::columns: [{name: user_id, source: attribute.user.id, semantic_type: primary}]",
			},
			want: []string{
				`"events::user.login::columns[0]::source": "attribute.user.id" is unknown`,
				`"events::user.login::columns[0]::semantic_type" "primary" is unknown`,
			},
		},
		{
			name: "column named like a base column",
			configs: []string{
				example("per-type-tables.yaml"),
				"yaml:exporters::greptime_events::events::order.placed::columns: [{name: timestamp, source: attributes.order.time}]",
			},
			want: []string{`"events::order.placed::columns[0]::name" "timestamp" is a base column`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := otelcol.Validate(otelcolBin, tc.configs, tc.set)
			if err == nil {
				t.Fatalf("validate passed; want it to fail with %q\n%s", tc.want, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("validate output does not contain %q:\n%s", w, out)
				}
			}
		})
	}
}
