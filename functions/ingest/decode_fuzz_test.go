package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/clean"
	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
)

// The fuzz targets below feed arbitrary requests to each decoder of ingest. Whatever comes in,
// nothing panics, and either ingest refuses the request with a 4xx whose code says why (and, when
// one field is at fault, names it), or every event it accepts satisfies the contract, survives the
// trip through a raw Kafka record, and is accepted by clean, whose output record fits the clean
// topic. `go test` replays the seeds in testdata/fuzz; `make fuzz` explores for a bounded time.

// maxCleanRecordBytes is the largest record the clean topic takes: max.message.bytes, which
// neither the local runner nor the operator changes from Kafka's (and kfake's) default.
// TestNothingAcceptedOutgrowsTheCleanTopic in functions/e2e reads the real value from the broker.
const maxCleanRecordBytes = 1048588

// FuzzDecodeCloudEvents fuzzes POST / in binary content mode (and whatever content type is
// given, so structured and batch bodies reach their decoders too).
func FuzzDecodeCloudEvents(f *testing.F) {
	f.Add("Application/JSON", "1.0", "e1", contract.TypeLiked, "ce-time", "yesterday", []byte(`{"user_id":"u1","item_id":"i1"}`))
	f.Add("application/json", "1.0", "e1", contract.TypeLiked, "ce-segment", "25-34.f", []byte(`{"user_id":"u1","item_id":"i1"}`))
	f.Fuzz(func(t *testing.T, contentType, specversion, id, eventType, extraName, extraValue string, body []byte) {
		header := http.Header{}
		for k, v := range map[string]string{"Content-Type": contentType, "Ce-Specversion": specversion, "Ce-Id": id, "Ce-Source": "fuzz", "Ce-Type": eventType} {
			if v != "" {
				header.Set(k, v)
			}
		}
		if extraName != "" && !strings.ContainsAny(extraName, "\r\n:") {
			header.Add(extraName, extraValue)
		}
		checkDecoded(t, header, body)
	})
}

