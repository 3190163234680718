// Package local runs the whole recoflow pipeline in one process for a laptop: an embedded Kafka
// broker (kfake) keeping its data in a local directory, the pipeline's topics, and every
// function, each started through the same Run function its container binary calls.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"golang.org/x/sync/errgroup"

	"github.com/recoflow/recoflow/functions/clean"
	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/ingest"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafkaacl"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/serve"
)

// Config describes a local pipeline.
type Config struct {
	// Kafka is the bootstrap address of an existing Kafka; empty starts the embedded broker.
	Kafka string
	// BrokerPort is the port the embedded broker listens on, on 127.0.0.1.
	BrokerPort int
	// DataDir is where the embedded broker keeps its data, so a restart keeps the events.
	DataDir string
	// Partitions is the partition count of every topic the pipeline creates.
	Partitions int
	// IngestAddr, CleanAddr are the HTTP listen addresses of the functions.
	IngestAddr, CleanAddr string
	// PopularityAddr is the HTTP listen address of popularity's API, health and metrics.
	PopularityAddr string
	// LogLevel and LogFormat configure the functions' logs.
	LogLevel, LogFormat string
	// Functions names the functions to run; empty runs all of them. Running fewer is for measuring
	// one function alone or running another beside the pipeline.
	Functions []string
	// Secure runs the embedded broker as a secured production cluster would: TLS with a CA made
	// at start, SASL SCRAM-SHA-512 and ACLs enforced, and each function connecting as its own
	// user with exactly the ACLs the operator grants it (see SecureBroker).
	Secure bool
	// SecretsDir is where a secured run writes its CA and the users' passwords.
	SecretsDir string
}

// DefaultConfig returns the settings of `make run`: the embedded broker on port 9092 with data in
// .recoflow/kafka, six partitions per topic, ingest on :8080, clean's health and metrics on
// :8082 and popularity on :8081.
func DefaultConfig() Config {
	return Config{
		BrokerPort:     9092,
		DataDir:        ".recoflow/kafka",
		Partitions:     6,
		IngestAddr:     ":8080",
		CleanAddr:      ":8082",
		PopularityAddr: ":8081",
		LogLevel:       "info",
		LogFormat:      "text",
		SecretsDir:     ".recoflow/secrets",
	}
}

// Component is one function of the local pipeline.
type Component struct {
	// Name names the function, such as "ingest".
	Name string
	// Addr is the function's HTTP listen address.
	Addr string
	// Run runs the function until ctx ends, with the pipeline's shared settings, through the
	// function's own Run, the one its binary calls.
	Run func(ctx context.Context, common config.Common, opts serve.Options) error
	// Try is a shell command to show the user, with {url} standing for the function's base URL.
	Try string
}

// Components lists the functions of the local pipeline in data order.
func Components(cfg Config) []Component {
	return []Component{
		{
			Name: "ingest",
			Addr: cfg.IngestAddr,
			Run: func(ctx context.Context, common config.Common, opts serve.Options) error {
				c := config.DefaultIngest()
				c.Common = common
				return ingest.Run(ctx, c, opts)
			},
			Try: `curl -i -X POST {url}/v1/likes -H 'Content-Type: application/json' -d '{"user_id":"u1","item_id":"dune","title":"Dune","category":"books"}'`,
		},
		{
			Name: "clean",
			Addr: cfg.CleanAddr,
			Run: func(ctx context.Context, common config.Common, opts serve.Options) error {
				c := config.DefaultClean()
				c.Common = common
				return clean.Run(ctx, c, opts)
			},
			Try: `curl -s {url}/metrics | grep ^recoflow_records`,
		},
		{
			Name: "popularity",
			Addr: cfg.PopularityAddr,
			Run: func(ctx context.Context, common config.Common, opts serve.Options) error {
				c := config.DefaultPopularity()
				c.Common = common
				return popularity.Run(ctx, c, opts)
			},
			Try: `curl -s '{url}/v1/top?n=10'`,
		},
	}
}

// selectComponents returns the components named in names, in data order; no names selects all.
func selectComponents(all []Component, names []string) ([]Component, error) {
	if len(names) == 0 {
		return all, nil
	}
	var selected []Component
	for _, c := range all {
		if slices.Contains(names, c.Name) {
			selected = append(selected, c)
		}
	}
	if len(selected) != len(names) {
		known := make([]string, len(all))
		for i, c := range all {
			known[i] = c.Name
		}
		return nil, fmt.Errorf("functions %v: each must be one of %s", names, strings.Join(known, ", "))
	}
	return selected, nil
}

