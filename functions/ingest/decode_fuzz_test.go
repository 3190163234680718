package ingest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
)

// FuzzDecodeCloudEvents feeds arbitrary POST / requests to the decoding path. Whatever comes
// in, ingest either refuses it with a 4xx naming a code, or accepts events that satisfy the
// contract and survive the trip through a Kafka record to what clean decodes. The seed corpus
// is in testdata/fuzz/FuzzDecodeCloudEvents; `go test` replays it.
func FuzzDecodeCloudEvents(f *testing.F) {
	f.Fuzz(func(t *testing.T, contentType, specversion, id, eventType string, body []byte) {
		header := http.Header{}
		for k, v := range map[string]string{"Content-Type": contentType, "Ce-Specversion": specversion, "Ce-Id": id, "Ce-Source": "fuzz", "Ce-Type": eventType} {
			if v != "" {
				header.Set(k, v)
			}
		}
		const maxBatch = 8
		events, rej := decodeCloudEvents(context.Background(), header, body, maxBatch)
		if rej != nil {
			checkRejection(t, rej, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
			return
		}
		if len(events) > maxBatch {
			t.Fatalf("accepted %d events, over the batch limit %d", len(events), maxBatch)
		}
		sink := kafka.NewSink(nil, "raw")
		for _, e := range events {
			in, err := event.Validate(e)
			if err != nil {
				t.Fatalf("accepted an invalid event: %v", err)
			}
			if e.Subject() != strings.TrimSpace(in.ItemID) {
				t.Fatalf("accepted event has subject %q, want the item id %q", e.Subject(), in.ItemID)
			}
			record, err := sink.Record(context.Background(), &e)
			if err != nil {
				t.Fatalf("accepted event cannot be encoded for Kafka: %v", err)
			}
			back, err := kafka.DecodeRecord(context.Background(), consumed(record))
			if err != nil {
				t.Fatalf("accepted event does not decode from its record: %v", err)
			}
			if back.ID() != e.ID() || back.Type() != e.Type() || string(back.Data()) != string(e.Data()) {
				t.Fatalf("event changed on its way through Kafka: sent %v, read %v", e, back)
			}
			if _, err := event.Validate(*back); err != nil {
				t.Fatalf("event read back from Kafka is invalid: %v", err)
			}
			if !utf8.Valid(back.Data()) {
				t.Fatalf("accepted data that is not UTF-8: %q", back.Data())
			}
		}
	})
}

// FuzzDecodeLikes feeds arbitrary bodies to the plain and legacy like routes: each is refused
// with a code or becomes one valid liked event.
func FuzzDecodeLikes(f *testing.F) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			if _, rej := decodeLike(body); rej == nil {
				t.Fatal("accepted a like whose body is not UTF-8")
			}
			if _, rej := decodeLegacyLike(body); rej == nil {
				t.Fatal("accepted a legacy like whose body is not UTF-8")
			}
		}
		if like, rej := decodeLike(body); rej != nil {
			checkRejection(t, rej, http.StatusBadRequest)
		} else {
			checkLike(t, now, event.Interaction{UserID: like.UserID, ItemID: like.ItemID, Title: like.Title, Category: like.Category})
		}
		if like, rej := decodeLegacyLike(body); rej != nil {
			checkRejection(t, rej, http.StatusBadRequest)
		} else {
			checkLike(t, now, event.Interaction{UserID: string(like.UserID), ItemID: string(like.ContentID), Title: like.Title})
		}
	})
}

func checkLike(t *testing.T, now time.Time, in event.Interaction) {
	t.Helper()
	e, rej := likeEvent("id-1", "urn:test", now, in)
	if rej != nil {
		checkRejection(t, rej, http.StatusBadRequest)
		return
	}
	if _, err := event.Validate(e); err != nil || e.Type() != event.TypeLiked {
		t.Fatalf("made an invalid like %v: %v", e, err)
	}
}

func checkRejection(t *testing.T, rej *rejection, statuses ...int) {
	t.Helper()
	for _, s := range statuses {
		if rej.status == s {
			if rej.code == "" || rej.detail == "" {
				t.Fatalf("rejection without a code or detail: %+v", rej)
			}
			return
		}
	}
	t.Fatalf("rejection status %d, want one of %v: %+v", rej.status, statuses, rej)
}
