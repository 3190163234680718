package manifests

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/recoflow/recoflow/functions/contract"
)

// ServicePort is the port the ingest and popularity Services listen on.
const ServicePort = 80

// Services returns the ClusterIP Services of the functions that serve HTTP, ingest and then
// popularity, each on ServicePort in front of the pods' http port. The popularity Service sends
// reads to popularity's serving tier. Clean and popularity scoring serve only health and metrics,
// which need no Service.
func Services(p Params) []*corev1.Service {
	return []*corev1.Service{service(p, contract.FunctionIngest), service(p, contract.FunctionPopularity)}
}

func service(p Params, r Role) *corev1.Service {
	pl := p.Pipeline
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: p.objectMeta(r),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: SelectorLabels(pl.Name, readsFrom(r)),
			Ports: []corev1.ServicePort{{
				Name:       PortName,
				Protocol:   corev1.ProtocolTCP,
				Port:       ServicePort,
				TargetPort: intstr.FromString(PortName),
			}},
		},
	}
}
