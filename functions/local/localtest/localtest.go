// Package localtest runs the whole pipeline inside a test: ingest, clean and popularity, each
// through the Run its binary calls, on an embedded broker the test provides.
package localtest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/clean"
	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/ingest"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
	"github.com/recoflow/recoflow/functions/serve"
)

// Pipeline is ingest, clean and popularity running in the test's process, with the default
// settings but for the brokers.
type Pipeline struct {
	// IngestURL, CleanURL and PopularityURL are the functions' base URLs.
	IngestURL, CleanURL, PopularityURL string
}

// StartPipeline starts the three functions on the Kafka at brokers, whose topics exist, and
// returns once each answers /readyz with 200. They stop when the test ends.
func StartPipeline(t testing.TB, brokers []string) *Pipeline {
	t.Helper()
	common := config.DefaultCommon()
	common.Brokers = brokers
	common.ShutdownTimeout = 10 * time.Second
	listen := func() (serve.Options, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return serve.Options{Logger: slog.New(slog.DiscardHandler), Listener: ln}, "http://" + ln.Addr().String()
	}
	ingestOpts, ingestURL := listen()
	cleanOpts, cleanURL := listen()
	popOpts, popURL := listen()
	ic, cc, pc := config.DefaultIngest(), config.DefaultClean(), config.DefaultPopularity()
	ic.Common, cc.Common, pc.Common = common, common, common
	popularitytest.Start(t, serve.ComponentFunc(func(ctx context.Context) error { return ingest.Run(ctx, ic, ingestOpts) }))
	popularitytest.Start(t, serve.ComponentFunc(func(ctx context.Context) error { return clean.Run(ctx, cc, cleanOpts) }))
	popularitytest.Start(t, serve.ComponentFunc(func(ctx context.Context) error { return popularity.Run(ctx, pc, popOpts) }))
	p := &Pipeline{IngestURL: ingestURL, CleanURL: cleanURL, PopularityURL: popURL}
	kafkatest.Eventually(t, time.Minute, func() error {
		for _, u := range []string{ingestURL, cleanURL, popURL} {
			resp, err := http.Get(u + "/readyz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s/readyz: %s", u, resp.Status)
			}
		}
		return nil
	})
	return p
}
