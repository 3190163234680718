package config_test

import (
	"strings"
	"testing"

	"github.com/recoflow/recoflow/functions/contract"
)

func TestPopularityMode(t *testing.T) {
	tests := []struct {
		mode           string
		scores, serves bool
		invalid        bool
	}{
		{mode: contract.PopularityModeAll, scores: true, serves: true},
		{mode: contract.PopularityModeScoring, scores: true},
		{mode: contract.PopularityModeServing, serves: true},
		{mode: "both", invalid: true},
		{mode: "", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			c, err := parse(t, map[string]string{contract.EnvPopularityMode: tt.mode})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if tt.invalid {
				if err == nil || !strings.Contains(err.Error(), "mode") {
					t.Fatalf("Validate() = %v, want an error naming the mode", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if c.Scores() != tt.scores || c.Serves() != tt.serves {
				t.Errorf("mode %s scores %t serves %t, want %t and %t", tt.mode, c.Scores(), c.Serves(), tt.scores, tt.serves)
			}
		})
	}
}
