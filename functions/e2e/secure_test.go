package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/ingest"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/kafkaauth"
	"github.com/recoflow/recoflow/functions/local"
	"github.com/recoflow/recoflow/functions/pki"
	"github.com/recoflow/recoflow/functions/serve"
)

// secureBroker starts an embedded broker with TLS and authentication (ACLs too with SCRAM) and
// the local pipeline's topics, created by the superuser.
func secureBroker(t *testing.T, auth config.KafkaAuthentication) (*local.SecureBroker, config.Topics) {
	t.Helper()
	topics := config.DefaultCommon().Topics
	b, err := local.StartSecureBroker(local.SecureOptions{
		SecretsDir: t.TempDir(), Authentication: auth, Pipeline: local.LocalPipeline(topics),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Cluster.Close)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := local.CreateTopics(ctx, b.Cluster.ListenAddrs(), b.Admin, topics, kafkatest.Partitions); err != nil {
		t.Fatal(err)
	}
	return b, topics
}

// TestEachFunctionUserIsAllowedExactlyItsWork checks the ACLs the operator grants (the
// kafkaacl table) on a broker that enforces them: each function's user can do what its function
// does, and a function holding another function's credentials is denied the rest.
func TestEachFunctionUserIsAllowedExactlyItsWork(t *testing.T) {
	b, topics := secureBroker(t, config.KafkaAuthSCRAM)
	brokers := b.Cluster.ListenAddrs()
	pl := local.LocalPipeline(topics)
	user := func(fn contract.Function) config.KafkaAuth { return b.Users[fn] }
	type access struct {
		name    string
		do      func() error
		allowed bool
	}
	tests := []access{
		{"ingest writes raw", func() error { return kafkatest.ProduceAs(t, brokers, user(contract.FunctionIngest), topics.Raw) }, true},
		{"ingest cannot read raw", func() error { return kafkatest.FetchAs(t, brokers, user(contract.FunctionIngest), topics.Raw) }, false},
		{"ingest cannot read clean", func() error { return kafkatest.FetchAs(t, brokers, user(contract.FunctionIngest), topics.Clean) }, false},
		{"ingest cannot write clean", func() error { return kafkatest.ProduceAs(t, brokers, user(contract.FunctionIngest), topics.Clean) }, false},
		{"ingest cannot write popularity", func() error { return kafkatest.ProduceAs(t, brokers, user(contract.FunctionIngest), topics.Popularity) }, false},

		{"clean reads raw", func() error { return kafkatest.FetchAs(t, brokers, user(contract.FunctionClean), topics.Raw) }, true},
		{"clean uses its group", func() error {
			return kafkatest.FetchOffsetAs(t, brokers, user(contract.FunctionClean), pl.CleanGroup, topics.Raw)
		}, true},
		{"clean writes clean", func() error { return kafkatest.ProduceAs(t, brokers, user(contract.FunctionClean), topics.Clean) }, true},
		{"clean writes the dead-letter topic", func() error { return kafkatest.ProduceAs(t, brokers, user(contract.FunctionClean), topics.DeadLetter) }, true},
		{"clean cannot write raw", func() error { return kafkatest.ProduceAs(t, brokers, user(contract.FunctionClean), topics.Raw) }, false},
		{"clean cannot write popularity", func() error { return kafkatest.ProduceAs(t, brokers, user(contract.FunctionClean), topics.Popularity) }, false},
		{"clean cannot use popularity's group", func() error {
			return kafkatest.FetchOffsetAs(t, brokers, user(contract.FunctionClean), pl.PopularityGroup, topics.Clean)
		}, false},

		{"popularity reads clean", func() error { return kafkatest.FetchAs(t, brokers, user(contract.FunctionPopularity), topics.Clean) }, true},
		{"popularity uses its group", func() error {
			return kafkatest.FetchOffsetAs(t, brokers, user(contract.FunctionPopularity), pl.PopularityGroup, topics.Clean)
		}, true},
		{"popularity writes popularity", func() error {
			return kafkatest.ProduceAs(t, brokers, user(contract.FunctionPopularity), topics.Popularity)
		}, true},
		{"popularity reads popularity", func() error {
			return kafkatest.FetchAs(t, brokers, user(contract.FunctionPopularity), topics.Popularity)
		}, true},
		{"popularity cannot write raw", func() error { return kafkatest.ProduceAs(t, brokers, user(contract.FunctionPopularity), topics.Raw) }, false},
		{"popularity cannot read raw", func() error { return kafkatest.FetchAs(t, brokers, user(contract.FunctionPopularity), topics.Raw) }, false},
		{"popularity cannot write clean", func() error { return kafkatest.ProduceAs(t, brokers, user(contract.FunctionPopularity), topics.Clean) }, false},
		{"popularity cannot read the dead-letter topic", func() error {
			return kafkatest.FetchAs(t, brokers, user(contract.FunctionPopularity), topics.DeadLetter)
		}, false},
		{"popularity cannot use clean's group", func() error {
			return kafkatest.FetchOffsetAs(t, brokers, user(contract.FunctionPopularity), pl.CleanGroup, topics.Raw)
		}, false},

		{"popularity serving reads popularity", func() error {
			return kafkatest.FetchAs(t, brokers, user(contract.FunctionPopularityServing), topics.Popularity)
		}, true},
		{"popularity serving cannot write popularity", func() error {
			return kafkatest.ProduceAs(t, brokers, user(contract.FunctionPopularityServing), topics.Popularity)
		}, false},
		{"popularity serving cannot read clean", func() error {
			return kafkatest.FetchAs(t, brokers, user(contract.FunctionPopularityServing), topics.Clean)
		}, false},
		{"popularity serving cannot use popularity's group", func() error {
			return kafkatest.FetchOffsetAs(t, brokers, user(contract.FunctionPopularityServing), pl.PopularityGroup, topics.Clean)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			switch {
			case tt.allowed && err != nil:
				t.Fatalf("denied: %v", err)
			case !tt.allowed && err == nil:
				t.Fatal("allowed, want denied")
			case !tt.allowed && !strings.Contains(kafkaauth.Diagnose(err, nil), "denied"):
				t.Fatalf("failed with %v, which Diagnose does not call a denial (%q)", err, kafkaauth.Diagnose(err, nil))
			}
		})
	}
}

// TestSecuredBrokerRefusesPlaintextAndAnonymousClients checks that the secured broker is not
// open to a client without TLS, or with TLS but no credentials.
func TestSecuredBrokerRefusesPlaintextAndAnonymousClients(t *testing.T) {
	b, topics := secureBroker(t, config.KafkaAuthSCRAM)
	anonymous := config.KafkaAuth{TLS: true, CAFile: b.Admin.CAFile}
	if err := kafkatest.ProduceAs(t, b.Cluster.ListenAddrs(), anonymous, topics.Raw); err == nil {
		t.Error("a TLS client without credentials wrote to raw")
	}
	cfg := kafka.NewSaramaConfig("plaintext")
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout = time.Second, time.Second
	cfg.Metadata.Retry.Max = 0
	if client, err := sarama.NewClient(b.Cluster.ListenAddrs(), cfg); err == nil {
		client.Close()
		t.Error("a plaintext client connected")
	}
}

// ingestAs runs ingest against brokers as auth, logging to a buffer, and returns the buffer and
// ingest's base URL.
func ingestAs(t *testing.T, brokers []string, auth config.KafkaAuth) (*kafkatest.LockedBuffer, string) {
	t.Helper()
	cfg := config.DefaultIngest()
	cfg.Brokers = brokers
	cfg.KafkaAuth = auth
	cfg.ShutdownTimeout = 5 * time.Second
	logs := &kafkatest.LockedBuffer{}
	p := &pipeline{}
	ln := p.listen(t)
	opts := serve.Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), Listener: ln, ProbeInterval: 100 * time.Millisecond}
	stop := p.run(t, "ingest", func(ctx context.Context) error {
		err := ingest.Run(ctx, cfg, opts)
		if ctx.Err() != nil && err != nil {
			return nil // stopped while it still waited for Kafka, as intended
		}
		return err
	})
	t.Cleanup(stop)
	return logs, "http://" + ln.Addr().String()
}

