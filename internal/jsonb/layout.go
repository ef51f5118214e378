package jsonb

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
	"unsafe"
)

// An object's layout is what its keys alone decide: which members are
// written (of duplicate keys, the last), in which order (bytewise by key),
// and the start of the container, which holds no value: the header, a JEntry
// per key, a JEntry per value (to be filled in) and the keys
// (src/ser.rs:80-105). The crate keeps an object's members in a
// BTreeMap<String, Value> (src/value.rs:25), which its parser fills in text
// order with insert, so that a later duplicate key replaces an earlier one
// (src/parser.rs:384-385).
//
// Finding a layout means checking each key's UTF-8, sorting and comparing
// the keys: most of the work of writing an object of short values. Yet the
// maps of a batch repeat a few key sequences, one per kind of event, and the
// composed payload objects repeat theirs, so the Encoder remembers recent
// layouts by their key sequence (shapeCache) and, when an object's keys are
// a remembered sequence, copies its layout instead of making it anew.

// Bounds of the shape cache. A shape of more keys or key bytes is not
// remembered; a batch with more distinct shapes than maxShapes starts
// remembering afresh when it has filled the cache. A shape keeps its keys
// twice (as given, to compare, and in its container start, where repaired
// keys may not make it longer than maxShapeStart) and 4 bytes per key
// twice more (key ends, order): the cache holds at most maxShapes *
// (maxShapeKeyBytes + maxShapeStart + 8*maxShapeKeys) bytes, about 96 KiB
// (in slices whose capacity may be up to twice that), and as little as the
// shapes it has seen need.
const (
	maxShapes        = 32
	maxShapeKeys     = 64
	maxShapeKeyBytes = 1024
	maxShapeStart    = 4 + 8*maxShapeKeys + maxShapeKeyBytes

	shapeSlots    = 64 // slots of the hash index: twice maxShapes, so that probes end soon
	shapeSlotBits = 6  // log2(shapeSlots)
	guessSlots    = 256
	guessSlotBits = 8  // log2(guessSlots)
	missedHashes  = 32 // how many misses a shape seen again is remembered within
)

// shape is a remembered layout: that of objects whose keys are, in order,
// the keys of raw.
type shape struct {
	hash  uint64   // hashKeys of its keys
	pair  int      // guessSlot of its count and first key
	raw   []byte   // its keys as given (before UTF-8 repair), one after another
	ends  []uint32 // where each key ends in raw: one per key
	order []int32  // the index among the keys of each member written, in the order written
	start []byte   // the container's start: header, JEntries (of values zero), keys
}

// shapeCache holds the remembered shapes, found two ways. The guesses
// name the shapes last found of a key count and first key: an object's keys
// are compared with its guess's as they are read, and when they all match,
// that is all the looking up there is. Otherwise the keys are gathered and
// found through an open-addressed index on a hash of them all, which tells
// apart shapes that agree on the count and the first key.
type shapeCache struct {
	// guesses holds pairs of slots: a shape is guessed from either slot of
	// the pair of its guessSlot, the one found last first, so that two
	// shapes whose leads share a pair are both kept, and so are two of the
	// same lead (see other).
	guesses [guessSlots]uint8 // 1 + the index in shapes of a shape, or 0
	index   [shapeSlots]uint8 // by hashKeys: 1 + the index in shapes of a shape, or 0 for an empty slot
	shapes  [maxShapes]shape  // the first n are in use; later ones keep their memory for reuse
	n       int
	// missed holds the hashes of the last key sequences not found, the
	// latest at missed[next-1]: a shape is remembered when its keys come
	// again within that many misses, so that objects of keys never
	// repeated (ids as keys, say) do not fill the cache.
	missed [missedHashes]uint64
	next   int
}

// forgetIfFull empties a full cache, between documents: a batch that
// cycles through more shapes than the cache holds would evict each before
// its next use whatever was evicted, and starting afresh needs no
// bookkeeping. The shapes keep their memory for reuse.
func (c *shapeCache) forgetIfFull() {
	if c.n == maxShapes {
		c.index, c.guesses = [shapeSlots]uint8{}, [guessSlots]uint8{}
		c.n = 0
	}
}

