package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/local"
)

// TestFunctionsServeProbesBeforeKafkaAndBecomeReadyWhenItComes starts every function while no
// Kafka answers, as pods start while Strimzi is still bringing Kafka up: each answers /healthz
// at once (so the kubelet does not kill it) and /readyz with 503; then Kafka comes, and each
// becomes ready by itself, without a restart.
func TestFunctionsServeProbesBeforeKafkaAndBecomeReadyWhenItComes(t *testing.T) {
	// A port nobody listens on yet, for the broker that comes later.
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := hold.Addr().(*net.TCPAddr).Port
	hold.Close()

	common := config.DefaultCommon()
	common.Brokers = []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	common.ShutdownTimeout = 10 * time.Second
	p := &pipeline{common: common, client: &http.Client{Timeout: 2 * time.Second}}
	urls := map[string]string{}
	for _, c := range local.Components(local.Config{}) {
		ln := p.listen(t)
		urls[c.Name] = "http://" + ln.Addr().String()
		fc := common
		fc.InstanceID = c.Name + "-0"
		opts := p.options(ln)
		stop := p.run(t, c.Name, func(ctx context.Context) error { return c.Run(ctx, fc, opts) })
		t.Cleanup(stop)
	}
	status := func(url string) (int, error) {
		resp, err := p.client.Get(url)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for name, url := range urls {
		kafkatest.Eventually(t, 5*time.Second, func() error {
			if code, err := status(url + "/healthz"); err != nil || code != http.StatusOK {
				return fmt.Errorf("%s /healthz: %d %v", name, code, err)
			}
			return nil
		})
		if code, err := status(url + "/readyz"); err != nil || code != http.StatusServiceUnavailable {
			t.Errorf("%s /readyz without kafka: %d %v, want 503", name, code, err)
		}
	}

	topics := make([]string, 0, len(contract.TopicRoles))
	for _, role := range contract.TopicRoles {
		topics = append(topics, contract.DefaultTopic(role))
	}
	cluster, err := kfake.NewCluster(kfake.Ports(port), kfake.SeedTopics(kafkatest.Partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	for name, url := range urls {
		kafkatest.Eventually(t, waitFor, func() error {
			if code, err := status(url + "/readyz"); err != nil || code != http.StatusOK {
				return fmt.Errorf("%s /readyz: %d %v", name, code, err)
			}
			return nil
		})
	}
}
