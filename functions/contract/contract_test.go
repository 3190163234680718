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
