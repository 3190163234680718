// Command recoflow-operator runs the recoflow operator, which reconciles RecommendationPipelines
// into Strimzi KafkaTopics, function Deployments, Services, PodDisruptionBudgets and autoscalers.
//
//	recoflow-operator [flags]                        run the manager
//	recoflow-operator render -f pipeline.yaml [...]  print what the operator would create
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/controller"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// LeaderElectionID names the Lease that operator replicas compete for.
const LeaderElectionID = "recoflow-operator.recoflow.dev"

func main() {
	if err := run(ctrl.SetupSignalHandler(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "recoflow-operator:", err)
		os.Exit(1)
	}
}

// run runs the subcommand args name: render, or else the manager.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "render" {
		return render(args[1:], os.Stdin, stdout, stderr)
	}
	return manage(ctx, args, stderr)
}

// options are the manager's settings, from its flags.
type options struct {
	kubeconfig              string
	metricsAddr             string
	probeAddr               string
	leaderElect             bool
	watchNamespaces         []string
	functions               functionDefaults
	maxConcurrentReconciles int
	kubeAPIQPS              float64
	kubeAPIBurst            int
	logLevel                slog.Level
}

// parseOptions reads the manager's flags.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("recoflow-operator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{}
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster (default: $KUBECONFIG, the in-cluster config, or ~/.kube/config)")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", `address the metrics endpoint binds to; "0" disables it`)
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader, so that only one of several replicas reconciles")
	fs.Func("watch-namespaces", "comma-separated namespaces whose pipelines to reconcile (default: all)", func(s string) error {
		o.watchNamespaces = splitList(s)
		return nil
	})
	fs.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", 4, "how many pipelines are reconciled at once")
	fs.Float64Var(&o.kubeAPIQPS, "kube-api-qps", 50, "requests per second the operator may send to the API server")
	fs.IntVar(&o.kubeAPIBurst, "kube-api-burst", 100, "requests the operator may send to the API server in a burst above kube-api-qps")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "lowest level logged: debug, info, warn or error")
	o.functions.bind(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: recoflow-operator [flags]\n       recoflow-operator render -f pipeline.yaml [flags]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}

// functionDefaults are what the functions of pipelines that name none get: images, image pull
// secrets, and the cluster's DNS domain. The manager and render share their flags.
type functionDefaults struct {
	images           manifests.Images
	imagePullSecrets []corev1.LocalObjectReference
	clusterDomain    string
}

// bind binds the defaults to flags of fs.
func (d *functionDefaults) bind(fs *flag.FlagSet) {
	def := manifests.DefaultImages()
	fs.StringVar(&d.images.Ingest, "ingest-image", def.Ingest, "image of ingest in pipelines that name none")
	fs.StringVar(&d.images.Clean, "clean-image", def.Clean, "image of clean in pipelines that name none")
	fs.StringVar(&d.images.Popularity, "popularity-image", def.Popularity, "image of popularity in pipelines that name none")
	fs.Func("image-pull-secrets", "comma-separated Secrets, in each pipeline's namespace, to pull the function images of pipelines that name none with", func(s string) error {
		d.imagePullSecrets = nil
		for _, name := range splitList(s) {
			d.imagePullSecrets = append(d.imagePullSecrets, corev1.LocalObjectReference{Name: name})
		}
		return nil
	})
	fs.StringVar(&d.clusterDomain, "cluster-domain", manifests.DefaultClusterDomain, "DNS domain of the cluster's Service names, as in <service>.<namespace>.svc.<domain>")
}

// params returns the builders' parameters of pipeline p scaled by autoscaler a.
func (d functionDefaults) params(p *v1alpha1.RecommendationPipeline, a manifests.Autoscaler) manifests.Params {
	return manifests.Params{
		Pipeline: p, Images: d.images, Autoscaler: a,
		ImagePullSecrets: d.imagePullSecrets, ClusterDomain: d.clusterDomain,
	}
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// newScheme returns a scheme with the built-in kinds and RecommendationPipeline.
func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// managerOptions returns the controller-runtime options of o.
func (o options) managerOptions(scheme *runtime.Scheme) ctrl.Options {
	opts := ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:        o.probeAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionReleaseOnCancel: true,
		// Cache only the children the operator made, not every Deployment of the cluster.
		NewCache: controller.NewCache,
	}
	if len(o.watchNamespaces) > 0 {
		opts.Cache.DefaultNamespaces = make(map[string]cache.Config, len(o.watchNamespaces))
		for _, ns := range o.watchNamespaces {
			opts.Cache.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// restConfig returns the configuration of the cluster that kubeconfig names, or else the one
// controller-runtime finds: $KUBECONFIG, the in-cluster config or ~/.kube/config.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	return ctrl.GetConfig()
}

// manage runs the manager until ctx is done.
func manage(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))

	scheme, err := newScheme()
	if err != nil {
		return fmt.Errorf("scheme: %w", err)
	}
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	// A pipeline takes about 20 writes to converge: client-go's default of 5 requests/s would make
	// a few hundred pipelines take minutes.
	cfg.QPS, cfg.Burst = float32(o.kubeAPIQPS), o.kubeAPIBurst
	mgr, err := ctrl.NewManager(cfg, o.managerOptions(scheme))
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("healthz: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("readyz: %w", err)
	}
	r := &controller.PipelineReconciler{
		Client:                  mgr.GetClient(),
		Scheme:                  mgr.GetScheme(),
		Recorder:                mgr.GetEventRecorder(controller.ControllerName),
		Images:                  o.functions.images,
		ImagePullSecrets:        o.functions.imagePullSecrets,
		ClusterDomain:           o.functions.clusterDomain,
		MaxConcurrentReconciles: o.maxConcurrentReconciles,
		Freshness:               controller.HTTPFreshness{},
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	log.Info("starting manager",
		"version", manifests.Version,
		"watchNamespaces", o.watchNamespaces,
		"leaderElection", o.leaderElect,
		"metrics", o.metricsAddr,
		"probes", o.probeAddr)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	return nil
}
