package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
)

var (
	cloudEventsJSON = map[string]string{"Content-Type": "application/cloudevents+json"}
	batchJSON       = map[string]string{"Content-Type": "application/cloudevents-batch+json"}
	plainJSON       = map[string]string{"Content-Type": "application/json"}
)

// rawRecord is a record written to the raw topic by some other client: binary-mode ce headers
// (an empty value drops the header) and a value.
func rawRecord(headers map[string]string, value string) *sarama.ProducerMessage {
	m := &sarama.ProducerMessage{Value: sarama.StringEncoder(value)}
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		if headers[k] != "" {
			m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(headers[k])})
		}
	}
	return m
}

func rawHeaders(id string, change map[string]string) map[string]string {
	h := map[string]string{"ce_specversion": "1.0", "ce_id": id, "ce_source": "elsewhere", "ce_type": contract.TypeLiked, "content-type": "application/json"}
	maps.Copy(h, change)
	return h
}

func TestEveryModeReachesCleanOnceAndEveryInvalidEventTheDeadLetterTopic(t *testing.T) {
	p := startPipeline(t, nil)
	now := time.Now()

	posts := []struct {
		name   string
		path   string
		header map[string]string
		body   string
		status int
	}{
		{"binary", "/", binaryHeaders("b-1"), interaction("u-binary", "i1"), 202},
		{"structured", "/", cloudEventsJSON, structuredEvent("s-1", contract.TypeViewed, now, interaction("u-structured", "i2")), 202},
		{"batch", "/", batchJSON, "[" + strings.Join([]string{
			structuredEvent("a-1", contract.TypeLiked, now, interaction("u-batch-1", "i1")),
			structuredEvent("a-2", contract.TypeRated, now, `{"user_id":"u-batch-2","item_id":"i3","rating":4,"user":{"age":41,"gender":"m"}}`),
			structuredEvent("a-3", contract.TypeShared, now, interaction("u-batch-3", "i3")),
		}, ",") + "]", 202},
		{"plain like", "/v1/likes", plainJSON, `{"user_id":"u-like","item_id":"i4","category":"Books"}`, 202},
		{"legacy like", "/recommendation/likes", plainJSON, `{"user_id":"u-legacy","content_id":"i5","title":"Dune"}`, 200},

		{"retry of an accepted event", "/", binaryHeaders("b-1"), interaction("u-binary", "i1"), 202},
		{"the same like with a new id", "/", binaryHeaders("b-2"), interaction("u-binary", "i1"), 202},
		{"the same legacy like again", "/recommendation/likes", plainJSON, `{"user_id":"u-legacy","content_id":"i5","title":"Dune"}`, 200},
		{"a batch repeating an event", "/", batchJSON, "[" + structuredEvent("a-1", contract.TypeLiked, now, interaction("u-batch-1", "i1")) + "," +
			structuredEvent("a-4", contract.TypeFavorited, now, interaction("u-batch-4", "i1")) + "]", 202},

		{"too old", "/", cloudEventsJSON, structuredEvent("old-1", contract.TypeLiked, now.Add(-8*24*time.Hour), interaction("u-old", "i1")), 202},
		{"in the future", "/", cloudEventsJSON, structuredEvent("future-1", contract.TypeLiked, now.Add(time.Hour), interaction("u-future", "i1")), 202},

		{"invalid at the edge", "/", binaryHeaders("bad-1"), `{"item_id":"i1"}`, 400},
		{"batch with an invalid event", "/", batchJSON, "[" + structuredEvent("bad-2", contract.TypeLiked, now, interaction("u-bad-2", "i1")) + "," +
			structuredEvent("bad-3", contract.TypeLiked, now, `{"user_id":"u-bad-3"}`) + "]", 400},
	}
	for _, post := range posts {
		status, answer, _, err := p.post(post.path, post.header, post.body)
		if err != nil || status != post.status {
			t.Fatalf("%s: answered %d %v (%v), want %d", post.name, status, answer, err, post.status)
		}
	}
	p.produceRaw(t,
		rawRecord(nil, "hello, not a cloudevent"),
		rawRecord(rawHeaders("raw-missing-user", nil), `{"item_id":"i1"}`),
		rawRecord(rawHeaders("raw-unknown-type", map[string]string{"ce_type": "com.example.poke"}), interaction("u", "i1")),
		rawRecord(rawHeaders("raw-subject", map[string]string{"ce_subject": "i9"}), interaction("u", "i1")),
		rawRecord(rawHeaders("raw-rating", map[string]string{"ce_type": contract.TypeRated}), `{"user_id":"u","item_id":"i1","rating":9}`),
		rawRecord(rawHeaders("raw-text", map[string]string{"content-type": "text/plain"}), "liked it"),
		rawRecord(rawHeaders("raw-long-user", nil), interaction(strings.Repeat("u", 300), "i1")),
	)
	p.settled(t)

	wantClean := []string{"u-batch-1", "u-batch-2", "u-batch-3", "u-batch-4", "u-binary", "u-legacy", "u-like", "u-structured"}
	var gotClean []string
	for _, r := range kafkatest.Records(t, p.kafka, p.common.Topics.Clean) {
		gotClean = append(gotClean, payloadUser(r))
		subject := kafkatest.Header(r, "ce_subject")
		if subject == "" || string(r.Key) != subject {
			t.Errorf("clean record of %s has key %q and subject %q, want both the item id", payloadUser(r), r.Key, subject)
		}
		if segment := kafkatest.Header(r, "ce_"+event.ExtensionSegment); (payloadUser(r) == "u-batch-2") != (segment == "35-44.m") {
			t.Errorf("clean record of %s has segment %q", payloadUser(r), segment)
		}
	}
	slices.Sort(gotClean)
	if !slices.Equal(gotClean, wantClean) {
		t.Errorf("clean topic holds the events of %v, want exactly one each of %v", gotClean, wantClean)
	}

	wantDLQ := map[string]event.Reason{
		"old-1":                   event.ReasonTooOld,
		"future-1":                event.ReasonTimeInFuture,
		"hello, not a cloudevent": event.ReasonNotCloudEvent,
		"raw-missing-user":        event.ReasonMissingField,
		"raw-unknown-type":        event.ReasonUnknownType,
		"raw-subject":             event.ReasonSubjectMismatch,
		"raw-rating":              event.ReasonInvalidRating,
		"raw-text":                event.ReasonDataNotJSON,
		"raw-long-user":           event.ReasonInvalidField,
	}
	raw := map[string]*sarama.ConsumerMessage{}
	for _, r := range kafkatest.Records(t, p.kafka, p.common.Topics.Raw) {
		raw[r.Topic+"/"+strconv.Itoa(int(r.Partition))+"/"+strconv.FormatInt(r.Offset, 10)] = r
	}
	gotDLQ := map[string]event.Reason{}
	for _, r := range kafkatest.Records(t, p.kafka, p.common.Topics.DeadLetter) {
		name := kafkatest.Header(r, "ce_id")
		if name == "" {
			name = string(r.Value)
		}
		if _, dup := gotDLQ[name]; dup {
			t.Errorf("%s is on the dead-letter topic twice", name)
		}
		gotDLQ[name] = event.Reason(kafkatest.Header(r, contract.HeaderDLQReason))
		if kafkatest.Header(r, contract.HeaderDLQMessage) == "" {
			t.Errorf("%s: dead-letter record without a message", name)
		}
		from := kafkatest.Header(r, contract.HeaderDLQTopic) + "/" + kafkatest.Header(r, contract.HeaderDLQPartition) + "/" + kafkatest.Header(r, contract.HeaderDLQOffset)
		original, ok := raw[from]
		if !ok {
			t.Errorf("%s: dead-letter headers point at %s, which is not a raw record", name, from)
			continue
		}
		if string(original.Value) != string(r.Value) || string(original.Key) != string(r.Key) || len(r.Headers) != len(original.Headers)+5 {
			t.Errorf("%s: dead-letter record is not the original with five headers added", name)
		}
	}
	if !maps.Equal(gotDLQ, wantDLQ) {
		t.Errorf("dead-letter topic holds %v, want exactly %v", gotDLQ, wantDLQ)
	}
	for _, r := range raw {
		if id := kafkatest.Header(r, "ce_id"); strings.HasPrefix(id, "bad-") {
			t.Errorf("event %s was refused at the edge but reached the raw topic", id)
		}
	}
}

