package hotness

import (
	"strings"
	"testing"
)

func TestArenaRoundTrips(t *testing.T) {
	var a arena
	ids := []string{"", "a", "item-123456", strings.Repeat("x", inPlace), strings.Repeat("y", inPlace+1), "urn:recoflow:item:00000042"}
	// Fill most of a page with long ids so that later ones start new pages, and store one id
	// longer than a page.
	for k := range 40_000 {
		ids = append(ids, strings.Repeat("z", k%97)+"-"+strings.Repeat("w", 20))
	}
	ids = append(ids, strings.Repeat("huge", 1<<arenaPageBits), "after-the-huge-one-0123456789")
	refs := make([]idRef, len(ids))
	for k, id := range ids {
		refs[k] = a.ref(id)
	}
	for k, id := range ids {
		if got := string(a.bytes(&refs[k])); got != id {
			t.Fatalf("id %d: got %d bytes %.20q..., want %d bytes %.20q...", k, len(got), got, len(id), id)
		}
		if inPlaceWanted := len(id) <= inPlace; (refs[k].len != inArena) != inPlaceWanted {
			t.Errorf("id %q kept in place = %v, want %v", id, refs[k].len != inArena, inPlaceWanted)
		}
	}
	if len(a.pages) < 3 {
		t.Errorf("the arena has %d pages; the test meant to fill several", len(a.pages))
	}
}