// guessSlot is the first slot of the pair of guesses of objects of n keys
// whose first key is k.
func guessSlot(n int, k string) int {
	x := uint64(n) ^ uint64(len(k))<<16
	if len(k) > 0 {
		x ^= uint64(k[0])<<32 | uint64(k[len(k)-1])<<40
	}
	return int(x*0x9E3779B97F4A7C15>>(64-guessSlotBits)) &^ 1
}

// leads reports whether sh is the shape of n keys whose first key is k.
func (sh *shape) leads(n int, k string) bool {
	return len(sh.ends) == n && k == string(sh.raw[:sh.ends[0]])
}

// guess returns the shape last found of objects of n keys whose first key
// is k, or nil: the shape their other keys are compared with as they are
// read.
func (c *shapeCache) guess(n int, k string) *shape {
	g := guessSlot(n, k)
	if s := c.guesses[g]; s != 0 && c.shapes[s-1].leads(n, k) {
		return &c.shapes[s-1]
	}
	if s := c.guesses[g+1]; s != 0 && c.shapes[s-1].leads(n, k) {
		return &c.shapes[s-1]
	}
	return nil
}

// keyIs reports whether k is sh's key j, for j > 0: the check of each key
// read after the first against the shape followed (see follow).
func (sh *shape) keyIs(j int, k string) bool {
	return k == string(sh.raw[sh.ends[j-1]:sh.ends[j]])
}

// follow returns the shape an object of n keys is taken to have once its
// key j, k, is read, when that is not simply sh, the shape followed so far
// (which keyIs tells): for the first key, the guess; for a later one, the
// other shape of sh's pair that fits, or nil. The keys are compared as they
// are read, so that when they are all a shape's, it is found with no more
// work. Callers check keyIs first, inline, and call follow when j is 0 or
// keyIs is false:
//
//	if j == 0 || sh != nil && !sh.keyIs(j, k) {
//		sh = e.shapes.follow(sh, n, j, k)
//	}
func (c *shapeCache) follow(sh *shape, n, j int, k string) *shape {
	if j == 0 {
		return c.guess(n, k)
	}
	return c.other(sh, j, k)
}

// other returns the other shape of sh's pair of guesses when the keys read
// so far, sh's first j, are its first j too and its key j is k; or nil.
// Kinds of events often share their first key and count (an event name,
// say): the keys read tell which of two such shapes an object has.
func (c *shapeCache) other(sh *shape, j int, k string) *shape {
	for _, s := range c.guesses[sh.pair : sh.pair+2] {
		if s == 0 || &c.shapes[s-1] == sh {
			continue
		}
		alt := &c.shapes[s-1]
		if len(alt.ends) != len(sh.ends) || !slices.Equal(alt.ends[:j], sh.ends[:j]) {
			continue
		}
		from := sh.ends[j-1]
		if string(alt.raw[:from]) == string(sh.raw[:from]) && k == string(alt.raw[from:alt.ends[j]]) {
			return alt
		}
	}
	return nil
}

// setGuess makes shape s, of keys, the first guess for objects of its
// count and first key; the first moves second.
func (c *shapeCache) setGuess(keys []string, s uint8) {
	g := guessSlot(len(keys), keys[0])
	if first := c.guesses[g]; first != s {
		c.guesses[g+1] = first
	}
	c.guesses[g] = s
}

// keySeed seeds hashKeys.
var keySeed = maphash.MakeSeed()

// hashKeys hashes a key sequence, in order. It runs when a guess fails, so
// it hashes whole keys: keys that differ in the middle (ids, say) must not
// share a hash, or they would be taken for the same shape seen again.
func hashKeys(keys []string) uint64 {
	h := uint64(len(keys))
	for _, k := range keys {
		h = bits.RotateLeft64(h, 17) ^ maphash.String(keySeed, k)
	}
	return h
}