// Run runs the local pipeline until ctx ends: it starts the embedded broker unless cfg.Kafka
// names one, creates the topics, starts every component, and once all are ready writes their
// URLs and commands to try to out.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	log, err := serve.NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	common := config.DefaultCommon()
	common.LogLevel, common.LogFormat = cfg.LogLevel, cfg.LogFormat
	kafkaNote := "Kafka at " + cfg.Kafka
	var admin config.KafkaAuth
	users := map[string]config.KafkaAuth{}
	switch {
	case cfg.Secure && cfg.Kafka != "":
		return errors.New("--secure runs the embedded broker secured; it cannot be combined with --kafka")
	case cfg.Secure:
		broker, err := StartSecureBroker(SecureOptions{
			Port: cfg.BrokerPort, DataDir: cfg.DataDir, SecretsDir: cfg.SecretsDir, Pipeline: LocalPipeline(common.Topics),
		})
		if err != nil {
			return err
		}
		defer broker.Cluster.Close()
		admin = broker.Admin
		for fn, auth := range broker.Users {
			users[string(fn)] = auth
		}
		common.Brokers = broker.Cluster.ListenAddrs()
		kafkaNote = fmt.Sprintf("embedded Kafka at %s with TLS, SCRAM-SHA-512 and ACLs; CA and passwords in %s, data in %s",
			strings.Join(common.Brokers, ","), cfg.SecretsDir, cfg.DataDir)
	case cfg.Kafka == "":
		cluster, err := StartBroker(cfg.BrokerPort, cfg.DataDir)
		if err != nil {
			return err
		}
		defer cluster.Close()
		common.Brokers = cluster.ListenAddrs()
		kafkaNote = fmt.Sprintf("embedded Kafka at %s, data in %s", strings.Join(common.Brokers, ","), cfg.DataDir)
	default:
		common.Brokers = strings.Split(cfg.Kafka, ",")
	}
	if err := CreateTopics(ctx, common.Brokers, admin, common.Topics, int32(cfg.Partitions)); err != nil {
		return err
	}

	components, err := selectComponents(Components(cfg), cfg.Functions)
	if err != nil {
		return err
	}
	listeners := make([]net.Listener, len(components))
	for i, c := range components {
		if listeners[i], err = net.Listen("tcp", c.Addr); err != nil {
			closeAll(listeners)
			return fmt.Errorf("%s: listen on %s: %w", c.Name, c.Addr, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range components {
		g.Go(func() error {
			fc := common
			fc.HTTPAddr = listeners[i].Addr().String()
			fc.KafkaAuth = users[c.Name]
			opts := serve.Options{Logger: log, Listener: listeners[i]}
			if err := c.Run(gctx, fc, opts); err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		if err := waitReady(gctx, listeners); err != nil {
			return nil // the pipeline is stopping; its error, if any, comes from the components
		}
		printBanner(out, kafkaNote, components, listeners)
		return nil
	})
	return g.Wait()
}

// LocalPipeline names the Kafka resources of the local pipeline, whose topics are topics and whose
// consumer groups are the functions' defaults.
func LocalPipeline(topics config.Topics) kafkaacl.Pipeline {
	return kafkaacl.Pipeline{Topics: topics, CleanGroup: config.DefaultClean().Group, PopularityGroup: config.DefaultPopularity().Group}
}

// StartBroker starts the embedded single-node Kafka broker on 127.0.0.1:port, keeping its data
// in dataDir (created if needed; reloaded when it holds an earlier run's data).
func StartBroker(port int, dataDir string) (*kfake.Cluster, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("kafka data directory: %w", err)
	}
	cluster, err := kfake.NewCluster(kfake.Ports(port), kfake.DataDir(dataDir))
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka on port %d: %w", port, err)
	}
	return cluster, nil
}

// CreateTopics creates the pipeline's topics on brokers, connecting as auth says, with
// partitions partitions each, the popularity topic compacted; topics that exist already are left
// as they are. Every topic has the same partition count, so the clean and popularity topics are
// co-partitioned.
func CreateTopics(ctx context.Context, brokers []string, auth config.KafkaAuth, topics config.Topics, partitions int32) error {
	return kafka.CreateTopics(ctx, brokers, auth, map[contract.TopicRole]string{
		contract.TopicRaw:        topics.Raw,
		contract.TopicClean:      topics.Clean,
		contract.TopicDeadLetter: topics.DeadLetter,
		contract.TopicPopularity: topics.Popularity,
	}, partitions, -1)
}

// waitReady polls every listener's /readyz until all answer 200 or ctx ends.
func waitReady(ctx context.Context, listeners []net.Listener) error {
	client := &http.Client{Timeout: time.Second}
	for _, ln := range listeners {
		url := "http://" + ln.Addr().String() + "/readyz"
		for {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func printBanner(out io.Writer, kafkaNote string, components []Component, listeners []net.Listener) {
	fmt.Fprintf(out, "\nrecoflow is running (%s). Ctrl-C stops it.\n\n", kafkaNote)
	for i, c := range components {
		fmt.Fprintf(out, "  %-11s %s   (/healthz /readyz /metrics)\n", c.Name, baseURL(listeners[i]))
	}
	fmt.Fprintln(out)
	for i, c := range components {
		if c.Try != "" {
			fmt.Fprintf(out, "  # %s\n  %s\n\n", c.Name, strings.ReplaceAll(c.Try, "{url}", baseURL(listeners[i])))
		}
	}
}

// baseURL is the URL a user on this machine reaches a listener at.
func baseURL(ln net.Listener) string {
	host, port := "localhost", ""
	if addr, ok := ln.Addr().(*net.TCPAddr); ok {
		port = strconv.Itoa(addr.Port)
		if !addr.IP.IsUnspecified() && !addr.IP.IsLoopback() {
			host = addr.IP.String()
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

func closeAll(listeners []net.Listener) {
	for _, ln := range listeners {
		if ln != nil {
			ln.Close()
		}
	}
}
