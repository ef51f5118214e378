package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/otelcol"
)

// TestTryItByHand runs the README's "Try it by hand" recipe as it is
// written there: each command of its block, on the ports it names. The
// make targets run what the Makefile says they run (checked here too), with
// the programs under test; a command the test does not know fails it, so
// the recipe cannot change without the test.
func TestTryItByHand(t *testing.T) {
	commands := recipe(t)
	makefile, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	answered := false
	for _, args := range commands {
		switch {
		case slicesEqual(args, "make", "standin"):
			requireRecipe(t, makefile, "standin", "$(GO) run ./cmd/greptime-standin")
			startStandInCommand(t)
		case slicesEqual(args, "make", "run"):
			requireRecipe(t, makefile, "run", "$(OTELCOL) --config examples/collector.yaml")
			// The example's default endpoint, localhost:4001, whatever the caller set.
			t.Setenv("GREPTIMEDB_ENDPOINT", "")
			if err := os.Unsetenv("GREPTIMEDB_ENDPOINT"); err != nil {
				t.Fatal(err)
			}
			c, err := otelcol.Start(otelcol.Options{
				Binary:    otelcolBin,
				Configs:   []string{example("collector.yaml")},
				ReadyAddr: "localhost:4317",
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := c.Stop(); err != nil {
					t.Errorf("stop the collector: %v\n%s", err, c.Output())
				}
			})
		case slicesEqual(args, "make", "telemetrygen"):
			requireRecipe(t, makefile, "telemetrygen", "$(TELEMETRYGEN)")
		case args[0] == "bin/telemetrygen":
			if out, err := exec.CommandContext(t.Context(), telemetrygenBin, args[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
		case args[0] == "curl":
			answerWithin(t, sqlOf(t, args), 30*time.Second)
			answered = true
		default:
			t.Fatalf("the recipe runs %q, which this test does not know", strings.Join(args, " "))
		}
	}
	if !answered {
		t.Fatal("the recipe queries nothing")
	}
}

// recipe is the commands of the first sh block under "### Try it by hand"
// in the README, split into words as a shell would (quotes, # comments).
func recipe(t *testing.T) [][]string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)### Try it by hand\n.*?```sh\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal(`README.md has no sh block under "### Try it by hand"`)
	}
	var commands [][]string
	for _, line := range strings.Split(string(m[1]), "\n") {
		if words := shellWords(t, line); len(words) > 0 {
			commands = append(commands, words)
		}
	}
	return commands
}

// shellWords splits a line as sh does for the recipe's commands: words
// separated by blanks, '...' and "..." quoting, a # starting a word
// beginning a comment.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var (
		words []string
		word  strings.Builder
		in    bool // inside a word
		quote byte
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			word.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, word.String())
				word.Reset()
				in = false
			}
		case c == '#' && !in:
			return words
		default:
			word.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote in %q", line)
	}
	if in {
		words = append(words, word.String())
	}
	return words
}

func slicesEqual(args []string, want ...string) bool {
	return strings.Join(args, "\x00") == strings.Join(want, "\x00")
}

// requireRecipe fails the test unless the Makefile's target runs cmd.
func requireRecipe(t *testing.T, makefile []byte, target, cmd string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:(.*)\n((?:\t.*\n)*)`).FindSubmatch(makefile)
	if m == nil || !strings.Contains(string(m[1])+string(m[2]), cmd) {
		t.Fatalf("make %s does not run %q: the recipe and this test have drifted", target, cmd)
	}
}

// startStandInCommand builds cmd/greptime-standin and runs it with its
// defaults, as make standin does, until it serves SQL on :4000; SIGINT at
// the end, which makes it print its tables and exit.
func startStandInCommand(t *testing.T) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "greptime-standin")
	build := exec.Command("go", "build", "-o", bin, "./cmd/greptime-standin")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the stand-in: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the stand-in exited with %v:\n%s", err, out.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("the stand-in did not stop on SIGINT:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "localhost:4000", time.Second)
		if err == nil {
			_ = conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stand-in does not serve on :4000: %v\n%s", err, out.String())
		}
		select {
		case err := <-exited:
			t.Fatalf("the stand-in exited: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sqlOf is the statement of the recipe's curl: its --data-urlencode 'sql=...'
// to localhost:4000/v1/sql.
func sqlOf(t *testing.T, args []string) string {
	t.Helper()
	if !strings.Contains(strings.Join(args, " "), "localhost:4000/v1/sql") {
		t.Fatalf("the recipe's curl does not query localhost:4000/v1/sql: %v", args)
	}
	for i, a := range args {
		if a == "--data-urlencode" && i+1 < len(args) {
			if sql, ok := strings.CutPrefix(args[i+1], "sql="); ok {
				return sql
			}
		}
	}
	t.Fatalf("the recipe's curl sends no sql: %v", args)
	return ""
}

// answerWithin posts sql until its answer holds the 20 user.login events
// telemetrygen sent, or fails the test after timeout.
func answerWithin(t *testing.T, sql string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		resp, err := http.PostForm("http://localhost:4000/v1/sql", url.Values{"sql": {sql}})
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body)
		var answer struct {
			Output []struct {
				Records struct {
					Rows [][]any `json:"rows"`
				} `json:"records"`
			} `json:"output"`
		}
		if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &answer) == nil && len(answer.Output) == 1 {
			rows := answer.Output[0].Records.Rows
			if len(rows) == 1 && len(rows[0]) == 2 && rows[0][0] == "user.login" && rows[0][1] == float64(20) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q did not answer user.login, 20 within %s; last: %s", sql, timeout, last)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-tick.C:
		}
	}
}
