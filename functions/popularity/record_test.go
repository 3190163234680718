package popularity

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/hotness"
	"github.com/recoflow/recoflow/functions/kafka"
)

// asRecord turns a produced message into the record a fetch returns.
func asRecord(t testing.TB, msg *sarama.ProducerMessage) *sarama.ConsumerMessage {
	t.Helper()
	key, err := msg.Key.Encode()
	if err != nil {
		t.Fatal(err)
	}
	value, err := msg.Value.Encode()
	if err != nil {
		t.Fatal(err)
	}
	rec := &sarama.ConsumerMessage{Key: key, Value: value}
	for _, h := range msg.Headers {
		rec.Headers = append(rec.Headers, &sarama.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return rec
}

func TestChangelogRecordRestoresExactly(t *testing.T) {
	cfg := hotness.Config{HalfLife: 6 * time.Hour, Weights: map[contract.Action]float64{contract.ActionLiked: 3, contract.ActionViewed: 1.1}}
	board := hotness.NewBoard(cfg)
	base := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)
	for i := range 50 {
		board.Apply(hotness.Interaction{
			ItemID: "item/ü", Category: "books", Segment: []string{"", "18-24.f", "65+.x"}[i%3],
			Action: []contract.Action{contract.ActionLiked, contract.ActionViewed, contract.ActionRated}[i%3], Rating: 1 + i%5,
			Time: base.Add(time.Duration(i*i) * 7919 * time.Millisecond),
		})
	}
	want, _ := board.State("item/ü")

	msg, err := changelogRecord(t.Context(), "pop", 3, want)
	if err != nil {
		t.Fatal(err)
	}
	rec := asRecord(t, msg)
	if msg.Partition != 3 || string(rec.Key) != "item/ü" {
		t.Errorf("partition %d key %q, want 3 and the item id", msg.Partition, rec.Key)
	}
	got, err := decodeChangelog(t.Context(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v\nwant    %+v", got, want)
	}

	// A board restored from the record continues exactly like the original.
	restored := hotness.NewBoard(cfg)
	restored.Restore(got)
	next := hotness.Interaction{ItemID: "item/ü", Segment: "18-24.f", Action: contract.ActionLiked, Time: base.Add(40 * time.Hour)}
	board.Apply(next)
	restored.Apply(next)
	now := base.Add(41 * time.Hour)
	a, _ := board.Item("item/ü", now)
	b, _ := restored.Item("item/ü", now)
	if a.Score != b.Score || math.IsNaN(a.Score) {
		t.Errorf("restored board scores %v, the original %v", b.Score, a.Score)
	}
}

func TestChangelogRecordIsAPopularityCloudEvent(t *testing.T) {
	state := hotness.ItemState{ItemID: "x", ScoreTime: time.Unix(0, 0), UpdatedAt: time.Unix(10, 0), Counts: map[contract.Action]int64{contract.ActionLiked: 2, contract.ActionViewed: 3}}
	msg, err := changelogRecord(t.Context(), "pop", 0, state)
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{}
	for _, h := range asRecord(t, msg).Headers {
		headers[string(h.Key)] = string(h.Value)
	}
	for name, want := range map[string]string{
		"ce_type": contract.TypePopularity, "ce_subject": "x", "ce_source": Source, "ce_id": "x/5", "content-type": "application/json",
	} {
		if got := headers[name]; got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
}

func TestDecodeChangelogRejectsOtherRecords(t *testing.T) {
	e := cloudevents.NewEvent()
	e.SetID("1")
	e.SetSource("s")
	e.SetType(contract.TypeLiked)
	e.SetSubject("x")
	_ = e.SetData(cloudevents.ApplicationJSON, event.Interaction{UserID: "u", ItemID: "x"})
	msg, err := kafka.NewSink(nil, "pop").Record(t.Context(), &e)
	if err != nil {
		t.Fatal(err)
	}
	for name, rec := range map[string]*sarama.ConsumerMessage{
		"interaction event": asRecord(t, msg),
		"not a cloudevent":  {Key: []byte("x"), Value: []byte("hello")},
		"tombstone":         {Key: []byte("x")},
	} {
		if s, err := decodeChangelog(t.Context(), rec); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, s)
		}
	}
}

func TestInteractionReadsCleanEvents(t *testing.T) {
	stars := 2
	e := cloudevents.NewEvent()
	e.SetID("1")
	e.SetSource("s")
	e.SetType(contract.TypeRated)
	e.SetSubject("item-1")
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	e.SetTime(at)
	e.SetExtension(event.ExtensionSegment, "25-34.f")
	_ = e.SetData(cloudevents.ApplicationJSON, event.Interaction{UserID: "u", ItemID: "item-1", Category: "books", Rating: &stars})
	msg, err := kafka.NewSink(nil, "clean").Record(t.Context(), &e)
	if err != nil {
		t.Fatal(err)
	}
	binary := asRecord(t, msg)
	structured, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := hotness.Interaction{ItemID: "item-1", Category: "books", Segment: "25-34.f", Action: contract.ActionRated, Rating: 2, Time: at}

	tests := []struct {
		name string
		msg  *sarama.ConsumerMessage
	}{
		{"binary content mode", &sarama.ConsumerMessage{Key: binary.Key, Value: binary.Value, Headers: binary.Headers}},
		{"structured content mode", &sarama.ConsumerMessage{Key: binary.Key, Value: structured, Headers: []*sarama.RecordHeader{
			{Key: []byte("content-type"), Value: []byte(cloudevents.ApplicationCloudEventsJSON)},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := interaction(t.Context(), tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestInteractionRejectsWhatIsNotAnInteraction(t *testing.T) {
	header := func(k, v string) *sarama.RecordHeader { return &sarama.RecordHeader{Key: []byte(k), Value: []byte(v)} }
	tests := map[string]*sarama.ConsumerMessage{
		"not a cloudevent": {Value: []byte("hello")},
		"popularity type": {Value: []byte(`{}`), Headers: []*sarama.RecordHeader{
			header("ce_specversion", "1.0"), header("ce_type", contract.TypePopularity), header("ce_subject", "x"),
		}},
		"data not json": {Value: []byte(`{"item_id":`), Headers: []*sarama.RecordHeader{
			header("ce_specversion", "1.0"), header("ce_type", contract.TypeLiked), header("ce_subject", "x"),
		}},
		"bad time": {Value: []byte(`{}`), Headers: []*sarama.RecordHeader{
			header("ce_specversion", "1.0"), header("ce_type", contract.TypeLiked), header("ce_subject", "x"), header("ce_time", "yesterday"),
		}},
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			if in, err := interaction(t.Context(), msg); err == nil {
				t.Errorf("got %+v, want an error", in)
			}
		})
	}
}

func TestDecodeChangelogReadsBothContentModes(t *testing.T) {
	want := hotness.ItemState{
		ItemID: "x", Category: "books", Score: 1.5, ScoreTime: time.Unix(0, 0).UTC(), UpdatedAt: time.Unix(10, 5).UTC(),
		Counts: map[contract.Action]int64{contract.ActionLiked: 2}, Segments: map[string]float64{"18-24.f": 0.5},
	}
	msg, err := changelogRecord(t.Context(), "pop", 0, want)
	if err != nil {
		t.Fatal(err)
	}
	binary := asRecord(t, msg)
	e := cloudevents.NewEvent()
	e.SetID("x/2")
	e.SetSource(Source)
	e.SetType(contract.TypePopularity)
	e.SetSubject("x")
	_ = e.SetData(cloudevents.ApplicationJSON, want)
	structured, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for name, rec := range map[string]*sarama.ConsumerMessage{
		"binary": binary,
		"structured": {Key: []byte("x"), Value: structured, Headers: []*sarama.RecordHeader{
			{Key: []byte("content-type"), Value: []byte(cloudevents.ApplicationCloudEventsJSON)},
		}},
	} {
		got, err := decodeChangelog(t.Context(), rec)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded %+v, want %+v", name, got, want)
		}
	}
}

// TestChangelogPayloadKeepsItsJSON pins the JSON payload of a changelog record, which restores
// and the serving view read back, whichever version of the function wrote it.
func TestChangelogPayloadKeepsItsJSON(t *testing.T) {
	state := hotness.ItemState{
		ItemID: "x", Category: "books", Score: 1.5, ScoreTime: time.Unix(0, 0).In(time.FixedZone("x", 3600)), UpdatedAt: time.Unix(10, 5),
		Counts: map[contract.Action]int64{contract.ActionLiked: 2}, Segments: map[string]float64{"18-24.f": 0.5},
	}
	msg, err := changelogRecord(t.Context(), "pop", 0, state)
	if err != nil {
		t.Fatal(err)
	}
	value, err := msg.Value.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"item_id":"x","category":"books","score":1.5,"score_time":"1970-01-01T00:00:00Z","counts":{"liked":2},"segments":{"18-24.f":0.5},"updated_at":"1970-01-01T00:00:10.000000005Z"}`
	if string(value) != want {
		t.Errorf("payload\n%s\nwant\n%s", value, want)
	}
}
