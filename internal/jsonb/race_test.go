//go:build race

package jsonb

// raceEnabled: the race detector's instrumentation makes some closures
// escape, so allocation counts mean nothing under it.
const raceEnabled = true
