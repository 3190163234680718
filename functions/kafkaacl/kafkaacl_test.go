package kafkaacl_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafkaacl"
)

func TestRules(t *testing.T) {
	p := kafkaacl.Pipeline{
		Topics:     config.Topics{Raw: "raw", Clean: "clean", DeadLetter: "dlq", Popularity: "pop"},
		CleanGroup: "g-clean", PopularityGroup: "g-pop",
	}
	format := func(rules []kafkaacl.Rule) []string {
		var out []string
		for _, r := range rules {
			ops := make([]string, len(r.Operations))
			for i, op := range r.Operations {
				ops[i] = string(op)
			}
			out = append(out, string(r.Type)+" "+string(r.Pattern)+" "+r.Name+" "+strings.Join(ops, ","))
		}
		return out
	}
	tests := []struct {
		fn   contract.Function
		want []string
	}{
		{contract.FunctionIngest, []string{"topic literal raw Write"}},
		{contract.FunctionClean, []string{
			"topic literal raw Read", "topic literal clean Read,Write", "topic literal dlq Write",
			"group literal g-clean Read", "transactionalId prefix g-clean. Write,Describe",
		}},
		{contract.FunctionPopularity, []string{
			"topic literal clean Read", "topic literal pop Read,Write",
			"group literal g-pop Read", "transactionalId prefix g-pop. Write,Describe",
		}},
		{contract.FunctionPopularityServing, []string{"topic literal pop Read"}},
		{"unknown", nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.fn), func(t *testing.T) {
			if got := format(kafkaacl.Rules(tt.fn, p)); !slices.Equal(got, tt.want) {
				t.Errorf("Rules(%s):\n got %q\nwant %q", tt.fn, got, tt.want)
			}
		})
	}
	plugin := []string{
		"topic literal dlq Read", "topic literal raw Read,Write", "topic literal clean Read",
		"group literal g-clean Describe", "group literal g-pop Describe",
	}
	if got := format(kafkaacl.PluginRules(p)); !slices.Equal(got, plugin) {
		t.Errorf("PluginRules:\n got %q\nwant %q", got, plugin)
	}
	// The transactional-id prefix of one group never matches another pipeline's ids, even when
	// one group's name starts with the other's.
	if strings.HasPrefix("shop-clean-clean.pod-1", kafkaacl.TransactionalIDPrefix("shop-clean")) {
		t.Error("pipeline shop's clean prefix matches the transactional ids of pipeline shop-clean")
	}
}
