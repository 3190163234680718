package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestUpToDate(t *testing.T) {
	// What the operator applied: a label, a container keyed by name with an env list keyed by
	// name, an atomic list and an owner reference.
	applied := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{
			"name": "shop-ingest", "namespace": "ns",
			"labels":          map[string]any{"app": "shop"},
			"ownerReferences": []any{map[string]any{"uid": "u1", "name": "shop", "controller": true}},
		},
		"spec": map[string]any{
			"containers": []any{map[string]any{
				"name": "ingest", "image": "i:1",
				"env": []any{map[string]any{"name": "A", "value": "1"}},
			}},
			"args": []any{"--x", "--y"},
			"tmp":  map[string]any{},
		},
	}
	owned := `{"f:metadata":{"f:labels":{"f:app":{}},"f:ownerReferences":{"k:{\"uid\":\"u1\"}":{}}},` +
		`"f:spec":{"f:containers":{"k:{\"name\":\"ingest\"}":{".":{},"f:name":{},"f:image":{},"f:env":{"k:{\"name\":\"A\"}":{".":{},"f:name":{},"f:value":{}}}}},"f:args":{},"f:tmp":{}}}`
	// live is applied as the API server stores it: with defaults and fields of other managers.
	live := func(edit func(map[string]any)) map[string]any {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		for k, v := range applied {
			u.Object[k] = v
		}
		u.Object = deepCopy(u.Object)
		meta := u.Object["metadata"].(map[string]any)
		meta["labels"].(map[string]any)["team"] = "growth"
		meta["uid"], meta["resourceVersion"] = "7", "42"
		spec := u.Object["spec"].(map[string]any)
		spec["replicas"] = int64(3)
		c := spec["containers"].([]any)[0].(map[string]any)
		c["imagePullPolicy"] = "IfNotPresent"
		if edit != nil {
			edit(u.Object)
		}
		return u.Object
	}
	tests := []struct {
		name    string
		live    map[string]any
		owned   string
		manager string
		applied func(map[string]any)
		want    bool
	}{
		{name: "as applied, with defaults and foreign fields", live: live(nil), owned: owned, want: true},
		{name: "never applied by the operator", live: live(nil), owned: owned, manager: "kubectl", want: false},
		{
			name: "a value changed by someone else", owned: owned, want: false,
			live: live(func(o map[string]any) {
				o["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "evil"
			}),
		},
		{
			name: "an atomic list changed", owned: owned, want: false,
			live: live(func(o map[string]any) { o["spec"].(map[string]any)["args"] = []any{"--x"} }),
		},
		{
			name: "a field to add", live: live(nil), owned: owned, want: false,
			applied: func(a map[string]any) { a["spec"].(map[string]any)["paused"] = true },
		},
		{
			name: "a field to remove", live: live(nil), owned: owned, want: false,
			applied: func(a map[string]any) { delete(a["metadata"].(map[string]any), "labels") },
		},
		{
			name: "a keyed list item to remove", live: live(nil), owned: owned, want: false,
			applied: func(a map[string]any) {
				a["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["env"] = []any{}
			},
		},
		{
			name: "another owner", live: live(nil), owned: owned, want: false,
			applied: func(a map[string]any) {
				a["metadata"].(map[string]any)["ownerReferences"] = []any{map[string]any{"uid": "u2", "name": "other", "controller": true}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			manager := tt.manager
			if manager == "" {
				manager = FieldManager
			}
			l := &unstructured.Unstructured{Object: tt.live}
			l.SetManagedFields([]metav1.ManagedFieldsEntry{
				{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{}}}`)}},
				{Manager: manager, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(tt.owned)}},
			})
			a := &unstructured.Unstructured{Object: deepCopy(applied)}
			if tt.applied != nil {
				tt.applied(a.Object)
			}
			if got := upToDate(l, a); got != tt.want {
				t.Errorf("upToDate = %t, want %t", got, tt.want)
			}
		})
	}
}

// deepCopy returns a copy of an unstructured object's content.
func deepCopy(o map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: o}).DeepCopy().Object
}
