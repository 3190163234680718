package e2e

import (
	"fmt"
	"testing"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
)

func TestRetryAfterARebalanceReachesCleanOnce(t *testing.T) {
	p := startPipeline(t, nil)
	send := func(i int) {
		t.Helper()
		id := fmt.Sprintf("rb-%02d", i)
		status, answer, _, err := p.post("/", binaryHeaders(id), interaction("u-"+id, fmt.Sprint("i", i)))
		if err != nil || status != 202 {
			t.Fatalf("event %s: %d %v %v", id, status, answer, err)
		}
	}
	const events = 60
	for i := range events {
		send(i)
	}
	p.settled(t)

	// A second replica joins: the group moves some partitions to it, and it restores their
	// history from the clean topic before it processes them.
	p.startClean(t)
	group := config.DefaultClean().Group
	admin, err := sarama.NewClusterAdminFromClient(kafkatest.Client(t, p.kafka))
	if err != nil {
		t.Fatal(err)
	}
	kafkatest.Eventually(t, waitFor, func() error {
		groups, err := admin.DescribeConsumerGroups([]string{group})
		if err != nil {
			return err
		}
		if g := groups[0]; g.State != "Stable" || len(g.Members) != 2 {
			return fmt.Errorf("group %s is %s with %d members, want Stable with 2", group, g.State, len(g.Members))
		}
		return nil
	})

	// Every client retries every event.
	for i := range events {
		send(i)
	}
	p.settled(t)
	p.expectEachOnce(t, events)
}
