package ingest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/ingest"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/problem"
)

const raw = "raw"

// server is ingest over a real Kafka broker.
type server struct {
	*httptest.Server
	kafka *kfake.Cluster
	reg   *prometheus.Registry
}

// newServer serves ingest with small limits (4 KiB bodies, 5-event batches) over a fresh broker.
func newServer(t testing.TB, configure func(*config.Ingest)) *server {
	t.Helper()
	c := kafkatest.NewCluster(t, raw)
	producer, err := kafka.NewProducer(kafkatest.Client(t, c))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultIngest()
	cfg.MaxBodyBytes = 4096
	cfg.MaxBatchEvents = 5
	cfg.ProduceTimeout = 2 * time.Second
	if configure != nil {
		configure(&cfg)
	}
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(ingest.NewHandler(cfg, kafka.NewSink(producer, raw), reg, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(func() {
		srv.Close()
		_ = producer.Close()
	})
	return &server{Server: srv, kafka: c, reg: reg}
}

// request is one HTTP request to ingest.
type request struct {
	method, path string
	header       map[string]string
	body         string
}

func (s *server) do(t *testing.T, r request) (*http.Response, map[string]any) {
	t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, s.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%s %s answered %d with a body that is not JSON: %q", method, r.path, resp.StatusCode, raw)
		}
	}
	return resp, body
}

// binary is a binary-mode CloudEvent request: ce headers for a liked event with id, overridden
// or removed (empty value) by header.
func binary(id string, header map[string]string, data string) request {
	h := map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": id, "Ce-Source": "test", "Ce-Type": contract.TypeLiked,
		"Content-Type": "application/json",
	}
	for k, v := range header {
		h[k] = v
		if v == "" {
			delete(h, k)
		}
	}
	return request{path: "/", header: h, body: data}
}

func structured(body string) request {
	return request{path: "/", header: map[string]string{"Content-Type": "application/cloudevents+json; charset=utf-8"}, body: body}
}

func batch(body string) request {
	return request{path: "/", header: map[string]string{"Content-Type": "application/cloudevents-batch+json"}, body: body}
}

func like(body string) request {
	return request{path: "/v1/likes", header: map[string]string{"Content-Type": "application/json"}, body: body}
}

func legacy(body string) request {
	return request{path: "/recommendation/likes", header: map[string]string{"Content-Type": "application/json"}, body: body}
}

