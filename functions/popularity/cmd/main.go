// Command popularity runs the popularity function: clean interactions in, time-decayed hotness
// per item out to the compacted popularity topic, exactly once, served as top-N lists over HTTP.
// Flags and RECOFLOW_* environment variables configure it; -h lists them.
package main

import (
	"context"
	"os"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/serve"
)

func main() {
	os.Exit(serve.Main(func(ctx context.Context) error {
		cfg := config.DefaultPopularity()
		if err := serve.ParseSettings("popularity", &cfg, os.Args[1:], os.LookupEnv); err != nil {
			return err
		}
		return popularity.Run(ctx, cfg, serve.Options{})
	}))
}