func TestClientRetryOfAnAcceptedEventReachesCleanOnce(t *testing.T) {
	p := startPipeline(t, nil)
	now := time.Now()
	requests := []struct {
		path   string
		header map[string]string
		body   string
	}{
		{"/", binaryHeaders("r-1"), interaction("u-1", "i1")},
		{"/", cloudEventsJSON, structuredEvent("r-2", contract.TypeViewed, now, interaction("u-2", "i1"))},
		{"/", batchJSON, "[" + structuredEvent("r-3", contract.TypeShared, now, interaction("u-3", "i1")) + "]"},
		{"/v1/likes", plainJSON, interaction("u-4", "i1")},
		{"/recommendation/likes", plainJSON, `{"user_id":"u-5","content_id":"i1"}`},
	}
	for attempt := range 3 {
		for _, r := range requests {
			status, answer, _, err := p.post(r.path, r.header, r.body)
			if err != nil || status >= 300 {
				t.Fatalf("attempt %d on %s: %d %v %v", attempt, r.path, status, answer, err)
			}
		}
	}
	p.settled(t)
	var users []string
	for _, r := range kafkatest.Records(t, p.kafka, p.common.Topics.Clean) {
		users = append(users, payloadUser(r))
	}
	slices.Sort(users)
	if want := []string{"u-1", "u-2", "u-3", "u-4", "u-5"}; !slices.Equal(users, want) {
		t.Errorf("clean topic holds the events of %v, want one each of %v", users, want)
	}
}

