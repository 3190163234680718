package manifests

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// testPipeline returns a defaulted pipeline "shop" in namespace "recoflow" on the Kafka cluster
// "events", changed by each edit before the defaults are applied.
func testPipeline(edits ...func(*v1alpha1.RecommendationPipeline)) *v1alpha1.RecommendationPipeline {
	p := &v1alpha1.RecommendationPipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "recoflow"},
		Spec: v1alpha1.RecommendationPipelineSpec{
			Kafka: v1alpha1.KafkaSpec{ClusterRef: v1alpha1.ClusterReference{Name: "events"}},
		},
	}
	for _, edit := range edits {
		edit(p)
	}
	p.Default()
	return p
}

// testParams returns Params for a testPipeline with the default images.
func testParams(a Autoscaler, edits ...func(*v1alpha1.RecommendationPipeline)) Params {
	return Params{Pipeline: testPipeline(edits...), Images: DefaultImages(), Autoscaler: a}
}
