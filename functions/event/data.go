package event

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