func TestBrokerFaultAnswers503AndLosesNothingAcknowledged(t *testing.T) {
	p := startPipeline(t, func(c *config.Ingest) { c.ProduceTimeout = 250 * time.Millisecond })

	var (
		mu          sync.Mutex
		accepted    = map[string]bool{}
		unavailable = map[string]bool{}
	)
	// send posts event i and records the answer; a 503 must carry Retry-After.
	send := func(i int) error {
		id := fmt.Sprintf("f-%04d", i)
		status, answer, header, err := p.post("/", binaryHeaders(id), interaction("u-"+id, "i"+strconv.Itoa(i%7)))
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case status == http.StatusAccepted:
			accepted[id] = true
		case status == http.StatusServiceUnavailable && header.Get("Retry-After") != "" && answer["code"] == "unavailable":
			unavailable[id] = true
		default:
			return fmt.Errorf("event %s: answered %d %v", id, status, answer)
		}
		return nil
	}
	// Four clients post 60 events each: the broker refuses writes to the raw topic from the
	// 40th request until ingest has answered 503 eight times.
	var fault *kfake.FaultHandle
	var faultOnce, removeOnce sync.Once
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * 60; i < (w+1)*60; i++ {
				if i%60 == 10 {
					faultOnce.Do(func() {
						fault = p.kafka.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: p.common.Topics.Raw, Err: kerr.NotEnoughReplicas, Count: -1})
					})
				}
				if err := send(i); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				enough := len(unavailable) >= 8
				mu.Unlock()
				if enough {
					removeOnce.Do(func() { fault.Remove() })
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	removeOnce.Do(func() { fault.Remove() })
	if len(unavailable) == 0 || len(accepted) == 0 {
		t.Fatalf("%d accepted, %d unavailable: want both while the broker fails", len(accepted), len(unavailable))
	}

	// Every acknowledged event is on the clean topic.
	p.settled(t)
	onClean := p.cleanIDs(t)
	for id := range accepted {
		if onClean[id] != 1 {
			t.Errorf("acknowledged event %s is on the clean topic %d times, want once", id, onClean[id])
		}
	}

	// The clients retry what got 503: each event ends up on the clean topic exactly once.
	for id := range unavailable {
		i, _ := strconv.Atoi(strings.TrimPrefix(id, "f-"))
		if err := send(i); err != nil {
			t.Fatal(err)
		}
	}
	p.settled(t)
	p.expectEachOnce(t, 240)
}

func TestCleanRestartMidStreamLosesNothing(t *testing.T) {
	p := startPipeline(t, nil)
	const total = 600
	batches := make(chan error, 1)
	go func() {
		defer close(batches)
		for b := range total / 20 {
			var events []string
			for i := b * 20; i < (b+1)*20; i++ {
				id := fmt.Sprintf("m-%04d", i)
				events = append(events, structuredEvent(id, contract.TypeViewed, time.Now(), interaction("u-"+id, "i"+strconv.Itoa(i%11))))
			}
			status, answer, _, err := p.post("/", batchJSON, "["+strings.Join(events, ",")+"]")
			if err != nil || status != http.StatusAccepted {
				batches <- fmt.Errorf("batch %d: %d %v %v", b, status, answer, err)
				return
			}
		}
	}()

	// Restart clean twice while the stream flows: once when it has written something, once
	// more a little later.
	for _, after := range []int{1, total / 3} {
		kafkatest.Eventually(t, waitFor, func() error {
			if n := len(kafkatest.Records(t, p.kafka, p.common.Topics.Clean)); n < after {
				return fmt.Errorf("clean topic holds %d events, waiting for %d before the restart", n, after)
			}
			return nil
		})
		p.stopCleans()
		p.startClean(t)
	}
	for err := range batches {
		t.Fatal(err)
	}
	p.settled(t)
	// A graceful restart commits what it finished, so nothing is repeated either.
	p.expectEachOnce(t, total)
}
