package manifests

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

func TestKafkaTopics(t *testing.T) {
	const day = int64(24 * 60 * 60 * 1000)
	type topic struct {
		name, topicName string
		partitions      int64
		config          map[string]any
	}
	defaults := func(minISR int64) []topic {
		return []topic{
			{"shop-raw", "shop.interactions.raw", 6, map[string]any{"cleanup.policy": "delete", "retention.ms": 7 * day, "min.insync.replicas": minISR}},
			{"shop-clean", "shop.interactions.clean", 6, map[string]any{"cleanup.policy": "delete", "retention.ms": 7 * day, "min.insync.replicas": minISR}},
			{"shop-dlq", "shop.interactions.dlq", 6, map[string]any{"cleanup.policy": "delete", "retention.ms": 14 * day, "min.insync.replicas": minISR}},
			{"shop-popularity", "shop.popularity", 6, map[string]any{"cleanup.policy": "compact", "min.insync.replicas": minISR}},
		}
	}
	tests := []struct {
		name     string
		edit     func(*v1alpha1.RecommendationPipeline)
		brokers  int32
		replicas int64
		want     []topic
	}{
		{
			name:     "defaults on an unknown cluster",
			edit:     func(*v1alpha1.RecommendationPipeline) {},
			replicas: 3,
			want:     defaults(2),
		},
		{
			name:     "defaults on a single broker",
			edit:     func(*v1alpha1.RecommendationPipeline) {},
			brokers:  1,
			replicas: 1,
			want:     defaults(1),
		},
		{
			name:     "defaults on two brokers",
			edit:     func(*v1alpha1.RecommendationPipeline) {},
			brokers:  2,
			replicas: 2,
			want:     defaults(1),
		},
		{
			name:     "defaults on five brokers",
			edit:     func(*v1alpha1.RecommendationPipeline) {},
			brokers:  5,
			replicas: 3,
			want:     defaults(2),
		},
		{
			name:     "replicas set on a single broker",
			edit:     func(p *v1alpha1.RecommendationPipeline) { p.Spec.Topics.Replicas = 3 },
			brokers:  1,
			replicas: 3,
			want:     defaults(2),
		},
		{
			name: "sized",
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Topics = v1alpha1.TopicsSpec{
					Partitions: 12, Replicas: 5, Retention: "36h", DeadLetterRetention: "1h30m", MinInSyncReplicas: ptr.To[int32](2),
				}
			},
			replicas: 5,
			want: []topic{
				{"shop-raw", "shop.interactions.raw", 12, map[string]any{"cleanup.policy": "delete", "retention.ms": day * 3 / 2, "min.insync.replicas": int64(2)}},
				{"shop-clean", "shop.interactions.clean", 12, map[string]any{"cleanup.policy": "delete", "retention.ms": day * 3 / 2, "min.insync.replicas": int64(2)}},
				{"shop-dlq", "shop.interactions.dlq", 12, map[string]any{"cleanup.policy": "delete", "retention.ms": int64(90 * 60 * 1000), "min.insync.replicas": int64(2)}},
				{"shop-popularity", "shop.popularity", 12, map[string]any{"cleanup.policy": "compact", "min.insync.replicas": int64(2)}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := testParams(AutoscalerNone, tt.edit)
			params.Brokers = tt.brokers
			got, err := KafkaTopics(params)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d topics, want %d", len(got), len(tt.want))
			}
			for i, want := range tt.want {
				u := got[i]
				if u.GroupVersionKind() != KafkaTopicGVK || u.GetName() != want.name || u.GetNamespace() != "recoflow" {
					t.Errorf("topic %d is %s %s/%s, want %s recoflow/%s", i, u.GroupVersionKind(), u.GetNamespace(), u.GetName(), KafkaTopicGVK, want.name)
				}
				if c := u.GetLabels()[LabelStrimziCluster]; c != "events" {
					t.Errorf("%s: label %s = %q, want events", want.name, LabelStrimziCluster, c)
				}
				if p := u.GetLabels()[LabelPipeline]; p != "shop" {
					t.Errorf("%s: label %s = %q, want shop", want.name, LabelPipeline, p)
				}
				spec := u.Object["spec"].(map[string]any)
				if spec["topicName"] != want.topicName || spec["partitions"] != want.partitions || spec["replicas"] != tt.replicas {
					t.Errorf("%s: spec = %v, want topicName %s, %d partitions, %d replicas", want.name, spec, want.topicName, want.partitions, tt.replicas)
				}
				if !reflect.DeepEqual(spec["config"], want.config) {
					t.Errorf("%s: config = %v, want %v", want.name, spec["config"], want.config)
				}
				// The apply path deep-copies unstructured objects, which panics on types JSON lacks.
				_ = u.DeepCopy()
			}
		})
	}
}

func TestKafkaTopicsRejectBadSpecs(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*v1alpha1.RecommendationPipeline)
		brokers int32
		want    string
	}{
		{
			name: "retention in words",
			edit: func(p *v1alpha1.RecommendationPipeline) { p.Spec.Topics.Retention = "a week" },
			want: "spec.topics.retention",
		},
		{
			// The CRD cannot check this when replicas are derived from the cluster.
			name:    "min in-sync above the derived replicas",
			edit:    func(p *v1alpha1.RecommendationPipeline) { p.Spec.Topics.MinInSyncReplicas = ptr.To[int32](2) },
			brokers: 1,
			want:    "minInSyncReplicas 2 exceeds the 1 replicas",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testParams(AutoscalerNone, tt.edit)
			p.Brokers = tt.brokers
			_, err := KafkaTopics(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("KafkaTopics() error = %v, want one saying %q", err, tt.want)
			}
		})
	}
}
