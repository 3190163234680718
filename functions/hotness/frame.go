package hotness

import "math"

// maxExponent is how many half-lives an interaction may lie after a Board's origin before the
// Board rebases. A contribution then weighs at most |w| * 2^maxExponent, about 1.3e154 |w|, so
// sums of any realistic number of them stay far below the float64 maximum of 1.8e308.
const maxExponent = 512

// frame is the fixed reference time frame a Board keeps its scores in: a score s in the frame
// means s * 2^(-(t - origin)/halfLife) at time t.
//
// The origin is always a whole number of half-lives after the Unix epoch. A time d after the
// origin then splits into whole half-lives q and a remainder r that does not depend on the
// origin, and 2^(d/halfLife) is computed as 2^(r/halfLife) scaled by 2^q, which is exact. Two
// frames therefore hold the same scores up to an exact power of two, and a Board restored into
// a different frame computes bit for bit what the original computes (unless a score leaves the
// range of normal float64 numbers, below 2^-1022: an item idle for about a thousand half-lives).
type frame struct {
	halfLife int64 // nanoseconds
	origin   int64 // Unix nanoseconds, a multiple of halfLife
	set      bool
}

// scale returns x * 2^(d/halfLife) for a duration d in nanoseconds.
func (f *frame) scale(x float64, d int64) float64 {
	q, r := floorDiv(d, f.halfLife)
	if r != 0 {
		x *= math.Exp2(float64(r) / float64(f.halfLife))
	}
	return math.Ldexp(x, clampExponent(q))
}

// start returns the start of the half-life period t falls in: the largest multiple of the
// half-life not after t.
func (f *frame) start(t int64) int64 {
	q, _ := floorDiv(t, f.halfLife)
	return q * f.halfLife
}

// shiftFor returns how many half-lives the origin must move forward so that a score at time t
// stays within maxExponent of it, and zero when it need not move. A frame that is not set yet
// takes its origin from the first time it sees.
func (f *frame) shiftFor(t int64) int64 {
	if !f.set {
		f.origin, f.set = f.start(t), true
		return 0
	}
	if q, _ := floorDiv(t-f.origin, f.halfLife); q <= maxExponent {
		return 0
	}
	return (f.start(t) - f.origin) / f.halfLife
}

// floorDiv returns q and r with d = q*h + r and 0 <= r < h, for h > 0.
func floorDiv(d, h int64) (q, r int64) {
	q, r = d/h, d%h
	if r < 0 {
		q--
		r += h
	}
	return q, r
}

// clampExponent converts a power of two for math.Ldexp, keeping its saturating meaning on
// platforms where int is 32 bits.
func clampExponent(q int64) int {
	const limit = 1 << 20 // far beyond any float64 exponent
	return int(max(-limit, min(limit, q)))
}
