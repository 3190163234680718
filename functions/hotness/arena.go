package hotness

import "encoding/binary"

// arenaPageBits sets the size of an arena page: 1 MiB.
const arenaPageBits = 20

// inPlace is the length of the longest id an item keeps in place rather than in the arena: ids
// like "item-123456" then cost no memory and no memory access beyond the item itself.
const inPlace = 15

// idRef is an item's id: the id itself when it is at most inPlace bytes long, or else the
// arena reference of its bytes.
type idRef struct {
	len  uint8         // length of an id in place, or inArena
	data [inPlace]byte // the id in place, or the little-endian arena reference
}

const inArena = 0xff

// arena stores the ids too long to keep in place back to back, each after its length as a
// uvarint, in pages that are never moved or freed. A reference is the page number times
// 2^arenaPageBits plus the offset in the page.
type arena struct {
	pages [][]byte
}

// ref returns the reference to id, storing it in the arena when it is too long to keep in place.
func (a *arena) ref(id string) idRef {
	var r idRef
	if len(id) <= inPlace {
		r.len = uint8(len(id))
		copy(r.data[:], id)
		return r
	}
	r.len = inArena
	binary.LittleEndian.PutUint64(r.data[:], a.add(id))
	return r
}

// bytes returns the id r refers to. The bytes alias r or the arena and must not be modified;
// they are valid only as long as r does not move.
func (a *arena) bytes(r *idRef) []byte {
	if r.len != inArena {
		return r.data[:r.len]
	}
	ref := binary.LittleEndian.Uint64(r.data[:])
	page := a.pages[ref>>arenaPageBits][ref&(1<<arenaPageBits-1):]
	n, k := binary.Uvarint(page)
	return page[k : k+int(n)]
}

// add stores id in the arena and returns its reference.
func (a *arena) add(id string) uint64 {
	need := binary.MaxVarintLen64 + len(id)
	last := len(a.pages) - 1
	if last < 0 || cap(a.pages[last])-len(a.pages[last]) < need {
		// An id longer than a page gets a page of its own; its offset is still zero.
		a.pages = append(a.pages, make([]byte, 0, max(1<<arenaPageBits, need)))
		last++
	}
	page := a.pages[last]
	ref := uint64(last)<<arenaPageBits | uint64(len(page))
	page = binary.AppendUvarint(page, uint64(len(id)))
	a.pages[last] = append(page, id...)
	return ref
}
