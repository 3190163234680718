package local

import (
	"slices"
	"testing"
)

func TestSelectComponents(t *testing.T) {
	all := Components(DefaultConfig())
	tests := []struct {
		names   []string
		want    []string
		wantErr bool
	}{
		{names: nil, want: []string{"ingest", "clean", "popularity"}},
		{names: []string{"popularity", "ingest"}, want: []string{"ingest", "popularity"}},
		{names: []string{"ingest", "cleaner"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := selectComponents(all, tt.names)
		if (err != nil) != tt.wantErr {
			t.Fatalf("selectComponents(%v) error = %v, want error %v", tt.names, err, tt.wantErr)
		}
		var names []string
		for _, c := range got {
			names = append(names, c.Name)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("selectComponents(%v) = %v, want %v", tt.names, names, tt.want)
		}
	}
}