// find returns the remembered shape of keys, whose hashKeys is h, or nil;
// a shape found becomes the guess for objects of its count and first key.
func (c *shapeCache) find(keys []string, h uint64) *shape {
	for i := h >> (64 - shapeSlotBits); ; i = (i + 1) % shapeSlots {
		s := c.index[i]
		if s == 0 {
			return nil
		}
		if sh := &c.shapes[s-1]; sh.hash == h && sh.is(keys) {
			c.setGuess(keys, s)
			return sh
		}
	}
}

// is reports whether keys are the shape's keys.
func (sh *shape) is(keys []string) bool {
	if len(keys) != len(sh.ends) {
		return false
	}
	ends := sh.ends[:len(keys)]
	from := uint32(0)
	for i, k := range keys {
		to := ends[i]
		if k != string(sh.raw[from:to]) {
			return false
		}
		from = to
	}
	return true
}

// add remembers the layout of keys, order and the container start start,
// if they were seen before and the cache is not full. While a document is
// written, shapes are only added, never changed nor dropped (see
// forgetIfFull), so that the writer of an object may read its shape's order
// while it writes the values, nested objects and their shapes included.
func (c *shapeCache) add(keys []string, h uint64, order []int32, start []byte) {
	if c.n == maxShapes || len(start) > maxShapeStart {
		return
	}
	if !slices.Contains(c.missed[:], h) {
		c.missed[c.next] = h
		c.next = (c.next + 1) % len(c.missed)
		return
	}
	sh := &c.shapes[c.n]
	c.n++
	sh.hash, sh.pair = h, guessSlot(len(keys), keys[0])
	sh.raw, sh.ends = sh.raw[:0], sh.ends[:0]
	for _, k := range keys {
		sh.raw = append(sh.raw, k...)
		sh.ends = append(sh.ends, uint32(len(sh.raw)))
	}
	sh.order = append(sh.order[:0], order...)
	sh.start = append(sh.start[:0], start...)
	i := h >> (64 - shapeSlotBits)
	for c.index[i] != 0 {
		i = (i + 1) % shapeSlots
	}
	c.index[i] = uint8(c.n)
	c.setGuess(keys, uint8(c.n))
}

// cacheable reports whether the shape of keys may be remembered: objects
// of no key or one have little layout to find, and large ones too much to
// keep.
func cacheable(keys []string) bool {
	if len(keys) < 2 || len(keys) > maxShapeKeys {
		return false
	}
	n := 0
	for _, k := range keys {
		n += len(k)
	}
	return n <= maxShapeKeyBytes
}

// layout appends the start of the object whose members have keys, in the
// order given, and returns the index among keys of each member written, in
// the order written: the shape's own, or what it appended to e.order. keys
// is the Encoder's scratch (e.keyList): layout is done with it when it
// returns.
func (e *Encoder) layout(keys []string) []int32 {
	if !cacheable(keys) {
		return e.makeLayout(keys)
	}
	h := hashKeys(keys)
	if sh := e.shapes.find(keys, h); sh != nil {
		return e.useShape(sh)
	}
	at := len(e.buf)
	order := e.makeLayout(keys)
	e.shapes.add(keys, h, order, e.buf[at:])
	return order
}

// useShape appends the start of an object of shape sh and returns its
// order.
func (e *Encoder) useShape(sh *shape) []int32 {
	e.buf = append(e.buf, sh.start...)
	return sh.order
}

// sortKey is what a member's key is sorted by: its first 8 bytes, big
// endian and zero padded, which order most keys alone, and the member's
// index, to reach the whole key when they do not.
type sortKey struct {
	prefix uint64
	i      int32
}

