package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/recoflow/recoflow/functions/clean"
	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
	"github.com/recoflow/recoflow/functions/serve"
)

// routedTunnel is a tunnel that knows where in-cluster names lead, as clusterdial.Dialer learns
// it from the API server, and records every address it is asked for.
type routedTunnel struct {
	routes map[string]string
	mu     sync.Mutex
	dialed []string
}

func (r *routedTunnel) Dial(network, address string) (net.Conn, error) {
	return r.DialContext(context.Background(), network, address)
}

func (r *routedTunnel) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	r.mu.Lock()
	r.dialed = append(r.dialed, address)
	r.mu.Unlock()
	to, ok := r.routes[address]
	if !ok {
		return nil, fmt.Errorf("the tunnel does not know %s", address)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

func (r *routedTunnel) Close() error { return nil }

// addresses returns the addresses dialed so far, each once.
func (r *routedTunnel) addresses() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.dialed)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestDeadLettersThroughATunnel runs the dlq commands and the lag of status against a Kafka
// reachable only through a tunnel, at a bootstrap name that no DNS resolves, as a cluster's
// Kafka is reached through the API server: both Kafka clients the plugin uses (sarama for
// metadata, offsets and producing, franz-go for reading) dial the bootstrap and every broker
// through it.
func TestDeadLettersThroughATunnel(t *testing.T) {
	cluster := popularitytest.NewCluster(t, 2, kfake.NumBrokers(2))
	cleanCfg := config.DefaultClean()
	cleanCfg.Common = cluster.Config("tunnel").Common
	popularitytest.Start(t, serve.ComponentFunc(func(ctx context.Context) error {
		return clean.Run(ctx, cleanCfg, quiet(t))
	}))
	produce(t, cluster, like("old-1", "ulysses", time.Now().Add(-400*24*time.Hour)), like("old-2", "emma", time.Now().Add(-400*24*time.Hour)))

	const bootstrap = "events-kafka-bootstrap.shop.svc.cluster.local:9092"
	tunnel := &routedTunnel{routes: map[string]string{bootstrap: cluster.Brokers[0]}}
	for _, b := range cluster.Brokers {
		// kfake's brokers advertise their listeners, as Kafka's advertise in-cluster names.
		tunnel.routes[b] = b
	}
	k, err := connectKafka(bootstrap, "", tunnel, config.KafkaAuth{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	// A client that dialed around the tunnel would wait for the bootstrap name forever.
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()
	kafkatest.Eventually(t, waitFor, func() error {
		var out bytes.Buffer
		if err := k.dlqList(ctx, &out, dlqFilter{}); err != nil {
			return err
		}
		if !hasLine(out.String(), "too_old", "2") {
			return fmt.Errorf("dlq ls:\n%s", out.String())
		}
		return nil
	})

	var out bytes.Buffer
	res, err := k.redrive(ctx, &out, dlqFilter{Reason: "too_old"}, false)
	if err != nil || res.Redriven != 2 {
		t.Fatalf("redrive through the tunnel: %+v, %v\n%s", res, err, out.String())
	}
	// Clean reads the redriven likes and dead-letters them again, with the same ids.
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

	got := tunnel.addresses()
	advertised := slices.ContainsFunc(got, func(a string) bool { return slices.Contains(cluster.Brokers, a) })
	if !slices.Contains(got, bootstrap) || !advertised {
		t.Errorf("the tunnel was asked for %v, want the bootstrap and the brokers it advertises (%v)", got, cluster.Brokers)
	}
}
