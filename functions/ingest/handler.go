// Package ingest is the edge of the pipeline: an HTTP API that takes user interactions as
// CloudEvents (binary, structured and batch content modes), as plain JSON likes and in the body
// of the older Flask recommendation service, checks them against the event contract and stores
// them on the raw Kafka topic. A request succeeds only once Kafka has acknowledged every event
// in it; bad input never reaches Kafka and gets an RFC 9457 problem naming the field at fault.
package ingest

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/protocol"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/problem"
)

// Routes of the ingest API.
const (
	// PathEvents takes CloudEvents in binary, structured or batch content mode.
	PathEvents = "/"
	// PathLikes takes a plain JSON Like.
	PathLikes = "/v1/likes"
	// PathLegacyLikes takes a LegacyLike and answers like the Flask service did.
	PathLegacyLikes = "/recommendation/likes"
)

// retryAfter is the Retry-After value, in seconds, of a 503 answer.
const retryAfter = "1"

// BodyTimeout bounds how long a request's body may take to arrive, from the moment its headers
// are read; a slower request gets 408 and its connection is closed.
const BodyTimeout = 10 * time.Second

// Sink stores events, in their binary form, on the raw topic. Ingest reports success only for a
// result that is an ACK (cloudevents.IsACK).
type Sink interface {
	SendBinary(ctx context.Context, events []event.Binary) protocol.Result
}

// Handler serves the ingest API. It is an http.Handler for the three routes; serve.Function adds
// /healthz, /readyz and /metrics beside it.
type Handler struct {
	cfg     config.Ingest
	sink    Sink
	log     *slog.Logger
	metrics *metrics
	mux     *http.ServeMux
	now     func() time.Time
	newID   func() string
}

