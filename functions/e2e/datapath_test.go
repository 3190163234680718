package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/ingest"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity"
)

// The tests in this file follow the data path under hostile input and bad days: every event
// ingest accepts is counted exactly as often as it happened, and everything refused is refused
// with a reason that names the field.

// dlqReasons returns the dead-letter reason and field-naming message of each dead-lettered record,
// by its ce_id.
func (p *pipeline) dlqReasons(t *testing.T) map[string]event.Reason {
	t.Helper()
	reasons := map[string]event.Reason{}
	for _, r := range kafkatest.Records(t, p.kafka, p.common.Topics.DeadLetter) {
		reasons[kafkatest.Header(r, "ce_id")] = event.Reason(kafkatest.Header(r, contract.HeaderDLQReason))
	}
	return reasons
}

// cleanUsers returns data.user_id of every event on the clean topic, sorted.
func (p *pipeline) cleanUsers(t *testing.T) []string {
	t.Helper()
	var users []string
	for _, r := range kafkatest.Records(t, p.kafka, p.common.Topics.Clean) {
		users = append(users, payloadUser(r))
	}
	slices.Sort(users)
	return users
}

// TestIdsThatJoinToTheSameBytesAreDifferentEvents: ids may hold NUL, so joining fields with NUL
// would make two different events one de-duplication key and drop the second.
func TestIdsThatJoinToTheSameBytesAreDifferentEvents(t *testing.T) {
	p := startPipeline(t, nil)
	bodies := []string{
		`{"user_id":"a\u0000b","item_id":"c"}`,
		`{"user_id":"a","item_id":"b\u0000c"}`,
	}
	for i, body := range bodies {
		if status, answer, _, err := p.post("/", binaryHeaders("nul-"+strconv.Itoa(i)), body); err != nil || status != http.StatusAccepted {
			t.Fatalf("post %d: %d %v %v", i, status, answer, err)
		}
	}
	p.settled(t)
	if got, want := p.cleanUsers(t), []string{"a", "a\x00b"}; !slices.Equal(got, want) {
		t.Errorf("clean topic holds the events of %q, want %q", got, want)
	}
}

// TestTogglesAreNotDuplicates: like, unlike, like within the window is three changes of state;
// only a repeat of the latest state is dropped.
func TestTogglesAreNotDuplicates(t *testing.T) {
	p := startPipeline(t, nil)
	now := time.Now()
	steps := []struct {
		id, eventType string
	}{
		{"t-1", contract.TypeLiked}, {"t-2", contract.TypeUnliked}, {"t-3", contract.TypeLiked},
		{"t-4", contract.TypeLiked}, // a repeat of the latest state: dropped
		{"t-5", contract.TypeUnliked},
	}
	for i, s := range steps {
		body := structuredEvent(s.id, s.eventType, now.Add(time.Duration(i)*time.Second), interaction("u-toggle", "i-toggle"))
		if status, answer, _, err := p.post("/", cloudEventsJSON, body); err != nil || status != http.StatusAccepted {
			t.Fatalf("%s: %d %v %v", s.id, status, answer, err)
		}
		p.settled(t) // one at a time, in order, as a user clicks
	}
	ids := p.cleanIDs(t)
	for _, want := range []string{"t-1", "t-2", "t-3", "t-5"} {
		if ids[want] != 1 {
			t.Errorf("%s is on the clean topic %d times, want once (clean topic: %v)", want, ids[want], ids)
		}
	}
	if ids["t-4"] != 0 {
		t.Errorf("t-4 repeats the latest like but reached the clean topic")
	}
}

