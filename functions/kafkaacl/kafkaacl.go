// Package kafkaacl is the least-privilege Kafka access of each recoflow function, written once:
// the operator turns it into the simple-authorization ACLs of each function's Strimzi KafkaUser,
// and the local runner into the ACLs of the embedded broker's users. The names and spellings are
// Strimzi's (kafka.strimzi.io/v1 KafkaUser spec.authorization.acls).
//
// A function is granted exactly what it does:
//
//   - ingest writes the raw topic (idempotently);
//   - clean reads the raw topic in its consumer group, writes the clean and dead-letter topics,
//     reads the clean topic's tail to rebuild its de-duplication window, and uses transactional
//     ids that start with its group's name and a dot;
//   - popularity (its scoring tier) reads the clean topic in its consumer group, reads and writes
//     the popularity changelog, and uses transactional ids that start with its group's name and a
//     dot;
//   - popularity's serving tier only reads the popularity changelog, in no consumer group;
//   - a person operating the pipeline with kubectl-recoflow (PluginRules) reads the dead-letter
//     topic, reads and writes the raw topic (redrive reads it for what was redriven before, then
//     writes the originals back), reads the clean topic and describes both consumer groups (the
//     lag of status), in no consumer group and without transactions.
//
// The package has no Kafka client or Kubernetes in it, so both sides import it cheaply.
package kafkaacl

import (
	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
)

// ResourceType is the kind of Kafka resource a rule is about.
type ResourceType string

// The resource types a function's rules use.
const (
	Topic           ResourceType = "topic"
	Group           ResourceType = "group"
	TransactionalID ResourceType = "transactionalId"
)

// PatternType says how a rule's name matches resource names.
type PatternType string

// The pattern types.
const (
	// Literal matches the one resource with the rule's name.
	Literal PatternType = "literal"
	// Prefix matches every resource whose name starts with the rule's name.
	Prefix PatternType = "prefix"
)

// Operation is a Kafka operation a rule allows.
type Operation string

// The operations a function's rules allow. Read and Write imply Describe.
const (
	Read     Operation = "Read"
	Write    Operation = "Write"
	Describe Operation = "Describe"
)

// Rule allows operations on the resources a name and pattern select.
type Rule struct {
	// Type is the kind of resource.
	Type ResourceType
	// Name is the resource's name, or its prefix.
	Name string
	// Pattern says whether Name is the whole name or a prefix.
	Pattern PatternType
	// Operations are what the rule allows.
	Operations []Operation
}

// Pipeline names the Kafka resources of one pipeline that the rules refer to.
type Pipeline struct {
	// Topics are the pipeline's topics.
	Topics config.Topics
	// CleanGroup and PopularityGroup are the consumer groups of clean and popularity. Their
	// transactional ids start with TransactionalIDPrefix of the group.
	CleanGroup, PopularityGroup string
}

// TransactionalIDPrefix returns how the transactional ids of the function consuming in group
// start: the group's name and a dot, so that no other group's ids share the prefix.
func TransactionalIDPrefix(group string) string { return group + "." }

// Rules returns the rules of function fn in pipeline p. An unknown function gets none.
func Rules(fn contract.Function, p Pipeline) []Rule {
	topic := func(name string, ops ...Operation) Rule {
		return Rule{Type: Topic, Name: name, Pattern: Literal, Operations: ops}
	}
	group := func(name string) Rule {
		return Rule{Type: Group, Name: name, Pattern: Literal, Operations: []Operation{Read}}
	}
	transactions := func(group string) Rule {
		return Rule{Type: TransactionalID, Name: TransactionalIDPrefix(group), Pattern: Prefix, Operations: []Operation{Write, Describe}}
	}
	t := p.Topics
	switch fn {
	case contract.FunctionIngest:
		return []Rule{topic(t.Raw, Write)}
	case contract.FunctionClean:
		return []Rule{
			topic(t.Raw, Read),
			topic(t.Clean, Read, Write),
			topic(t.DeadLetter, Write),
			group(p.CleanGroup),
			transactions(p.CleanGroup),
		}
	case contract.FunctionPopularity:
		return []Rule{
			topic(t.Clean, Read),
			topic(t.Popularity, Read, Write),
			group(p.PopularityGroup),
			transactions(p.PopularityGroup),
		}
	case contract.FunctionPopularityServing:
		return []Rule{topic(t.Popularity, Read)}
	}
	return nil
}

// PluginRules returns the rules of the user kubectl-recoflow connects as to pipeline p: what its
// dlq commands and the lag of its status need, and nothing else.
func PluginRules(p Pipeline) []Rule {
	t := p.Topics
	group := func(name string) Rule {
		return Rule{Type: Group, Name: name, Pattern: Literal, Operations: []Operation{Describe}}
	}
	return []Rule{
		{Type: Topic, Name: t.DeadLetter, Pattern: Literal, Operations: []Operation{Read}},
		{Type: Topic, Name: t.Raw, Pattern: Literal, Operations: []Operation{Read, Write}},
		{Type: Topic, Name: t.Clean, Pattern: Literal, Operations: []Operation{Read}},
		group(p.CleanGroup),
		group(p.PopularityGroup),
	}
}
