package contract_test

import (
	"testing"

	"github.com/recoflow/recoflow/functions/contract"
)

func TestTopicNames(t *testing.T) {
	tests := []struct {
		role        contract.TopicRole
		shop, local string
		policy      string
	}{
		{contract.TopicRaw, "shop.interactions.raw", "recoflow.interactions.raw", "delete"},
		{contract.TopicClean, "shop.interactions.clean", "recoflow.interactions.clean", "delete"},
		{contract.TopicDeadLetter, "shop.interactions.dlq", "recoflow.interactions.dlq", "delete"},
		{contract.TopicPopularity, "shop.popularity", "recoflow.popularity", "compact"},
	}
	if len(tests) != len(contract.TopicRoles) {
		t.Fatalf("%d roles tested, %d exist", len(tests), len(contract.TopicRoles))
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			if got := contract.TopicName("shop", tt.role); got != tt.shop {
				t.Errorf("TopicName(shop) = %q, want %q", got, tt.shop)
			}
			if got := contract.DefaultTopic(tt.role); got != tt.local {
				t.Errorf("DefaultTopic = %q, want %q", got, tt.local)
			}
			if got := contract.CleanupPolicy(tt.role); got != tt.policy {
				t.Errorf("CleanupPolicy = %q, want %q", got, tt.policy)
			}
		})
	}
}

func TestActionTable(t *testing.T) {
	types := []string{
		"dev.recoflow.item.liked.v1", "dev.recoflow.item.unliked.v1", "dev.recoflow.item.viewed.v1",
		"dev.recoflow.item.favorited.v1", "dev.recoflow.item.rated.v1", "dev.recoflow.item.shared.v1",
	}
	if len(contract.Actions) != contract.NumActions || len(types) != contract.NumActions {
		t.Fatalf("%d actions, NumActions %d, %d types tested", len(contract.Actions), contract.NumActions, len(types))
	}
	for i, a := range contract.Actions {
		if a.Type() != types[i] {
			t.Errorf("%s.Type() = %q, want %q", a, a.Type(), types[i])
		}
		if got, ok := contract.ActionOf(types[i]); !ok || got != a {
			t.Errorf("ActionOf(%q) = %q, %v; want %q", types[i], got, ok, a)
		}
		if index, ok := a.Index(); !ok || index != i {
			t.Errorf("%s.Index() = %d, %v; want %d", a, index, ok, i)
		}
	}
	for _, typ := range []string{contract.TypePopularity, "dev.recoflow.item..v1", "dev.recoflow.item.clicked.v1", "dev.recoflow.item.liked.v2", "liked", ""} {
		if a, ok := contract.ActionOf(typ); ok {
			t.Errorf("ActionOf(%q) = %q, want no action", typ, a)
		}
	}
	if contract.TypePopularity != "dev.recoflow.item.popularity.v1" {
		t.Errorf("TypePopularity = %q", contract.TypePopularity)
	}
}
