package event

import "github.com/recoflow/recoflow/functions/contract"

// Interaction is the JSON payload (`data`) of every interaction CloudEvent.
type Interaction struct {
	// UserID identifies who acted. Required.
	UserID string `json:"user_id"`
	// ItemID identifies the item acted on; it equals the CloudEvent subject. Required.
	ItemID string `json:"item_id"`
	// Title is the item's display title, when the client knows it.
	Title string `json:"title,omitempty"`
	// Category is the item's category; clean lower-cases it.
	Category string `json:"category,omitempty"`
	// Rating is 1 to 5 stars: required for rated events and forbidden for every other type.
	Rating *int `json:"rating,omitempty"`
	// User describes the audience the user belongs to, from which clean derives the segment.
	User *User `json:"user,omitempty"`
}

// User is the optional audience description of the acting user.
type User struct {
	// Age in years.
	Age *int `json:"age,omitempty"`
	// Gender as the client reports it, e.g. "f", "m" or "x".
	Gender string `json:"gender,omitempty"`
}

// Popularity is the JSON payload of a contract.TypePopularity event: the state of one item's hotness.
type Popularity struct {
	// ItemID is the item the record describes; it is also the record key and the event subject.
	ItemID string `json:"item_id"`
	// Category is the item's most recently seen category.
	Category string `json:"category,omitempty"`
	// Score is the time-decayed score as of ScoreTime.
	Score float64 `json:"score"`
	// ScoreTime is the reference instant Score is expressed at, in RFC 3339 UTC.
	ScoreTime string `json:"score_time"`
	// Counts is the plain number of events per action.
	Counts map[contract.Action]int64 `json:"counts"`
	// Segments holds the item's score per audience segment, each at ScoreTime.
	Segments map[string]float64 `json:"segments,omitempty"`
	// UpdatedAt is when the item last received an event, in RFC 3339 UTC.
	UpdatedAt string `json:"updated_at"`
}