// ce is a structured-mode event with the given id and data.
func ce(id, data string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"test","type":%q,"data":%s}`, id, contract.TypeLiked, data)
}

const okData = `{"user_id":"u1","item_id":"i1"}`

func TestIngestAnswers(t *testing.T) {
	s := newServer(t, nil)
	tests := []struct {
		name       string
		req        request
		wantStatus int
		// wantCode is the problem's code, or the legacy body's code for legacy routes.
		wantCode  any
		wantField string
		wantIndex any
		// stored lists the ids of events this request puts on the raw topic.
		stored []string
	}{
		{name: "binary", req: binary("b1", nil, okData), wantStatus: 202, stored: []string{"b1"}},
		{name: "binary with subject", req: binary("b2", map[string]string{"Ce-Subject": "i1"}, okData), wantStatus: 202, stored: []string{"b2"}},
		{name: "binary rated", req: binary("b3", map[string]string{"Ce-Type": contract.TypeRated}, `{"user_id":"u1","item_id":"i1","rating":5,"user":{"age":30,"gender":"f"}}`), wantStatus: 202, stored: []string{"b3"}},
		{name: "structured", req: structured(ce("s1", okData)), wantStatus: 202, stored: []string{"s1"}},
		{name: "batch", req: batch("[" + ce("a1", okData) + "," + ce("a2", okData) + "]"), wantStatus: 202, stored: []string{"a1", "a2"}},
		{name: "empty batch", req: batch("[]"), wantStatus: 202},
		{name: "plain like", req: like(`{"user_id":"u1","item_id":"i1","title":"Dune","category":"Books"}`), wantStatus: 202, stored: []string{"(like)"}},
		{name: "legacy like", req: legacy(`{"user_id":"u1","content_id":"i1","title":"Dune"}`), wantStatus: 200, wantCode: 0.0, stored: []string{"(like)"}},
		{name: "legacy like with integer ids", req: legacy(`{"user_id":7,"content_id":42,"title":"Dune","extra":true}`), wantStatus: 200, wantCode: 0.0, stored: []string{"(like)"}},

		{name: "missing id", req: binary("", map[string]string{"Ce-Id": ""}, okData), wantStatus: 400, wantCode: "missing_field", wantField: "id"},
		{name: "blank id", req: binary("  ", nil, okData), wantStatus: 400, wantCode: "missing_field", wantField: "id"},
		{name: "id over 256 bytes", req: binary(strings.Repeat("x", 257), nil, okData), wantStatus: 400, wantCode: "invalid_field", wantField: "id"},
		{name: "id not UTF-8", req: binary("\xff\xfe", nil, okData), wantStatus: 400, wantCode: "invalid_field", wantField: "id"},
		{name: "missing source", req: binary("x", map[string]string{"Ce-Source": ""}, okData), wantStatus: 400, wantCode: "missing_field", wantField: "source"},
		{name: "missing type", req: binary("x", map[string]string{"Ce-Type": ""}, okData), wantStatus: 400, wantCode: "missing_field", wantField: "type"},
		{name: "unknown type", req: binary("x", map[string]string{"Ce-Type": "dev.recoflow.item.hugged.v1"}, okData), wantStatus: 400, wantCode: "unknown_type", wantField: "type"},
		{name: "missing user_id", req: binary("x", nil, `{"item_id":"i1"}`), wantStatus: 400, wantCode: "missing_field", wantField: "data.user_id"},
		{name: "missing item_id", req: binary("x", nil, `{"user_id":"u1"}`), wantStatus: 400, wantCode: "missing_field", wantField: "data.item_id"},
		{name: "user_id over 256 bytes", req: binary("x", nil, `{"user_id":"`+strings.Repeat("u", 257)+`","item_id":"i1"}`), wantStatus: 400, wantCode: "invalid_field", wantField: "data.user_id"},
		{name: "user_id not UTF-8", req: binary("x", nil, "{\"user_id\":\"\xff\",\"item_id\":\"i1\"}"), wantStatus: 400, wantCode: "invalid_field", wantField: "data.user_id"},
		{name: "like item_id not UTF-8", req: like("{\"user_id\":\"u\",\"item_id\":\"\xc3\"}"), wantStatus: 400, wantCode: "invalid_field", wantField: "item_id"},
		{name: "user_id not a string", req: binary("x", nil, `{"user_id":5,"item_id":"i1"}`), wantStatus: 400, wantCode: "invalid_field", wantField: "data.user_id"},
		{name: "subject differs from item", req: binary("x", map[string]string{"Ce-Subject": "i2"}, okData), wantStatus: 400, wantCode: "subject_mismatch", wantField: "subject"},
		{name: "rating above 5", req: binary("x", map[string]string{"Ce-Type": contract.TypeRated}, `{"user_id":"u1","item_id":"i1","rating":6}`), wantStatus: 400, wantCode: "invalid_rating", wantField: "data.rating"},
		{name: "rating missing", req: binary("x", map[string]string{"Ce-Type": contract.TypeRated}, okData), wantStatus: 400, wantCode: "invalid_rating", wantField: "data.rating"},
		{name: "rating on a like", req: binary("x", nil, `{"user_id":"u1","item_id":"i1","rating":3}`), wantStatus: 400, wantCode: "invalid_rating", wantField: "data.rating"},
		{name: "age out of range", req: binary("x", nil, `{"user_id":"u1","item_id":"i1","user":{"age":-1}}`), wantStatus: 400, wantCode: "invalid_field", wantField: "data.user.age"},
		{name: "data not JSON", req: binary("x", nil, `hello`), wantStatus: 400, wantCode: "data_not_json", wantField: "data"},
		{name: "data not an object", req: binary("x", nil, `[1]`), wantStatus: 400, wantCode: "data_not_json", wantField: "data"},
		{name: "data of another media type", req: binary("x", map[string]string{"Content-Type": "text/plain"}, okData), wantStatus: 400, wantCode: "data_not_json", wantField: "datacontenttype"},
		{name: "no data", req: binary("x", nil, ``), wantStatus: 400, wantCode: "missing_field", wantField: "data"},
		{name: "unsupported specversion", req: binary("x", map[string]string{"Ce-Specversion": "0.2"}, okData), wantStatus: 400, wantCode: "invalid_field", wantField: "specversion"},
		{name: "old specversion", req: binary("x", map[string]string{"Ce-Specversion": "0.3"}, okData), wantStatus: 400, wantCode: "invalid_field", wantField: "specversion"},
		{name: "unreadable time", req: binary("x", map[string]string{"Ce-Time": "yesterday"}, okData), wantStatus: 400, wantCode: "invalid_field", wantField: "time"},
		{name: "binary, media type in capitals", req: binary("m1", map[string]string{"Content-Type": "Application/JSON"}, okData), wantStatus: 202, stored: []string{"m1"}},
		{name: "structured, media type in capitals", req: request{path: "/", header: map[string]string{"Content-Type": "Application/CloudEvents+JSON"}, body: ce("m2", okData)}, wantStatus: 202, stored: []string{"m2"}},
		{name: "like, media type in capitals", req: request{path: "/v1/likes", header: map[string]string{"Content-Type": "APPLICATION/json; Charset=UTF-8"}, body: okData}, wantStatus: 202, stored: []string{"(like)"}},
		{name: "binary client segment", req: binary("x", map[string]string{"Ce-Segment": "25-34.f"}, okData), wantStatus: 400, wantCode: "invalid_field", wantField: "segment"},
		{name: "structured client segment", req: structured(`{"specversion":"1.0","id":"x","source":"test","type":"` + contract.TypeLiked + `","segment":"25-34.f","data":` + okData + `}`), wantStatus: 400, wantCode: "invalid_field", wantField: "segment"},
		{name: "structured id a number", req: structured(`{"specversion":"1.0","id":5,"source":"test","type":"` + contract.TypeLiked + `","data":` + okData + `}`), wantStatus: 400, wantCode: "invalid_field", wantField: "id"},
		{name: "structured specversion 2.0", req: structured(`{"specversion":"2.0","id":"x","source":"test","type":"` + contract.TypeLiked + `","data":` + okData + `}`), wantStatus: 400, wantCode: "invalid_field", wantField: "specversion"},
		{name: "structured specversion a number", req: structured(`{"specversion":1.0,"id":"x","source":"test","type":"` + contract.TypeLiked + `","data":` + okData + `}`), wantStatus: 400, wantCode: "invalid_field", wantField: "specversion"},
		{name: "structured text/plain data", req: structured(`{"specversion":"1.0","id":"x","source":"test","type":"` + contract.TypeLiked + `","datacontenttype":"text/plain","data":` + okData + `}`), wantStatus: 400, wantCode: "data_not_json", wantField: "datacontenttype"},
		{name: "structured bad time", req: structured(`{"specversion":"1.0","id":"x","source":"test","type":"` + contract.TypeLiked + `","time":"soon","data":` + okData + `}`), wantStatus: 400, wantCode: "invalid_field", wantField: "time"},
		{name: "batch event with a bad time", req: batch("[" + ce("a8", okData) + `,{"specversion":"1.0","id":"x","source":"test","type":"` + contract.TypeLiked + `","time":"soon","data":` + okData + `}]`), wantStatus: 400, wantCode: "invalid_field", wantField: "time", wantIndex: 1.0},
		{name: "title over its limit", req: binary("x", nil, `{"user_id":"u1","item_id":"i1","title":"`+strings.Repeat("<", event.MaxTitleBytes+1)+`"}`), wantStatus: 400, wantCode: "invalid_field", wantField: "data.title"},
		{name: "like title over its limit", req: like(`{"user_id":"u1","item_id":"i1","title":"` + strings.Repeat("<", event.MaxTitleBytes+1) + `"}`), wantStatus: 400, wantCode: "invalid_field", wantField: "title"},
		{name: "like category over its limit", req: like(`{"user_id":"u1","item_id":"i1","category":"` + strings.Repeat("c", event.MaxCategoryBytes+1) + `"}`), wantStatus: 400, wantCode: "invalid_field", wantField: "category"},
		{name: "like with a rating", req: like(`{"user_id":"u1","item_id":"i1","rating":5}`), wantStatus: 400, wantCode: "invalid_rating", wantField: "rating"},
		{name: "like user_id a number", req: like(`{"user_id":1,"item_id":"i1"}`), wantStatus: 400, wantCode: "invalid_field", wantField: "user_id"},
		{name: "structured not JSON", req: structured(`{"specversion":`), wantStatus: 400, wantCode: "not_cloudevent"},
		{name: "structured blank id", req: structured(ce(" ", okData)), wantStatus: 400, wantCode: "missing_field", wantField: "id"},
		{name: "blank source", req: binary("x", map[string]string{"Ce-Source": " "}, okData), wantStatus: 400, wantCode: "missing_field", wantField: "source"},
		{name: "structured missing id", req: structured(`{"specversion":"1.0","source":"test","type":"` + contract.TypeLiked + `","data":` + okData + `}`), wantStatus: 400, wantCode: "missing_field", wantField: "id"},
		{name: "batch not an array", req: batch(ce("a3", okData)), wantStatus: 400, wantCode: "not_cloudevent"},
		{name: "batch with an invalid event", req: batch("[" + ce("a4", okData) + "," + ce("a5", `{"item_id":"i1"}`) + "]"), wantStatus: 400, wantCode: "missing_field", wantField: "data.user_id", wantIndex: 1.0},
		{name: "like missing user_id", req: like(`{"item_id":"i1"}`), wantStatus: 400, wantCode: "missing_field", wantField: "user_id"},
		{name: "like item_id over 256 bytes", req: like(`{"user_id":"u1","item_id":"` + strings.Repeat("i", 257) + `"}`), wantStatus: 400, wantCode: "invalid_field", wantField: "item_id"},
		{name: "like with a misspelt field", req: like(`{"userId":"u1","item_id":"i1"}`), wantStatus: 400, wantCode: "invalid_field", wantField: "userId"},
		{name: "like not JSON", req: like(`user=u1`), wantStatus: 400, wantCode: "malformed_body"},
		{name: "like with two values", req: like(`{"user_id":"u1","item_id":"i1"} {}`), wantStatus: 400, wantCode: "malformed_body"},
		{name: "legacy missing content_id", req: legacy(`{"user_id":"u1"}`), wantStatus: 200, wantCode: 1.0},
		{name: "legacy not JSON", req: legacy(`nope`), wantStatus: 200, wantCode: 1.0},
		{name: "legacy content_id not UTF-8", req: legacy("{\"user_id\":\"u\",\"content_id\":\"\xff\"}"), wantStatus: 200, wantCode: 1.0},
		{name: "legacy fractional id", req: legacy(`{"user_id":1.5,"content_id":"i1"}`), wantStatus: 200, wantCode: 1.0},

		{name: "body over the limit", req: binary("x", nil, `{"user_id":"u1","item_id":"i1","title":"`+strings.Repeat("t", 5000)+`"}`), wantStatus: 413, wantCode: "body_too_large"},
		{name: "like over the limit", req: like(`{"user_id":"u1","item_id":"i1","title":"` + strings.Repeat("t", 5000) + `"}`), wantStatus: 413, wantCode: "body_too_large"},
		{name: "batch over the limit", req: batch("[" + strings.Repeat(ce("a6", okData)+",", 5) + ce("a7", okData) + "]"), wantStatus: 413, wantCode: "batch_too_large"},
		{name: "legacy over the limit", req: legacy(`{"user_id":"u1","content_id":"i1","title":"` + strings.Repeat("t", 5000) + `"}`), wantStatus: 200, wantCode: 1.0},

		{name: "not a cloudevent", req: request{path: "/", header: map[string]string{"Content-Type": "text/plain"}, body: "hi"}, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "unknown cloudevents format", req: request{path: "/", header: map[string]string{"Content-Type": "application/cloudevents+xml"}, body: "<e/>"}, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "like as a form", req: request{path: "/v1/likes", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "user_id=u1"}, wantStatus: 415, wantCode: "unsupported_media_type"},

		{name: "GET events", req: request{method: "GET", path: "/"}, wantStatus: 405, wantCode: "method_not_allowed"},
		{name: "PUT like", req: request{method: "PUT", path: "/v1/likes", body: okData}, wantStatus: 405, wantCode: "method_not_allowed"},
		{name: "GET legacy", req: request{method: "GET", path: "/recommendation/likes"}, wantStatus: 405, wantCode: 1.0},
	}
	var stored []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.do(t, tt.req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d %v, want %d", resp.StatusCode, body, tt.wantStatus)
			}
			legacyRoute := tt.req.path == "/recommendation/likes"
			switch {
			case legacyRoute:
				if body["code"] != tt.wantCode || body["msg"] == "" {
					t.Errorf("legacy body %v, want code %v and a message", body, tt.wantCode)
				}
			case resp.StatusCode >= 400:
				if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
					t.Errorf("content type %q, want %s", ct, problem.ContentType)
				}
				if body["code"] != tt.wantCode || body["type"] != problem.TypePrefix+fmt.Sprint(tt.wantCode) || body["status"] != float64(tt.wantStatus) {
					t.Errorf("problem %v, want code %v", body, tt.wantCode)
				}
				if got, _ := body["field"].(string); got != tt.wantField {
					t.Errorf("problem names field %q, want %q (%v)", got, tt.wantField, body["detail"])
				}
				if body["index"] != tt.wantIndex {
					t.Errorf("problem index %v, want %v", body["index"], tt.wantIndex)
				}
				if body["detail"] == "" || body["instance"] != tt.req.path {
					t.Errorf("problem %v lacks a detail or the instance", body)
				}
			default:
				if got := body["accepted"]; got != float64(len(tt.stored)) {
					t.Errorf("accepted %v, want %d", got, len(tt.stored))
				}
			}
			if resp.StatusCode == 405 && resp.Header.Get("Allow") != "POST" {
				t.Errorf("Allow %q, want POST", resp.Header.Get("Allow"))
			}
			for _, id := range tt.stored {
				if id == "(like)" {
					id = "made from a like"
				}
				stored = append(stored, id)
			}
		})
	}

	// Only accepted events reached Kafka: count them, since likes get fresh ids.
	records := kafkatest.Records(t, s.kafka, raw)
	var got []string
	for _, r := range records {
		id := kafkatest.Header(r, "ce_id")
		if kafkatest.Header(r, "ce_source") == config.DefaultIngest().Source {
			id = "made from a like"
		}
		got = append(got, id)
		if subject := kafkatest.Header(r, "ce_subject"); string(r.Key) != subject || subject == "" {
			t.Errorf("record %s has key %q and subject %q, want both the item id", id, r.Key, subject)
		}
	}
	slices.Sort(got)
	slices.Sort(stored)
	if !slices.Equal(got, stored) {
		t.Errorf("raw topic holds %v, want exactly the accepted %v", got, stored)
	}
}

func TestIngestRequiresTheConfiguredToken(t *testing.T) {
	s := newServer(t, func(c *config.Ingest) { c.AuthToken = "s3cret" })
	tests := []struct {
		name          string
		authorization string
		req           request
		wantStatus    int
	}{
		{name: "no token", req: binary("t1", nil, okData), wantStatus: 401},
		{name: "wrong token", authorization: "Bearer guess", req: binary("t2", nil, okData), wantStatus: 401},
		{name: "other scheme", authorization: "Basic s3cret", req: binary("t3", nil, okData), wantStatus: 401},
		{name: "legacy without token", req: legacy(`{"user_id":"u","content_id":"i"}`), wantStatus: 401},
		{name: "right token", authorization: "Bearer s3cret", req: binary("t4", nil, okData), wantStatus: 202},
		{name: "scheme in lower case", authorization: "bearer s3cret", req: like(okData), wantStatus: 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.authorization != "" {
				tt.req.header["Authorization"] = tt.authorization
			}
			resp, body := s.do(t, tt.req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d %v, want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if n := len(kafkatest.Records(t, s.kafka, raw)); n != 2 {
		t.Errorf("raw topic holds %d events, want the 2 sent with the token", n)
	}
}

func TestIngestWhenKafkaDoesNotStoreTheEvents(t *testing.T) {
	tests := []struct {
		name       string
		err        *kerr.Error
		req        request
		wantStatus int
		wantCode   any
	}{
		{name: "unavailable", err: kerr.NotEnoughReplicas, req: binary("k1", nil, okData), wantStatus: 503, wantCode: "unavailable"},
		{name: "unavailable batch", err: kerr.NotEnoughReplicas, req: batch("[" + ce("k2", okData) + "," + ce("k3", okData) + "]"), wantStatus: 503, wantCode: "unavailable"},
		{name: "unavailable legacy", err: kerr.NotEnoughReplicas, req: legacy(`{"user_id":"u","content_id":"i"}`), wantStatus: 503, wantCode: 2.0},
		{name: "record too large for kafka", err: kerr.MessageTooLarge, req: binary("k4", nil, okData), wantStatus: 413, wantCode: "record_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, func(c *config.Ingest) { c.ProduceTimeout = 300 * time.Millisecond })
			fault := s.kafka.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: tt.err, Count: -1})
			resp, body := s.do(t, tt.req)
			fault.Remove()
			if resp.StatusCode != tt.wantStatus || body["code"] != tt.wantCode {
				t.Fatalf("answer %d %v, want %d with code %v", resp.StatusCode, body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus == 503 && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}

func TestIngestMetrics(t *testing.T) {
	s := newServer(t, nil)
	s.do(t, binary("m1", nil, okData))
	s.do(t, batch("["+ce("m2", okData)+","+ce("m3", okData)+"]"))
	s.do(t, binary("m4", nil, `{"item_id":"i1"}`))
	s.do(t, request{method: "GET", path: "/"})

	count := func(name string, labels ...string) float64 {
		t.Helper()
		families, err := s.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				if f.GetName() != name {
					continue
				}
				var values []string
				for _, l := range m.GetLabel() {
					values = append(values, l.GetValue())
				}
				if slices.Equal(values, labels) {
					return m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
		return 0
	}
	checks := []struct {
		name   string
		got    float64
		expect float64
	}{
		{"accepted events", count("recoflow_ingest_events_accepted_total"), 3},
		{"rejected missing_field", count("recoflow_ingest_events_rejected_total", "missing_field"), 1},
		{"202 on events", count("recoflow_ingest_requests_total", "202", "events"), 2},
		{"400 on events", count("recoflow_ingest_requests_total", "400", "events"), 1},
		{"405 on events", count("recoflow_ingest_requests_total", "405", "events"), 1},
		{"produce latency samples", count("recoflow_ingest_produce_seconds"), 2},
	}
	for _, c := range checks {
		if c.got != c.expect {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.expect)
		}
	}
	if n, err := testutil.GatherAndCount(s.reg, "recoflow_ingest_events_rejected_total"); err != nil || n < len(event.Reasons) {
		t.Errorf("rejected metric has %d series (%v), want one per reason at least", n, err)
	}
}
