package controller

import (
	"encoding/json"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FieldManager is the server-side apply field manager of every object the operator applies.
const FieldManager = "recoflow-operator"

// intent returns desired as the operator applies it: unstructured, with exactly the fields the
// builder set (no nulls, no status), so that what the operator sends is what it compares.
func intent(desired client.Object) (*unstructured.Unstructured, error) {
	var content map[string]any
	if u, ok := desired.(*unstructured.Unstructured); ok {
		content = runtime.DeepCopyJSON(u.Object)
	} else {
		var err error
		if content, err = runtime.DefaultUnstructuredConverter.ToUnstructured(desired); err != nil {
			return nil, err
		}
	}
	delete(content, "status")
	return &unstructured.Unstructured{Object: withoutNulls(content).(map[string]any)}, nil
}

// withoutNulls returns v without the null values in its objects, such as the zero
// creationTimestamp a typed object encodes.
func withoutNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
			} else {
				v[k] = withoutNulls(e)
			}
		}
	case []any:
		for i := range v {
			v[i] = withoutNulls(v[i])
		}
	}
	return v
}

// upToDate reports whether applying applied, as FieldManager, would leave live as it is: the
// fields the operator owns in live are exactly those of applied (none to add, none to remove)
// and hold applied's values. It reads what the operator owns from live's managed fields, the
// record the API server keeps of each manager's last apply, so it needs no schema and no request.
func upToDate(live client.Object, applied *unstructured.Unstructured) bool {
	var owned map[string]any
	for _, m := range live.GetManagedFields() {
		if m.Manager == FieldManager && m.Operation == metav1.ManagedFieldsOperationApply && m.Subresource == "" && m.FieldsV1 != nil {
			if err := json.Unmarshal(m.FieldsV1.Raw, &owned); err != nil {
				return false
			}
		}
	}
	if owned == nil {
		return false
	}
	var liveContent map[string]any
	if u, ok := live.(*unstructured.Unstructured); ok {
		liveContent = u.Object
	} else {
		var err error
		if liveContent, err = runtime.DefaultUnstructuredConverter.ToUnstructured(live); err != nil {
			return false
		}
	}
	// The API server keeps the identity of an object out of its managed fields.
	want := runtime.DeepCopyJSON(applied.Object)
	delete(want, "apiVersion")
	delete(want, "kind")
	if m, ok := want["metadata"].(map[string]any); ok {
		delete(m, "name")
		delete(m, "namespace")
	}
	return matches(owned, want, liveContent)
}

// matches reports whether the fields of the managed-fields set owned are those of desired and
// live holds desired's values in them. Lists are matched the way the set records them: by key
// ("k:{...}"), by value ("v:..."), or whole when the set records the list as one field.
func matches(owned map[string]any, desired, live any) bool {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		if len(d) > 0 && !hasFields(owned) { // an atomic object, such as an owner reference
			return sameJSON(d, l)
		}
		for k, dv := range d {
			node, ok := owned["f:"+k].(map[string]any)
			if !ok || !matches(node, dv, l[k]) {
				return false
			}
		}
		for k := range owned {
			if name, isField := strings.CutPrefix(k, "f:"); isField {
				if _, ok := d[name]; !ok {
					return false // owned but no longer desired: applying removes it
				}
			} else if k != "." {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok {
			return false
		}
		items := map[string]map[string]any{}
		for k, v := range owned {
			if strings.HasPrefix(k, "k:") || strings.HasPrefix(k, "v:") {
				node, _ := v.(map[string]any)
				items[k] = node
			} else if k != "." {
				return false
			}
		}
		if len(items) == 0 { // an atomic list: owned as one value
			return sameJSON(d, l)
		}
		if len(items) != len(d) {
			return false
		}
		for _, dv := range d {
			key, node, ok := itemOf(items, dv)
			if !ok {
				return false
			}
			li, ok := liveItem(l, key)
			if !ok {
				return false
			}
			if strings.HasPrefix(key, "k:") && !matches(node, dv, li) {
				return false
			}
		}
		return true
	default:
		for k := range owned {
			if k != "." {
				return false
			}
		}
		return sameJSON(desired, live)
	}
}

// hasFields reports whether the managed-fields set owned lists fields of its own.
func hasFields(owned map[string]any) bool {
	for k := range owned {
		if strings.HasPrefix(k, "f:") {
			return true
		}
	}
	return false
}

// itemOf returns the entry of items, keyed as managed fields key list items, that identifies
// the list item v.
func itemOf(items map[string]map[string]any, v any) (string, map[string]any, bool) {
	for key, node := range items {
		if identifies(key, v) {
			return key, node, true
		}
	}
	return "", nil, false
}

// liveItem returns the item of list that key identifies.
func liveItem(list []any, key string) (any, bool) {
	for _, item := range list {
		if identifies(key, item) {
			return item, true
		}
	}
	return nil, false
}

// identifies reports whether the managed-fields key of a list item, k:{"name":"x"} or v:"x",
// identifies item.
func identifies(key string, item any) bool {
	if raw, ok := strings.CutPrefix(key, "v:"); ok {
		var v any
		return json.Unmarshal([]byte(raw), &v) == nil && sameJSON(v, item)
	}
	raw, _ := strings.CutPrefix(key, "k:")
	var fields map[string]any
	m, ok := item.(map[string]any)
	if !ok || json.Unmarshal([]byte(raw), &fields) != nil {
		return false
	}
	for f, v := range fields {
		if !sameJSON(v, m[f]) {
			return false
		}
	}
	return true
}

// sameJSON reports whether a and b encode to the same JSON, so that 8080 read as an int64 and as
// a float64 are the same.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}
