//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestPipelineBeforeKafka creates a pipeline while its Kafka cluster is declared but its broker does
// not run yet, then starts the broker: the pipeline becomes Ready and no function pod restarted.
func TestPipelineBeforeKafka(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "e2e-late-kafka", 0)
	s.applyPipeline("late", "  scaling: {mode: None}\n")
	// Every function runs without Kafka for longer than its probes tolerate (about half a minute),
	// so that a function that blocks in Kafka connect before serving its probes gets restarted.
	const withoutKafka = 45 * time.Second
	eventually(t, 3*time.Minute, fmt.Sprintf("function containers running %s without Kafka", withoutKafka), func() error {
		for _, f := range functions {
			pods := s.pods("late", f)
			if len(pods) == 0 {
				return fmt.Errorf("no %s pod yet", f)
			}
			for _, p := range pods {
				if len(p.Status.ContainerStatuses) == 0 {
					return fmt.Errorf("pod %s has no containers yet", p.Name)
				}
				for _, c := range p.Status.ContainerStatuses {
					if c.RestartCount > 0 {
						return nil // reported below
					}
					if c.State.Running == nil || time.Since(c.State.Running.StartedAt.Time) < withoutKafka {
						return fmt.Errorf("pod %s has not run for %s yet", p.Name, withoutKafka)
					}
				}
			}
		}
		return nil
	})
	s.startKafka(1)
	waitPipelineReady(t, s.namespace, "late", 4*time.Minute)
	for _, f := range functions {
		for _, p := range s.pods("late", f) {
			for _, c := range p.Status.ContainerStatuses {
				if c.RestartCount != 0 {
					t.Errorf("pod %s container %s restarted %d times (last state %+v)", p.Name, c.Name, c.RestartCount, c.LastTerminationState)
				}
			}
		}
	}
	ingest := sendLikesInEveryMode(t, serviceURL(t, s.namespace, "late-ingest"), "late")
	waitCounts(t, serviceURL(t, s.namespace, "late-popularity"), ingest.accepted, 2*time.Minute)
}
