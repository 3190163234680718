package hotness

import "hash/maphash"

// index maps item ids to their number, the position in Board.items. It is an open-addressing
// hash table with linear probing whose slots hold the upper 32 bits of the id's hash beside the
// item number, so a probe reads an item's id only when the hashes agree. At 8 bytes a slot and a
// load between 3/8 and 3/4 it costs 11 to 21 bytes per item, against about 40 for a
// map[string]uint32.
type index struct {
	seed  maphash.Seed
	slots []uint64 // 0 = empty; otherwise hash>>32<<32 | number+1
	used  int
}

// find returns the number of id, or false and the slot where id belongs.
func (x *index) find(id string, b *Board) (n uint32, slot int, ok bool) {
	if len(x.slots) == 0 {
		return 0, -1, false
	}
	h := maphash.String(x.seed, id)
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, int(i), false
		}
		if s>>32 == h>>32 && string(b.idBytes(uint32(s)-1)) == id {
			return uint32(s) - 1, int(i), true
		}
	}
}

// insert records that id has number n, given the slot find returned for it, and grows the
// table once it is three quarters full. Items 0 to n must exist.
func (x *index) insert(id string, n uint32, slot int, b *Board) {
	if slot < 0 || 4*(x.used+1) > 3*len(x.slots) {
		x.grow(n, b)
		_, slot, _ = x.find(id, b)
	}
	x.slots[slot] = maphash.String(x.seed, id)>>32<<32 | uint64(n+1)
	x.used++
}

// grow doubles the table and re-inserts items 0 to n-1.
func (x *index) grow(n uint32, b *Board) {
	x.slots = make([]uint64, max(16, 2*len(x.slots)))
	mask := uint64(len(x.slots) - 1)
	for k := range n {
		h := maphash.Bytes(x.seed, b.idBytes(k))
		i := h & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = h>>32<<32 | uint64(k+1)
	}
}
