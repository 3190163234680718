// Command ingest runs the ingest function: the HTTP edge that stores CloudEvents, plain likes and
// legacy likes on the raw topic. Flags and RECOFLOW_* environment variables configure it; -h
// lists them.
package main

import (
	"context"
	"os"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/ingest"
	"github.com/recoflow/recoflow/functions/serve"
)

func main() {
	os.Exit(serve.Main(func(ctx context.Context) error {
		cfg := config.DefaultIngest()
		if err := serve.ParseSettings("ingest", &cfg, os.Args[1:], os.LookupEnv); err != nil {
			return err
		}
		return ingest.Run(ctx, cfg, serve.Options{})
	}))
}
