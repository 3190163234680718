package config

import "github.com/recoflow/recoflow/functions/contract"

// Names that moved to package contract, kept here while code outside the functions (the test
// stand-ins) still refers to them by their old package.
const (
	// Deprecated: use contract.EnvKafkaBrokers.
	EnvKafkaBrokers = contract.EnvKafkaBrokers
	// Deprecated: use contract.SecretKeyPassword.
	SecretKeyPassword = contract.SecretKeyPassword
	// Deprecated: use contract.SecretKeyUserCert.
	SecretKeyUserCert = contract.SecretKeyUserCert
	// Deprecated: use contract.SecretKeyUserKey.
	SecretKeyUserKey = contract.SecretKeyUserKey
	// Deprecated: use contract.SecretKeyCACert.
	SecretKeyCACert = contract.SecretKeyCACert
)
