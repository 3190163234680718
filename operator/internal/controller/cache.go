package controller

import (
	"context"
	"strings"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// ManagedSelector selects the objects the operator made: every child carries
// app.kubernetes.io/managed-by=recoflow-operator.
func ManagedSelector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{manifests.LabelManagedBy: manifests.ManagedBy})
}

// NewCache is the manager's cache (ctrl.Options.NewCache): the objects of the child kinds are
// cached only when ManagedSelector selects them, so the operator never holds every Deployment,
// Service or HPA of the cluster; everything else it reads (pipelines, Kafka clusters and node
// pools, CRDs) is cached whole. opts apply to both, namespaces included.
//
// controller-runtime's ByObject cannot express this: it resolves each kind when the cache is
// made, and the kinds of Strimzi and KEDA may be installed only later.
func NewCache(config *rest.Config, opts cache.Options) (cache.Cache, error) {
	all, err := cache.New(config, opts)
	if err != nil {
		return nil, err
	}
	ownedOpts := opts
	ownedOpts.DefaultLabelSelector = ManagedSelector()
	owned, err := cache.New(config, ownedOpts)
	if err != nil {
		return nil, err
	}
	kinds := map[schema.GroupVersionKind]bool{}
	for _, k := range childKinds() {
		kinds[k.gvk] = true
	}
	return &splitCache{scheme: opts.Scheme, owned: owned, all: all, ownedKinds: kinds}, nil
}

// splitCache serves the child kinds from owned and every other kind from all.
type splitCache struct {
	scheme     *runtime.Scheme
	owned, all cache.Cache
	ownedKinds map[schema.GroupVersionKind]bool
}

var _ cache.Cache = (*splitCache)(nil)

// Get implements client.Reader.
func (s *splitCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c, err := s.cacheFor(obj)
	if err != nil {
		return err
	}
	return c.Get(ctx, key, obj, opts...)
}

// List implements client.Reader.
func (s *splitCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c, err := s.cacheFor(list)
	if err != nil {
		return err
	}
	return c.List(ctx, list, opts...)
}

// GetInformer implements cache.Informers.
func (s *splitCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	c, err := s.cacheFor(obj)
	if err != nil {
		return nil, err
	}
	return c.GetInformer(ctx, obj, opts...)
}

// GetInformerForKind implements cache.Informers.
func (s *splitCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	return s.cacheForKind(gvk).GetInformerForKind(ctx, gvk, opts...)
}

// RemoveInformer implements cache.Informers.
func (s *splitCache) RemoveInformer(ctx context.Context, obj client.Object) error {
	c, err := s.cacheFor(obj)
	if err != nil {
		return err
	}
	return c.RemoveInformer(ctx, obj)
}

// Start runs both caches until ctx is done.
func (s *splitCache) Start(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.owned.Start(ctx) })
	g.Go(func() error { return s.all.Start(ctx) })
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// WaitForCacheSync implements cache.Informers.
func (s *splitCache) WaitForCacheSync(ctx context.Context) bool {
	owned := s.owned.WaitForCacheSync(ctx)
	return s.all.WaitForCacheSync(ctx) && owned
}

// IndexField implements client.FieldIndexer.
func (s *splitCache) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	c, err := s.cacheFor(obj)
	if err != nil {
		return err
	}
	return c.IndexField(ctx, obj, field, extract)
}

func (s *splitCache) cacheFor(obj runtime.Object) (cache.Cache, error) {
	gvk, err := apiutil.GVKForObject(obj, s.scheme)
	if err != nil {
		return nil, err
	}
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	return s.cacheForKind(gvk), nil
}

func (s *splitCache) cacheForKind(gvk schema.GroupVersionKind) cache.Cache {
	if s.ownedKinds[gvk] {
		return s.owned
	}
	return s.all
}
