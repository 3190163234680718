package event

import (
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
)

// Normalise rewrites a validated event into its canonical clean form: trimmed ids, subject set to
// the item id, time in UTC (received when the event has none), lower-case category, JSON data,
// and the segment extension when the payload describes the user. The data is re-encoded from in
// without HTML escaping, so it keeps only the contract's fields and stays within their limits.
// in must be what Validate returned for e.
func Normalise(e *cloudevents.Event, in Interaction, received time.Time) error {
	in.UserID = strings.TrimSpace(in.UserID)
	in.ItemID = strings.TrimSpace(in.ItemID)
	in.Title = strings.TrimSpace(in.Title)
	in.Category = strings.ToLower(strings.TrimSpace(in.Category))
	e.SetID(strings.TrimSpace(e.ID()))
	e.SetSubject(in.ItemID)
	t := e.Time()
	if t.IsZero() {
		t = received
	}
	e.SetTime(t.UTC())
	if segment := Segment(in.User); segment != "" {
		e.SetExtension(ExtensionSegment, segment)
	}
	data, err := MarshalJSON(in)
	if err != nil {
		return err
	}
	e.SetDataContentType(cloudevents.ApplicationJSON)
	e.DataEncoded, e.DataBase64 = data, false
	return nil
}

// Segment returns the audience segment "<age band>.<gender>" of u, such as "25-34.f", or "" when u
// says nothing about the user. An unknown part reads "unknown".
func Segment(u *User) string {
	if u == nil || (u.Age == nil && strings.TrimSpace(u.Gender) == "") {
		return ""
	}
	band := "unknown"
	if u.Age != nil {
		band = AgeBand(*u.Age)
	}
	return band + "." + genderCode(u.Gender)
}

// AgeBand returns the age band an age in years falls in: "under-18", "18-24", "25-34", "35-44",
// "45-54", "55-64" or "65+".
func AgeBand(age int) string {
	switch {
	case age < 18:
		return "under-18"
	case age < 25:
		return "18-24"
	case age < 35:
		return "25-34"
	case age < 45:
		return "35-44"
	case age < 55:
		return "45-54"
	case age < 65:
		return "55-64"
	}
	return "65+"
}

func genderCode(gender string) string {
	switch g := strings.ToLower(strings.TrimSpace(gender)); g {
	case "":
		return "unknown"
	case "f", "female", "woman":
		return "f"
	case "m", "male", "man":
		return "m"
	default:
		return "x"
	}
}
