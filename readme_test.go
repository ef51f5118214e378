package greptimeeventsexporter

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

// TestREADMEDefaults: every default the README's configuration tables give
// is the one createDefaultConfig makes, with the optional sections turned on
// as "dead_letter:" alone turns them on. A value in backticks must equal the
// code's (durations compared as durations); "empty" and "none" must be
// unset. So the README cannot drift from the code.
// leftOutWhenUnset are the keys whose unset default the marshalled config
// leaves out altogether, so that "empty" or "none" cannot be checked
// against a value.
var leftOutWhenUnset = map[string]bool{"compression": true, "headers": true, "auth": true, "events.<type>": true}

func TestREADMEDefaults(t *testing.T) {
	defaults := flatDefaults(t)
	checked := 0
	for _, row := range readmeConfigRows(t) {
		keys, defaultCell := row.keys, row.defaultCell
		values := backticked(defaultCell)
		switch {
		case len(values) == 0 && (defaultCell == "empty" || defaultCell == "none"):
			for _, k := range keys {
				v, ok := defaults[k]
				switch {
				case !ok && !leftOutWhenUnset[k]:
					t.Errorf("README: %q is no key of the default config", k)
				case ok && !isUnset(v):
					t.Errorf("README: %q defaults to %s, the code to %v", k, defaultCell, v)
				case ok:
					checked++
				}
			}
			continue
		case len(values) == 0:
			continue // "required", "gRPC's", prose
		}
		want := map[string]string{}
		switch {
		case strings.Contains(values[0], ": "): // `time: 10s`, `timeout: 10s` of one key
			for _, v := range values {
				sub, val, _ := strings.Cut(v, ": ")
				want[keys[0]+"."+sub] = val
			}
		case len(values) == 1:
			for _, k := range keys {
				want[k] = values[0]
			}
		case len(values) == len(keys):
			for i, k := range keys {
				want[k] = values[i]
			}
		default:
			t.Errorf("README: cannot pair the keys %v with the defaults %v", keys, values)
			continue
		}
		for k, w := range want {
			got, ok := defaults[k]
			if !ok {
				t.Errorf("README: %q is no key of the default config", k)
				continue
			}
			if !sameDefault(w, got) {
				t.Errorf("README: %q defaults to %s, the code to %v", k, w, got)
			}
			checked++
		}
	}
	// Every option of Connection, Tables, Events, Tenants, Dead letters,
	// Event catalog and the queue that has a default: a lower count means
	// the README's tables were not read.
	require.GreaterOrEqual(t, checked, 50, "defaults checked")
	t.Logf("checked %d defaults", checked)
}

// readmeRow is a row of a configuration table: its keys (full, dotted) and
// its default cell.
type readmeRow struct {
	keys        []string
	defaultCell string
}

// readmeConfigRows reads the rows of the key/default/meaning tables of the
// README's Configuration section, but for the extra-column table, whose keys
// are those of each element of a list.
func readmeConfigRows(t *testing.T) []readmeRow {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	text := string(readme)
	start, end := strings.Index(text, "\n## Configuration\n"), strings.Index(text, "\n## Errors and retries\n")
	require.True(t, start >= 0 && end > start, "README's Configuration section")
	var rows []readmeRow
	inColumnTable := false // from "An extra column" to the next heading
	for _, line := range strings.Split(text[start:end], "\n") {
		switch {
		case strings.HasPrefix(line, "An extra column"):
			inColumnTable = true
		case strings.HasPrefix(line, "### "):
			inColumnTable = false
		case strings.HasPrefix(line, "| `") && !inColumnTable:
			cells := strings.SplitN(line, "|", 4)
			require.Len(t, cells, 4, line)
			rows = append(rows, readmeRow{keys: fullKeys(backticked(cells[1])), defaultCell: strings.TrimSpace(cells[2])})
		}
	}
	return rows
}

var backtickRE = regexp.MustCompile("`([^`]*)`")

func backticked(s string) []string {
	var out []string
	for _, m := range backtickRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// fullKeys makes the keys of a row full: a key without a dot after the
// first is its sibling (`sending_queue.enabled`, `num_consumers`).
func fullKeys(keys []string) []string {
	parent := ""
	if i := strings.LastIndexByte(keys[0], '.'); i >= 0 {
		parent = keys[0][:i+1]
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		if i > 0 && !strings.Contains(k, ".") {
			k = parent + k
		}
		out[i] = k
	}
	return out
}

// flatDefaults is the default config, its optional sections on, as the
// collector reads it back: dotted keys to values.
func flatDefaults(t *testing.T) map[string]any {
	t.Helper()
	cfg := defaultConfig()
	on := confmap.NewFromStringMap(map[string]any{"dead_letter": nil, "event_catalog": nil, "tenants": map[string]any{"from": "resource.tenant"}})
	require.NoError(t, on.Unmarshal(cfg))
	require.True(t, cfg.DeadLetter.HasValue() && cfg.EventCatalog.HasValue() && cfg.Tenants.HasValue())
	cm := confmap.New()
	require.NoError(t, cm.Marshal(cfg))
	flat := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(prefix+k+".", sub)
				continue
			}
			flat[prefix+k] = v
		}
	}
	walk("", cm.ToStringMap())
	// What confmap does not write back as the collector reads it: the
	// queue's presence, the sizers (MarshalText on a pointer), an opaque
	// password.
	queue := cfg.QueueConfig.Get()
	flat["sending_queue.enabled"] = cfg.QueueConfig.HasValue()
	flat["sending_queue.sizer"] = queue.Sizer.String()
	flat["sending_queue.batch.sizer"] = queue.Batch.Get().Sizer.String()
	flat["password"] = string(cfg.Password)
	return flat
}

func isUnset(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// sameDefault compares the README's want with the code's got.
func sameDefault(want string, got any) bool {
	if list, ok := got.([]any); ok {
		s := make([]string, len(list))
		for i, v := range list {
			s[i] = fmt.Sprint(v)
		}
		return want == "["+strings.Join(s, ", ")+"]"
	}
	g := fmt.Sprint(got)
	if wd, err := time.ParseDuration(want); err == nil {
		if gd, err := time.ParseDuration(g); err == nil {
			return wd == gd
		}
	}
	return want == g
}