// FuzzDecodeStructured fuzzes POST / in structured content mode.
func FuzzDecodeStructured(f *testing.F) {
	for _, s := range []string{
		`{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","data":{"user_id":"u1","item_id":"i1"}}`,
		`{"specversion":"1.0","id":5,"source":"s","type":"dev.recoflow.item.liked.v1","data":{"user_id":"u1","item_id":"i1"}}`,
		`{"specversion":1.0,"id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","data":{"user_id":"u1","item_id":"i1"}}`,
		`{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.rated.v1","datacontenttype":"text/plain","data":"x"}`,
		`{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","time":"2026-01-01T00:00:00Z","ext":3,"data_base64":"eyJ1c2VyX2lkIjoidTEiLCJpdGVtX2lkIjoiaTEifQ=="}`,
		`{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","data":{"user_id":"u1","item_id":"i1","title":"<<<<<<<<","user":{"age":30,"gender":"f"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecoded(t, http.Header{"Content-Type": {"application/cloudevents+json"}}, body)
	})
}

// FuzzDecodeBatch fuzzes POST / in batch content mode.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{
		`[]`, `{}`, `[1]`,
		`[{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","data":{"user_id":"u1","item_id":"i1"}},{"specversion":"1.0","id":"e2","source":"s","type":"dev.recoflow.item.viewed.v1","subject":"i2","data":{"user_id":"u1","item_id":"i2"}}]`,
		`[{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","data":{"user_id":"u1","item_id":"i1"}},{"specversion":"2.0"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecoded(t, http.Header{"Content-Type": {"application/cloudevents-batch+json; charset=utf-8"}}, body)
	})
}

// FuzzDecodeLikes fuzzes the body of POST /v1/likes.
func FuzzDecodeLikes(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		in, rej := decodeLike(body)
		if rej == nil {
			rej = checkLike(t, in, likeFields)
		}
		if rej != nil {
			checkRefusal(t, rej)
		}
	})
}

// FuzzDecodeLegacyLikes fuzzes the body of POST /recommendation/likes.
func FuzzDecodeLegacyLikes(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"u1","content_id":"i1","title":"Dune"}`, `{"user_id":7,"content_id":42}`, `{"user_id":1.5,"content_id":"i"}`,
		`{"user_id":"u","content_id":"/"}`, `[]`, `{"user_id":null,"content_id":"x"}`, "{\"user_id\":\"\xff\",\"content_id\":\"x\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, rej := decodeLegacyLike(body)
		if rej == nil {
			rej = checkLike(t, in, legacyFields)
		}
		if rej != nil {
			checkRefusal(t, rej)
		}
	})
}

// checkLike makes the liked event of a decoded like body and checks it as checkAccepted does,
// or returns why it is refused.
func checkLike(t *testing.T, in event.Interaction, rename func(string) string) *Error {
	t.Helper()
	e, rej := likeEvent("id-1", "urn:test", time.Now(), in, rename)
	if rej != nil {
		return rej
	}
	if e.Type() != contract.TypeLiked {
		t.Fatalf("made a like of type %s", e.Type())
	}
	checkAccepted(t, e)
	return nil
}

// checkDecoded decodes one POST / request and checks the invariant, and that the records ingest
// stores are those of the events the slow way reads, whichever way decodeBinary took.
func checkDecoded(t *testing.T, header http.Header, body []byte) {
	t.Helper()
	const maxBatch = 8
	events, rej := decodeCloudEvents(header, body, maxBatch)
	stored, storedRej := decodeBinary(header, body, maxBatch)
	if (rej == nil) != (storedRej == nil) {
		t.Fatalf("decodeCloudEvents answers %+v, decodeBinary %+v", rej, storedRej)
	}
	if rej != nil {
		checkRefusal(t, rej)
		return
	}
	if len(events) > maxBatch {
		t.Fatalf("accepted %d events, over the batch limit %d", len(events), maxBatch)
	}
	if len(stored) != len(events) {
		t.Fatalf("decodeBinary read %d events, decodeCloudEvents %d", len(stored), len(events))
	}
	for i, e := range events {
		checkAccepted(t, e)
		want, err := kafka.EncodeEvent(context.Background(), "raw", &e)
		if err != nil {
			t.Fatal(err)
		}
		if got := kafka.EncodeBinary("raw", &stored[i]); recordText(got) != recordText(want) {
			t.Fatalf("ingest stores event %d of %q as\n%s\nnot as\n%s", i, body, recordText(got), recordText(want))
		}
	}
}

// checkRefusal checks that a refusal is a 4xx with a code and a detail, and names the field
// when its code is about one field.
func checkRefusal(t *testing.T, rej *Error) {
	t.Helper()
	if s := rej.Code.Status(); s < 400 || s > 499 {
		t.Fatalf("refusal with status %d, want a 4xx: %+v", s, rej)
	}
	if rej.Code == "" || rej.Detail == "" {
		t.Fatalf("refusal without a code or detail: %+v", rej)
	}
	switch event.Reason(rej.Code) {
	case event.ReasonMissingField, event.ReasonInvalidField, event.ReasonUnknownType, event.ReasonSubjectMismatch, event.ReasonInvalidRating:
		if rej.Field == "" {
			t.Fatalf("refusal %s names no field: %+v", rej.Code, rej)
		}
	}
}

// attributesText lists every attribute of e, context and extension, with its value as text, the
// form a Kafka header carries it in: an attribute that a trip through Kafka drops, adds or
// changes makes a different list.
func attributesText(e cloudevents.Event) string {
	attrs := map[string]any{
		"specversion": e.SpecVersion(), "id": e.ID(), "source": e.Source(), "type": e.Type(),
		"subject": e.Subject(), "datacontenttype": e.DataContentType(), "dataschema": e.DataSchema(),
	}
	if !e.Time().IsZero() {
		attrs["time"] = e.Time()
	}
	for name, v := range e.Extensions() {
		attrs["extension "+name] = v
	}
	lines := make([]string, 0, len(attrs))
	for name, v := range attrs {
		text, err := types.Format(v)
		if err != nil {
			text = fmt.Sprintf("unformattable %T: %v", v, err)
		}
		lines = append(lines, fmt.Sprintf("%s=%q", name, text))
	}
	slices.Sort(lines)
	return strings.Join(lines, " ")
}

// checkAccepted follows an accepted event the way it travels: a raw record as ingest stores it,
// decoded by clean, cleaned, and encoded for the clean topic, where it must fit.
func checkAccepted(t *testing.T, e cloudevents.Event) {
	t.Helper()
	in, err := event.Validate(e)
	if err != nil {
		t.Fatalf("accepted an invalid event: %v", err)
	}
	if e.Subject() != strings.TrimSpace(in.ItemID) {
		t.Fatalf("accepted event has subject %q, want the item id %q", e.Subject(), in.ItemID)
	}
	record, err := kafka.NewSink(nil, "raw").Record(context.Background(), &e)
	if err != nil {
		t.Fatalf("accepted event cannot be encoded for Kafka: %v", err)
	}
	back, err := kafka.DecodeRecord(context.Background(), kafkatest.Consumed(record))
	if err != nil {
		t.Fatalf("accepted event does not decode from its record: %v", err)
	}
	if sent, read := attributesText(e), attributesText(*back); sent != read || string(back.Data()) != string(e.Data()) {
		t.Fatalf("event changed on its way through Kafka: sent %s data %q, read %s data %q", sent, e.Data(), read, back.Data())
	}
	out, err := clean.New(config.DefaultClean(), prometheus.NewRegistry()).Handle(context.Background(), *back)
	var invalid *event.Error
	switch {
	case errors.As(err, &invalid) && (invalid.Reason == event.ReasonTooOld || invalid.Reason == event.ReasonTimeInFuture):
		return // the time rules depend on when clean reads the event
	case err != nil:
		t.Fatalf("clean refuses an event ingest accepted: %v", err)
	case out == nil:
		t.Fatal("clean dropped the first copy of an event as a duplicate")
	}
	cleaned, err := kafka.NewSink(nil, "clean").Record(context.Background(), out)
	if err != nil {
		t.Fatalf("clean cannot encode its output: %v", err)
	}
	if size := recordBytes(cleaned); size > maxCleanRecordBytes {
		t.Fatalf("clean's record of an accepted event is %d bytes, over the topic's %d", size, maxCleanRecordBytes)
	}
}