// TestDerivedAttributesComeOnlyFromRecoflow: a segment sent by a client, in any mode or straight
// to the raw topic, never reaches the clean topic.
func TestDerivedAttributesComeOnlyFromRecoflow(t *testing.T) {
	p := startPipeline(t, nil)
	binary := binaryHeaders("seg-1")
	binary["Ce-Segment"] = "25-34.f"
	posts := []struct {
		name, path string
		header     map[string]string
		body       string
	}{
		{"binary", "/", binary, interaction("u-seg", "i1")},
		{"structured", "/", cloudEventsJSON, `{"specversion":"1.0","id":"seg-2","source":"e2e","type":"` + contract.TypeLiked + `","segment":"25-34.f","data":` + interaction("u-seg", "i1") + `}`},
		{"batch", "/", batchJSON, `[{"specversion":"1.0","id":"seg-3","source":"e2e","type":"` + contract.TypeLiked + `","segment":"25-34.f","data":` + interaction("u-seg", "i1") + `}]`},
	}
	for _, post := range posts {
		status, answer, _, err := p.post(post.path, post.header, post.body)
		if err != nil || status != http.StatusBadRequest || answer["field"] != event.ExtensionSegment {
			t.Errorf("%s with a client segment: %d %v %v, want 400 naming the field segment", post.name, status, answer, err)
		}
	}
	p.produceRaw(t, rawRecord(rawHeaders("seg-raw", map[string]string{"ce_segment": "65+.m"}), interaction("u-seg-raw", "i1")))
	p.settled(t)
	if users := p.cleanUsers(t); len(users) != 0 {
		t.Errorf("clean topic holds the events of %v, want none", users)
	}
	if got := p.dlqReasons(t)["seg-raw"]; got != event.ReasonInvalidField {
		t.Errorf("a raw record with a segment is dead-lettered with %q, want %s", got, event.ReasonInvalidField)
	}
}

// TestIngestAndCleanApplyOneContract: what ingest refuses, clean refuses when it is written
// straight to the raw topic, with the same reason.
func TestIngestAndCleanApplyOneContract(t *testing.T) {
	p := startPipeline(t, nil)
	cases := []struct {
		id      string
		headers map[string]string // differences from a valid binary event, as HTTP headers
		reason  event.Reason
	}{
		{"spec-03", map[string]string{"specversion": "0.3"}, event.ReasonInvalidField},
		{"spec-2", map[string]string{"specversion": "2.0"}, event.ReasonInvalidField},
		{"bad-type", map[string]string{"type": "com.example.poke"}, event.ReasonUnknownType},
		{"long-source", map[string]string{"source": "urn:" + strings.Repeat("s", event.MaxAttributeBytes)}, event.ReasonInvalidField},
	}
	for _, c := range cases {
		header, rawChange := binaryHeaders(c.id), map[string]string{}
		for k, v := range c.headers {
			header["Ce-"+strings.ToUpper(k[:1])+k[1:]] = v
			rawChange["ce_"+k] = v
		}
		status, answer, _, err := p.post("/", header, interaction("u", "i1"))
		if err != nil || status != http.StatusBadRequest || answer["code"] != string(c.reason) {
			t.Errorf("ingest answers %s with %d %v %v, want 400 %s", c.id, status, answer, err, c.reason)
		}
		p.produceRaw(t, rawRecord(rawHeaders(c.id, rawChange), interaction("u", "i1")))
	}
	p.settled(t)
	reasons := p.dlqReasons(t)
	for _, c := range cases {
		if reasons[c.id] != c.reason {
			t.Errorf("clean dead-letters %s with %q, want %s", c.id, reasons[c.id], c.reason)
		}
	}
	if users := p.cleanUsers(t); len(users) != 0 {
		t.Errorf("clean forwarded events ingest refuses: %v", users)
	}
}

