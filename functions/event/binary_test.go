package event

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
)

var binarySeeds = []string{
	`{"specversion":"1.0","id":"e1","source":"https://shop.example/app","type":"dev.recoflow.item.liked.v1","data":{"user_id":"u1","item_id":"i1","title":"Dune","category":"books"}}`,
	`{"specversion":"1.0","id":" e1 ","source":"/app","type":"dev.recoflow.item.rated.v1","subject":" i1 ","time":"2026-01-01T00:00:00.5+02:00","datacontenttype":" application/json; charset=utf-8 ","traceparent":"00-1","data":{"user_id":"u1","item_id":" i1","rating":5,"user":{"age":30,"gender":"f"}}}`,
	`{"specversion":"1.0","id":"e1","source":"HTTPS://Shop/a%41","type":"dev.recoflow.item.liked.v1","subject":"i2","data":{"user_id":"u1","item_id":"i1"}}`,
	`{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","time":"0001-01-01T00:00:00Z","Ext":"x","data":{"user_id":"u1","item_id":"i1","rating":3}}`,
	`{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","segment":"x","dataschema":"urn:s","data":{"user_id":"u1","item_id":"i1"}}`,
	`{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.viewed.v1","datacontenttype":"text/plain","data":{"user_id":"u1","item_id":"i1"}}`,
}

// FuzzValidBinaryBatchMatches checks ValidBinaryBatch against the slow way ingest reads a batch:
// FromJSONBatch, Validate, the subject set to the item id when missing, and ToBinary. Whatever
// the fast reader takes, the slow way must take too and give the same records.
func FuzzValidBinaryBatchMatches(f *testing.F) {
	for _, s := range binarySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, object []byte) {
		for _, body := range [][]byte{append(append([]byte("["), object...), ']'), append(append(append(append([]byte("[ "), object...), ','), object...), ']')} {
			fast, ok := ValidBinaryBatch(body)
			if !ok {
				continue
			}
			events, err := FromJSONBatch(body)
			if err != nil {
				t.Fatalf("fast path read %s, the slow way refuses it: %v", body, err)
			}
			if len(events) != len(fast) {
				t.Fatalf("fast path read %d events from %s, the slow way %d", len(fast), body, len(events))
			}
			for i := range events {
				in, err := Validate(events[i])
				if err != nil {
					t.Fatalf("fast path took %s, Validate refuses it: %v", body, err)
				}
				if strings.TrimSpace(events[i].Subject()) == "" {
					events[i].SetSubject(strings.TrimSpace(in.ItemID))
				}
				slow, err := ToBinary(&events[i])
				if err != nil {
					t.Fatal(err)
				}
				if a, b := binaryText(fast[i]), binaryText(slow); a != b {
					t.Fatalf("fast path read %s as\n%s\nthe slow way as\n%s", body, a, b)
				}
			}
		}
	})
}

func TestValidBinaryBatchTakesTheCommonEvents(t *testing.T) {
	for _, s := range binarySeeds[:2] {
		if _, ok := ValidBinaryBatch([]byte("[" + s + "," + s + "]")); !ok {
			t.Errorf("fast path gave up on %s", s)
		}
	}
}

// TestToBinary checks the text of every attribute, and that an absent one stays absent.
func TestToBinary(t *testing.T) {
	e := cloudevents.New()
	e.SetID("e1")
	e.SetSource("urn:s")
	e.SetType("t")
	e.SetExtension("count", 7)
	b, err := ToBinary(&e)
	if err != nil {
		t.Fatal(err)
	}
	want := "id=e1 source=urn:s type=t subject=<nil> time=<nil> dataschema=<nil> datacontenttype=<nil> data=<nil> ce_count=7"
	if got := binaryText(b); got != want {
		t.Errorf("ToBinary gave\n%s\nwant\n%s", got, want)
	}
}

// binaryText describes b, its extensions sorted by name, telling an absent attribute from an
// empty one.
func binaryText(b Binary) string {
	text := func(v []byte) string {
		if v == nil {
			return "<nil>"
		}
		return string(v)
	}
	var sb bytes.Buffer
	fmt.Fprintf(&sb, "id=%s source=%s type=%s subject=%s time=%s dataschema=%s datacontenttype=%s data=%s",
		text(b.ID), text(b.Source), text(b.Type), text(b.Subject), text(b.Time), text(b.DataSchema), text(b.DataContentType), text(b.Data))
	extensions := slices.Clone(b.Extensions)
	slices.SortFunc(extensions, func(x, y Extension) int { return strings.Compare(x.Name, y.Name) })
	for _, x := range extensions {
		fmt.Fprintf(&sb, " ce_%s=%s", x.Name, x.Value)
	}
	return sb.String()
}