// notReady fails the test unless url's /readyz answers 503: the function serves its probes while
// Kafka refuses it, and says it is not ready.
func notReady(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url + "/readyz")
	if err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz answered %d for a function Kafka refused, want 503", resp.StatusCode)
	}
}

// TestRefusedCredentialsAreExplainedAndNotReady checks what an operator sees when a function's
// Kafka credentials or CA are wrong: a log line that says what is wrong, with no secret in it,
// and a function that does not report ready.
func TestRefusedCredentialsAreExplainedAndNotReady(t *testing.T) {
	b, _ := secureBroker(t, config.KafkaAuthSCRAM)
	other, err := pki.NewCA("some-other-ca")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wrongCA := filepath.Join(dir, "ca.crt")
	wrongPassword := filepath.Join(dir, "password")
	const secret = "not-the-password-1234"
	for path, data := range map[string][]byte{wrongCA: other.PEM, wrongPassword: []byte(secret)} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	withPassword := b.Users[contract.FunctionIngest]
	withPassword.PasswordFile = wrongPassword
	withCA := b.Users[contract.FunctionIngest]
	withCA.CAFile = wrongCA
	tests := []struct {
		name string
		auth config.KafkaAuth
		want string
	}{
		{"wrong password", withPassword, "kafka rejected the SCRAM credentials"},
		{"untrusted CA", withCA, "kafka's certificate is not signed by a trusted CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs, url := ingestAs(t, b.Cluster.ListenAddrs(), tt.auth)
			kafkatest.Eventually(t, waitFor, func() error {
				if !strings.Contains(logs.String(), tt.want) {
					return fmt.Errorf("no log line %q yet in:\n%s", tt.want, logs.String())
				}
				return nil
			})
			if !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("the refusal is not logged as an error:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the logs show the password:\n%s", logs.String())
			}
			notReady(t, url)
		})
	}
}

