package event

import (
	"reflect"
	"testing"
)

// The fast readers (scan.go) must read exactly what the encoding/json readers read, for every
// input they take; they may give up on any input.

var fastSeeds = []string{
	`{"specversion":"1.0","id":"e1","source":"s","type":"dev.recoflow.item.liked.v1","data":{"user_id":"u1","item_id":"i1"}}`,
	`{"specversion":"1.0","id":"e1","source":"urn:a b","type":"dev.recoflow.item.rated.v1","subject":" i1 ","time":"2026-01-01T00:00:00.5+02:00","data":{"user_id":"u1","item_id":"i1","rating":5,"user":{"age":30,"gender":"f"}}}`,
	`{ "specversion" : "1.0" , "id":"e1","source":"s","type":"t","datacontenttype":"application/json","traceparent":"00-1","data":null }`,
	`{"specversion":"1.0","id":"e1","source":"s","type":"t","datacontenttype":"text/plain","data":"x"}`,
	`{"specversion":"1.0","id":"e1","source":"s","type":"t","ID":"x","data":[1,-2.5e+3,true,false,null,"\u00e9\n",{}]}`,
	`{"specversion":"1.0","id":"e1","source":"s","type":"t","id":"e2"}`,
	`{"specversion":"1.0","id":"e1","source":"%zz","type":"t"}`,
	`{"specversion":"1.0","id":"e1","source":"s","type":"t","data":{"a":1},"data":{"b":2}}`,
	`{"specversion":"1.0","id":"e1","source":"s","type":"t","data":{"user_id":"u1","User_ID":"u2","rating":05}}`,
}

// FuzzFastEventMatchesSlow checks fastEvent against decodeEvent, and fastEvents against
// decodeEvents with the input as a batch of one and of two.
func FuzzFastEventMatchesSlow(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, object []byte) {
		if fast, ok := fastEvent(object); ok {
			slow, err := decodeEvent(object)
			if err != nil {
				t.Fatalf("fast path read %s, encoding/json refuses it: %v", object, err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("fast path read %s as\n%v\nencoding/json as\n%v", object, fast, slow)
			}
		}
		for _, body := range [][]byte{append(append([]byte("["), object...), ']'), append(append(append(append([]byte("[ "), object...), ','), object...), ']')} {
			fast, ok := fastEvents(body)
			if !ok {
				continue
			}
			slow, err := decodeEvents(body)
			if err != nil {
				t.Fatalf("fast path read %s, encoding/json refuses it: %v", body, err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("fast path read %s as\n%v\nencoding/json as\n%v", body, fast, slow)
			}
		}
	})
}

// FuzzFastInteractionMatchesSlow checks fastInteraction against DecodeObject.
func FuzzFastInteractionMatchesSlow(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"u1","item_id":"i1","title":"T","category":"c","rating":-3,"user":{"age":151,"gender":"x","other":[1]},"extra":{"a":"\ud800"}}`,
		`{"user_id":"u1","USER_ID":"u2"}`,
		`{"user":{}, "rating": 0}`,
		`{"user":null}`,
		`{"rating":1.0}`,
		`{"title":"caf\u00e9"}`,
		`{"s":"\x00"}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastInteraction(data)
		if !ok {
			return
		}
		var slow Interaction
		if err := DecodeObject(data, &slow, "data", false); err != nil {
			t.Fatalf("fast path read %s, encoding/json refuses it: %v", data, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast path read %s as %+v, encoding/json as %+v", data, fast, slow)
		}
	})
}

// TestFastPathTakesTheCommonEvents checks that the fast path does take the events clients
// usually send, so that the benchmarks measure it.
func TestFastPathTakesTheCommonEvents(t *testing.T) {
	for _, s := range fastSeeds[:3] {
		if _, ok := fastEvent([]byte(s)); !ok {
			t.Errorf("fast path gave up on %s", s)
		}
	}
	if _, ok := fastInteraction([]byte(`{"user_id":"u1","item_id":"i1","title":"T","category":"c","rating":5,"user":{"age":30,"gender":"f"}}`)); !ok {
		t.Error("fast path gave up on a plain interaction")
	}
}
