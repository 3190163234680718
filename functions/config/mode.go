package config

import (
	"fmt"
	"slices"
)

// The modes of the popularity function. On Kubernetes popularity runs as two Deployments of one
// image: scoring, which scales with the partitions and may scale to zero, and serving, which
// scales with read load; on a laptop one process runs both.
const (
	// PopularityModeAll scores and serves in one process, as `make run` does.
	PopularityModeAll = "all"
	// PopularityModeScoring runs only the consumer: clean topic in, exactly-once scores out to the
	// compacted popularity topic. It serves health and metrics but no API.
	PopularityModeScoring = "scoring"
	// PopularityModeServing runs only the view of the compacted popularity topic and the top-N
	// API over it. It joins no consumer group.
	PopularityModeServing = "serving"
)

// PopularityModes lists the popularity modes.
func PopularityModes() []string {
	return []string{PopularityModeAll, PopularityModeScoring, PopularityModeServing}
}

// Scores reports whether popularity in this mode runs the processor.
func (c Popularity) Scores() bool { return c.Mode != PopularityModeServing }

// Serves reports whether popularity in this mode runs the view and its HTTP API.
func (c Popularity) Serves() bool { return c.Mode != PopularityModeScoring }

func validPopularityMode(mode string) error {
	if !slices.Contains(PopularityModes(), mode) {
		return fmt.Errorf("mode: %q is not one of %v", mode, PopularityModes())
	}
	return nil
}
