// Command clean runs the clean function: raw interactions in, validated, normalised and
// de-duplicated interactions out, rejects to the dead-letter topic. Flags and RECOFLOW_*
// environment variables configure it; -h lists them.
package main

import (
	"context"
	"os"

	"github.com/recoflow/recoflow/functions/clean"
	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/serve"
)

func main() {
	os.Exit(serve.Main(func(ctx context.Context) error {
		cfg := config.DefaultClean()
		if err := serve.ParseSettings("clean", &cfg, os.Args[1:], os.LookupEnv); err != nil {
			return err
		}
		return clean.Run(ctx, cfg, serve.Options{})
	}))
}