// TestEveryRefusalForOneFieldNamesIt posts the refusals the black-box run found without a field.
func TestEveryRefusalForOneFieldNamesIt(t *testing.T) {
	p := startPipeline(t, nil)
	structured := func(members string) string {
		return `{"source":"e2e","type":"` + contract.TypeLiked + `",` + members + `,"data":` + interaction("u", "i1") + `}`
	}
	badTime := binaryHeaders("f-1")
	badTime["Ce-Time"] = "yesterday"
	cases := []struct {
		name, field string
		header      map[string]string
		body        string
	}{
		{"a bad ce-time", "time", badTime, interaction("u", "i1")},
		{"a structured id that is a number", "id", cloudEventsJSON, structured(`"specversion":"1.0","id":7`)},
		{"specversion 2.0", "specversion", cloudEventsJSON, structured(`"specversion":"2.0","id":"f-2"`)},
		{"specversion 1.0 as a number", "specversion", cloudEventsJSON, structured(`"specversion":1.0,"id":"f-3"`)},
		{"datacontenttype text/plain", "datacontenttype", cloudEventsJSON, structured(`"specversion":"1.0","id":"f-4","datacontenttype":"text/plain"`)},
		{"a title over its limit", "data.title", binaryHeaders("f-5"), `{"user_id":"u","item_id":"i1","title":"` + strings.Repeat("<", event.MaxTitleBytes+1) + `"}`},
	}
	for _, c := range cases {
		status, answer, _, err := p.post("/", c.header, c.body)
		if err != nil || status != http.StatusBadRequest || answer["field"] != c.field {
			t.Errorf("%s: %d %v %v, want 400 naming %s", c.name, status, answer, err, c.field)
		}
	}
}

// TestMediaTypesAreCaseInsensitive: every content type ingest reads is matched in any case.
func TestMediaTypesAreCaseInsensitive(t *testing.T) {
	p := startPipeline(t, nil)
	binary := binaryHeaders("m-1")
	binary["Content-Type"] = "Application/JSON"
	now := time.Now()
	posts := []struct {
		path   string
		header map[string]string
		body   string
	}{
		{"/", binary, interaction("u-m1", "i1")},
		{"/", map[string]string{"Content-Type": "Application/CloudEvents+JSON"}, structuredEvent("m-2", contract.TypeLiked, now, interaction("u-m2", "i1"))},
		{"/", map[string]string{"Content-Type": "APPLICATION/CLOUDEVENTS-BATCH+JSON"}, "[" + structuredEvent("m-3", contract.TypeLiked, now, interaction("u-m3", "i1")) + "]"},
		{"/v1/likes", map[string]string{"Content-Type": "Application/Json; Charset=UTF-8"}, interaction("u-m4", "i1")},
	}
	for _, post := range posts {
		if status, answer, _, err := p.post(post.path, post.header, post.body); err != nil || status != http.StatusAccepted {
			t.Errorf("%s %v: %d %v %v, want 202", post.path, post.header, status, answer, err)
		}
	}
	p.settled(t)
	if got, want := p.cleanUsers(t), []string{"u-m1", "u-m2", "u-m3", "u-m4"}; !slices.Equal(got, want) {
		t.Errorf("clean topic holds the events of %v, want %v", got, want)
	}
}

