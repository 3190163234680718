// Package config defines every setting of the recoflow functions: its flag, its environment
// variable (named in package contract, which the operator shares) and its default.
//
// The package has no Kafka or HTTP in it.
package config
