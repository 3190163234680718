package main

import (
	"io"
	"log/slog"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

func TestManagerOptions(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		namespaces map[string]cache.Config
		check      func(t *testing.T, o options)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, o options) {
				want := options{
					metricsAddr: ":8080", probeAddr: ":8081", maxConcurrentReconciles: 4, kubeAPIQPS: 50, kubeAPIBurst: 100, logLevel: slog.LevelInfo,
					functions: functionDefaults{images: manifests.DefaultImages(), clusterDomain: "cluster.local"},
				}
				if !reflect.DeepEqual(o, want) {
					t.Errorf("options = %+v, want %+v", o, want)
				}
			},
		},
		{
			name:       "watch some namespaces",
			args:       []string{"--watch-namespaces", "shop, books,,", "--leader-elect", "--metrics-bind-address", "0"},
			namespaces: map[string]cache.Config{"shop": {}, "books": {}},
			check: func(t *testing.T, o options) {
				if !o.leaderElect || o.metricsAddr != "0" {
					t.Errorf("options = %+v", o)
				}
			},
		},
		{
			name: "pull secrets and cluster domain",
			args: []string{"--image-pull-secrets", "registry-a, registry-b", "--cluster-domain", "corp.example"},
			check: func(t *testing.T, o options) {
				want := []corev1.LocalObjectReference{{Name: "registry-a"}, {Name: "registry-b"}}
				if !reflect.DeepEqual(o.functions.imagePullSecrets, want) || o.functions.clusterDomain != "corp.example" {
					t.Errorf("pull secrets %v, cluster domain %q; want %v, corp.example", o.functions.imagePullSecrets, o.functions.clusterDomain, want)
				}
			},
		},
		{
			name: "images, log level and API rate limit",
			args: []string{"--ingest-image", "i:1", "--clean-image", "c:1", "--popularity-image", "p:1", "--log-level", "debug", "--kube-api-qps", "20", "--kube-api-burst", "40"},
			check: func(t *testing.T, o options) {
				if want := (manifests.Images{Ingest: "i:1", Clean: "c:1", Popularity: "p:1"}); o.functions.images != want || o.logLevel != slog.LevelDebug {
					t.Errorf("images = %+v, log level %s; want %+v, debug", o.functions.images, o.logLevel, want)
				}
				if o.kubeAPIQPS != 20 || o.kubeAPIBurst != 40 {
					t.Errorf("API rate limit = %v/%d, want 20/40", o.kubeAPIQPS, o.kubeAPIBurst)
				}
			},
		},
	}
	scheme, err := newScheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
			opts := o.managerOptions(scheme)
			if !reflect.DeepEqual(opts.Cache.DefaultNamespaces, tt.namespaces) {
				t.Errorf("cache namespaces = %v, want %v", opts.Cache.DefaultNamespaces, tt.namespaces)
			}
			if opts.LeaderElectionID != LeaderElectionID || opts.LeaderElection != o.leaderElect {
				t.Errorf("leader election %t as %q", opts.LeaderElection, opts.LeaderElectionID)
			}
			if opts.Metrics.BindAddress != o.metricsAddr || opts.HealthProbeBindAddress != o.probeAddr {
				t.Errorf("metrics on %q, probes on %q", opts.Metrics.BindAddress, opts.HealthProbeBindAddress)
			}
		})
	}
}

func TestManagerOptionsErrors(t *testing.T) {
	for _, args := range [][]string{{"--log-level", "loud"}, {"--no-such-flag"}, {"stray"}} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("parseOptions(%q) succeeded", args)
		}
	}
}

func TestSchemeKnowsPipelines(t *testing.T) {
	scheme, err := newScheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"RecommendationPipeline", "RecommendationPipelineList"} {
		if !scheme.Recognizes(v1alpha1.GroupVersion.WithKind(kind)) {
			t.Errorf("the scheme does not know %s", kind)
		}
	}
}