// TestMutualTLSIngest checks a function authenticating with a client certificate: accepted with
// the certificate the cluster's CA signed, refused (and explained) with one from another CA.
func TestMutualTLSIngest(t *testing.T) {
	b, topics := secureBroker(t, config.KafkaAuthTLS)
	if err := kafkatest.ProduceAs(t, b.Cluster.ListenAddrs(), b.Users[contract.FunctionIngest], topics.Raw); err != nil {
		t.Fatalf("ingest's certificate was refused: %v", err)
	}

	other, err := pki.NewCA("some-other-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := other.IssueClient(local.UserName(contract.FunctionIngest))
	if err != nil {
		t.Fatal(err)
	}
	forged := b.Users[contract.FunctionIngest]
	dir := t.TempDir()
	forged.CertFile, forged.KeyFile = filepath.Join(dir, "user.crt"), filepath.Join(dir, "user.key")
	if err := errors.Join(os.WriteFile(forged.CertFile, certPEM, 0o600), os.WriteFile(forged.KeyFile, keyPEM, 0o600)); err != nil {
		t.Fatal(err)
	}
	logs, url := ingestAs(t, b.Cluster.ListenAddrs(), forged)
	kafkatest.Eventually(t, waitFor, func() error {
		if !strings.Contains(logs.String(), "kafka refused the TLS handshake") {
			return fmt.Errorf("no refusal logged yet:\n%s", logs.String())
		}
		return nil
	})
	notReady(t, url)
}
