package config

import (
	"fmt"
	"slices"

	"github.com/recoflow/recoflow/functions/contract"
)

// Scores reports whether popularity in this mode runs the processor.
func (c Popularity) Scores() bool { return c.Mode != contract.PopularityModeServing }

// Serves reports whether popularity in this mode runs the view and its HTTP API.
func (c Popularity) Serves() bool { return c.Mode != contract.PopularityModeScoring }

func validPopularityMode(mode string) error {
	if !slices.Contains(contract.PopularityModes(), mode) {
		return fmt.Errorf("mode: %q is not one of %v", mode, contract.PopularityModes())
	}
	return nil
}