// NewHandler returns the ingest API over sink, with the limits, source and token of cfg. Its
// metrics are registered on reg.
func NewHandler(cfg config.Ingest, sink Sink, reg prometheus.Registerer, log *slog.Logger) *Handler {
	h := &Handler{
		cfg:     cfg,
		sink:    sink,
		log:     log,
		metrics: newMetrics(reg),
		mux:     http.NewServeMux(),
		now:     time.Now,
		newID:   uuid.NewString,
	}
	h.mux.Handle(PathEvents+"{$}", h.endpoint("events", h.decodeEvents, writeProblem, acceptedEvents))
	h.mux.Handle(PathLikes, h.endpoint("likes", h.decodeLike, writeProblem, acceptedLike))
	h.mux.Handle(PathLegacyLikes, h.endpoint("legacy_likes", h.decodeLegacyLike, writeLegacyFailure, acceptedLegacy))
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// decoder reads the events of one route's request, whose body is already read.
type decoder func(r *http.Request, body []byte) ([]event.Binary, *Error)

// endpoint returns the handler of one route: the checks every route shares (method, token, body
// size), the route's decoding, the write to Kafka and the route's way of answering.
func (h *Handler) endpoint(route string, decode decoder, fail func(http.ResponseWriter, *http.Request, *Error), accept func(http.ResponseWriter, []event.Binary)) http.Handler {
	requests := h.metrics.requests.MustCurryWith(prometheus.Labels{"route": route})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() { requests.WithLabelValues(strconv.Itoa(sw.status)).Inc() }()

		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			fail(sw, r, refuse(CodeMethodNotAllowed, "%s is not allowed; use POST", r.Method))
			return
		}
		if !h.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="recoflow"`)
			fail(sw, r, refuse(CodeUnauthorized, "a valid bearer token is required"))
			return
		}
		body, rej := h.readBody(w, r)
		if rej == nil {
			var events []event.Binary
			if events, rej = decode(r, body); rej == nil {
				rej = h.store(r.Context(), events)
			}
			if rej == nil {
				h.metrics.accepted.Add(float64(len(events)))
				accept(sw, events)
				return
			}
			if rej.Code == CodeUnavailable {
				w.Header().Set("Retry-After", retryAfter)
			}
		}
		h.metrics.rejected.WithLabelValues(string(rej.Code)).Add(float64(max(rej.Events, 1)))
		fail(sw, r, rej)
	})
}

// authorized reports whether r carries the configured bearer token, or none is configured.
func (h *Handler) authorized(r *http.Request) bool {
	if h.cfg.AuthToken == "" {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(h.cfg.AuthToken)) == 1
}

// readBody reads the whole request body, refusing one over the configured limit or one that
// takes longer than BodyTimeout to arrive.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Error) {
	tooLarge := refuse(CodeBodyTooLarge, "the body is larger than %d bytes", h.cfg.MaxBodyBytes)
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return nil, tooLarge
	}
	// A slow client must not hold the connection: the whole body has to arrive in time. The
	// deadline cannot be set on every kind of connection (HTTP/2 streams can); the server's own
	// read timeout still bounds those.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(BodyTimeout))
	// A body of known length is read into one buffer of its size, without growing copies.
	buf := bytes.NewBuffer(make([]byte, 0, max(r.ContentLength, 0)+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	body := buf.Bytes()
	var maxErr *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &maxErr):
		return nil, tooLarge
	case errors.As(err, &netErr) && netErr.Timeout():
		w.Header().Set("Connection", "close")
		return nil, refuse(CodeTimeout, "the body did not arrive within %s", BodyTimeout)
	case err != nil:
		return nil, refuse(CodeMalformedBody, "reading the body: %v", err)
	}
	return body, nil
}

// store writes events to Kafka and waits, at most the produce timeout, for the acknowledgement.
func (h *Handler) store(ctx context.Context, events []event.Binary) *Error {
	if len(events) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.ProduceTimeout)
	defer cancel()
	start := time.Now()
	result := h.sink.SendBinary(ctx, events)
	h.metrics.produce.Observe(time.Since(start).Seconds())
	if cloudevents.IsACK(result) {
		return nil
	}
	var rej *Error
	if errors.Is(result, sarama.ErrMessageSizeTooLarge) {
		rej = refuse(CodeRecordTooLarge, "an event is larger than Kafka accepts")
	} else {
		h.log.WarnContext(ctx, "kafka did not acknowledge events", "events", len(events), "error", result)
		rej = refuse(CodeUnavailable, "the events could not be stored in time; retry later")
	}
	rej.Events = len(events)
	return rej
}

// decodeEvents reads CloudEvents in binary, structured or batch content mode.
func (h *Handler) decodeEvents(r *http.Request, body []byte) ([]event.Binary, *Error) {
	return decodeBinary(r.Header, body, h.cfg.MaxBatchEvents)
}

// decodeLike reads a plain JSON like and makes its liked event.
func (h *Handler) decodeLike(r *http.Request, body []byte) ([]event.Binary, *Error) {
	if ct := r.Header.Get("Content-Type"); mediaType(ct) != mediaJSON {
		return nil, refuse(CodeUnsupportedMedia, "content type %q is not %s", ct, mediaJSON)
	}
	in, rej := decodeLike(body)
	if rej == nil {
		return h.like(in, likeFields)
	}
	rej.Field = likeFields(rej.Field)
	return nil, rej
}

// decodeLegacyLike reads the Flask service's like body and makes its liked event. Like that
// service it takes any content type that holds JSON.
func (h *Handler) decodeLegacyLike(_ *http.Request, body []byte) ([]event.Binary, *Error) {
	in, rej := decodeLegacyLike(body)
	if rej != nil {
		return nil, rej
	}
	return h.like(in, legacyFields)
}

// like makes the liked event of a plain like; rename names fields the way the route's body does.
func (h *Handler) like(in event.Interaction, rename func(string) string) ([]event.Binary, *Error) {
	e, rej := likeEvent(h.newID(), h.cfg.Source, h.now(), in, rename)
	if rej != nil {
		return nil, rej
	}
	return toBinary([]cloudevents.Event{e})
}

// Accepted is the answer to an accepted request on PathEvents and PathLikes.
type Accepted struct {
	// Accepted is how many events Kafka stored.
	Accepted int `json:"accepted"`
	// ID is the id of the event made from a plain like.
	ID string `json:"id,omitempty"`
}

// LegacyResponse is the answer on PathLegacyLikes, in the Flask service's shape: Code 0 on
// success, otherwise non-zero with a message.
type LegacyResponse struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// Codes of LegacyResponse.
const (
	LegacyOK          = 0 // the like is stored
	LegacyBadRequest  = 1 // the request is invalid; retrying it does not help
	LegacyUnavailable = 2 // the like could not be stored in time; retry later
)

func acceptedEvents(w http.ResponseWriter, events []event.Binary) {
	writeJSON(w, http.StatusAccepted, Accepted{Accepted: len(events)})
}

func acceptedLike(w http.ResponseWriter, events []event.Binary) {
	writeJSON(w, http.StatusAccepted, Accepted{Accepted: 1, ID: string(events[0].ID)})
}

func acceptedLegacy(w http.ResponseWriter, _ []event.Binary) {
	writeJSON(w, http.StatusOK, LegacyResponse{Code: LegacyOK, Msg: "success"})
}

// writeProblem answers a refusal as application/problem+json.
func writeProblem(w http.ResponseWriter, r *http.Request, rej *Error) {
	p := problem.New(rej.Code.Status(), string(rej.Code), rej.Detail)
	p.Instance = r.URL.Path
	p.Field = rej.Field
	if rej.Index >= 0 {
		index := rej.Index
		p.Index = &index
	}
	problem.Write(w, p)
}

// writeLegacyFailure answers a refusal the way the Flask service did: HTTP 200 with a non-zero
// code for a bad request; a refused method, a missing token and an unavailable Kafka keep their
// HTTP status, with the same body shape.
func writeLegacyFailure(w http.ResponseWriter, _ *http.Request, rej *Error) {
	switch status := rej.Code.Status(); status {
	case http.StatusServiceUnavailable:
		writeJSON(w, status, LegacyResponse{Code: LegacyUnavailable, Msg: rej.Detail})
	case http.StatusMethodNotAllowed, http.StatusUnauthorized, http.StatusRequestTimeout:
		writeJSON(w, status, LegacyResponse{Code: LegacyBadRequest, Msg: rej.Detail})
	default:
		writeJSON(w, http.StatusOK, LegacyResponse{Code: LegacyBadRequest, Msg: rej.Detail})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := event.MarshalJSON(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// statusWriter remembers the status code a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
