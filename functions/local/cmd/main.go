// Command local runs the whole recoflow pipeline on one machine (`make run`): an embedded Kafka
// broker on localhost:9092 keeping its data in .recoflow/kafka, the topics, and every function,
// each through the same code its container runs. --kafka uses an existing Kafka instead.
package main

import (
	"context"
	"flag"
	"os"
	"strings"

	"github.com/recoflow/recoflow/functions/local"
	"github.com/recoflow/recoflow/functions/serve"
)

func main() {
	os.Exit(serve.Main(func(ctx context.Context) error {
		cfg := local.DefaultConfig()
		fs := flag.NewFlagSet("local", flag.ContinueOnError)
		fs.StringVar(&cfg.Kafka, "kafka", cfg.Kafka, "host:port of an existing Kafka to use instead of the embedded broker")
		fs.IntVar(&cfg.BrokerPort, "broker-port", cfg.BrokerPort, "port of the embedded broker")
		fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory where the embedded broker keeps its data")
		fs.IntVar(&cfg.Partitions, "partitions", cfg.Partitions, "partitions of each topic the pipeline creates")
		fs.StringVar(&cfg.IngestAddr, "ingest-addr", cfg.IngestAddr, "listen address of ingest")
		fs.StringVar(&cfg.CleanAddr, "clean-addr", cfg.CleanAddr, "listen address of clean's health and metrics")
		fs.StringVar(&cfg.PopularityAddr, "popularity-addr", cfg.PopularityAddr, "listen address of popularity's API")
		fs.Func("functions", "comma-separated functions to run (default: ingest,clean,popularity)", func(s string) error {
			cfg.Functions = strings.Split(s, ",")
			return nil
		})
		fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "lowest level logged: debug, info, warn or error")
		fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format: text or json")
		if err := fs.Parse(os.Args[1:]); err != nil {
			return err
		}
		return local.Run(ctx, cfg, os.Stdout)
	}))
}
