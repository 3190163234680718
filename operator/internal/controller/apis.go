package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// The CustomResourceDefinitions of the optional APIs, whose changes make the operator look again
// at what the cluster serves.
const (
	crdKafkaTopics    = "kafkatopics.kafka.strimzi.io"
	crdKafkas         = "kafkas.kafka.strimzi.io"
	crdKafkaNodePools = "kafkanodepools.kafka.strimzi.io"
	crdScaledObjects  = "scaledobjects.keda.sh"
)

// absentRecheck is how long the operator trusts that the cluster does not serve a kind before it
// asks again. A change of the kind's CRD makes it ask at once.
const absentRecheck = 30 * time.Second

// crdSettle is how long after a CRD changed the operator does not trust that a kind is not
// served: the API server serves a new kind a moment after its CRD says Established.
const crdSettle = 3 * time.Second

// optionalAPIs tells which of the kinds of other operators, Strimzi's and KEDA's, the cluster
// serves, and watches each kind from the first time it is found served, so that the manager
// starts whether or not they are installed and notices when they are installed later.
type optionalAPIs struct {
	mapper     meta.RESTMapper
	cache      cache.Cache
	controller controller.Controller // set once the controller is built
	watches    map[schema.GroupVersionKind]kindWatch

	mu         sync.Mutex
	found      map[schema.GroupVersionKind]discovery
	watched    map[schema.GroupVersionKind]bool
	crdChanged time.Time // when an optional kind's CRD last changed
}

// discovery is what the API server said about a kind, and when.
type discovery struct {
	served bool
	at     time.Time
}

// kindWatch is how the operator watches an optional kind once the cluster serves it.
type kindWatch struct {
	handler handler.EventHandler
	// metadataOnly watches only the objects' metadata, for kinds whose spec and status the
	// operator never reads.
	metadataOnly bool
}

// newOptionalAPIs returns the optional APIs, each watched as watches says.
func newOptionalAPIs(mapper meta.RESTMapper, c cache.Cache, watches map[schema.GroupVersionKind]kindWatch) *optionalAPIs {
	return &optionalAPIs{
		mapper:  mapper,
		cache:   c,
		watches: watches,
		found:   map[schema.GroupVersionKind]discovery{},
		watched: map[schema.GroupVersionKind]bool{},
	}
}

// available reports whether the cluster serves gvk and, when it does, makes sure the controller
// watches it. settling is set when the answer is no but the kind's CRD changed so recently that
// the API server may not have caught up: the caller should then ask again after crdSettle.
func (a *optionalAPIs) available(gvk schema.GroupVersionKind) (served, settling bool, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	d, ok := a.found[gvk]
	if !ok || (!d.served && (time.Now().Sub(d.at) >= absentRecheck || a.settling(d))) {
		_, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil && !meta.IsNoMatchError(err) {
			return false, false, fmt.Errorf("discover %s: %w", gvk, err)
		}
		d = discovery{served: err == nil, at: time.Now()}
		a.found[gvk] = d
	}
	if d.served && !a.watched[gvk] {
		if err := a.watch(gvk); err != nil {
			return false, false, err
		}
		a.watched[gvk] = true
	}
	return d.served, a.settling(d), nil
}

// watch starts the watch of an optional kind.
func (a *optionalAPIs) watch(gvk schema.GroupVersionKind) error {
	w, ok := a.watches[gvk]
	if !ok {
		return fmt.Errorf("watch %s: not an optional kind", gvk)
	}
	var obj client.Object
	if w.metadataOnly {
		pom := &metav1.PartialObjectMetadata{}
		pom.SetGroupVersionKind(gvk)
		obj = pom
	} else {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		obj = u
	}
	if err := a.controller.Watch(source.Kind(a.cache, obj, w.handler)); err != nil {
		return fmt.Errorf("watch %s: %w", gvk, err)
	}
	return nil
}

// settling reports whether d, a kind found not served, was found so soon after its CRD changed
// that the API server may not have caught up.
func (a *optionalAPIs) settling(d discovery) bool {
	return !d.served && d.at.Sub(a.crdChanged) < crdSettle
}

// forget drops what is known about the optional kinds after one of their CRDs changed, so that
// the next questions ask the cluster.
func (a *optionalAPIs) forget() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.found)
	a.crdChanged = time.Now()
}

// crdHandler handles a change of an optional kind's CRD: it forgets what the cluster serves and
// reconciles every pipeline. A reconcile that then finds a kind not served asks to be retried
// once the CRD has settled.
func (a *optionalAPIs) crdHandler(pipelines func(context.Context) []reconcile.Request) handler.EventHandler {
	changed := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		a.forget()
		for _, req := range pipelines(ctx) {
			q.Add(req)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, _ event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			changed(ctx, q)
		},
		UpdateFunc: func(ctx context.Context, _ event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			changed(ctx, q)
		},
		DeleteFunc: func(ctx context.Context, _ event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			changed(ctx, q)
		},
	}
}

// isOptionalCRD reports whether obj is the CRD of an optional kind.
func isOptionalCRD(obj client.Object) bool {
	switch obj.GetName() {
	case crdKafkaTopics, crdKafkas, crdKafkaNodePools, crdScaledObjects:
		return true
	}
	return false
}

// crdMetadata is the metadata of a CustomResourceDefinition, the form in which the operator
// watches them: their schemas can be large and are never read.
func crdMetadata() client.Object {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	return crd
}
