package serve_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/serve"
)

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    time.Duration
		wantErr string
	}{
		{name: "default", want: 5 * time.Second},
		{name: "environment", env: map[string]string{contract.EnvIngestProduceTimeout: "2s"}, want: 2 * time.Second},
		{name: "flag beats environment", env: map[string]string{contract.EnvIngestProduceTimeout: "2s"}, args: []string{"--produce-timeout=3s"}, want: 3 * time.Second},
		{name: "bad environment value", env: map[string]string{contract.EnvIngestProduceTimeout: "soon"}, wantErr: "RECOFLOW_INGEST_PRODUCE_TIMEOUT"},
		{name: "invalid setting", args: []string{"--produce-timeout=0s"}, wantErr: "produce-timeout"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.DefaultIngest()
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			err := serve.ParseSettings("ingest", &cfg, tt.args, lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || cfg.ProduceTimeout != tt.want {
				t.Fatalf("produce timeout %v, err %v; want %v", cfg.ProduceTimeout, err, tt.want)
			}
		})
	}
}

func TestNewLogger(t *testing.T) {
	tests := []struct {
		level, format string
		wantErr       bool
		wantPrefix    string
	}{
		{level: "info", format: "json", wantPrefix: "{"},
		{level: "debug", format: "text", wantPrefix: "time="},
		{level: "loud", format: "json", wantErr: true},
		{level: "info", format: "yaml", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := serve.NewLogger(&buf, tt.level, tt.format)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			log.Info("hello")
			if !strings.HasPrefix(buf.String(), tt.wantPrefix) {
				t.Errorf("log line %q does not start with %q", buf.String(), tt.wantPrefix)
			}
		})
	}
}

func TestSaramaConfigIsIdempotentOnKafka4(t *testing.T) {
	cfg := kafka.NewSaramaConfig("id")
	if err := cfg.Validate(); err != nil {
		t.Fatalf("invalid sarama config: %v", err)
	}
	if !cfg.Producer.Idempotent || cfg.Producer.RequiredAcks != sarama.WaitForAll || cfg.Net.MaxOpenRequests != 1 {
		t.Errorf("producer is not idempotent with acks=all and one request in flight: %+v", cfg.Producer)
	}
	if !cfg.Version.IsAtLeast(sarama.V4_0_0_0) {
		t.Errorf("version %s, want Kafka 4.x", cfg.Version)
	}
	if got := kafka.ClientID("clean-0", "consumer"); got != "clean-0-consumer" {
		t.Errorf("ClientID = %q", got)
	}
}
