package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/recoflow/recoflow/functions/clean"
	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/kafkaacl"
	"github.com/recoflow/recoflow/functions/kafkaauth"
	"github.com/recoflow/recoflow/functions/local"
	"github.com/recoflow/recoflow/functions/pki"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
	"github.com/recoflow/recoflow/functions/serve"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// TestSecuredDeadLettersThroughATunnel runs the dlq commands and the lag of status against a
// Kafka that, like a secured Strimzi cluster, takes only TLS with a certificate for its in-cluster
// bootstrap name, SCRAM-SHA-512 and ACLs, reached only through a tunnel: as the plugin's user of
// manifests.PluginKafkaUser, allowed exactly kafkaacl.PluginRules, it lists the dead letters,
// redrives them (TLS runs over the tunnel's connections for both Kafka clients) and reads the lag.
func TestSecuredDeadLettersThroughATunnel(t *testing.T) {
	const bootstrap = "events-kafka-bootstrap.recoflow.svc.cluster.local:9093"
	pipeline := &v1alpha1.RecommendationPipeline{}
	pipeline.Name, pipeline.Namespace = "shop", "recoflow"
	names := manifests.ACLNames(pipeline)

	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ca, err := pki.NewCA("events-cluster-ca")
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.IssueServer(strings.Split(bootstrap, ":")[0])
	if err != nil {
		t.Fatal(err)
	}
	caFile := write("ca.crt", string(ca.PEM))
	admin := config.KafkaAuth{Authentication: config.KafkaAuthSCRAM, User: "admin", PasswordFile: write("admin", "admin-secret"), TLS: true, CAFile: caFile}
	plugin := config.KafkaAuth{Authentication: config.KafkaAuthSCRAM, User: "shop-kubectl-recoflow", PasswordFile: write("plugin", "plugin-secret"), TLS: true, CAFile: caFile}
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{serverCert}}),
		kfake.EnableSASL(), kfake.EnableACLs(), kfake.Superuser("SCRAM-SHA-512", admin.User, "admin-secret"),
		kfake.User("SCRAM-SHA-512", plugin.User, "plugin-secret", local.ACLs(kafkaacl.PluginRules(names))...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	brokers := kc.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topics := map[contract.TopicRole]string{
		contract.TopicRaw: names.Topics.Raw, contract.TopicClean: names.Topics.Clean,
		contract.TopicDeadLetter: names.Topics.DeadLetter, contract.TopicPopularity: names.Topics.Popularity,
	}
	if err := kafka.CreateTopics(ctx, brokers, admin, topics, 1, 1); err != nil {
		t.Fatal(err)
	}

	// Clean runs as the superuser: this test is about the plugin's user.
	cleanCfg := config.DefaultClean()
	cleanCfg.Brokers, cleanCfg.Topics, cleanCfg.KafkaAuth, cleanCfg.InstanceID = brokers, names.Topics, admin, "secured"
	cleanCfg.Group = names.CleanGroup
	popularitytest.Start(t, serve.ComponentFunc(func(ctx context.Context) error { return clean.Run(ctx, cleanCfg, quiet(t)) }))
	produceAs(t, brokers, admin, names.Topics.Raw, like("old-1", "ulysses", time.Now().Add(-400*24*time.Hour)))

	tunnel := &routedTunnel{routes: map[string]string{bootstrap: brokers[0]}}
	for _, b := range brokers {
		tunnel.routes[b] = b
	}
	k, err := connectKafka(bootstrap, pipeline.Name, tunnel, plugin)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	kafkatest.Eventually(t, waitFor, func() error {
		var out bytes.Buffer
		if err := k.dlqList(ctx, &out, dlqFilter{}); err != nil {
			return err
		}
		if !hasLine(out.String(), "too_old", "1") {
			return fmt.Errorf("dlq ls:\n%s", out.String())
		}
		return nil
	})
	var out bytes.Buffer
	if res, err := k.redrive(ctx, &out, dlqFilter{Reason: "too_old"}, false); err != nil || res.Redriven != 1 {
		t.Fatalf("redrive as the plugin's user: %+v, %v\n%s", res, err, out.String())
	}
	kafkatest.Eventually(t, waitFor, func() error {
		var out bytes.Buffer
		if err := k.dlqShow(ctx, &out, dlqFilter{Reason: "too_old"}, 0); err != nil {
			return err
		}
		if n := strings.Count(out.String(), "old-1"); n != 2 {
			return fmt.Errorf("old-1 dead-lettered %d times, want 2:\n%s", n, out.String())
		}
		return nil
	})
	kafkatest.Eventually(t, waitFor, func() error {
		lag, err := k.lag(ctx, contract.FunctionClean)
		if err != nil || lag != 0 {
			return fmt.Errorf("clean lag %d, %v", lag, err)
		}
		return nil
	})

	// The same user may not read what it is not granted: the popularity changelog.
	r, err := kafka.NewLogReader([]string{bootstrap}, plugin, "kubectl-recoflow", names.Topics.Popularity, 10*time.Millisecond, kafka.DialThrough(tunnel.DialContext))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	denied, cancelDenied := context.WithTimeout(ctx, 5*time.Second)
	defer cancelDenied()
	if _, err := r.Offsets(denied, []int32{0}, kafka.OffsetEnd, true); err == nil {
		t.Error("the plugin's user listed the offsets of the popularity changelog, which its ACLs do not allow")
	}
}

// produceAs writes events to topic as ingest does, connecting as auth.
func produceAs(t *testing.T, brokers []string, auth config.KafkaAuth, topic string, events ...cloudevents.Event) {
	t.Helper()
	cfg := kafka.NewSaramaConfig("secured-test")
	if err := kafkaauth.Configure(cfg, auth); err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	producer, err := kafka.NewProducer(client)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	if err := kafka.NewSink(producer, topic).SendEvents(context.Background(), events...); cloudevents.IsUndelivered(err) {
		t.Fatal(err)
	}
}
