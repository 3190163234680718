package local_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/local"
)

var (
	secureKafkaLine = regexp.MustCompile(`embedded Kafka at (\S+) with TLS, SCRAM-SHA-512 and ACLs`)
	popularityLine  = regexp.MustCompile(`popularity +(http://\S+)`)
)

// TestSecureLocalPipeline runs `make run` with --secure: the pipeline works end to end with
// each function as its own user, the broker refuses a plaintext client, and the secrets
// directory holds the CA and one password per user, readable by the owner only.
func TestSecureLocalPipeline(t *testing.T) {
	cfg := local.DefaultConfig()
	cfg.Secure = true
	cfg.DataDir = t.TempDir()
	cfg.SecretsDir = t.TempDir()
	banner, stop := run(t, cfg)
	defer stop()
	broker, ingestURL, popularityURL := secureKafkaLine.FindStringSubmatch(banner), ingestLine.FindStringSubmatch(banner), popularityLine.FindStringSubmatch(banner)
	if broker == nil || ingestURL == nil || popularityURL == nil {
		t.Fatalf("banner does not say the broker is secured or lacks a URL:\n%s", banner)
	}

	resp, err := http.Post(ingestURL[1]+"/v1/likes", "application/json", strings.NewReader(`{"user_id":"u1","item_id":"dune"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("posting a like: %d", resp.StatusCode)
	}
	kafkatest.Eventually(t, 30*time.Second, func() error {
		resp, err := http.Get(popularityURL[1] + "/v1/items/dune")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"liked":1`) {
			return fmt.Errorf("popularity answers %d %s", resp.StatusCode, body)
		}
		return nil
	})

	plain := kafka.NewSaramaConfig("local-test")
	plain.Net.DialTimeout, plain.Net.ReadTimeout = time.Second, time.Second
	plain.Metadata.Retry.Max = 0
	if client, err := sarama.NewClient([]string{broker[1]}, plain); err == nil {
		client.Close()
		t.Error("a plaintext client without credentials connected to the secured broker")
	}

	files := []string{filepath.Join(cfg.SecretsDir, local.ClusterCADir, contract.SecretKeyCACert)}
	for _, fn := range contract.Functions() {
		files = append(files, filepath.Join(cfg.SecretsDir, local.UserName(fn), contract.SecretKeyPassword))
	}
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			t.Error(err)
			continue
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, perm)
		}
	}
}

// TestSecureRefusesAnExistingKafka checks that --secure, which secures the embedded broker,
// is not silently ignored with --kafka.
func TestSecureRefusesAnExistingKafka(t *testing.T) {
	cfg := local.DefaultConfig()
	cfg.Secure, cfg.Kafka = true, "localhost:1"
	err := local.Run(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--secure") {
		t.Fatalf("Run = %v, want an error about --secure with --kafka", err)
	}
}
