package greptimeeventsexporter

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files for the exporter's tls settings.
type testPKI struct {
	caFile, clientCertFile, clientKeyFile string
	server                                tls.Certificate
	pool                                  *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "greptimetest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	issue := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) (certPEM, keyPEM []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: "greptimetest"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalECPrivateKey(key)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	}

	p := &testPKI{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	serverCert, serverKey := issue(2, x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	p.server, err = tls.X509KeyPair(serverCert, serverKey)
	require.NoError(t, err)
	clientCert, clientKey := issue(3, x509.ExtKeyUsageClientAuth, nil)

	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		return path
	}
	p.caFile = write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	p.clientCertFile = write("client.pem", clientCert)
	p.clientKeyFile = write("client-key.pem", clientKey)
	return p
}

func (p *testPKI) serverTLS(requireClientCert bool) *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
	if requireClientCert {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = p.pool
	}
	return cfg
}

func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	tests := []struct {
		name       string
		mutualTLS  bool
		configure  func(*Config)
		wantLanded bool
	}{
		{name: "TLS with the CA", configure: func(cfg *Config) {
			cfg.ClientConfig.TLS.Insecure = false
			cfg.ClientConfig.TLS.CAFile = pki.caFile
		}, wantLanded: true},
		{name: "plain client refused by a TLS server", configure: func(cfg *Config) {
			cfg.ClientConfig.TLS.Insecure = true
		}},
		{name: "TLS without trusting the server's CA", configure: func(cfg *Config) {
			cfg.ClientConfig.TLS.Insecure = false
		}},
		{name: "mutual TLS with a client certificate", mutualTLS: true, configure: func(cfg *Config) {
			cfg.ClientConfig.TLS.Insecure = false
			cfg.ClientConfig.TLS.CAFile = pki.caFile
			cfg.ClientConfig.TLS.CertFile = pki.clientCertFile
			cfg.ClientConfig.TLS.KeyFile = pki.clientKeyFile
		}, wantLanded: true},
		{name: "mutual TLS without a client certificate", mutualTLS: true, configure: func(cfg *Config) {
			cfg.ClientConfig.TLS.Insecure = false
			cfg.ClientConfig.TLS.CAFile = pki.caFile
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{server: greptimetest.Config{TLS: pki.serverTLS(tt.mutualTLS)}, configure: func(cfg *Config) {
				cfg.TimeoutConfig.Timeout = 5 * time.Second
				tt.configure(cfg)
			}})

			err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "b"))

			if tt.wantLanded {
				require.NoError(t, err)
				assert.Equal(t, 2, h.srv.RowCount("public", "events"))
				return
			}
			require.Error(t, err)
			assert.False(t, consumererror.IsPermanent(err), "a handshake failure is retried: the certificate may be fixed")
			assert.Empty(t, h.srv.Calls(), "no call reached the server")
		})
	}
}

func TestBasicAuth(t *testing.T) {
	users := map[string]string{"exporter": "s3cret"}
	tests := []struct {
		name               string
		username, password string
		wantErr            string
	}{
		{name: "right credentials", username: "exporter", password: "s3cret"},
		{name: "wrong password", username: "exporter", password: "wrong", wantErr: "Username and password does not match, username: exporter"},
		{name: "unknown user", username: "intruder", password: "s3cret", wantErr: "User not found, username: intruder"},
		{name: "no credentials", wantErr: "Not found http or grpc authorization header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{server: greptimetest.Config{Users: users}, configure: func(cfg *Config) {
				cfg.Username = tt.username
				cfg.Password = configopaque.String(tt.password)
			}})

			err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "a"))

			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, 2, h.srv.RowCount("public", "events"))
				assert.Equal(t, "exporter", h.srv.Calls()[0].User)
				return
			}
			require.Error(t, err)
			assert.True(t, consumererror.IsPermanent(err), "refused credentials are not retried")
			assert.Contains(t, err.Error(), tt.wantErr)
			if tt.password != "" {
				assert.NotContains(t, err.Error(), tt.password)
			}
			assert.Len(t, h.srv.Calls(), 1, "one call, no retries")
			refused := h.logs.FilterMessageSnippet("refused the exporter's credentials").All()
			require.Len(t, refused, 1)
			assert.Contains(t, refused[0].Message, `"username" and "password"`)
		})
	}
}

