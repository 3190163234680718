package controller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// kedaWebhookPath is where the test's stand-in for KEDA's admission webhook serves.
const kedaWebhookPath = "/validate-keda-sh-v1alpha1-scaledobject"

// kedaWebhookOptions install, in every test cluster, a stand-in for the two checks of KEDA's
// ScaledObject admission webhook (kedacore/keda, apis/keda/v1alpha1/scaledobject_webhook.go) that
// the operator must satisfy: no other HorizontalPodAutoscaler may scale the ScaledObject's
// Deployment, and every container of a Deployment scaled on CPU must request CPU.
func kedaWebhookOptions() envtest.WebhookInstallOptions {
	return envtest.WebhookInstallOptions{
		ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{{
			ObjectMeta: metav1.ObjectMeta{Name: "keda-admission"},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{
				Name:                    "vscaledobject.kb.io",
				AdmissionReviewVersions: []string{"v1"},
				SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
				FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
				ClientConfig: admissionregistrationv1.WebhookClientConfig{
					Service: &admissionregistrationv1.ServiceReference{Namespace: "keda", Name: "keda-admission-webhooks", Path: ptr.To(kedaWebhookPath)},
				},
				Rules: []admissionregistrationv1.RuleWithOperations{{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule: admissionregistrationv1.Rule{
						APIGroups: []string{"keda.sh"}, APIVersions: []string{"v1alpha1"}, Resources: []string{"scaledobjects"},
					},
				}},
			}},
		}},
	}
}

// serveKEDAWebhook serves the stand-in of KEDA's webhook until ctx is done, reading the cluster
// through reader.
func serveKEDAWebhook(ctx context.Context, opts envtest.WebhookInstallOptions, reader client.Reader) error {
	server := webhook.NewServer(webhook.Options{Host: opts.LocalServingHost, Port: opts.LocalServingPort, CertDir: opts.LocalServingCertDir})
	server.Register(kedaWebhookPath, &webhook.Admission{Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
			return admission.Allowed("")
		}
		var so struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
			Spec     struct {
				ScaleTargetRef struct {
					Kind string `json:"kind"`
					Name string `json:"name"`
				} `json:"scaleTargetRef"`
				Triggers []struct {
					Type string `json:"type"`
				} `json:"triggers"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(req.Object.Raw, &so); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		target := so.Spec.ScaleTargetRef.Name
		if k := so.Spec.ScaleTargetRef.Kind; k != "" && k != "Deployment" {
			return admission.Allowed("")
		}
		var hpas autoscalingv2.HorizontalPodAutoscalerList
		if err := reader.List(ctx, &hpas, client.InNamespace(req.Namespace)); err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		for _, h := range hpas.Items {
			ref := h.Spec.ScaleTargetRef
			if ref.Kind == "Deployment" && ref.Name == target && h.Name != "keda-hpa-"+req.Name {
				return admission.Denied(fmt.Sprintf("the workload '%s' of type 'apps/v1.Deployment' is already managed by the hpa '%s'", target, h.Name))
			}
		}
		for _, t := range so.Spec.Triggers {
			if t.Type != "cpu" {
				continue
			}
			var d appsv1.Deployment
			err := reader.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: target}, &d)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return admission.Errored(http.StatusInternalServerError, err)
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
					return admission.Denied(fmt.Sprintf("the scaledobject has a cpu trigger but the container %s doesn't have the cpu request defined", c.Name))
				}
			}
		}
		return admission.Allowed("")
	})})
	return server.Start(ctx)
}