// TestNothingAcceptedOutgrowsTheCleanTopic posts events at every size limit, in the text that
// JSON escaping expands most, and checks that clean produced each one within the clean topic's
// max.message.bytes as the broker reports it.
func TestNothingAcceptedOutgrowsTheCleanTopic(t *testing.T) {
	p := startPipeline(t, func(c *config.Ingest) { c.MaxBodyBytes = 4 << 20 })
	limit := maxMessageBytes(t, p, p.common.Topics.Clean)
	fill := func(s string, n int) string { return strings.Repeat(s, n/len(s)) }
	for i, text := range []string{"<", "&", "\u2028", "\x01"} {
		quoted, _ := json.Marshal(fill(text, event.MaxTitleBytes))
		category, _ := json.Marshal(fill(text, event.MaxCategoryBytes))
		gender, _ := json.Marshal(fill(text, event.MaxGenderBytes))
		user, _ := json.Marshal("u" + fill(text, event.MaxIDBytes-1)) // not blank once trimmed
		item := fill("i", event.MaxIDBytes-3) + strconv.Itoa(100+i)
		body := fmt.Sprintf(`{"user_id":%s,"item_id":%q,"title":%s,"category":%s,"user":{"age":30,"gender":%s}}`, user, item, quoted, category, gender)
		header := binaryHeaders(fill("e", event.MaxIDBytes-1) + strconv.Itoa(i))
		header["Ce-Source"] = "urn:" + fill("s", event.MaxAttributeBytes-4)
		header["Ce-Dataschema"] = "urn:" + fill("d", event.MaxAttributeBytes-4)
		for x := range event.MaxExtensions {
			header["Ce-X"+strconv.Itoa(x)] = fill("x", event.MaxAttributeBytes)
		}
		if status, answer, _, err := p.post("/", header, body); err != nil || status != http.StatusAccepted {
			t.Fatalf("event %d at every limit: %d %v %v, want 202", i, status, answer, err)
		}
	}
	p.settled(t)
	records := kafkatest.Records(t, p.kafka, p.common.Topics.Clean)
	if len(records) != 4 {
		t.Fatalf("clean topic holds %d records, want the 4 accepted (dead-letter topic: %v)", len(records), p.dlqReasons(t))
	}
	for _, r := range records {
		size := 61 + len(r.Key) + len(r.Value) + 21 // batch header, key, value, record overhead
		for _, h := range r.Headers {
			size += len(h.Key) + len(h.Value) + 10
		}
		if size > limit {
			t.Errorf("clean record of %d bytes, over the topic's max.message.bytes %d", size, limit)
		}
		if strings.Contains(string(r.Value), `\u003c`) || strings.Contains(string(r.Value), `\u0026`) {
			t.Errorf("clean re-encoded the data with HTML escaping: %.80s", r.Value)
		}
	}
}