func TestCredentialsTravelOnlyInTheRequestHeader(t *testing.T) {
	// A gRPC "authorization" header is for proxies; GreptimeDB reads the
	// request header only, so the exporter's credentials go there.
	h := newHarness(t, setup{server: greptimetest.Config{Users: map[string]string{"exporter": "s3cret"}}, configure: func(cfg *Config) {
		cfg.Username = "exporter"
		cfg.Password = "s3cret"
	}})
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a")))
	assert.Equal(t, 1, h.srv.RowCount("public", "events"))

	h2 := newHarness(t, setup{server: greptimetest.Config{Users: map[string]string{"exporter": "s3cret"}}, configure: func(cfg *Config) {
		cfg.ClientConfig.Headers.Set("authorization", "Basic ZXhwb3J0ZXI6czNjcmV0") // exporter:s3cret
	}})
	err := h2.exp.ConsumeLogs(context.Background(), logsOfTypes("a"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Not found http or grpc authorization header")
}

func TestEventDataCannotChooseATable(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"deploy": {Table: "deploys"}}
	}})
	// Event types that look like tables, paths or SQL all land in the
	// exporter's table: only the configuration names tables.
	ld := logsOfTypes("deploys", "../../system", "events; DROP TABLE deploys", "greptime.public.secret", "deploy")
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr("table", "other")

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))

	assert.ElementsMatch(t, []string{"events", "deploys"}, h.srv.Tables("public"))
	assert.Equal(t, 4, h.srv.RowCount("public", "events"))
	assert.Equal(t, 1, h.srv.RowCount("public", "deploys"))
	for _, c := range h.srv.Calls() {
		assert.Equal(t, codes.OK, c.Code)
	}
}

func TestPlaintextPasswordWarning(t *testing.T) {
	tests := []struct {
		endpoint string
		insecure bool
		wantWarn bool
	}{
		{endpoint: "greptimedb.example.com:4001", insecure: true, wantWarn: true},
		{endpoint: "10.0.0.7:4001", insecure: true, wantWarn: true},
		{endpoint: "greptimedb.example.com:4001", insecure: false},
		{endpoint: "localhost:4001", insecure: true},
		{endpoint: "127.0.0.1:4001", insecure: true},
		{endpoint: "[::1]:4001", insecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			h := newHarness(t, setup{ownServers: true, configure: func(cfg *Config) {
				cfg.ClientConfig.Endpoint = tt.endpoint
				cfg.ClientConfig.TLS.Insecure = tt.insecure
				cfg.Username, cfg.Password = "exporter", "s3cret"
			}})
			h.shutdown()

			warned := h.logs.FilterMessageSnippet("password is sent without TLS").Len()
			assert.Equal(t, tt.wantWarn, warned == 1)
			for _, e := range h.logs.All() {
				assert.NotContains(t, e.Message, "s3cret")
			}
		})
	}
}

// TestTenantSourceIsNamedAtStart: with tenants, the exporter says once at
// start that a tenant the sender sets is a routing hint, and where the
// authenticated recipe is; without, it says nothing of the kind.
func TestTenantSourceIsNamedAtStart(t *testing.T) {
	for _, withTenants := range []bool{true, false} {
		t.Run(fmt.Sprintf("tenants=%t", withTenants), func(t *testing.T) {
			h := newHarness(t, setup{server: tenantServer(), configure: func(cfg *Config) {
				if withTenants {
					cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", Databases: []string{"team_a"}})
				}
			}})
			require.NoError(t, h.exp.ConsumeLogs(context.Background(), tenantLogs([]string{"team_a"}, "login")))
			h.shutdown()

			said := h.logs.FilterMessageSnippet("Tenants are only as trustworthy as their source")
			if !withTenants {
				assert.Zero(t, said.Len())
				return
			}
			require.Equal(t, 1, said.Len())
			entry := said.All()[0]
			assert.Equal(t, zapcore.InfoLevel, entry.Level)
			assert.Contains(t, entry.Message, "examples/tenants-authenticated.yaml")
			assert.Equal(t, "resource.tenant", entry.ContextMap()["from"])
		})
	}
}

// TestTLSAgainstAPlainServerSaysHowToFixIt: TLS is on by default, and
// GreptimeDB serves plain gRPC unless configured for TLS. The exporter says
// once what to set, not only grpc's "first record does not look like a TLS
// handshake" on every retry.
func TestTLSAgainstAPlainServerSaysHowToFixIt(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.ClientConfig.TLS.Insecure = false // the default
		cfg.TimeoutConfig.Timeout = 5 * time.Second
	}})

	for range 3 {
		err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("a"))
		require.Error(t, err)
		assert.False(t, consumererror.IsPermanent(err), "retried: the server may yet speak TLS")
	}

	hints := h.logs.FilterMessageSnippet(`set "tls::insecure: true"`).All()
	require.Len(t, hints, 1, "said once")
	assert.Equal(t, zapcore.ErrorLevel, hints[0].Level)
	assert.Equal(t, h.srvCfg.Addr, hints[0].ContextMap()["endpoint"])
	assert.Contains(t, hints[0].ContextMap()["error"], "first record does not look like a TLS handshake")
	assert.Zero(t, h.srv.RowCount("public", "events"))
}
