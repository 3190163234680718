package e2e

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
)

// crashEverywhere kills a transactional function, started as a child process by start under
// the instance name it is given (prefix-0 or prefix-1), at every point of its transaction cycle
// and at arbitrary moments, one child after the other. The function must consume group; its
// transactional id is group.instance.
//
// Each crash is followed by a restart under the same name, as a container restarts in its pod,
// or under a new name, as a new pod replaces a lost one and the broker must time out what the
// old one left open.
func crashEverywhere(t *testing.T, cluster *popularitytest.Cluster, group, prefix string, start func(instance, spec string) *kafkatest.Child) {
	t.Helper()
	// Between the offsets reaching the transaction and its end: the broker, handling the child's
	// second commit, kills it before the transaction ends.
	var (
		mu         sync.Mutex
		endTxnKill *kafkatest.Child
		endTxnID   string
		endTxnSeen int
	)
	cluster.ControlKey(kmsg.EndTxn.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		mu.Lock()
		defer mu.Unlock()
		end := req.(*kmsg.EndTxnRequest)
		if endTxnKill == nil || !end.Commit || end.TransactionalID != endTxnID {
			return nil, nil, false
		}
		if endTxnSeen++; endTxnSeen < 2 {
			return nil, nil, false
		}
		endTxnKill.Kill()
		endTxnKill = nil
		return nil, errors.New("killed the transaction's producer"), true
	})

	first, second := prefix+"-0", prefix+"-1"
	crashes := []struct{ at, next string }{
		{"flush:2", first},      // outputs taken in memory, nothing written
		{"produced:2", first},   // records written in the open transaction, not committed
		{"endtxn", second},      // offsets added to the transaction, EndTxn never processed
		{"committed:2", second}, // right after the commit
		{"produced:1", first},
		{"random:150ms", first},
		{"random:900ms", second},
		{"committed:1", second},
	}
	instance := first
	for _, crash := range crashes {
		var c *kafkatest.Child
		switch kind, arg, _ := strings.Cut(crash.at, ":"); kind {
		case "endtxn":
			c = start(instance, "never")
			mu.Lock()
			endTxnKill, endTxnID, endTxnSeen = c, group+"."+instance, 0
			mu.Unlock()
		case "random":
			// The kill must find the instance at work. Started while the one killed before still
			// holds its session, it would spend that time parked in the group's join barrier and
			// die there, a death kfake mishandles, unlike Kafka: it may leave the next instance's
			// SyncGroup unanswered, and that instance hangs until sarama's 30s read timeout.
			waitGroupEmpty(t, cluster, group)
			c = start(instance, "never")
			delay, _ := time.ParseDuration(arg)
			time.Sleep(delay) // a kill at an arbitrary moment, not a synchronisation
			c.Kill()
		default:
			c = start(instance, crash.at)
		}
		c.WaitKilled(t, 60*time.Second)
		t.Logf("killed %s at %s after %v", instance, crash.at, c.Lived())
		instance = crash.next
	}
}
