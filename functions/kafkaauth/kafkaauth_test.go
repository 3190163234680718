package kafkaauth_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/kafkaauth"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigure(t *testing.T) {
	dir := t.TempDir()
	password := write(t, dir, "password", "  s3cret-value\n")
	empty := write(t, dir, "empty", "\n")
	notPEM := write(t, dir, "ca.crt", "s3cret-value is not a certificate")
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name    string
		auth    config.KafkaAuth
		wantErr string // empty: no error
		check   func(t *testing.T, c *sarama.Config)
	}{
		{name: "none leaves the client plaintext", auth: config.KafkaAuth{}, check: func(t *testing.T, c *sarama.Config) {
			if c.Net.TLS.Enable || c.Net.SASL.Enable {
				t.Errorf("TLS %v, SASL %v; want neither", c.Net.TLS.Enable, c.Net.SASL.Enable)
			}
		}},
		{name: "scram reads and trims the password", auth: config.KafkaAuth{Authentication: config.KafkaAuthSCRAM, User: "shop-ingest", PasswordFile: password}, check: func(t *testing.T, c *sarama.Config) {
			if !c.Net.SASL.Enable || c.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA512 || c.Net.SASL.User != "shop-ingest" || c.Net.SASL.Password != "s3cret-value" {
				t.Errorf("SASL = %v %v %q; want SCRAM-SHA-512 as shop-ingest with the trimmed password", c.Net.SASL.Enable, c.Net.SASL.Mechanism, c.Net.SASL.User)
			}
			if c.Net.SASL.SCRAMClientGeneratorFunc == nil || c.Net.TLS.Enable {
				t.Error("want a SCRAM client and no TLS")
			}
		}},
		{name: "tls without a CA trusts the system roots", auth: config.KafkaAuth{TLS: true}, check: func(t *testing.T, c *sarama.Config) {
			if !c.Net.TLS.Enable || c.Net.TLS.Config.RootCAs != nil || c.Net.TLS.Config.MinVersion < 0x0303 {
				t.Errorf("TLS = %v, roots %v; want TLS 1.2+ on the system roots", c.Net.TLS.Enable, c.Net.TLS.Config.RootCAs)
			}
		}},
		{name: "missing password file", auth: config.KafkaAuth{Authentication: config.KafkaAuthSCRAM, User: "u", PasswordFile: missing}, wantErr: "kafka password file"},
		{name: "empty password file", auth: config.KafkaAuth{Authentication: config.KafkaAuthSCRAM, User: "u", PasswordFile: empty}, wantErr: "is empty"},
		{name: "scram without a user", auth: config.KafkaAuth{Authentication: config.KafkaAuthSCRAM, PasswordFile: password}, wantErr: "needs kafka-user"},
		{name: "CA file without a certificate", auth: config.KafkaAuth{TLS: true, CAFile: notPEM}, wantErr: "holds no PEM certificate"},
		{name: "CA file without TLS", auth: config.KafkaAuth{CAFile: notPEM}, wantErr: "needs kafka-tls"},
		{name: "mutual TLS without a key", auth: config.KafkaAuth{Authentication: config.KafkaAuthTLS, CertFile: notPEM}, wantErr: "needs kafka-cert-file and kafka-key-file"},
		{name: "mutual TLS with unreadable files", auth: config.KafkaAuth{Authentication: config.KafkaAuthTLS, CertFile: notPEM, KeyFile: password}, wantErr: "kafka client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sarama.NewConfig()
			err := kafkaauth.Configure(c, tt.auth)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, c)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Configure = %v, want an error containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret-value") {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
}

func TestDiagnoseLeavesOtherErrorsAlone(t *testing.T) {
	if got := kafkaauth.Diagnose(sarama.ErrOutOfBrokers, sarama.NewConfig()); got != "" {
		t.Errorf("Diagnose(out of brokers) = %q, want none: an unreachable broker is not a security failure", got)
	}
	if got := kafkaauth.Diagnose(sarama.ErrSASLAuthenticationFailed, nil); !strings.Contains(got, "SCRAM credentials") {
		t.Errorf("Diagnose(SASL failed) = %q", got)
	}
}
