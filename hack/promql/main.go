// Command promql checks PromQL as Prometheus parses it: it reads a JSON array of queries
// ({"where": "...", "expr": "..."}) on standard input and writes, for each, the parse error if
// any, the metric names it selects and the label names it matches, groups or joins on.
//
// Grafana's template variables are replaced first, as Grafana does before it sends a query:
// range variables such as $__rate_interval by a duration and any other $variable or ${variable}
// by a regular expression that matches everything.
//
// It is a module of its own so that the Prometheus parser's dependencies never reach recoflow's
// go.mod; the chart's tests run it (charts/monitoring_test.go).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"

	"github.com/prometheus/prometheus/promql/parser"
)

// query is one PromQL expression and where it was found.
type query struct {
	Where string `json:"where"`
	Expr  string `json:"expr"`
}

// result is what the parser made of one query.
type result struct {
	Where   string   `json:"where"`
	Error   string   `json:"error,omitempty"`
	Metrics []string `json:"metrics"`
	Labels  []string `json:"labels"`
}

var (
	rangeVariable = regexp.MustCompile(`\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}`)
	otherVariable = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?`)
)

func main() {
	var queries []query
	if err := json.NewDecoder(os.Stdin).Decode(&queries); err != nil {
		fmt.Fprintln(os.Stderr, "promql: read the queries:", err)
		os.Exit(2)
	}
	p := parser.NewParser(parser.Options{})
	results := make([]result, 0, len(queries))
	for _, q := range queries {
		results = append(results, check(p, q))
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "promql:", err)
		os.Exit(2)
	}
}

// check parses q and collects the names it uses.
func check(p parser.Parser, q query) result {
	r := result{Where: q.Where, Metrics: []string{}, Labels: []string{}}
	expr := rangeVariable.ReplaceAllString(q.Expr, "5m")
	expr = otherVariable.ReplaceAllString(expr, ".*")
	ast, err := p.ParseExpr(expr)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			for _, m := range n.LabelMatchers {
				if m.Name == "__name__" {
					r.Metrics = append(r.Metrics, m.Value)
				} else {
					r.Labels = append(r.Labels, m.Name)
				}
			}
		case *parser.AggregateExpr:
			r.Labels = append(r.Labels, n.Grouping...)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				r.Labels = append(r.Labels, n.VectorMatching.MatchingLabels...)
				r.Labels = append(r.Labels, n.VectorMatching.Include...)
			}
		}
		return nil
	})
	slices.Sort(r.Metrics)
	slices.Sort(r.Labels)
	r.Metrics, r.Labels = slices.Compact(r.Metrics), slices.Compact(r.Labels)
	return r
}
