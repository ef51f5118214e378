package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// Secrets the tests below configure: distinctive, so any appearance is a leak.
const (
	secretPassword = "pw-Secret-7f3a91"
	secretHeader   = "hdr-Secret-c0ffee"
)

// secretsConfig is a configuration with a password and a header set, on top of an example.
const secretsConfig = `exporters:
  greptime_events:
    username: greptime_user
    password: ` + secretPassword + `
    headers:
      x-proxy-token: ` + secretHeader + `
`

// TestPrintConfigRedactsSecrets runs `otelcol-greptime-events print-config`
// on a configuration file with a password and a header: in YAML and JSON,
// neither secret appears and [REDACTED] does. The unredacted mode shows both,
// so the file does carry them.
func TestPrintConfigRedactsSecrets(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "secrets.yaml")
	if err := os.WriteFile(file, []byte(secretsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	printConfig := func(args ...string) string {
		t.Helper()
		args = append([]string{"print-config", "--config", example("collector.yaml"), "--config", file}, args...)
		out, err := exec.CommandContext(t.Context(), otelcolBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", otelcolBin, strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	for _, format := range []string{"yaml", "json"} {
		out := printConfig("--format", format)
		for _, secret := range []string{secretPassword, secretHeader} {
			if strings.Contains(out, secret) {
				t.Errorf("print-config --format %s shows the secret %q:\n%s", format, secret, out)
			}
		}
		if n := strings.Count(out, "[REDACTED]"); n != 2 {
			t.Errorf("print-config --format %s shows [REDACTED] %d times, want 2 (password, header):\n%s", format, n, out)
		}
		if !strings.Contains(out, "greptime_user") {
			t.Errorf("print-config --format %s does not show the username (not a secret):\n%s", format, out)
		}
	}
	out := printConfig("--mode", "unredacted")
	if !strings.Contains(out, secretPassword) || !strings.Contains(out, secretHeader) {
		t.Errorf("print-config --mode unredacted does not show the secrets, so the test above proves nothing:\n%s", out)
	}
}

// refusedError matches the exporter's Error line about refused credentials;
// refusedDebug the debug line of each further refusal.
var (
	refusedError = regexp.MustCompile(`(?m)^\S+\terror\t.*GreptimeDB refused the exporter's credentials; every event is dropped until`)
	refusedDebug = regexp.MustCompile(`(?m)^\S+\tdebug\t.*GreptimeDB refused the exporter's credentials; every event is dropped until`)
)

// TestCredentialsNeverLogged runs the collector at debug level with a wrong
// password (and a secret header) against a stand-in with users, over
// several batches: its output never contains the password, the header or
// the base64 of user:password, and has the clear "refused the exporter's
// credentials" Error exactly once; the other refusals are at debug level.
// (exporterhelper adds its own "Exporting failed. Dropping data." Error per
// dropped batch, with the error text: no credentials in it either.)
func TestCredentialsNeverLogged(t *testing.T) {
	t.Parallel()
	srv, err := greptimetest.Start(greptimetest.Config{Users: map[string]string{"greptime_user": "the-right-password"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	col := startCollector(t, launch{config: "collector.yaml", greptimeDB: srv.Addr(), set: []string{
		"service::telemetry::logs::level=debug",
		"exporters::greptime_events::username=greptime_user",
		"exporters::greptime_events::password=" + secretPassword,
		"exporters::greptime_events::headers={x-proxy-token: " + secretHeader + "}",
	}})

	const batches = 3
	for b := range batches {
		// Each send is its own batch, one call (every type goes to the
		// table "events", whose first write was never accepted): the next
		// goes only once the stand-in has refused this one.
		send(t, events.GRPC, col.grpcAddr, events.Mix(fmt.Sprintf("auth%d", b), 14, time.Now()))
		waitForRejected(t, srv, b+1, 30*time.Second)
	}
	col.stop(t)
	out := col.Output()

	basic := base64.StdEncoding.EncodeToString([]byte("greptime_user:" + secretPassword))
	for _, secret := range []string{secretPassword, secretHeader, basic} {
		if strings.Contains(out, secret) {
			t.Errorf("the collector's output contains the secret %q", secret)
		}
	}
	if n := len(refusedError.FindAllString(out, -1)); n != 1 {
		t.Errorf("%d Error lines about refused credentials after %d batches (%d refused calls), want exactly 1", n, batches, len(srv.Rejected()))
	}
	if n := len(refusedDebug.FindAllString(out, -1)); n < batches-1 {
		t.Errorf("%d debug lines about further refusals, want at least %d (one per batch after the first): was the log level debug?", n, batches-1)
	}
	if t.Failed() {
		t.Logf("collector output:\n%s", out)
	}
}

// waitForRejected waits until the stand-in has refused at least n calls.
func waitForRejected(t *testing.T, srv *greptimetest.Server, n int, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	for len(srv.Rejected()) < n {
		if err := srv.WaitForCalls(ctx, len(srv.Calls())+1); err != nil {
			t.Fatalf("the stand-in refused %d calls after %s, want %d", len(srv.Rejected()), timeout, n)
		}
	}
}