// makeLayout is layout without the cache.
func (e *Encoder) makeLayout(keys []string) []int32 {
	if len(keys) == 0 {
		e.buf = binary.BigEndian.AppendUint32(e.buf, objectHeader)
		return nil
	}
	// Keys that are not UTF-8 are repaired as jsonenc repairs them, since
	// the repaired keys are those GreptimeDB sorts and stores.
	repaired := false
	for _, k := range keys {
		if !validUTF8(k) {
			keys, repaired = e.repairKeys(keys), true
			break
		}
	}

	sk := e.sortKeys[:0]
	for i, k := range keys {
		sk = append(sk, sortKey{prefix: keyPrefix(k), i: int32(i)})
	}
	e.sortKeys = sk
	sortByKey(sk, keys)

	// Of equal keys, sorted stably, the last is written.
	n := 0
	for j := range sk {
		if j+1 < len(sk) && sk[j].prefix == sk[j+1].prefix && keys[sk[j].i] == keys[sk[j+1].i] {
			continue
		}
		sk[n] = sk[j]
		n++
	}
	sk = sk[:n]

	var at int
	e.buf, at = beginContainer(e.buf, objectHeader, n, 2*n)
	from := len(e.order)
	for _, s := range sk {
		k := keys[s.i]
		putUint32(e.buf, at, jentry(jString, len(k)))
		at += 4
		e.buf = append(e.buf, k...)
		e.order = append(e.order, s.i)
	}
	if repaired {
		clear(keys) // so as not to keep pdata alive
	}
	return e.order[from:]
}

// repairKeys returns keys with each that is not UTF-8 repaired, in the
// Encoder's scratch: the repaired keys are strings over e.fixed, which is
// not written again before the layout is made.
func (e *Encoder) repairKeys(keys []string) []string {
	e.fixed = e.fixed[:0]
	e.fixedEnds = e.fixedEnds[:0]
	for _, k := range keys {
		if !validUTF8(k) {
			e.fixed = appendValidUTF8(e.fixed, k)
		}
		e.fixedEnds = append(e.fixedEnds, len(e.fixed))
	}
	// e.fixed is whole: strings over it stay as they are while the layout
	// is made.
	e.fixedKeys = append(e.fixedKeys[:0], keys...)
	from := 0
	for i, to := range e.fixedEnds {
		if to > from {
			e.fixedKeys[i] = unsafe.String(&e.fixed[from], to-from)
		}
		from = to
	}
	return e.fixedKeys
}

// keyPrefix is the first 8 bytes of k, big endian, padded with zeros. Keys
// whose prefixes differ are ordered as their prefixes: where they first
// differ either both have a byte, or the shorter key has none (a zero here)
// and the longer one a byte that differs from it, so is greater.
func keyPrefix(k string) uint64 {
	if len(k) >= 8 {
		return uint64(k[0])<<56 | uint64(k[1])<<48 | uint64(k[2])<<40 | uint64(k[3])<<32 |
			uint64(k[4])<<24 | uint64(k[5])<<16 | uint64(k[6])<<8 | uint64(k[7])
	}
	var p uint64
	for i := range len(k) {
		p |= uint64(k[i]) << (56 - 8*i)
	}
	return p
}

// sortByKey sorts sk by key, keeping members with the same key in order.
// Objects are small, mostly: insertion sort on the 16-byte sort keys moves
// little and calls nothing; a large object takes a merge sort.
func sortByKey(sk []sortKey, keys []string) {
	less := func(a, b sortKey) bool {
		if a.prefix != b.prefix {
			return a.prefix < b.prefix
		}
		return keys[a.i] < keys[b.i]
	}
	if len(sk) > 24 {
		slices.SortStableFunc(sk, func(a, b sortKey) int {
			if a.prefix != b.prefix {
				if a.prefix < b.prefix {
					return -1
				}
				return 1
			}
			return strings.Compare(keys[a.i], keys[b.i])
		})
		return
	}
	for i := 1; i < len(sk); i++ {
		for j := i; j > 0 && less(sk[j], sk[j-1]); j-- {
			sk[j], sk[j-1] = sk[j-1], sk[j]
		}
	}
}