// maxMessageBytes asks the broker for a topic's max.message.bytes.
func maxMessageBytes(t *testing.T, p *pipeline, topic string) int {
	t.Helper()
	admin, err := sarama.NewClusterAdminFromClient(kafkatest.Client(t, p.kafka))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"max.message.bytes"}})
	if err != nil || len(entries) != 1 {
		t.Fatalf("describe %s: %v %v", topic, entries, err)
	}
	n, err := strconv.Atoi(entries[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWhatIngestAcceptsDoesNotDependOnCompression posts an event whose record is larger than the
// raw topic takes, in data that compresses to almost nothing, and a slightly smaller one: ingest
// compresses its batches, yet refuses the first as too large, as the broker does an uncompressed
// record, and stores the second.
func TestWhatIngestAcceptsDoesNotDependOnCompression(t *testing.T) {
	p := startPipeline(t, func(c *config.Ingest) { c.MaxBodyBytes = 4 << 20 })
	limit := maxMessageBytes(t, p, p.common.Topics.Raw)
	for _, tt := range []struct {
		name   string
		pad    int
		status int
		code   string
	}{
		{name: "over the topic's limit", pad: limit, status: http.StatusRequestEntityTooLarge, code: "record_too_large"},
		{name: "under it", pad: limit - 4096, status: http.StatusAccepted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"user_id":"u1","item_id":"i1","pad":"%s"}`, strings.Repeat("a", tt.pad))
			status, answer, _, err := p.post("/", binaryHeaders("big-"+strconv.Itoa(tt.pad)), body)
			if err != nil || status != tt.status || (tt.code != "" && answer["code"] != tt.code) {
				t.Fatalf("answered %d %v %v, want %d %s", status, answer, err, tt.status, tt.code)
			}
		})
	}
}

// TestEveryAcceptedItemIsReadable posts likes of items whose ids need escaping in a URL path and
// reads each back from popularity's /v1/items/{id}.
func TestEveryAcceptedItemIsReadable(t *testing.T) {
	p := startPipeline(t, nil)
	_, base := p.startPopularity(t)

	ids := []string{"/", "//", "a/b", "/a", "a/", "%", "%2F", "?", "#", "a b", "é", "日本", ".", "..", "a/../b", "\\", "a\x00b", "+&="}
	for i, id := range ids {
		body, _ := json.Marshal(map[string]string{"user_id": "u-" + strconv.Itoa(i), "item_id": id})
		if status, answer, _, err := p.post("/v1/likes", plainJSON, string(body)); err != nil || status != http.StatusAccepted {
			t.Fatalf("like of item %q: %d %v %v", id, status, answer, err)
		}
	}
	for _, id := range ids {
		// One escaped path segment; dots escaped too, so that "." and ".." stay ids.
		path := base + "/v1/items/" + strings.ReplaceAll(url.PathEscape(id), ".", "%2E")
		kafkatest.Eventually(t, waitFor, func() error {
			resp, err := p.client.Get(path)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var item popularity.ItemAnswer
			if err := json.NewDecoder(resp.Body).Decode(&item); err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %d %v", path, resp.StatusCode, err)
			}
			if item.ItemID != id || item.Counts[contract.ActionLiked] != 1 {
				return fmt.Errorf("GET %s: item %q with counts %v, want %q liked once", path, item.ItemID, item.Counts, id)
			}
			return nil
		})
	}
}

// TestReadinessFollowsAFrozenBroker freezes the broker with its connections open, as a stopped
// process does: ingest answers 503 and its /readyz fails, and both recover by themselves once
// the broker answers again.
func TestReadinessFollowsAFrozenBroker(t *testing.T) {
	p := startPipeline(t, func(c *config.Ingest) { c.ProduceTimeout = time.Second })
	p.stopCleans() // only ingest and the broker

	thaw := make(chan struct{})
	thawed := false
	unfreeze := func() {
		if !thawed {
			thawed = true
			close(thaw)
		}
	}
	t.Cleanup(unfreeze)
	p.kafka.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		p.kafka.KeepControl()
		p.kafka.SleepControl(func() { <-thaw })
		return nil, nil, false
	})

	status, answer, _, err := p.post("/", binaryHeaders("frozen-1"), interaction("u", "i1"))
	if err != nil || status != http.StatusServiceUnavailable {
		t.Fatalf("post to a frozen broker: %d %v %v, want 503", status, answer, err)
	}
	kafkatest.Eventually(t, 10*time.Second, func() error { return popStatus(p.client, p.ingestURL+"/readyz", http.StatusServiceUnavailable) })

	unfreeze()
	kafkatest.Eventually(t, waitFor, func() error { return popStatus(p.client, p.ingestURL+"/readyz", http.StatusOK) })
	if status, answer, _, err := p.post("/", binaryHeaders("thawed-1"), interaction("u", "i2")); err != nil || status != http.StatusAccepted {
		t.Fatalf("post after the broker thawed: %d %v %v, want 202", status, answer, err)
	}
}

// TestASlowBodyDoesNotHoldTheServer sends a body a few bytes at a time: ingest gives up on it
// within its body timeout and closes the connection.
func TestASlowBodyDoesNotHoldTheServer(t *testing.T) {
	t.Parallel() // it spends its time waiting for ingest's body timeout
	p := startPipeline(t, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.ingestURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := interaction("u-slow", "i1")
	head := "POST /v1/likes HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	answered := make(chan *http.Response, 1)
	go func() {
		resp, _ := http.ReadResponse(bufio.NewReader(conn), nil)
		answered <- resp
	}()
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	deadline := time.After(ingest.BodyTimeout + 10*time.Second)
	for sent := 0; ; {
		select {
		case resp := <-answered:
			if resp == nil || resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("answer to a slow body: %v, want 408", resp)
			}
			if took := time.Since(start); took > ingest.BodyTimeout+5*time.Second {
				t.Errorf("the slow body held the request for %s, want about %s", took, ingest.BodyTimeout)
			}
			return
		case <-deadline:
			t.Fatalf("ingest still reads a slow body after %s", time.Since(start))
		case <-ticker.C:
			if sent < len(body)-1 { // never the last byte
				_, _ = conn.Write([]byte{body[sent]})
				sent++
			}
		}
	}
}
