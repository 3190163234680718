// Command kubectl-recoflow operates recoflow pipelines: their status, their top list, and their
// dead letters, which it can list, show and put back. Installed on the PATH it is a kubectl
// plugin (`kubectl recoflow ...`); `go run ./operator/cmd/kubectl-recoflow` works the same.
//
// It lives beside the operator because it reads what the operator names: the pipeline resource,
// its Services, topics and consumer groups all come from operator/internal/manifests, so the
// plugin and the operator can never disagree on a name.
//
// Against a cluster it needs only the kubeconfig: it reads pipelines with the kubeconfig's
// credentials, reaches popularity through the API server's service proxy, and reaches the
// pipeline's Kafka through the API server's port-forward, mapping the bootstrap Service and every
// broker's advertised in-cluster name to a pod (operator/internal/clusterdial). --kafka connects
// to a Kafka directly instead. Against `make run`, --local points it at localhost:9092 and
// localhost:8081 with the local topic names.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

const usage = `kubectl recoflow: operate recoflow pipelines.

Usage:
  kubectl recoflow [flags] status [PIPELINE]          pipelines, conditions, freshness, lag
  kubectl recoflow [flags] top PIPELINE [-n 10] [--category C] [--segment S]
  kubectl recoflow [flags] dlq ls PIPELINE [--since T]                      dead letters by reason
  kubectl recoflow [flags] dlq show PIPELINE [--reason R] [--since T] [--limit N]
  kubectl recoflow [flags] dlq redrive PIPELINE --reason R [--since T] [--dry-run]

Against a cluster the kubeconfig is all it needs: popularity is reached through the API server's
service proxy, Kafka through its port-forward (to the pipeline's bootstrap Service and each broker).
With --kafka it connects to that Kafka directly. With --local, PIPELINE is left out: the commands
work on the pipeline of ` + "`make run`" + `.
T is an RFC 3339 time or a duration back from now, such as 2h.

Flags:
`

// globals are the flags every command takes.
type globals struct {
	local      bool
	kafka      string
	kafkaUser  string
	popularity string
	namespace  string
	kubeconfig string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// run runs the command args, writing its answer to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	var g globals
	fs := flag.NewFlagSet("kubectl-recoflow", flag.ContinueOnError)
	fs.BoolVar(&g.local, "local", false, "work on the pipeline of `make run`: Kafka at localhost:9092, popularity at http://localhost:8081")
	fs.StringVar(&g.kafka, "kafka", "", "Kafka bootstrap servers, host:port[,host:port], reached directly instead of through the API server's port-forward")
	fs.StringVar(&g.kafkaUser, "kafka-user", "", "the Strimzi KafkaUser to connect as to a pipeline's Kafka that authenticates; its Secret (and the cluster CA's) is read through the API server")
	fs.StringVar(&g.popularity, "popularity", "", "popularity's base URL, instead of the API server's service proxy")
	fs.StringVar(&g.namespace, "namespace", "", "the pipeline's namespace; the kubeconfig's by default")
	fs.StringVar(&g.namespace, "n", "", "shorthand for --namespace")
	fs.StringVar(&g.kubeconfig, "kubeconfig", "", "the kubeconfig file; $KUBECONFIG or ~/.kube/config by default")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if g.local {
		g.kafka = cmp.Or(g.kafka, "localhost:9092")
		g.popularity = cmp.Or(g.popularity, "http://localhost:8081")
	}
	args = fs.Args()
	if len(args) == 0 {
		fs.Usage()
		return errors.New("no command")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "status":
		return g.status(ctx, out, rest)
	case "top":
		return g.top(ctx, out, rest)
	case "dlq":
		if len(rest) == 0 {
			return errors.New("dlq needs a command: ls, show or redrive")
		}
		return g.dlq(ctx, out, rest[0], rest[1:])
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// pipelineArg splits a command's arguments into the pipeline name and the rest. With --local there
// is no name.
func (g globals) pipelineArg(cmd string, args []string) (string, []string, error) {
	if g.local {
		return "", args, nil
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, fmt.Errorf("%s needs a pipeline name (or --local)", cmd)
	}
	return args[0], args[1:], nil
}

func (g globals) dlq(ctx context.Context, out io.Writer, cmd string, args []string) error {
	pipeline, args, err := g.pipelineArg("dlq "+cmd, args)
	if err != nil {
		return err
	}
	var (
		f      dlqFilter
		since  string
		limit  int
		dryRun bool
	)
	fs := flag.NewFlagSet("dlq "+cmd, flag.ContinueOnError)
	fs.StringVar(&since, "since", "", "only dead letters whose original record is this recent: an RFC 3339 time or a duration such as 2h")
	switch cmd {
	case "ls":
	case "show":
		fs.StringVar(&f.Reason, "reason", "", "only dead letters with this reason")
		fs.IntVar(&limit, "limit", 50, "show at most the newest N; 0 shows all")
	case "redrive":
		fs.StringVar(&f.Reason, "reason", "", "redrive the dead letters with this reason (required)")
		fs.BoolVar(&dryRun, "dry-run", false, "say what would be redriven and produce nothing")
	default:
		return fmt.Errorf("unknown dlq command %q: use ls, show or redrive", cmd)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.Since, err = parseSince(since, time.Now()); err != nil {
		return err
	}
	t, err := g.connectKafka(ctx, pipeline)
	if err != nil {
		return err
	}
	defer t.Close()
	switch cmd {
	case "ls":
		return t.dlqList(ctx, out, f)
	case "show":
		return t.dlqShow(ctx, out, f, limit)
	default:
		res, err := t.redrive(ctx, out, f, dryRun)
		if err != nil {
			return err
		}
		verb := "redrove"
		if dryRun {
			verb = "would redrive (dry run)"
		}
		fmt.Fprintf(out, "%d dead letters with reason %s: %s %d; skipped %d already redriven and %d that are no CloudEvents\n",
			res.Selected, f.Reason, verb, res.Redriven, res.AlreadyRedriven, res.NotCloudEvents)
		return nil
	}
}

// parseSince reads --since: empty (everything), an RFC 3339 time, or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time or a positive duration such as 2h", s)
	}
	return now.Add(-d), nil
}
